"""Returns without a receipt: goods brought back that no order is known for.

Priced by `orders.pricing.price_order`, like a sale, at the product's current tax rate and at
the `unit_price` given (at most the product's current price; by default that price): a return
can give back less than the shelf price, never more. Paid back on the tenders asked for (all
cash by default); the cash part leaves the drawer of the register's open shift, which is locked
like a sale locks it (`sale_shift_locked`), so a concurrent close either counts this return or
makes it see no open shift (then `409 shift_not_open`); a card/other-only return needs no open
shift. Numbered in the register's refund sequence (`next_number(kind="refund")`: refunds and
returns share one counter, so their numbers never collide).

Restocked, stock-tracked products go back into stock at their current cost (reason `return`),
and that same value posts Dr 1200 / Cr 5000, so the inventory account stays equal to the stock's
book value to the cent. The ledger entry (source `return`): Dr 4900 net, Dr 2100 tax, Cr each
tender. Everything, with the audit event `return.created`, in one transaction; once it has
committed, the metrics count it (`pos_returns_total`, `pos_return_amount_total`).

A return may name a customer (unknown or erased → 400); a tax-exempt customer's return gives
back no tax (every line at a rate of 0), as their purchases carried none.

`store_credit` pays back onto the customer's store credit (the return's `customer`, required:
400 naming the tender otherwise; Cr 2310).

Not yet: the store's cash rounding on the cash part (the cash paid out is the exact total's cash
part).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Register, Store, User
from audit.services import audit_record
from catalog.models import Product, StockReason
from catalog.services import StockChange, stock_apply
from customers.models import Customer
from customers.selectors import customer_named
from domain.errors import InvalidInput, ObjectNotFound
from ledger.services import post_return
from money import MILLI, ZERO
from money.currencies import fits_currency, minor_units, quantum, round_money
from monitoring.metrics import RETURN_AMOUNT, RETURNS
from orders.exceptions import PaymentMismatch, ShiftNotOpen
from orders.models import (
    MAX_ORDER_AMOUNT,
    SALE_TENDERS,
    PaymentMethod,
    Return,
    ReturnLine,
    ReturnPayment,
    Shift,
)
from orders.pricing import LineInput, PricedOrder, price_order
from orders.selectors.sales import products_for_sale, register_for_sale, sale_shift_locked
from orders.services.numbering import next_number
from orders.services.sales import NO_TAX
from storedvalue.balances import StoreCreditChange, customer_balances_move
from storedvalue.models import StoreCreditMovementKind

#: Tender methods a return may pay back on. Not `gift_card` (a return without a receipt names no
#: card to put the money back on) nor `points` (no points were spent).
RETURN_METHODS = frozenset(SALE_TENDERS) - {PaymentMethod.GIFT_CARD, PaymentMethod.POINTS}


@dataclass(frozen=True, slots=True)
class ReturnLineRequest:
    """One returned product: how much, and at what unit price (None: its current price)."""

    product_id: int
    quantity: Decimal
    unit_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class ReturnTenderRequest:
    method: str
    amount: Decimal


def return_register(*, user: User, register_id: int) -> Register:
    """The register (with its store) if it is one of the user's stores' (404 otherwise): the
    view needs its store's `cashier_can_refund` before it asks for an approval."""
    register = register_for_sale(user=user, register_id=register_id)
    if register is None:
        raise ObjectNotFound("Register not found.")
    return register


def return_create(
    *,
    user: User,
    register_id: int,
    lines: Sequence[ReturnLineRequest],
    tenders: Sequence[ReturnTenderRequest] | None,
    restock: bool,
    reason: str,
    now: dt.datetime | None = None,
    approved_by: int | None = None,
    customer_id: int | None = None,
) -> Return:
    """Take back `lines` at `register_id` (see the module docstring). 404 for a register outside
    the user's stores; 400 naming the field for an inactive register, an unknown or inactive
    product, a `unit_price` above the current price or finer than the currency, tenders not
    adding up to the total (`PaymentMismatch`), `store_credit` without a customer, or an unknown
    or erased customer;
    409 `shift_not_open` for cash without an open shift."""
    with transaction.atomic():
        shift = sale_shift_locked(user=user, register_id=register_id)
        if shift is not None:
            register, store = shift.register, shift.register.store
        else:
            register = return_register(user=user, register_id=register_id)
            store = register.store
        if not register.is_active:
            # Like a sale: a deactivated register takes nothing in or out (400).
            raise InvalidInput(errors={"register": ["This register is not active."]})
        customer = customer_named(customer_id)
        products, priced = _priced_return(store=store, lines=lines, customer=customer)
        payments = _tenders(
            requests=tenders, total=priced.total, store=store, has_customer=customer is not None
        )
        cash = sum((amount for method, amount in payments if method == PaymentMethod.CASH), ZERO)
        if cash > 0 and shift is None:
            raise ShiftNotOpen(
                "Cash is paid back from the register's drawer, and the register has no open "
                "shift. Open a shift on it first, or pay back by card or other."
            )
        created_at = now or timezone.now()
        returned = _write_return(
            store=store,
            register=register,
            shift=shift,
            products=products,
            priced=priced,
            payments=payments,
            restock=restock,
            reason=reason,
            user=user,
            created_at=created_at,
            customer=customer,
        )
        restocked_cost = _restock(store=store, returned=returned, user=user)
        credit = sum(
            (amount for method, amount in payments if method == PaymentMethod.STORE_CREDIT), ZERO
        )
        if credit and customer is not None:
            customer_balances_move(
                customer_id=customer.pk,
                store=store,
                credit=[
                    StoreCreditChange(
                        amount=credit,
                        kind=StoreCreditMovementKind.REFUND,
                        field="tenders",
                        return_id=returned.pk,
                    )
                ],
                user=user,
                now=created_at,
            )
        by_method: dict[str, Decimal] = {}
        for method, amount in payments:
            by_method[method] = by_method.get(method, ZERO) + amount
        post_return(
            store=store,
            date=timezone.localdate(created_at, timezone=store.tzinfo),
            return_id=returned.pk,
            tenders=by_method,
            net=priced.net_total,
            tax=priced.tax_total,
            restocked_cost=restocked_cost,
            created_by=user,
        )
        audit_record(
            action="return.created",
            actor=user,
            store_id=store.pk,
            object_type="return",
            object_id=returned.pk,
            changes={
                "number": returned.number,
                "register": register.pk,
                "total": str(returned.total),
                "restock": restock,
                "reason": reason,
                "lines": [
                    {"product": line.product_id, "quantity": str(line.quantity)}
                    for line in _lines_of(returned)
                ],
                "tenders": {method: str(amount) for method, amount in by_method.items()},
                **({"approved_by": approved_by} if approved_by is not None else {}),
                **({"customer": customer.pk} if customer is not None else {}),
            },
        )
        transaction.on_commit(
            lambda: _count_return(
                store_code=store.code, currency=store.currency, total=returned.total
            )
        )
    return returned


def _count_return(*, store_code: str, currency: str, total: Decimal) -> None:
    """The return's metrics, once it has committed."""
    RETURNS.labels(store=store_code).inc()
    RETURN_AMOUNT.labels(store=store_code, currency=currency).inc(float(total))


def _priced_return(
    *, store: Store, lines: Sequence[ReturnLineRequest], customer: Customer | None = None
) -> tuple[list[Product], PricedOrder]:
    """Load the products (one query), refuse what cannot be taken back naming the line, and
    price the lines at their unit prices and the products' current tax rates (0 for a
    tax-exempt customer)."""
    exempt = customer is not None and customer.tax_exempt
    if not lines:
        raise InvalidInput(errors={"lines": ["At least one line is required."]})
    currency = store.currency
    # At the product's price in this store now (a price list's, else its own).
    products = products_for_sale(
        product_ids=[line.product_id for line in lines], store_id=store.pk, at=timezone.now()
    )
    errors: dict[str, list[str]] = {}
    ordered: list[Product] = []
    inputs: list[LineInput] = []
    for index, line in enumerate(lines):
        product = products.get(line.product_id)
        if line.quantity <= 0 or line.quantity != line.quantity.quantize(MILLI):
            errors[f"lines.{index}.quantity"] = ["More than zero, at most 3 decimal places."]
        if product is None:
            errors[f"lines.{index}.product"] = [f"Unknown product {line.product_id}."]
            continue
        if not product.is_active or product.is_template:
            errors[f"lines.{index}.product"] = [f"Product {line.product_id} is not for sale."]
            continue
        shelf_price = product.price if product.list_price is None else product.list_price  # type: ignore[attr-defined]
        unit_price = shelf_price if line.unit_price is None else line.unit_price
        if not fits_currency(unit_price, currency):
            errors[f"lines.{index}.unit_price"] = [
                f"More decimals than {currency} allows ({minor_units(currency)})."
            ]
        elif unit_price < 0:
            errors[f"lines.{index}.unit_price"] = ["May not be negative."]
        elif unit_price > shelf_price:
            errors[f"lines.{index}.unit_price"] = [
                f"May not exceed the product's current price {shelf_price.normalize():f}."
            ]
        ordered.append(product)
        inputs.append(
            LineInput(
                unit_price=round_money(unit_price, currency)
                if fits_currency(unit_price, currency)
                else unit_price,
                quantity=line.quantity,
                tax_rate=NO_TAX if exempt else product.tax_rate.rate,
            )
        )
    if errors:
        raise InvalidInput(errors=errors)
    priced = price_order(
        lines=inputs, prices_include_tax=store.prices_include_tax, quantum=quantum(currency)
    )
    if priced.total > MAX_ORDER_AMOUNT:
        raise InvalidInput(errors={"lines": ["The return is too large."]})
    if priced.total <= 0:
        raise InvalidInput(errors={"lines": ["A return gives money back: its total is zero."]})
    return ordered, priced


def _tenders(
    *,
    requests: Sequence[ReturnTenderRequest] | None,
    total: Decimal,
    store: Store,
    has_customer: bool = False,
) -> list[tuple[str, Decimal]]:
    """`[(method, amount)]` adding up to `total` exactly; all cash when none are given."""
    currency = store.currency
    if requests is None:
        return [(PaymentMethod.CASH.value, total)]
    errors: dict[str, list[str]] = {}
    payments: list[tuple[str, Decimal]] = []
    for index, request in enumerate(requests):
        if request.method == PaymentMethod.STORE_CREDIT and not has_customer:
            errors[f"tenders.{index}.method"] = ["Store credit goes to the return's `customer`."]
        elif request.method not in RETURN_METHODS:
            errors[f"tenders.{index}.method"] = ["Unknown payment method."]
        elif request.amount <= 0:
            errors[f"tenders.{index}.amount"] = ["Must be more than zero."]
        elif not fits_currency(request.amount, currency):
            errors[f"tenders.{index}.amount"] = [
                f"More decimals than {currency} allows ({minor_units(currency)})."
            ]
        else:
            payments.append((request.method, round_money(request.amount, currency)))
    if errors:
        raise InvalidInput(errors=errors)
    paid = sum((amount for _, amount in payments), ZERO)
    if paid != total:
        message = (
            f"The tenders add up to {round_money(paid, currency)}; the return's total is "
            f"{round_money(total, currency)}."
        )
        raise PaymentMismatch(message, errors={"tenders": [message]})
    return payments


def _write_return(
    *,
    store: Store,
    register: Register,
    shift: Shift | None,
    products: Sequence[Product],
    priced: PricedOrder,
    payments: Sequence[tuple[str, Decimal]],
    restock: bool,
    reason: str,
    user: User,
    created_at: dt.datetime,
    customer: Customer | None = None,
) -> Return:
    """The return (numbered: the register's next refund number), its lines (the products' sku
    and name snapshotted) and its tenders; each line's `cost` is what goes back into inventory
    (restocked, tracked products only)."""
    _, number = next_number(kind="refund", register_id=register.pk, register_code=register.code)
    returned = Return.objects.create(
        store=store,
        register=register,
        shift=shift,
        number=number,
        created_by=user,
        created_at=created_at,
        reason=reason,
        restock=restock,
        net_total=priced.net_total,
        tax_total=priced.tax_total,
        total=priced.total,
        customer=customer,
    )
    currency = store.currency
    lines = ReturnLine.objects.bulk_create(
        ReturnLine(
            return_doc=returned,
            product=product,
            sku=product.sku,
            name=product.name,
            quantity=line.quantity,
            unit_price=line.unit_price,
            tax_rate=line.tax_rate,
            net=line.net,
            tax=line.tax,
            total=line.total,
            cost=round_money(product.cost * line.quantity, currency)
            if restock and product.track_stock
            else round_money(ZERO, currency),
        )
        for product, line in zip(products, priced.lines, strict=True)
    )
    tenders = ReturnPayment.objects.bulk_create(
        ReturnPayment(return_doc=returned, method=method, amount=amount)
        for method, amount in payments
    )
    returned._prefetched_objects_cache = {"lines": lines, "payments": tenders}  # type: ignore[attr-defined]
    return returned


def _lines_of(returned: Return) -> list[ReturnLine]:
    return list(returned.lines.all())


def _restock(*, store: Store, returned: Return, user: User) -> Decimal:
    """Put the restocked, tracked products back into stock at their current cost (each line's
    `cost`, which is also what posts to 1200); the total value put back."""
    tracked = [
        line for line in _lines_of(returned) if returned.restock and line.product.track_stock
    ]
    if tracked:
        stock_apply(
            store=store,
            changes=[
                StockChange(
                    product=line.product,
                    quantity_delta=line.quantity,
                    unit_cost=line.product.cost,
                    value=line.cost,
                )
                for line in tracked
            ],
            reason=StockReason.RETURN,
            source_type="return",
            source_id=returned.pk,
            user=user,
            note=returned.reason,
            now=returned.created_at,
        )
    return sum((line.cost for line in tracked), ZERO)
