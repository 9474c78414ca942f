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
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Register, Store, User
from audit.services import audit_record
from catalog.exceptions import InsufficientStock
from catalog.models import Product, StockReason
from catalog.services import StockChange, stock_apply
from ledger.services import post_sale
from monitoring.metrics import (
    INSUFFICIENT_STOCK,
    ORDER_AMOUNT,
    ORDERS,
    PAYMENT_AMOUNT,
    PAYMENTS,
)
from orders.exceptions import PaymentMismatch, ShiftNotOpen
from orders.models import Order, OrderLine, Payment, PaymentMethod, RegisterSequence
from orders.pricing import LineInput, PricedOrder, price_order
from orders.selectors.sales import products_for_sale, register_for_sale, sale_shift_locked
from posproject.api.errors import InvalidInput, ObjectNotFound
from posproject.money import ZERO, round_cents
from posproject.pgarray import pg_array

__all__ = [
    "MAX_ORDER_AMOUNT",
    "PaymentRequest",
    "SaleLineRequest",
    "SaleQuote",
    "next_order_sequence",
    "order_create",
    "order_quote",
]

#: No order, line or tender may exceed this (keeps every sum inside the 14-digit money columns).
MAX_ORDER_AMOUNT = Decimal("9999999999.99")


@dataclass(frozen=True, slots=True)
class SaleLineRequest:
    product_id: int
    quantity: Decimal
    discount: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class PaymentRequest:
    method: str
    amount: Decimal
    tendered: Decimal | None = None
    reference: str = ""
    card_last4: str = ""


@dataclass(frozen=True, slots=True)
class SaleQuote:
    """A priced basket: the products as they are now and the computed money."""

    register: Register
    store: Store
    products: list[Product] = field(repr=False)
    priced: PricedOrder


def _priced_sale(
    *, store: Store, lines: Sequence[SaleLineRequest], discount: Decimal
) -> tuple[list[Product], PricedOrder]:
    """Load the products (one query), refuse unknown or inactive ones naming the line, price."""
    if not lines:
        raise InvalidInput(errors={"lines": ["At least one line is required."]})
    products = products_for_sale(product_ids=[line.product_id for line in lines])
    errors: dict[str, list[str]] = {}
    ordered: list[Product] = []
    for index, line in enumerate(lines):
        product = products.get(line.product_id)
        if product is None:
            errors[f"lines.{index}.product"] = [f"Unknown product {line.product_id}."]
        elif not product.is_active:
            errors[f"lines.{index}.product"] = [f"Product {line.product_id} is not for sale."]
        else:
            ordered.append(product)
    if errors:
        raise InvalidInput(errors=errors)
    priced = price_order(
        lines=[
            LineInput(
                unit_price=product.price,
                quantity=line.quantity,
                tax_rate=product.tax_rate.rate,
                discount=line.discount,
            )
            for product, line in zip(ordered, lines, strict=True)
        ],
        order_discount=discount,
        prices_include_tax=store.prices_include_tax,
    )
    if priced.subtotal > MAX_ORDER_AMOUNT or priced.total > MAX_ORDER_AMOUNT:
        raise InvalidInput(errors={"lines": ["The order is too large."]})
    return ordered, priced


def order_quote(
    *, user: User, register_id: int, lines: Sequence[SaleLineRequest], discount: Decimal = ZERO
) -> SaleQuote:
    """Price a basket on a register of the user's stores without writing anything."""
    register = register_for_sale(user=user, register_id=register_id)
    if register is None:
        raise ObjectNotFound("Register not found.")
    products, priced = _priced_sale(store=register.store, lines=lines, discount=discount)
    return SaleQuote(register=register, store=register.store, products=products, priced=priced)


def next_order_sequence(*, register_id: int) -> int:
    """Take the register's next order number: one `UPSERT … RETURNING` that creates the counter
    row on the register's first sale and otherwise increments it under its row lock, held until
    the caller's transaction ends. A rolled-back sale gives its number back (gapless)."""
    qn = connection.ops.quote_name
    table = qn(RegisterSequence._meta.db_table)
    sql = (
        f"INSERT INTO {table} ({qn('register_id')}, {qn('last_order_number')}, "  # noqa: S608
        f"{qn('last_refund_number')}) VALUES (%s, 1, 0) "  # nosec B608
        f"ON CONFLICT ({qn('register_id')}) DO UPDATE SET {qn('last_order_number')} = "
        f"{table}.{qn('last_order_number')} + 1 RETURNING {qn('last_order_number')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [register_id])
        return int(cursor.fetchone()[0])


_ORDER_COLUMNS = (
    "store_id", "register_id", "shift_id", "cashier_id", "status", "created_at",
    "client_created_at", "offline", "currency", "prices_include_tax", "order_discount",
    "subtotal", "discount_total", "tax_total", "total", "paid_total", "change_due",
    "refunded_total",
)  # fmt: skip
_LINE_COLUMNS = (
    ("position", "integer"), ("product_id", "bigint"), ("sku", "varchar"), ("name", "varchar"),
    ("quantity", "numeric"), ("unit_price", "numeric"), ("unit_cost", "numeric"),
    ("gross", "numeric"), ("line_discount", "numeric"), ("discount", "numeric"),
    ("net", "numeric"), ("tax_rate", "numeric"), ("tax", "numeric"), ("total", "numeric"),
    ("refunded_quantity", "numeric"), ("refunded_net", "numeric"), ("refunded_tax", "numeric"),
    ("refunded_total", "numeric"),
)  # fmt: skip
_PAYMENT_COLUMNS = (
    ("method", "varchar"), ("amount", "numeric"), ("tendered", "numeric"),
    ("change", "numeric"), ("reference", "varchar"), ("card_last4", "varchar"),
    ("refunded_amount", "numeric"),
)  # fmt: skip


def _unnest(columns: Sequence[tuple[str, str]], prefix: str) -> str:
    return ", ".join(f"%({prefix}_{name})s::{kind}[]" for name, kind in columns)


#: The number, the order, its lines and its payments in one statement (PostgreSQL). Column names
#: come from this module; every value is a parameter.
_INSERT_ORDER_SQL = f"""
WITH number AS (
    INSERT INTO orders_registersequence (register_id, last_order_number, last_refund_number)
    VALUES (%(register_id)s, 1, 0)
    ON CONFLICT (register_id) DO UPDATE
    SET last_order_number = orders_registersequence.last_order_number + 1
    RETURNING last_order_number AS sequence
), new_order AS (
    INSERT INTO orders_order (number, sequence, {", ".join(_ORDER_COLUMNS)})
    SELECT %(register_code)s || '-' || CASE WHEN number.sequence < 1000000
               THEN lpad(number.sequence::text, 6, '0') ELSE number.sequence::text END,
           number.sequence, {", ".join(f"%({c})s" for c in _ORDER_COLUMNS)}
    FROM number
    RETURNING id, number, sequence
), new_lines AS (
    INSERT INTO orders_orderline (order_id, {", ".join(c for c, _ in _LINE_COLUMNS)})
    SELECT new_order.id, line.*
    FROM new_order, unnest({_unnest(_LINE_COLUMNS, "line")}) AS line
    RETURNING id, position
), new_payments AS (
    INSERT INTO orders_payment (order_id, {", ".join(c for c, _ in _PAYMENT_COLUMNS)})
    SELECT new_order.id, payment.*
    FROM new_order, unnest({_unnest(_PAYMENT_COLUMNS, "payment")}) AS payment
    RETURNING id
)
SELECT 'order', id, sequence, number FROM new_order
UNION ALL SELECT 'line', id, position, NULL FROM new_lines
UNION ALL SELECT 'payment', id, NULL, NULL FROM new_payments
"""  # noqa: S608  # nosec B608


def _insert_order(*, order: Order, lines: list[OrderLine], payments: list[Payment]) -> None:
    """Number the order (the register's next sequence: gapless, under the counter row's lock
    until commit) and write it with its lines and payments.

    One statement (`UPSERT` of the counter, then the three INSERTs as data-modifying CTEs): one
    round trip instead of four, and no ORM statement compilation, which on a sale cost more
    Python than the pricing, stock, ledger and audit work together. The objects come back saved,
    with their ids."""
    register = order.register
    params: dict[str, Any] = {"register_id": register.pk, "register_code": register.code}
    params.update({column: getattr(order, column) for column in _ORDER_COLUMNS})
    for column, _ in _LINE_COLUMNS:
        params[f"line_{column}"] = pg_array(getattr(line, column) for line in lines)
    for column, _ in _PAYMENT_COLUMNS:
        params[f"payment_{column}"] = pg_array(getattr(payment, column) for payment in payments)
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_ORDER_SQL, params)
        rows = cursor.fetchall()
    line_ids = {position: row_id for kind, row_id, position, _ in rows if kind == "line"}
    payment_ids = sorted(row_id for kind, row_id, _, _ in rows if kind == "payment")
    [(_, order.pk, order.sequence, order.number)] = [row for row in rows if row[0] == "order"]
    for instance in (order, *lines, *payments):
        instance._state.adding = False
        instance._state.db = connection.alias
    for line in lines:
        line.pk = line_ids[line.position]
        line.order_id = order.pk
    # Ids are taken in insertion order, which is the order of the tenders as given.
    for payment, payment_id in zip(payments, payment_ids, strict=True):
        payment.pk = payment_id
        payment.order_id = order.pk


def _payments(
    *, requests: Sequence[PaymentRequest], total: Decimal
) -> tuple[list[Payment], Decimal]:
    """Validate the tenders against the total; unsaved `Payment`s and the change due."""
    errors: dict[str, list[str]] = {}
    payments: list[Payment] = []
    for index, req in enumerate(requests):
        if req.method not in PaymentMethod.values:
            errors[f"payments.{index}.method"] = ["Unknown payment method."]
            continue
        if req.amount < 0 or req.amount > MAX_ORDER_AMOUNT:
            errors[f"payments.{index}.amount"] = ["Out of range."]
            continue
        change = ZERO
        tendered = req.tendered
        if req.method == PaymentMethod.CASH:
            if tendered is not None:
                if tendered < req.amount:
                    errors[f"payments.{index}.tendered"] = [
                        "The cash tendered may not be less than the amount."
                    ]
                    continue
                change = tendered - req.amount
        elif tendered is not None:
            errors[f"payments.{index}.tendered"] = ["Only a cash payment has a tendered amount."]
            continue
        if req.card_last4 and req.method != PaymentMethod.CARD:
            errors[f"payments.{index}.card_last4"] = ["Only a card payment has card_last4."]
            continue
        payments.append(
            Payment(
                method=req.method,
                amount=req.amount,
                tendered=tendered,
                change=change,
                reference=req.reference,
                card_last4=req.card_last4,
            )
        )
    if errors:
        raise InvalidInput(errors=errors)
    paid = sum((p.amount for p in payments), ZERO)
    if paid != total:
        raise PaymentMismatch(
            f"The payments add up to {paid}; the order total is {total}.",
            errors={"payments": [f"The payments add up to {paid}; the order total is {total}."]},
        )
    return payments, sum((p.change for p in payments), ZERO)


def order_create(
    *,
    user: User,
    register_id: int,
    lines: Sequence[SaleLineRequest],
    payments: Sequence[PaymentRequest],
    discount: Decimal = ZERO,
    client_created_at: dt.datetime | None = None,
    offline: bool = False,
) -> Order:
    """Ring up a sale on the register's open shift, in one transaction: number, order, lines
    with their catalog snapshot, payments, stock movements, journal entry and audit event.

    Errors (nothing is written): register not in the user's stores → `ObjectNotFound`; no open
    shift → `ShiftNotOpen`; unknown/inactive product, discount above what it applies to, bad
    tender → `InvalidInput`; tenders ≠ total → `PaymentMismatch`; not enough stock (and not
    `offline`) → `catalog.exceptions.InsufficientStock` with the product ids.

    The returned order carries its lines and payments (no further query to serialise it).
    """
    # `savepoint=False`: inside the idempotency transaction a savepoint would cost two queries
    # and buy nothing — any error here rolls the whole request back anyway.
    with transaction.atomic(savepoint=False):
        shift = sale_shift_locked(user=user, register_id=register_id)
        if shift is None:
            if register_for_sale(user=user, register_id=register_id) is None:
                raise ObjectNotFound("Register not found.")
            raise ShiftNotOpen()
        register = shift.register
        store = register.store
        if not register.is_active:
            raise InvalidInput(errors={"register": ["This register is not active."]})

        products, priced = _priced_sale(store=store, lines=lines, discount=discount)
        payment_rows, change_due = _payments(requests=payments, total=priced.total)

        order = Order(
            store=store,
            register=register,
            shift=shift,
            cashier=user,
            created_at=timezone.now(),
            client_created_at=client_created_at,
            offline=offline,
            currency=store.currency,
            prices_include_tax=store.prices_include_tax,
            order_discount=priced.order_discount,
            subtotal=priced.subtotal,
            discount_total=priced.discount_total,
            tax_total=priced.tax_total,
            total=priced.total,
            paid_total=priced.total,
            change_due=change_due,
        )
        order_lines = [
            OrderLine(
                order=order,
                position=position,
                product=product,
                sku=product.sku,
                name=product.name,
                quantity=line.quantity,
                unit_price=line.unit_price,
                unit_cost=product.cost,
                gross=line.gross,
                line_discount=line.line_discount,
                discount=line.discount,
                net=line.net,
                tax_rate=line.tax_rate,
                tax=line.tax,
                total=line.total,
            )
            for position, (product, line) in enumerate(
                zip(products, priced.lines, strict=True), start=1
            )
        ]
        for payment in payment_rows:
            payment.order = order
        _insert_order(order=order, lines=order_lines, payments=payment_rows)

        _take_stock(store=store, order=order, lines=order_lines, user=user, offline=offline)

        tenders: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for payment in payment_rows:
            tenders[payment.method] += payment.amount
        post_sale(
            store=store,
            date=timezone.localdate(order.created_at, store.tzinfo),
            order_id=order.pk,
            tenders=dict(tenders),
            net=priced.net_total,
            tax=priced.tax_total,
            # Cost of goods moves only for stock-tracked products: untracked ones (services,
            # gift cards) never entered the inventory account.
            cost=round_cents(
                sum(
                    (
                        ol.unit_cost * ol.quantity
                        for ol, product in zip(order_lines, products, strict=True)
                        if product.track_stock
                    ),
                    ZERO,
                )
            ),
            created_by=user,
        )
        audit_record(
            action="order.created",
            actor=user,
            store_id=store.pk,
            object_type="order",
            object_id=order.pk,
            changes={
                "number": order.number,
                "register": register.pk,
                "shift": shift.pk,
                "lines": len(order_lines),
                "total": str(order.total),
                "tenders": {method: str(amount) for method, amount in sorted(tenders.items())},
                "offline": offline,
            },
        )

        order._prefetched_objects_cache = {"lines": order_lines, "payments": payment_rows}  # type: ignore[attr-defined]
        transaction.on_commit(
            lambda: _count_sale(store=store, order=order, payments=payment_rows, offline=offline)
        )
    return order


def _take_stock(
    *, store: Store, order: Order, lines: Sequence[OrderLine], user: User, offline: bool
) -> None:
    """One stock change per product (a product on several lines is taken once, summed)."""
    by_product: dict[int, tuple[Product, Decimal, Decimal]] = {}
    for line in lines:
        product = line.product
        _, quantity, cost = by_product.get(product.pk, (product, ZERO, line.unit_cost))
        by_product[product.pk] = (product, quantity + line.quantity, cost)
    changes = [
        StockChange(product=product, quantity_delta=-quantity, unit_cost=cost)
        for product, quantity, cost in (by_product[pk] for pk in sorted(by_product))
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
        )
    except InsufficientStock:
        INSUFFICIENT_STOCK.labels(store=store.code).inc()
        raise


def _count_sale(*, store: Store, order: Order, payments: Sequence[Payment], offline: bool) -> None:
    ORDERS.labels(store=store.code, offline=str(offline).lower()).inc()
    ORDER_AMOUNT.labels(store=store.code, currency=order.currency).inc(float(order.total))
    for payment in payments:
        PAYMENTS.labels(store=store.code, method=payment.method).inc()
        PAYMENT_AMOUNT.labels(store=store.code, method=payment.method).inc(float(payment.amount))
