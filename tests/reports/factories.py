"""Arrange sales and refunds for report tests, at the recording time the test needs: sales go
through `order_create` with its clock pinned; refunds (totals only, no lines) and the one sale
that must bypass the services are rows written directly."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from itertools import count

from accounts.models import Register, Store, User
from catalog.models import Product, StockLevel
from orders.models import Order, OrderLine, Payment, Refund, Shift
from orders.pricing import LineInput, price_order
from orders.services.sales import PaymentRequest, SaleLineRequest, order_create, order_quote
from tests.catalog.factories import set_stock

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
    """A completed sale recorded at `at`, through `order_create` (its clock pinned to `at`).
    `lines` are `(product, quantity[, line discount])`; `payments` `(method, amount)` default to
    one cash payment of the total. The stock it takes is put on the shelf first, so the levels
    the test arranged are what it finds afterwards."""
    store = shift.store
    requests = [
        SaleLineRequest(
            product_id=product.pk,
            quantity=Decimal(quantity),
            discount=Decimal(rest[0]) if rest else Decimal("0.00"),
        )
        for product, quantity, *rest in lines
    ]
    for product, quantity, *_ in lines:
        if product.track_stock:
            level = StockLevel.objects.filter(store=store, product=product).first()
            set_stock(store, product, (level.quantity if level else 0) + Decimal(quantity))
    if payments is None:
        quote = order_quote(
            user=cashier,
            register_id=shift.register_id,
            lines=requests,
            discount=Decimal(order_discount),
        )
        payments = [("cash", str(quote.priced.total))]
    return order_create(
        user=cashier,
        register_id=shift.register_id,
        lines=requests,
        payments=[PaymentRequest(method=m, amount=Decimal(a)) for m, a in payments],
        discount=Decimal(order_discount),
        now=at,
    )


def record_sale_around_the_services(
    *,
    shift: Shift,
    cashier: User,
    at: dt.datetime,
    lines: Sequence[tuple[Product, str] | tuple[Product, str, str]],
    order_discount: str = "0.00",
    payments: Sequence[tuple[str, str]] | None = None,
) -> Order:
    """Order rows written directly, bypassing `order_create`: no stock, no journal entry, no
    audit event — for the tests of what notices such a sale (the reconciliation). Anything
    else records its sales with `record_sale`."""
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
