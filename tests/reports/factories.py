"""Arrange sales and refunds for report tests: rows written directly (priced by the real
`orders.pricing.price_order`) with the recording time the test needs, so a day's figures can be
checked against hand-computed values without going through the selling services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from itertools import count

from accounts.models import Register, Store, User
from catalog.models import Product
from orders.models import Order, OrderLine, Payment, Refund, Shift
from orders.pricing import LineInput, price_order

_numbers = count(1)


def open_shift(*, store: Store, register: Register, cashier: User) -> Shift:
    return Shift.objects.create(
        store=store, register=register, opened_by=cashier, opening_float=Decimal("0.00")
    )


def record_sale(
    *,
    shift: Shift,
    cashier: User,
    at: dt.datetime,
    lines: Sequence[tuple[Product, str] | tuple[Product, str, str]],
    order_discount: str = "0.00",
    payments: Sequence[tuple[str, str]] | None = None,
) -> Order:
    """A completed sale recorded at `at`. `lines` are `(product, quantity[, line discount])`;
    `payments` `(method, amount)` default to one cash payment of the total."""
    store = shift.store
    priced = price_order(
        lines=[
            LineInput(
                unit_price=product.price,
                quantity=Decimal(quantity),
                tax_rate=product.tax_rate.rate,
                discount=Decimal(rest[0]) if rest else Decimal("0.00"),
            )
            for product, quantity, *rest in lines
        ],
        order_discount=Decimal(order_discount),
        prices_include_tax=store.prices_include_tax,
    )
    sequence = next(_numbers)
    order = Order.objects.create(
        store=store,
        register=shift.register,
        shift=shift,
        cashier=cashier,
        number=f"{shift.register.code}-{sequence:06d}",
        sequence=sequence,
        currency=store.currency,
        prices_include_tax=store.prices_include_tax,
        order_discount=Decimal(order_discount),
        subtotal=priced.subtotal,
        discount_total=priced.discount_total,
        tax_total=priced.tax_total,
        total=priced.total,
        paid_total=priced.total,
    )
    OrderLine.objects.bulk_create(
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
        for position, ((product, *_), line) in enumerate(
            zip(lines, priced.lines, strict=True), start=1
        )
    )
    for method, amount in payments or [("cash", str(priced.total))]:
        Payment.objects.create(order=order, method=method, amount=Decimal(amount))
    # `created_at` is `auto_now_add`: move the sale to the wanted moment afterwards.
    Order.objects.filter(pk=order.pk).update(created_at=at)
    order.refresh_from_db()
    return order


def record_refund(*, order: Order, user: User, at: dt.datetime, total: str, tax: str) -> Refund:
    refund = Refund.objects.create(
        order=order,
        store=order.store,
        number=f"RF-{next(_numbers):06d}",
        created_by=user,
        net_total=Decimal(total) - Decimal(tax),
        tax_total=Decimal(tax),
        total=Decimal(total),
    )
    Refund.objects.filter(pk=refund.pk).update(created_at=at)
    refund.refresh_from_db()
    return refund
