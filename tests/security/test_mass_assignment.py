"""Mass assignment (OWASP API3 Broken Object Property Level Authorization; ASVS V5.1.2): fields
a client may not set — totals, prices on lines, status, number, store, cashier of an order;
computed shift and refund figures; role, stores, is_active of oneself; superuser flags; catalog
versions — are computed or ignored, never taken from the request body."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Role, User
from catalog.models import Product
from orders.models import Order
from tests.factories import AdminFactory, CashierFactory, ManagerFactory, StoreFactory
from tests.security.builders import StoreWorld, build_store_world, new_key, quote_total

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None, client_for: Callable[[User], APIClient]) -> StoreWorld:
    return build_store_world(client_for, code="MA")


@pytest.fixture
def other(db: None, client_for: Callable[[User], APIClient]) -> StoreWorld:
    return build_store_world(client_for, code="MB")


def test_order_body_cannot_set_computed_or_owned_fields(
    world: StoreWorld, other: StoreWorld
) -> None:
    client = world.cashier_client
    honest_total = quote_total(client, world.register.pk, world.product.pk)
    forged = {
        "register": world.register.pk,
        "lines": [
            {
                "product": world.product.pk,
                "quantity": "1",
                "unit_price": "0.01",
                "gross": "0.01",
                "net": "0.01",
                "tax": "0.00",
                "tax_rate": "0.000",
                "total": "0.01",
                "name": "Free gift",
                "sku": "FREE",
                "id": 1,
            }
        ],
        "payments": [
            {
                "method": "cash",
                "amount": honest_total,
                "tendered": honest_total,
                "change": "500.00",
                "id": 1,
            }
        ],
        "store": other.store.pk,
        "shift": other.shift["id"],
        "cashier": other.cashier.pk,
        "status": "refunded",
        "number": "MB-R1-999999",
        "subtotal": "0.01",
        "discount_total": "0.00",
        "tax_total": "0.00",
        "total": "0.01",
        "paid_total": "0.01",
        "change_due": "500.00",
        "currency": "XXX",
        "prices_include_tax": True,
        "created_at": "2000-01-01T00:00:00Z",
        "id": other.order["id"],
    }
    response = client.post("/api/v1/orders/", forged, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    if response.status_code == 400:  # refusing unknown fields outright is fine too
        assert response.json()["code"] == "validation_error"
        return
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["id"] != other.order["id"]
    assert order["store"] == world.store.pk
    assert order["shift"] == world.shift["id"]
    assert order["cashier"] == world.cashier.pk
    assert order["status"] == "completed"
    assert re.fullmatch(r"R1-\d{6}", order["number"]), order["number"]
    assert order["currency"] == "USD"
    assert order["prices_include_tax"] is False
    assert order["total"] == honest_total
    assert order["change_due"] == "0.00"
    assert order["created_at"] > "2020"
    line = order["lines"][0]
    assert Decimal(line["unit_price"]) == world.product.price
    assert line["sku"] == world.product.sku
    assert line["name"] == world.product.name
    assert Decimal(line["tax_rate"]) == world.product.tax_rate.rate
    assert order["payments"][0]["change"] == "0.00"
    # The other store's order is untouched.
    untouched = Order.objects.get(pk=other.order["id"])
    assert untouched.status == "completed"
    assert untouched.total == Decimal(other.order["total"])


def test_offline_flag_is_the_only_way_past_stock_and_is_recorded(world: StoreWorld) -> None:
    """`offline: true` is a documented client field; it cannot be smuggled as `flagged` etc."""
    client = world.cashier_client
    total = quote_total(client, world.register.pk, world.product.pk)
    response = client.post(
        "/api/v1/orders/",
        {
            "register": world.register.pk,
            "lines": [{"product": world.product.pk, "quantity": "1"}],
            "payments": [{"method": "cash", "amount": total, "tendered": total}],
            "flagged": False,
            "allow_negative_stock": True,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert response.status_code in (201, 400), response.content
    world.store.refresh_from_db()
    assert world.store.allow_negative_stock is False


def test_refund_body_cannot_set_amounts(world: StoreWorld) -> None:
    response = world.manager_client.post(
        f"/api/v1/orders/{world.order['id']}/refunds/",
        {
            "lines": [{"line": world.line_id, "quantity": "1", "total": "999.00", "net": "999.00"}],
            "restock": True,
            "reason": "x",
            "total": "999.00",
            "payments": [{"method": "cash", "amount": "999.00"}],
            "order": 1,
            "number": "HACK",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    if response.status_code == 400:
        return
    assert response.status_code == 201, response.content
    refund = response.json()
    assert refund["order"] == world.order["id"]
    assert refund["total"] == world.order["total"]
    assert refund["number"] != "HACK"
    assert sum(Decimal(p["amount"]) for p in refund["payments"]) == Decimal(world.order["total"])


def test_shift_bodies_cannot_set_computed_figures(world: StoreWorld) -> None:
    client = world.cashier_client
    shift_id = world.shift["id"]
    closed = client.post(
        f"/api/v1/shifts/{shift_id}/close/",
        {
            "counted_cash": "105.40",
            "expected_cash": "105.40",
            "difference": "0.00",
            "status": "open",
            "opened_by": AdminFactory().pk,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert closed.status_code == 200, closed.content
    shift = closed.json()
    assert shift["status"] == "closed"
    assert shift["opened_by"] == world.cashier.pk
    expected = Decimal("100.00") + Decimal(world.order["total"])
    assert Decimal(shift["expected_cash"]) == expected
    assert Decimal(shift["difference"]) == Decimal("105.40") - expected
    reopened = client.post(
        "/api/v1/shifts/",
        {
            "register": world.register.pk,
            "opening_float": "10.00",
            "status": "closed",
            "opened_by": AdminFactory().pk,
            "store": StoreFactory().pk,
            "expected_cash": "1.00",
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert reopened.status_code == 201, reopened.content
    body = reopened.json()
    assert body["status"] == "open"
    assert body["opened_by"] == world.cashier.pk
    assert body["register"] == world.register.pk


def test_stock_adjustment_cannot_set_cost_or_result(world: StoreWorld) -> None:
    response = world.manager_client.post(
        "/api/v1/stock/adjustments/",
        {
            "store": world.store.pk,
            "product": world.product.pk,
            "quantity_delta": "2",
            "reason": "receive",
            "note": "",
            "quantity_after": "100000",
            "unit_cost": "0.00",
            "flagged": True,
            "user": AdminFactory().pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    movement = response.json()
    assert Decimal(movement["quantity_after"]) < 1000
    level = world.cashier_client.get(
        f"/api/v1/stock/?store={world.store.pk}&product={world.product.pk}"
    ).json()["results"][0]
    assert Decimal(level["quantity"]) == Decimal(movement["quantity_after"])


def test_product_version_is_computed(world: StoreWorld, admin_client: APIClient) -> None:
    before = Product.objects.get(pk=world.product.pk).version
    response = admin_client.patch(
        f"/api/v1/products/{world.product.pk}/",
        {"name": "Renamed", "version": 10**9, "updated_at": "2000-01-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert before < response.json()["version"] < 10**9
    assert response.json()["updated_at"] > "2020"


def test_cashier_never_sees_cost(world: StoreWorld) -> None:
    products = world.cashier_client.get("/api/v1/products/").json()["results"]
    assert products
    assert all("cost" not in p for p in products)
    detail = world.cashier_client.get(f"/api/v1/products/{world.product.pk}/").json()
    assert "cost" not in detail


# --- Users and roles ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"role": "admin"}, {"role": "manager"}, {"stores": []}, {"is_active": False}],
    ids=["role-admin", "role-manager", "stores", "deactivate"],
)
def test_nobody_changes_their_own_role_stores_or_activity(
    change: dict[str, Any], client_for: Callable[[User], APIClient]
) -> None:
    store, extra = StoreFactory(), StoreFactory()
    for user in (
        CashierFactory(stores=[store]),
        ManagerFactory(stores=[store]),
        AdminFactory(stores=[store]),
    ):
        body = {"stores": [store.pk, extra.pk]} if change == {"stores": []} else change
        response = client_for(user).patch(f"/api/v1/users/{user.pk}/", body, format="json")
        no_op = body.get("role") == user.role  # "changing" to the same value may succeed
        assert response.status_code in ((200, 400, 403) if no_op else (400, 403)), (
            user.role,
            response.content,
        )
        fresh = User.objects.get(pk=user.pk)
        assert fresh.role == user.role
        assert fresh.is_active
        assert list(fresh.stores.values_list("id", flat=True)) == [store.pk]


def test_manager_cannot_create_or_promote_above_cashier(
    client_for: Callable[[User], APIClient],
) -> None:
    store = StoreFactory()
    manager = ManagerFactory(stores=[store])
    cashier = CashierFactory(stores=[store])
    client = client_for(manager)
    for role in ("admin", "manager"):
        response = client.post(
            "/api/v1/users/",
            {
                "username": f"new-{role}",
                "password": "A-long-passphrase-42",
                "role": role,
                "stores": [store.pk],
            },
            format="json",
        )
        assert response.status_code == 403, response.content
        assert not User.objects.filter(username=f"new-{role}").exists()
    promote = client.patch(f"/api/v1/users/{cashier.pk}/", {"role": "admin"}, format="json")
    assert promote.status_code == 403
    assert User.objects.get(pk=cashier.pk).role == Role.CASHIER


def test_superuser_and_staff_flags_are_not_writable(
    admin_client: APIClient, client_for: Callable[[User], APIClient]
) -> None:
    store = StoreFactory()
    created = admin_client.post(
        "/api/v1/users/",
        {
            "username": "plain.cashier",
            "password": "A-long-passphrase-42",
            "role": "cashier",
            "stores": [store.pk],
            "is_superuser": True,
            "is_staff": True,
            "token_version": 99,
            "groups": [1],
            "user_permissions": [1],
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    user = User.objects.get(username="plain.cashier")
    assert not user.is_superuser
    assert not user.is_staff
    assert user.role == Role.CASHIER
    assert user.token_version == 0
    assert not user.user_permissions.exists()
    assert "password" not in created.json()
    # Manager-created users too.
    manager = ManagerFactory(stores=[store])
    by_manager = client_for(manager).post(
        "/api/v1/users/",
        {
            "username": "sneaky",
            "password": "A-long-passphrase-42",
            "role": "cashier",
            "stores": [store.pk],
            "is_superuser": True,
        },
        format="json",
    )
    assert by_manager.status_code == 201, by_manager.content
    assert not User.objects.get(username="sneaky").is_superuser


def test_password_never_comes_back(admin_client: APIClient) -> None:
    cashier = CashierFactory()
    for response in (
        admin_client.get("/api/v1/users/"),
        admin_client.get(f"/api/v1/users/{cashier.pk}/"),
        admin_client.patch(
            f"/api/v1/users/{cashier.pk}/", {"password": "Another-passphrase-77"}, format="json"
        ),
    ):
        assert response.status_code == 200
        text = response.content.decode()
        assert "password" not in text
        assert "pbkdf2" not in text
        assert "md5$" not in text
