"""Selling: `order_quote` prices a basket, `order_create` rings it up. Both price through
`orders.pricing.price_order`, so a quote and the sale that follows it always agree.

`order_create` is one transaction. Locks are taken in one fixed order — the register's open
shift row, then the register's sequence row, then stock levels (by product id, inside
`catalog.services.stock_apply`), then whatever the ledger and audit take — so that sales,
refunds and shift closes never deadlock on each other. Every step costs a constant number of
queries whatever the number of lines (products are loaded in one query; the next number, the
order, its lines and its payments are one statement — `_insert_order`).

Query budget of a sale through the API (pinned in tests/perf/test_query_budgets.py): 11 —
BEGIN, idempotency key, shift lock, products, order, stock lock, stock write,
journal entry, audit event, idempotency response, COMMIT — whatever the number of lines.
A sale completing a held order: 13 (the held order's lock and its completion besides). A sale
naming a customer: one more (the customer).

A customer who is tax exempt (`customers`) buys without tax: every line is priced at a rate of
0, so in a tax-exclusive store the line's total is its net, and in a tax-inclusive one it stays
the shelf price, all of it net. The order keeps a copy of the exemption id (`tax_exempt_id`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Field, JSONField
from django.utils import timezone
from psycopg.types.json import Jsonb

from accounts.models import Register, Role, Store, User
from audit.services import audit_record
from catalog.exceptions import InsufficientStock
from catalog.models import Product, StockReason
from catalog.modifiers import ModifierData, modifiers_check
from catalog.scale_barcodes import ScaleBarcode, scale_barcode_parse
from catalog.services import StockChange, stock_apply, stock_lock
from customers.models import Customer
from customers.selectors import customer_named
from dbtools.rows import cache_related, column, qn, table
from dbtools.unnest import UnnestInsert, fill_defaults, insert_fields, saved_one
from domain.errors import InvalidInput, ObjectNotFound
from giftcards.codes import code_normalise
from giftcards.exceptions import GiftCardInvalid
from giftcards.redemption import GiftCardSpend, gift_cards_spend
from ledger.services import post_sale
from money import ZERO
from money.currencies import fits_currency, minor_units, quantum, round_money
from money.fields import catalog_price_text
from monitoring.metrics import (
    INSUFFICIENT_STOCK,
    ORDER_AMOUNT,
    ORDERS,
    PAYMENT_AMOUNT,
    PAYMENTS,
)
from orders.exceptions import (
    ChangeWithoutPayment,
    HeldOrderGone,
    PaymentMismatch,
    ShiftNotOpen,
    TenderedOutOfRange,
)
from orders.models import (
    MAX_ORDER_AMOUNT,
    MIN_ORDER_AMOUNT,
    SALE_TENDERS,
    ApprovalAction,
    HeldOrder,
    HeldOrderStatus,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
    Shift,
)
from orders.pricing import LineInput, PricedOrder, price_order
from orders.selectors.held_orders import held_order_for_sale_locked
from orders.selectors.sales import (
    last_shift_of,
    products_for_sale,
    register_for_sale,
    sale_shift_locked,
)
from orders.services.approvals import (
    approval_check,
    approval_consume_any,
    needs_refund_approval,
)
from orders.services.numbering import counters_lock, number_cte
from orders.services.refunds import (
    ExchangeReturnRequest,
    ExchangeReturns,
    exchange_refunds_write,
    exchange_returns_lock,
)
from pricebook.selectors import promotion_rules
from storedvalue.balances import PointsChange, StoreCreditChange, customer_balances_move
from storedvalue.models import LoyaltyMovementKind, StoreCreditMovementKind
from storedvalue.points import points_earned

__all__ = [
    "PaymentRequest",
    "SaleLineRequest",
    "SaleQuote",
    "order_create",
    "order_quote",
]


@dataclass(frozen=True, slots=True)
class SaleLineRequest:
    product_id: int
    quantity: Decimal
    discount: Decimal = ZERO
    modifiers: tuple[int, ...] = ()  # the chosen modifiers' ids
    #: A scale label (`catalog.scale_barcodes`) instead of `product_id` and `quantity`: the
    #: product by its `scale_code`, the quantity (a weight) or the price from the label.
    barcode: str = ""


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    method: str
    amount: Decimal
    tendered: Decimal | None = None
    reference: str = ""
    card_last4: str = ""
    tip: Decimal = ZERO
    code: str = ""  # a gift card's code (never stored: see `giftcards`)
    points: int | None = None  # a `points` payment: the points redeemed (`amount` is theirs)


#: The most points one payment may redeem.
MAX_POINTS = 10**12
#: The tenders that are not money: a sale earns no loyalty points on what they paid.
STORED_VALUE_TENDERS = frozenset(
    {PaymentMethod.GIFT_CARD, PaymentMethod.STORE_CREDIT, PaymentMethod.POINTS}
)

#: Why a tender other than cash or store credit is refused when an exchange pays back.
MONEY_BACK_TENDERS = (
    "The returned goods are worth more than the sale: what goes back is cash or store credit."
)

#: The rate every line of a tax-exempt customer's order is priced at.
NO_TAX = Decimal("0.000")


@dataclass(frozen=True, slots=True)
class SaleQuote:
    """A priced basket: the products as they are now and the computed money."""

    register: Register
    store: Store
    products: list[Product] = field(repr=False)
    priced: PricedOrder
    customer: Customer | None = None
    #: Each line's chosen modifiers as snapshotted on the order line.
    modifiers: list[list[dict[str, Any]]] = field(default_factory=list)

    @property
    def cash_rounding(self) -> Decimal:
        """The rounding a payment all in cash would get."""
        return cash_rounding_of(
            total=self.priced.total,
            non_cash=ZERO,
            step=self.store.cash_rounding,
            currency=self.store.currency,
        )

    def promotions_snapshot(self) -> list[dict[str, Any]]:
        """The promotions the basket took, as the order keeps them."""
        return promotions_snapshot(self.priced, self.store.currency)


def promotions_snapshot(priced: PricedOrder, currency: str) -> list[dict[str, Any]]:
    """`[{id, name, kind, value, x, y, discount}]`: what the order keeps of each promotion it
    took (money and values as text)."""
    return [
        {
            "id": rule.id,
            "name": rule.name,
            "kind": rule.kind,
            "value": catalog_price_text(rule.value),  # as `/api/v1/promotions/` shows it
            "x": rule.x,
            "y": rule.y,
            "discount": f"{round_money(amount, currency):f}",
        }
        for rule, amount in priced.promotions()
    ]


@dataclass(frozen=True, slots=True)
class PricedSale:
    products: list[Product]
    priced: PricedOrder
    modifiers: list[list[dict[str, Any]]]


def _priced_sale(
    *,
    store: Store,
    lines: Sequence[SaleLineRequest],
    discount: Decimal,
    customer: Customer | None = None,
    at: dt.datetime | None = None,
) -> PricedSale:
    """Load the products with their price in the store and their modifier groups (one query)
    and the store's promotions (one query), refuse unknown, inactive or template products and
    modifiers outside their groups' rules naming the line, and price (at a rate of 0 for a
    tax-exempt customer) at `at` (now)."""
    if not lines:
        raise InvalidInput(errors={"lines": ["At least one line is required."]})
    at = at or timezone.now()
    currency = store.currency
    errors: dict[str, list[str]] = {}
    labels = _scale_labels(store=store, lines=lines, errors=errors)
    products = products_for_sale(
        product_ids=[line.product_id for line in lines if not line.barcode],
        scale_codes=[label.item_code for label in labels.values()],
        store_id=store.pk,
        at=at,
    )
    by_scale_code = {p.scale_code: p for p in products.values() if p.scale_code}
    promotions = promotion_rules(store_id=store.pk, at=at)
    ordered: list[Product] = []
    chosen: list[list[ModifierData]] = []
    inputs: list[tuple[Decimal, Decimal | None, Decimal]] = []  # price, list price, quantity
    for index, line in enumerate(lines):
        if line.barcode:
            label = labels.get(index)
            if label is None:
                continue  # refused in `_scale_labels`
            product = by_scale_code.get(label.item_code)
            if product is None:
                errors[f"lines.{index}.barcode"] = [
                    f"No product has the scale code {label.item_code}."
                ]
                continue
        else:
            product = products.get(line.product_id)
        if product is None:
            errors[f"lines.{index}.product"] = [f"Unknown product {line.product_id}."]
            continue
        if not product.is_active:
            errors[f"lines.{index}.product"] = [f"Product {line.product_id} is not for sale."]
            continue
        if product.is_template:
            errors[f"lines.{index}.product"] = [
                f"Product {line.product_id} is a template: sell one of its variants."
            ]
            continue
        base_price = product.price if product.list_price is None else product.list_price  # type: ignore[attr-defined]
        if not fits_currency(base_price, currency):
            errors[f"lines.{index}.product"] = [
                f"Product {line.product_id}'s price {base_price.normalize():f} has more "
                f"decimals than {currency} allows ({minor_units(currency)})."
            ]
            continue
        try:
            picked = modifiers_check(
                product.modifier_groups_data,  # type: ignore[attr-defined]
                list(line.modifiers),
            )
        except InvalidInput as refused:
            errors[f"lines.{index}.modifiers"] = _messages(refused)
            continue
        if not all(fits_currency(m.price_delta, currency) for m in picked):
            errors[f"lines.{index}.modifiers"] = [_too_precise(currency)]
            continue
        ordered.append(product)
        chosen.append(picked)
        inputs.append(_line_price(product, line, labels.get(index)))
    for index, line in enumerate(lines):
        if not fits_currency(line.discount, currency):
            errors[f"lines.{index}.discount"] = [_too_precise(currency)]
    if not fits_currency(discount, currency):
        errors["discount"] = [_too_precise(currency)]
    if errors:
        raise InvalidInput(errors=errors)
    exempt = customer is not None and customer.tax_exempt
    priced = price_order(
        lines=[
            LineInput(
                unit_price=price,
                list_price=list_price,
                modifier_deltas=tuple(m.price_delta for m in picked),
                quantity=quantity,
                tax_rate=NO_TAX if exempt else product.tax_rate.rate,
                discount=round_money(line.discount, currency),
                product_id=product.pk,
                category_id=product.category_id,
                template_id=product.variant_of_id,
            )
            for product, line, picked, (price, list_price, quantity) in zip(
                ordered, lines, chosen, inputs, strict=True
            )
        ],
        # Exact (checked above): only the scale becomes the currency's.
        order_discount=round_money(discount, currency),
        prices_include_tax=store.prices_include_tax,
        quantum=quantum(currency),
        promotions=promotions,
        at=at.astimezone(store.tzinfo),
    )
    if priced.subtotal > MAX_ORDER_AMOUNT or priced.total > MAX_ORDER_AMOUNT:
        raise InvalidInput(errors={"lines": ["The order is too large."]})
    return PricedSale(
        products=ordered,
        priced=priced,
        modifiers=[
            [
                {
                    "id": m.id,
                    "name": m.name,
                    "price_delta": f"{round_money(m.price_delta, currency):f}",
                }
                for m in picked
            ]
            for picked in chosen
        ],
    )


def _scale_labels(
    *, store: Store, lines: Sequence[SaleLineRequest], errors: dict[str, list[str]]
) -> dict[int, ScaleBarcode]:
    """The scale labels of the lines that carry one, read with the store's layout, by line
    index; a label the store cannot read (no layout, another prefix, a wrong check digit, a
    weight of zero) is refused in `errors` naming the line's `barcode`."""
    labels: dict[int, ScaleBarcode] = {}
    for index, line in enumerate(lines):
        if not line.barcode:
            continue
        field = f"lines.{index}.barcode"
        try:
            label = scale_barcode_parse(
                line.barcode, store.scale_barcode_layout, currency=store.currency
            )
        except InvalidInput as refused:
            errors[field] = _messages(refused)
            continue
        if label is None:
            errors[field] = ["Not a scale label of this store (see its scale_barcode_layout)."]
        elif label.quantity is not None and label.quantity <= 0:
            errors[field] = ["The label weighs nothing."]
        else:
            labels[index] = label
    return labels


def _line_price(
    product: Product, line: SaleLineRequest, label: ScaleBarcode | None
) -> tuple[Decimal, Decimal | None, Decimal]:
    """`(price, list price, quantity)` the engine prices a line at: a price label sells one
    unit at the printed price (no price list: the label is the price); a weight label its
    weight at the store's price; any other line what it asks at the store's price."""
    list_price: Decimal | None = product.list_price  # type: ignore[attr-defined]
    if label is not None and label.price is not None:
        return label.price, None, Decimal(1)
    if label is not None and label.quantity is not None:
        return product.price, list_price, label.quantity
    return product.price, list_price, line.quantity


def _messages(refused: InvalidInput) -> list[str]:
    """An `InvalidInput`'s messages as one list (for a field of the caller's choosing)."""
    if refused.errors:
        return [message for messages in refused.errors.values() for message in messages]
    return [str(refused)]


def needs_discount_approval(*, user: User, store: Store, priced: PricedOrder) -> bool:
    """A cashier's discounts above the store's limit (Σ discounts / subtotal, per cent) need a
    manager's approval."""
    if user.role != Role.CASHIER or not priced.discount_total:
        return False
    limit = store.cashier_max_discount_percent
    return priced.discount_total * 100 > limit * priced.subtotal


def order_quote(
    *,
    user: User,
    register_id: int,
    lines: Sequence[SaleLineRequest],
    discount: Decimal = ZERO,
    approval: str | None = None,
    customer_id: int | None = None,
) -> SaleQuote:
    """Price a basket on a register of the user's stores without writing anything. Discounts
    beyond a cashier's limit need an approval token, checked but not used up. `customer_id`
    names the customer (unknown or erased → `InvalidInput` on `customer`); a tax-exempt one's
    basket is priced without tax."""
    register = register_for_sale(user=user, register_id=register_id)
    if register is None:
        raise ObjectNotFound("Register not found.")
    _refuse_inactive_register(register)
    customer = customer_named(customer_id)
    sale = _priced_sale(store=register.store, lines=lines, discount=discount, customer=customer)
    if needs_discount_approval(user=user, store=register.store, priced=sale.priced):
        approval_check(token=approval, action=ApprovalAction.DISCOUNT, register_id=register.pk)
    return SaleQuote(
        register=register,
        store=register.store,
        products=sale.products,
        priced=sale.priced,
        customer=customer,
        modifiers=sale.modifiers,
    )


@functools.cache
def _order_statement() -> tuple[
    str, list[Field[Any, Any]], UnnestInsert[OrderLine], UnnestInsert[Payment]
]:
    """The number, the order, its lines and its payments in one statement. Tables and columns
    come from the models (`dbtools`); every value is a parameter: the order's columns one each,
    the lines' and payments' one array per column."""
    order_fields = insert_fields(Order, exclude=("number", "sequence"))
    lines = UnnestInsert(OrderLine, prefix="line", from_statement=("order",))
    payments = UnnestInsert(Payment, prefix="payment", from_statement=("order",))
    sql = f"""
WITH {number_cte("order")}, new_order AS (
    INSERT INTO {table(Order)} ({qn("number")}, {qn("sequence")},
                                {", ".join(column(f) for f in order_fields)})
    SELECT number.number, number.sequence, {", ".join(f"%({f.attname})s" for f in order_fields)}
    FROM number
    RETURNING {qn("id")}, {qn("number")}, {qn("sequence")}
), new_lines AS (
    INSERT INTO {lines.table} ({lines.columns})
    SELECT new_order.{qn("id")}, line.* FROM new_order, {lines.unnest} AS line
    RETURNING {qn("id")}, {qn("position")}
), new_payments AS (
    INSERT INTO {payments.table} ({payments.columns})
    SELECT new_order.{qn("id")}, payment.* FROM new_order, {payments.unnest} AS payment
    RETURNING {qn("id")}
)
SELECT 'order', {qn("id")}, {qn("sequence")}, {qn("number")} FROM new_order
UNION ALL SELECT 'line', {qn("id")}, {qn("position")}, NULL FROM new_lines
UNION ALL SELECT 'payment', {qn("id")}, NULL, NULL FROM new_payments
"""  # noqa: S608  # nosec B608
    return sql, order_fields, lines, payments


def _insert_order(
    *,
    register: Register,
    order_row: dict[str, Any],
    line_rows: list[dict[str, Any]],
    payment_rows: list[dict[str, Any]],
) -> tuple[Order, list[OrderLine], list[Payment]]:
    """Number the order (the register's next sequence: gapless, under the counter row's lock
    until commit) and write it with its lines and payments; the saved instances, with ids.

    One statement (`UPSERT` of the counter, then the three INSERTs as data-modifying CTEs): one
    round trip instead of four, and no ORM statement compilation, which on a sale cost more
    Python than the pricing, stock, ledger and audit work together. The rows are mappings
    `attname → value`; a column they leave out gets the field's default."""
    sql, order_fields, lines, payments = _order_statement()
    fill_defaults(order_fields, order_row)
    params: dict[str, Any] = {"register_id": register.pk, "register_code": register.code}
    params.update(
        {
            f.attname: Jsonb(order_row[f.attname])
            if isinstance(f, JSONField)
            else order_row[f.attname]
            for f in order_fields
        }
    )
    params.update(lines.params(line_rows))
    params.update(payments.params(payment_rows))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    line_ids = {position: row_id for kind, row_id, position, _ in rows if kind == "line"}
    [(_, order_row["id"], order_row["sequence"], order_row["number"])] = [
        row for row in rows if row[0] == "order"
    ]
    order = saved_one(Order, order_row)
    saved_lines = lines.saved(
        line_rows, [line_ids[row["position"]] for row in line_rows], order_id=order.pk
    )
    # Ids are taken in insertion order, which is the order of the tenders as given.
    saved_payments = payments.saved(
        payment_rows,
        sorted(row_id for kind, row_id, _, _ in rows if kind == "payment"),
        order_id=order.pk,
    )
    return order, saved_lines, saved_payments


def _too_precise(currency: str) -> str:
    return f"More decimals than {currency} allows ({minor_units(currency)})."


def cash_tendered_max(currency: str) -> Decimal:
    """The sanity bound on a cash `tendered` in `currency` (settings `CASH_TENDERED_MAX`, or
    `CASH_TENDERED_MAX_BY_CURRENCY` for the currency)."""
    return settings.CASH_TENDERED_MAX_BY_CURRENCY.get(currency, settings.CASH_TENDERED_MAX)


@dataclass(frozen=True, slots=True)
class Tenders:
    """The validated tenders of a sale: the `Payment` rows to write and what they add up to."""

    rows: list[dict[str, Any]]
    rounding: Decimal  # signed: total_due − total
    total_due: Decimal
    change_due: Decimal
    tips: Decimal
    #: The gift card payments: (index of the row, the code as given, the request's field).
    gift_cards: list[tuple[int, str, str]] = field(default_factory=list)
    #: The store credit payments: (index of the row, the request's field).
    store_credit: list[tuple[int, str]] = field(default_factory=list)
    #: The points payments: (index of the row, the request's field).
    points: list[tuple[int, str]] = field(default_factory=list)


def cash_rounding_of(*, total: Decimal, non_cash: Decimal, step: Decimal, currency: str) -> Decimal:
    """The rounding (signed) of a sale whose cash part is `total − non_cash`, to the store's
    `cash_rounding` step, half-up (`0` when the step is off)."""
    if not step:
        return round_money(ZERO, currency)
    cash_due = total - non_cash
    rounded = (cash_due / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step
    return round_money(rounded - cash_due, currency)


def _payments(
    *,
    requests: Sequence[PaymentRequest],
    total: Decimal,
    store: Store,
    customer: Customer | None = None,
) -> Tenders:
    # `total` is what the money tenders owe: the order total, less what an exchange's returned
    # goods paid. Negative: the payments are the cash that goes back, as negative amounts.
    """Validate the tenders against the total; the `Payment` rows to write and their sums.

    Amounts and tips have at most the currency's minor units; a tip only on cash or card. Cash:
    `amount + tip ≤ tendered ≤ the bound` (`cash_tendered_max`: above it →
    `TenderedOutOfRange`), and a cash payment of 0.00 gives no change (`ChangeWithoutPayment`).
    With cash among the tenders, the cash part due (total − the other tenders) is rounded to the
    store's `cash_rounding` step: the amounts add up to `total + rounding`.
    Store credit needs the order's `customer` (400 naming the payment's method otherwise); in an
    exchange whose returned goods are worth more, what goes back is cash or store credit.
    Refused with the specific error when every refusal is of that kind, with `InvalidInput`
    otherwise; `errors` names each offending field either way."""
    currency = store.currency
    errors: dict[str, list[str]] = {}
    kinds: set[type[InvalidInput]] = set()  # of the refusals in `errors`

    def refuse(field: str, message: str, kind: type[InvalidInput] = InvalidInput) -> None:
        errors[field] = [message]
        kinds.add(kind)

    payments: list[dict[str, Any]] = []
    gift_cards: list[tuple[int, str, str]] = []
    store_credit: list[tuple[int, str]] = []
    points: list[tuple[int, str]] = []
    tendered_max = cash_tendered_max(currency)
    zero = round_money(ZERO, currency)
    money_back = total < 0
    for index, req in enumerate(requests):
        if req.method not in SALE_TENDERS:
            refuse(f"payments.{index}.method", "Unknown payment method.")
            continue
        if req.method in (PaymentMethod.STORE_CREDIT, PaymentMethod.POINTS) and customer is None:
            refuse(
                f"payments.{index}.method",
                "A store credit or points payment needs the order's customer (`customer`).",
            )
            continue
        if req.method == PaymentMethod.POINTS:
            if money_back:
                refuse(
                    f"payments.{index}.method",
                    MONEY_BACK_TENDERS,
                )
                continue
            if not store.loyalty_point_value:
                refuse(f"payments.{index}.method", "This store takes no loyalty points.")
                continue
            if req.points is None or not 0 < req.points <= MAX_POINTS:
                refuse(f"payments.{index}.points", "The points redeemed: more than zero.")
                continue
            value = req.points * store.loyalty_point_value
            if value > MAX_ORDER_AMOUNT:
                refuse(f"payments.{index}.points", "Out of range.")
                continue
            if req.amount and req.amount != value:
                refuse(
                    f"payments.{index}.amount",
                    f"{req.points} points are worth {round_money(value, currency)}.",
                )
                continue
            # The points' value is the amount (exact: the point value fits the currency).
            req = dataclasses.replace(req, amount=value)
        elif req.points is not None:
            refuse(f"payments.{index}.points", "Only a points payment has points.")
            continue
        if money_back:
            if req.method not in (PaymentMethod.CASH, PaymentMethod.STORE_CREDIT):
                refuse(
                    f"payments.{index}.method",
                    MONEY_BACK_TENDERS,
                )
                continue
            if not -MAX_ORDER_AMOUNT <= req.amount <= 0:
                refuse(
                    f"payments.{index}.amount",
                    "The returned goods are worth more than the sale: what goes back is a "
                    "negative amount.",
                )
                continue
            if req.tendered is not None or req.tip:
                refuse(
                    f"payments.{index}.amount",
                    "What goes back has no tendered amount and no tip.",
                )
                continue
        elif not MIN_ORDER_AMOUNT <= req.amount <= MAX_ORDER_AMOUNT:
            refuse(f"payments.{index}.amount", "Out of range.")
            continue
        if not fits_currency(req.amount, currency):
            refuse(f"payments.{index}.amount", _too_precise(currency))
            continue
        if req.tendered is not None and not fits_currency(req.tendered, currency):
            refuse(f"payments.{index}.tendered", _too_precise(currency))
            continue
        if not MIN_ORDER_AMOUNT <= req.tip <= MAX_ORDER_AMOUNT:
            refuse(f"payments.{index}.tip", "Out of range.")
            continue
        if not fits_currency(req.tip, currency):
            refuse(f"payments.{index}.tip", _too_precise(currency))
            continue
        if req.tip and req.method not in (PaymentMethod.CASH, PaymentMethod.CARD):
            refuse(f"payments.{index}.tip", "Only a cash or card payment carries a tip.")
            continue
        # Exact (checked above): only the scale becomes the currency's.
        amount = round_money(req.amount, currency)
        tip = round_money(req.tip, currency)
        tendered = None if req.tendered is None else round_money(req.tendered, currency)
        change = zero
        if req.method == PaymentMethod.CASH:
            if tendered is not None:
                if tendered < amount + tip:
                    refuse(
                        f"payments.{index}.tendered",
                        "The cash tendered may not be less than the amount (plus the tip).",
                    )
                    continue
                if tendered > tendered_max:
                    refuse(
                        f"payments.{index}.tendered",
                        f"The cash tendered may not exceed {tendered_max} {currency}.",
                        TenderedOutOfRange,
                    )
                    continue
                change = tendered - amount - tip
                if change and not amount + tip:
                    refuse(
                        f"payments.{index}.tendered",
                        "A cash payment of 0.00 cannot give change.",
                        ChangeWithoutPayment,
                    )
                    continue
        elif tendered is not None:
            refuse(f"payments.{index}.tendered", "Only a cash payment has a tendered amount.")
            continue
        if req.card_last4 and req.method != PaymentMethod.CARD:
            refuse(f"payments.{index}.card_last4", "Only a card payment has card_last4.")
            continue
        reference = req.reference
        if req.method == PaymentMethod.GIFT_CARD:
            normal = code_normalise(req.code)
            if normal is None:
                refuse(
                    f"payments.{index}.code",
                    "A gift card payment needs the card's code (16 letters).",
                    GiftCardInvalid,
                )
                continue
            # The payment keeps the card's last four characters only, never the code.
            reference = normal[-4:]
            gift_cards.append((len(payments), req.code, f"payments.{index}.code"))
        elif req.code:
            refuse(f"payments.{index}.code", "Only a gift card payment has a code.")
            continue
        if req.method == PaymentMethod.STORE_CREDIT:
            store_credit.append((len(payments), f"payments.{index}.amount"))
        elif req.method == PaymentMethod.POINTS:
            points.append((len(payments), f"payments.{index}.points"))
        payments.append(
            {
                "method": req.method,
                "amount": amount,
                "tendered": tendered,
                "change": change,
                "tip": tip,
                "reference": reference,
                "card_last4": req.card_last4,
                "points": req.points,
            }
        )
    if errors:
        # One kind of refusal only → its own code; mixed → the generic `InvalidInput`.
        raise (kinds.pop() if len(kinds) == 1 else InvalidInput)(errors=errors)
    rounding = zero
    if any(p["method"] == PaymentMethod.CASH for p in payments):
        rounding = cash_rounding_of(
            total=total,
            non_cash=sum(
                (p["amount"] for p in payments if p["method"] != PaymentMethod.CASH), zero
            ),
            step=store.cash_rounding,
            currency=currency,
        )
    total_due = total + rounding
    paid = sum((p["amount"] for p in payments), zero)
    if paid != total_due:
        due = f"{'what goes back' if money_back else 'the order total'} is {total}" + (
            f", {total_due} due with the cash rounding" if rounding else ""
        )
        message = f"The payments add up to {paid}; {due}."
        raise PaymentMismatch(message, errors={"payments": [message]})
    return Tenders(
        rows=payments,
        rounding=rounding,
        total_due=total_due,
        change_due=sum((p["change"] for p in payments), zero),
        tips=sum((p["tip"] for p in payments), zero),
        gift_cards=gift_cards,
        store_credit=store_credit,
        points=points,
    )


def order_create(
    *,
    user: User,
    register_id: int,
    lines: Sequence[SaleLineRequest] | None,
    payments: Sequence[PaymentRequest],
    discount: Decimal | None = ZERO,
    client_created_at: dt.datetime | None = None,
    offline: bool = False,
    now: dt.datetime | None = None,
    approval: str | None = None,
    held_order_id: int | None = None,
    returns: Sequence[ExchangeReturnRequest] = (),
    customer_id: int | None = None,
) -> Order:
    """Ring up a sale on the register's open shift, in one transaction: number, order, lines
    with their catalog snapshot, payments, stock movements, journal entry and audit event.
    `now` is the sale's time (`timezone.now()` by default; tests pin it).

    Errors (nothing is written): register not in the user's stores → `ObjectNotFound`; no open
    shift → `ShiftNotOpen`; unknown/inactive product, discount above what it applies to, bad
    tender → `InvalidInput`; tenders ≠ total → `PaymentMismatch`; not enough stock (and not
    `offline`) → `catalog.exceptions.InsufficientStock` with the product ids.

    `held_order_id` completes that held order of the register's store (see
    `_take_held_order`): `lines` / `discount` left `None` are the held order's, re-priced now,
    and the held order is marked completed in this same transaction. Not found in the store →
    `ObjectNotFound`; already completed or deleted → `HeldOrderGone`.

    `returns` makes it an exchange (see `_exchange`): those lines of earlier orders of the
    store are refunded in this transaction, their value (`returned_total`) pays that much of
    the sale, and `payments` cover the rest (negative: the cash that goes back).

    `approval` is the `X-Approval` header: one token, or several separated by commas when the
    sale needs more than one approval (a cashier's exchange with a large discount).

    `customer_id` names the customer (the held order's when left `None`); unknown or erased →
    `InvalidInput` on `customer`. A tax-exempt customer's lines carry no tax, and the order
    keeps the exemption id.

    The returned order carries its lines and payments (no further query to serialise it).
    """
    # `savepoint=False`: inside the idempotency transaction a savepoint would cost two queries
    # and buy nothing — any error here rolls the whole request back anyway.
    tokens = [token.strip() for token in (approval or "").split(",") if token.strip()]
    with transaction.atomic(savepoint=False):
        # An exchange locks the orders it returns from before the shift: a refund's lock order.
        exchange = (
            _exchange_lock(user=user, register_id=register_id, returns=returns, offline=offline)
            if returns
            else None
        )
        shift, late = _lock_open_shift(user=user, register_id=register_id, offline=offline)
        store = shift.register.store
        held = None
        if held_order_id is not None:
            held = _take_held_order(store=store, held_order_id=held_order_id)
            if lines is None:
                lines = [
                    SaleLineRequest(*line[:3], modifiers=tuple(line[3]), barcode=line[4])
                    for line in held.requested_lines()
                ]
            if discount is None:
                discount = held.order_discount
            if customer_id is None:
                customer_id = held.customer_id
        customer = customer_named(customer_id)
        created_at = now or timezone.now()
        sale = _priced_sale(
            store=store,
            lines=lines or (),
            discount=discount or ZERO,
            customer=customer,
            at=created_at,
        )
        products, priced = sale.products, sale.priced
        approved_by = (
            approval_consume_any(
                tokens=tokens, action=ApprovalAction.DISCOUNT, register_id=shift.register_id
            )
            if needs_discount_approval(user=user, store=store, priced=priced)
            else None
        )
        returned_total = ZERO
        if exchange is not None:
            # Same approval as a refund: the exchange pays back on this register.
            if needs_refund_approval(user=user, store=store):
                approved_by = approval_consume_any(
                    tokens=tokens, action=ApprovalAction.REFUND, register_id=shift.register_id
                )
            returned_total = exchange.total
            counters_lock({shift.register_id, *exchange.register_ids})
            stock_lock(
                store=store,
                product_ids={p.pk for p in products if p.track_stock}
                | exchange.restocked_product_ids,
            )
        tenders_in = _payments(
            requests=payments,
            total=priced.total - returned_total,
            store=store,
            customer=customer,
        )
        if exchange is not None and returned_total:
            tenders_in.rows.append(_exchange_payment_row(returned_total))
        order = _write_order(
            shift=shift,
            cashier=user,
            products=products,
            priced=priced,
            tenders=tenders_in,
            modifiers=sale.modifiers,
            created_at=created_at,
            client_created_at=client_created_at,
            offline=offline,
            late=late,
            returned_total=returned_total,
            customer=customer,
            points_earned=_points_earned(
                store=store,
                customer=customer,
                priced=priced,
                returned_total=returned_total,
                tenders=tenders_in,
            ),
        )
        refunds = []
        if exchange is not None:
            # The gift cards before the refunds lock customers (their points): stock (locked
            # above), gift cards, customers — a plain sale's lock order.
            if tenders_in.gift_cards:
                _spend_gift_cards(store=store, order=order, tenders=tenders_in, user=user)
            # Restocked before the sale takes stock: an item exchanged for another of the same
            # product is on the shelf again when the sale takes it.
            refunds = exchange_refunds_write(
                returns=exchange,
                exchange_order=order,
                exchange_payment_id=next(
                    (p.pk for p in _payments_of(order) if p.method == PaymentMethod.EXCHANGE),
                    None,
                ),
                shift=shift,
                user=user,
                approved_by=approved_by,
            )
        _take_stock(store=store, order=order, user=user, offline=offline)
        if tenders_in.gift_cards and exchange is None:
            _spend_gift_cards(store=store, order=order, tenders=tenders_in, user=user)
        balances: dict[str, Any] = {}
        if tenders_in.store_credit or tenders_in.points or order.points_earned:
            balances = _move_balances(store=store, order=order, tenders=tenders_in, user=user)
        tenders = _tenders(order)
        _post_to_ledger(store=store, order=order, tenders=tenders, priced=priced, user=user)
        if held is not None:
            _complete_held_order(held=held, order=order, user=user)
        _audit_sale(
            order=order,
            tenders=tenders,
            user=user,
            approved_by=approved_by,
            held_order_id=held_order_id,
            refund_ids=[refund.pk for refund in refunds],
            balances=balances,
        )
        transaction.on_commit(lambda: _count_sale(store=store, order=order, offline=offline))
    return order


def _spend_gift_cards(*, store: Store, order: Order, tenders: Tenders, user: User) -> None:
    """Draw the gift cards down by their payments (`giftcards.redemption`: each card locked,
    after the shift, counters and stock; two queries a card). An offline sale may not pay by
    gift card: the card's balance must be seen and locked."""
    if order.offline:
        raise InvalidInput(
            errors={
                field: ["A gift card cannot pay an offline sale."]
                for _, _, field in tenders.gift_cards
            }
        )
    payments = _payments_of(order)
    gift_cards_spend(
        store=store,
        spends=[
            GiftCardSpend(
                code=code, payment_id=payments[row].pk, amount=payments[row].amount, field=field
            )
            for row, code, field in tenders.gift_cards
        ],
        user=user,
        now=order.created_at,
    )


def _move_balances(*, store: Store, order: Order, tenders: Tenders, user: User) -> dict[str, Any]:
    """Draw the customer's store credit and points down by their payments (an exchange's
    payback, a negative store credit payment, raises the credit instead) and add the points the
    sale earned: the customer locked last, after the gift cards (`storedvalue.balances`); the
    change for the sale's audit event. An offline sale may not pay by store credit or points:
    the balance must be seen and locked."""
    spent = [*tenders.store_credit, *tenders.points]
    if order.offline and spent:
        raise InvalidInput(
            errors={field: ["Stored value cannot pay an offline sale."] for _, field in spent}
        )
    customer_id = order.customer_id
    if customer_id is None:  # `_payments` refused it already
        raise InvalidInput(errors={"customer": ["Stored value needs the order's customer."]})
    payments = _payments_of(order)
    point_value = store.loyalty_point_value
    points = [
        PointsChange(
            points=-(payments[row].points or 0),
            point_value=point_value,
            kind=LoyaltyMovementKind.REDEEM,
            field=field,
            order_id=order.pk,
            payment_id=payments[row].pk,
        )
        for row, field in tenders.points
    ]
    if order.points_earned:
        points.append(
            PointsChange(
                points=order.points_earned,
                point_value=point_value,
                kind=LoyaltyMovementKind.EARN,
                field="customer",
                order_id=order.pk,
            )
        )
    moved = customer_balances_move(
        customer_id=customer_id,
        store=store,
        credit=[
            StoreCreditChange(
                amount=-payments[row].amount,
                kind=StoreCreditMovementKind.REDEEM
                if payments[row].amount > 0
                else StoreCreditMovementKind.REFUND,
                field=field,
                payment_id=payments[row].pk,
            )
            for row, field in tenders.store_credit
        ],
        points=points,
        user=user,
        now=order.created_at,
        audit=False,
    )
    changes: dict[str, Any] = {}
    if tenders.store_credit:
        change = -sum((payments[row].amount for row, _ in tenders.store_credit), ZERO)
        changes["store_credit"] = {"amount": str(change), "balance": str(moved.store_credit)}
    if points:
        changes["points"] = {
            "earned": order.points_earned,
            "redeemed": sum(payments[row].points or 0 for row, _ in tenders.points),
            "balance": moved.loyalty_points,
        }
    return changes


def _take_held_order(*, store: Store, held_order_id: int) -> HeldOrder:
    """The held order the sale completes, locked (`SELECT … FOR UPDATE`) until the sale
    commits, after the shift (the sale's lock order): of two sales completing it at once, the
    second waits, then sees it completed and is refused having written nothing."""
    held = held_order_for_sale_locked(store=store, held_order_id=held_order_id)
    if held is None:
        raise ObjectNotFound("Held order not found.")
    if held.status != HeldOrderStatus.HELD:
        raise HeldOrderGone()
    return held


def _exchange_lock(
    *,
    user: User,
    register_id: int,
    returns: Sequence[ExchangeReturnRequest],
    offline: bool,
) -> ExchangeReturns:
    """The goods an exchange gives back, locked and priced (`exchange_returns_lock`): lines of
    earlier orders of the register's store. An exchange is made online (an `offline` one → 400:
    it must see and lock the orders it returns from)."""
    if offline:
        raise InvalidInput(errors={"returns": ["An exchange cannot be made offline."]})
    register = register_for_sale(user=user, register_id=register_id)
    if register is None:
        raise ObjectNotFound("Register not found.")
    return exchange_returns_lock(
        store_id=register.store_id, currency=register.store.currency, requests=returns
    )


def _exchange_payment_row(returned_total: Decimal) -> dict[str, Any]:
    """The `exchange` payment: the part of the sale the returned goods paid."""
    return {
        "method": PaymentMethod.EXCHANGE,
        "amount": returned_total,
        "tendered": None,
        "change": ZERO,
        "tip": ZERO,
        "reference": "",
        "card_last4": "",
        "points": None,
    }


def _complete_held_order(*, held: HeldOrder, order: Order, user: User) -> None:
    """Mark the held order completed by `order` (one statement); its row stays, so a later
    attempt on it answers `held_order_gone`."""
    HeldOrder.objects.filter(pk=held.pk).update(
        status=HeldOrderStatus.COMPLETED,
        order=order,
        closed_at=order.created_at,
        closed_by=user,
        updated_at=order.created_at,
    )


def _lock_open_shift(*, user: User, register_id: int, offline: bool) -> tuple[Shift, bool]:
    """The register's open shift, locked until the sale commits (see `sale_shift_locked`),
    with its register and store, and whether the sale is late; refuses a register the user may
    not see (404), a register without an open shift (409) and an inactive register (400).

    An offline sale is never refused for want of an open shift: it goes onto the register's
    last shift (closed, since none is open) and is `late` (409 only when the register never
    had a shift)."""
    shift = sale_shift_locked(user=user, register_id=register_id)
    late = False
    if shift is None:
        register = register_for_sale(user=user, register_id=register_id)
        if register is None:
            raise ObjectNotFound("Register not found.")
        shift = last_shift_of(register=register) if offline else None
        if shift is None:
            raise ShiftNotOpen()
        late = True
    _refuse_inactive_register(shift.register)
    return shift, late


def _refuse_inactive_register(register: Register) -> None:
    """A deactivated register neither sells nor quotes (400)."""
    if not register.is_active:
        raise InvalidInput(errors={"register": ["This register is not active."]})


def _write_order(
    *,
    shift: Shift,
    cashier: User,
    products: Sequence[Product],
    priced: PricedOrder,
    tenders: Tenders,
    modifiers: Sequence[list[dict[str, Any]]],
    created_at: dt.datetime,
    client_created_at: dt.datetime | None,
    offline: bool,
    late: bool = False,
    returned_total: Decimal = ZERO,
    customer: Customer | None = None,
    points_earned: int = 0,
) -> Order:
    """Number and write the order, its lines (each with the product's snapshot: sku, name,
    cost) and its payments, in one statement; the order comes back with its lines and payments
    (and theirs with their order and product) already in memory."""
    register = shift.register
    store = register.store
    order, order_lines, order_payments = _insert_order(
        register=register,
        order_row={
            "store_id": store.pk,
            "register_id": register.pk,
            "shift_id": shift.pk,
            "cashier_id": cashier.pk,
            "created_at": created_at,
            "client_created_at": client_created_at,
            "offline": offline,
            "late": late,
            "currency": store.currency,
            "prices_include_tax": store.prices_include_tax,
            "order_discount": priced.order_discount,
            "subtotal": priced.subtotal,
            "promotion_total": priced.promotion_total,
            "discount_total": priced.discount_total,
            "tax_total": priced.tax_total,
            "total": priced.total,
            "rounding": tenders.rounding,
            "returned_total": returned_total,
            "total_due": tenders.total_due,
            "paid_total": tenders.total_due,
            "tips_total": tenders.tips,
            "change_due": tenders.change_due,
            "customer_id": customer.pk if customer is not None else None,
            "tax_exempt_id": customer.tax_exempt_id
            if customer is not None and customer.tax_exempt
            else None,
            "points_earned": points_earned,
            "promotions": promotions_snapshot(priced, store.currency),
        },
        line_rows=[
            {
                "position": position,
                "product_id": product.pk,
                "sku": product.sku,
                "name": product.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "unit_cost": product.cost,
                "cost": _line_cost(product, line.quantity, store.currency),
                "gross": line.gross,
                "modifiers": chosen,
                "promotion_id": line.promotion.id if line.promotion is not None else None,
                "promotion_name": line.promotion.name if line.promotion is not None else "",
                "promotion_discount": line.promotion_discount,
                "line_discount": line.line_discount,
                "discount": line.discount,
                "net": line.net,
                "tax_rate": line.tax_rate,
                "tax": line.tax,
                "total": line.total,
            }
            for position, (product, line, chosen) in enumerate(
                zip(products, priced.lines, modifiers, strict=True), start=1
            )
        ],
        payment_rows=tenders.rows,
    )
    cache_related(order, store=store, register=register, shift=shift, cashier=cashier)
    for order_line, product in zip(order_lines, products, strict=True):
        cache_related(order_line, order=order, product=product)
    for payment in order_payments:
        cache_related(payment, order=order)
    order._prefetched_objects_cache = {"lines": order_lines, "payments": order_payments}  # type: ignore[attr-defined]
    return order


def _points_earned(
    *,
    store: Store,
    customer: Customer | None,
    priced: PricedOrder,
    returned_total: Decimal,
    tenders: Tenders,
) -> int:
    """`floor((total − what the returned goods, gift cards, store credit and points paid) ×
    the store's rate)` for a sale with a customer (`storedvalue.points`), else 0."""
    if customer is None or not store.loyalty_points_per_unit:
        return 0
    stored_value = sum(
        (
            row["amount"]
            for row in tenders.rows
            if row["method"] in STORED_VALUE_TENDERS and row["amount"] > 0
        ),
        ZERO,
    )
    return points_earned(
        money_paid=priced.total - returned_total - stored_value,
        rate=store.loyalty_points_per_unit,
    )


def _line_cost(product: Product, quantity: Decimal, currency: str) -> Decimal:
    """A line's cost of goods: `round(cost × quantity)` half-up to the currency's minor unit for
    a stock-tracked product; zero for an untracked one (a service, a gift card never entered the
    inventory account). Rounded per line, so the sale's cost of goods, the stock's book value and
    each line's refunds all share out the same cents."""
    return round_money(product.cost * quantity, currency) if product.track_stock else ZERO


def _tenders(order: Order) -> dict[str, Decimal]:
    """Σ (amount + tip) per payment method, by method: what each tender took."""
    tenders: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in _payments_of(order):
        tenders[payment.method] += payment.amount + payment.tip
    return dict(sorted(tenders.items()))


def _post_to_ledger(
    *, store: Store, order: Order, tenders: dict[str, Decimal], priced: PricedOrder, user: User
) -> None:
    """The sale's journal entry, dated on the store's local calendar day of the sale."""
    post_sale(
        store=store,
        date=timezone.localdate(order.created_at, store.tzinfo),
        order_id=order.pk,
        tenders=tenders,
        net=priced.net_total,
        tax=priced.tax_total,
        tips=order.tips_total,
        rounding=order.rounding,
        # A late sale's cash was in the drawer counted at its shift's close, which booked it as
        # over (Cr 6900): take it back out of the drawer's account against 6900.
        late_cash=sum(
            (p.amount + p.tip for p in _payments_of(order) if p.method == PaymentMethod.CASH),
            ZERO,
        )
        if order.late
        else ZERO,
        # Σ the lines' costs (zero for untracked products): exactly what `_take_stock` took
        # off the stock's book value.
        cost=sum((line.cost for line in _lines_of(order)), ZERO),
        created_by=user,
        # The value of the points earned (exact: the point value fits the currency).
        loyalty=round_money(order.points_earned * store.loyalty_point_value, store.currency),
    )


def _audit_sale(
    *,
    order: Order,
    tenders: dict[str, Decimal],
    user: User,
    approved_by: int | None = None,
    held_order_id: int | None = None,
    refund_ids: Sequence[int] = (),
    balances: dict[str, Any] | None = None,
) -> None:
    # A sale that completes a held order names it, an exchange its refunds (no keys otherwise).
    held: dict[str, Any] = {} if held_order_id is None else {"held_order": held_order_id}
    if refund_ids:
        held |= {"returned_total": str(order.returned_total), "refunds": list(refund_ids)}
    audit_record(
        action="order.created",
        actor=user,
        store_id=order.store_id,
        object_type="order",
        object_id=order.pk,
        changes={
            "number": order.number,
            "register": order.register_id,
            "shift": order.shift_id,
            "lines": len(_lines_of(order)),
            "total": str(order.total),
            "rounding": str(order.rounding),
            "tips": str(order.tips_total),
            "tenders": {method: str(amount) for method, amount in tenders.items()},
            "offline": order.offline,
            "late": order.late,
            **({"approved_by": approved_by} if approved_by is not None else {}),
            **held,
            # The customer by id only (their personal data never enters the audit trail).
            **({"customer": order.customer_id} if order.customer_id is not None else {}),
            # The customer's store credit and points changes (their movements name the
            # payments).
            **(balances or {}),
        },
    )


def _lines_of(order: Order) -> list[OrderLine]:
    """The lines `_write_order` left in memory (no query)."""
    return order._prefetched_objects_cache["lines"]  # type: ignore[attr-defined,no-any-return]


def _payments_of(order: Order) -> list[Payment]:
    """The payments `_write_order` left in memory (no query)."""
    return order._prefetched_objects_cache["payments"]  # type: ignore[attr-defined,no-any-return]


def _take_stock(*, store: Store, order: Order, user: User, offline: bool) -> None:
    """One stock change per product (a product on several lines is taken once, summed), valued
    at −Σ its lines' costs: the amount `_post_to_ledger` credits to inventory. Stamped with the
    sale's time."""
    by_product: dict[int, tuple[Product, Decimal, Decimal, Decimal]] = {}
    for line in _lines_of(order):
        product = line.product
        _, quantity, unit_cost, cost = by_product.get(
            product.pk, (product, ZERO, line.unit_cost, ZERO)
        )
        by_product[product.pk] = (product, quantity + line.quantity, unit_cost, cost + line.cost)
    changes = [
        StockChange(product=product, quantity_delta=-quantity, unit_cost=unit_cost, value=-cost)
        for product, quantity, unit_cost, cost in (by_product[pk] for pk in sorted(by_product))
    ]
    try:
        stock_apply(
            store=store,
            changes=changes,
            reason=StockReason.SALE,
            source_type="order",
            source_id=order.pk,
            user=user,
            offline=offline,
            now=order.created_at,
        )
    except InsufficientStock:
        INSUFFICIENT_STOCK.labels(store=store.code).inc()
        raise


def _count_sale(*, store: Store, order: Order, offline: bool) -> None:
    """The sale's metrics, once it has committed."""
    ORDERS.labels(store=store.code, offline=str(offline).lower()).inc()
    ORDER_AMOUNT.labels(store=store.code, currency=order.currency).inc(float(order.total))
    for payment in _payments_of(order):
        if payment.method == PaymentMethod.EXCHANGE or payment.amount < 0:
            continue  # not money taken: counted as the exchange's refund
        PAYMENTS.labels(store=store.code, method=payment.method).inc()
        PAYMENT_AMOUNT.labels(store=store.code, method=payment.method, currency=order.currency).inc(
            float(payment.amount)
        )
