"""Arrange a selling world for the security tests through the public API where it matters (shift,
sale, refund — the paths an attacker uses too) and factories for the master data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Product
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory


def new_key() -> str:
    return f"sec-{uuid.uuid4()}"


@dataclass
class StoreWorld:
    """One store with a register, an open shift, a product in stock, its cashier and manager, and
    one completed sale (and its order line) — everything another store must never reach."""

    store: Store
    register: Register
    product: Product
    cashier: User
    manager: User
    cashier_client: APIClient
    manager_client: APIClient
    shift: dict[str, Any]
    order: dict[str, Any]

    @property
    def line_id(self) -> int:
        return int(self.order["lines"][0]["id"])


def sale_body(register_id: int, product_id: int, *, total: str | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {
        "register": register_id,
        "lines": [{"product": product_id, "quantity": "1"}],
    }
    if total is not None:
        body["payments"] = [{"method": "cash", "amount": total, "tendered": total}]
    body.update(extra)
    return body


def quote_total(client: APIClient, register_id: int, product_id: int) -> str:
    response = client.post(
        "/api/v1/orders/quote/", sale_body(register_id, product_id), format="json"
    )
    assert response.status_code == 200, response.content
    return str(response.json()["total"])


def sell(client: APIClient, register_id: int, product_id: int, **extra: Any):
    total = quote_total(client, register_id, product_id)
    return client.post(
        "/api/v1/orders/",
        sale_body(register_id, product_id, total=total, **extra),
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )


def build_store_world(client_for: Callable[[User], APIClient], *, code: str) -> StoreWorld:
    store = StoreFactory(code=code)
    register = RegisterFactory(store=store, code="R1")
    product = ProductFactory(price=Decimal("4.99"), tax_rate=TaxRateFactory(name="Std"))
    set_stock(store, product, 100)
    cashier = CashierFactory(stores=[store])
    manager = ManagerFactory(stores=[store])
    cashier_client = client_for(cashier)
    manager_client = client_for(manager)
    shift = cashier_client.post(
        "/api/v1/shifts/", {"register": register.pk, "opening_float": "100.00"}, format="json"
    )
    assert shift.status_code == 201, shift.content
    order = sell(cashier_client, register.pk, product.pk)
    assert order.status_code == 201, order.content
    return StoreWorld(
        store=store,
        register=register,
        product=product,
        cashier=cashier,
        manager=manager,
        cashier_client=cashier_client,
        manager_client=manager_client,
        shift=shift.json(),
        order=order.json(),
    )
