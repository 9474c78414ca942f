"""Selling factories and helpers, shared by the sales, shift and refund tests.

* `ShiftFactory` — an open shift on a register (store taken from the register).
* `sell(...)` — a real sale through `orders.services.sales.order_create` (numbers, stock,
  ledger, audit, snapshots): use it whenever a test needs an order that behaves like one.
* `sale_body(...)` — a JSON body for `POST /api/v1/orders/`; `post_sale(...)` posts it with a
  fresh Idempotency-Key.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import factory
from factory.django import DjangoModelFactory
from rest_framework.test import APIClient

from accounts.models import Register, User
from catalog.models import Product
from orders.models import Order, PaymentMethod, Shift, ShiftStatus
from orders.services.sales import (
    PaymentRequest,
    SaleLineRequest,
    order_create,
    order_quote,
)
from tests.factories import CashierFactory, RegisterFactory

ORDERS_URL = "/api/v1/orders/"
QUOTE_URL = "/api/v1/orders/quote/"

LineSpec = tuple[Product, Any] | tuple[Product, Any, Any]


class ShiftFactory(DjangoModelFactory):
    class Meta:
        model = Shift
        skip_postgeneration_save = True

    register = factory.SubFactory(RegisterFactory)
    store = factory.LazyAttribute(lambda o: o.register.store)
    status = ShiftStatus.OPEN
    opened_by = factory.SubFactory(CashierFactory)
    opening_float = Decimal("100.00")

    @factory.post_generation
    def _works_in_store(self, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.opened_by.stores.add(self.store)


def open_shift_on(register: Register, user: User, opening_float: str = "100.00") -> Shift:
    """An open shift row on `register` (directly; the shift service is the shifts tests' job)."""
    return Shift.objects.create(
        store=register.store,
        register=register,
        opened_by=user,
        opening_float=Decimal(opening_float),
        status=ShiftStatus.OPEN,
    )


def _line_requests(lines: Iterable[LineSpec]) -> list[SaleLineRequest]:
    requests = []
    for spec in lines:
        product, quantity = spec[0], spec[1]
        discount = spec[2] if len(spec) > 2 else "0"  # type: ignore[misc]
        requests.append(
            SaleLineRequest(
                product_id=product.pk,
                quantity=Decimal(str(quantity)),
                discount=Decimal(str(discount)),
            )
        )
    return requests


def sell(
    *,
    user: User,
    register: Register,
    lines: Sequence[LineSpec],
    discount: Any = "0",
    payments: Sequence[PaymentRequest] | None = None,
    method: str = PaymentMethod.CASH,
    offline: bool = False,
    client_created_at: Any = None,
) -> Order:
    """Ring up a real sale through the service. `lines` are `(product, quantity)` or
    `(product, quantity, line_discount)`. Without `payments`, the whole total is paid with one
    tender of `method` (priced first by `order_quote`, the sale's own pricing path)."""
    line_requests = _line_requests(lines)
    if payments is None:
        quote = order_quote(
            user=user,
            register_id=register.pk,
            lines=line_requests,
            discount=Decimal(str(discount)),
        )
        payments = [PaymentRequest(method=method, amount=quote.priced.total)]
    return order_create(
        user=user,
        register_id=register.pk,
        lines=line_requests,
        payments=payments,
        discount=Decimal(str(discount)),
        client_created_at=client_created_at,
        offline=offline,
    )


def sale_body(
    register: Register,
    lines: Sequence[LineSpec],
    *,
    payments: list[dict[str, Any]] | None = None,
    discount: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `POST /api/v1/orders/` body. Without `payments`, pays the quoted total in cash (the
    caller passes `payments` when it knows the total)."""
    body: dict[str, Any] = {
        "register": register.pk,
        "lines": [
            {"product": spec[0].pk, "quantity": str(spec[1])}
            | ({"discount": str(spec[2])} if len(spec) > 2 else {})  # type: ignore[misc]
            for spec in lines
        ],
    }
    if discount is not None:
        body["discount"] = discount
    if payments is not None:
        body["payments"] = payments
    body.update(extra)
    return body


def post_sale(
    client: APIClient, body: dict[str, Any], *, key: str | None = None, pay_quote: bool = True
) -> Any:
    """POST a sale with a fresh (or the given) Idempotency-Key. When the body has no payments
    and `pay_quote`, the quote endpoint prices it first and the total is paid in cash."""
    if "payments" not in body and pay_quote:
        quote = client.post(QUOTE_URL, body, format="json")
        assert quote.status_code == 200, quote.content
        body = {**body, "payments": [{"method": "cash", "amount": quote.json()["total"]}]}
    return client.post(
        ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4())
    )
