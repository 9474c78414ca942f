"""`/api/v1/stores/` and `/api/v1/registers/`: scoping (another store is 404), who writes."""

from __future__ import annotations

from typing import Any

import pytest

from accounts import services
from accounts.models import Register, Store, User
from audit.models import AuditEvent
from tests.accounts.conftest import assert_problem
from tests.factories import AdminFactory, CashierFactory, RegisterFactory

pytestmark = pytest.mark.django_db

STORES = "/api/v1/stores/"
REGISTERS = "/api/v1/registers/"


def _ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


# --- Stores -------------------------------------------------------------------------------------


def test_store_shape(admin_client, store: Store) -> None:
    body = admin_client.get(f"{STORES}{store.pk}/").json()
    assert body == {
        "id": store.pk,
        "code": store.code,
        "name": store.name,
        "currency": "USD",
        "timezone": "America/New_York",
        "prices_include_tax": False,
        "allow_negative_stock": False,
        "cash_rounding": "0.00",
        "cashier_max_discount_percent": "100.000",
        "cashier_can_refund": False,
        "loyalty_points_per_unit": "0.000",
        "loyalty_point_value": "0.00",
        "scale_barcode_layout": "",
    }


def test_users_see_only_their_stores(
    client_for, cashier: User, manager: User, store: Store, other_store: Store
) -> None:
    for user in (cashier, manager):
        client = client_for(user)
        assert _ids(client.get(STORES)) == [store.pk]
        assert_problem(client.get(f"{STORES}{other_store.pk}/"), 404, "not_found")


def test_admin_sees_all_stores(admin_client, store: Store, other_store: Store) -> None:
    assert _ids(admin_client.get(STORES)) == [store.pk, other_store.pk]


def test_user_without_stores_sees_none(client_for, store: Store) -> None:
    assert _ids(client_for(CashierFactory()).get(STORES)) == []


def test_admin_creates_and_updates_a_store_audited(admin_client, admin_user: User) -> None:
    response = admin_client.post(
        STORES,
        {
            "code": "EAST",
            "name": "East side",
            "currency": "EUR",
            "timezone": "Europe/Berlin",
            "prices_include_tax": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["allow_negative_stock"] is False
    assert body["prices_include_tax"] is True
    store_id = body["id"]
    created = AuditEvent.objects.get(action="store.created")
    assert created.store_id == store_id
    assert created.actor_id == admin_user.pk

    patched = admin_client.patch(f"{STORES}{store_id}/", {"name": "East"})
    assert patched.status_code == 200
    assert patched.json()["name"] == "East"
    updated = AuditEvent.objects.get(action="store.updated")
    assert updated.changes == {"name": ["East side", "East"]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("timezone", "Mars/Olympus"),
        ("currency", "usd"),
        ("currency", "DOLLARS"),
        ("code", "has space"),
    ],
)
def test_store_validation(admin_client, field: str, value: str) -> None:
    data = {"code": "OK1", "name": "Fine", field: value}
    body = assert_problem(admin_client.post(STORES, data), 400, "validation_error")
    assert field in body["errors"]


def test_store_code_is_unique(admin_client, store: Store) -> None:
    body = assert_problem(
        admin_client.post(STORES, {"code": store.code, "name": "Dup"}), 400, "validation_error"
    )
    assert "code" in body["errors"]


def test_store_policy_hooks_run_on_create_and_policy_change(monkeypatch: Any) -> None:
    calls: list[tuple[int, bool]] = []

    def hook(*, store: Store) -> None:
        calls.append((store.pk, store.allow_negative_stock))

    monkeypatch.setattr(services, "STORE_POLICY_FOLLOWERS", [])
    services.store_policy_follow(hook)
    admin = AdminFactory()
    store = services.store_create(actor=admin, code="HOOK", name="Hooked")
    services.store_update(actor=admin, store=store, name="Renamed")
    services.store_update(actor=admin, store=store, allow_negative_stock=True)
    assert calls == [(store.pk, False), (store.pk, True)]


def test_store_creation_gives_catalog_levels_for_tracked_products(admin_client) -> None:
    """The real hook: catalog mirrors the new store (a zero level per tracked product)."""
    from catalog.models import Product, StockLevel, TaxRate

    tax = TaxRate.objects.create(name="Std", rate="8.250")
    product = Product.objects.create(sku="SKU1", name="Thing", price="1.00", tax_rate=tax)
    store_id = admin_client.post(STORES, {"code": "NEWS", "name": "New store"}).json()["id"]
    level = StockLevel.objects.get(store_id=store_id, product=product)
    assert level.quantity == 0
    assert level.allow_negative is False
    admin_client.patch(f"{STORES}{store_id}/", {"allow_negative_stock": True})
    level.refresh_from_db()
    assert level.allow_negative is True


# --- Registers ----------------------------------------------------------------------------------


@pytest.fixture
def registers(store: Store, other_store: Store) -> tuple[Register, Register]:
    return RegisterFactory(store=store, code="R1"), RegisterFactory(store=other_store, code="R1")


def test_register_shape(cashier_client, registers) -> None:
    mine, _ = registers
    body = cashier_client.get(f"{REGISTERS}{mine.pk}/").json()
    assert body == {
        "id": mine.pk,
        "store": mine.store_id,
        "code": "R1",
        "name": mine.name,
        "is_active": True,
    }


def test_registers_are_scoped_to_the_users_stores(client_for, cashier, manager, registers) -> None:
    mine, theirs = registers
    for user in (cashier, manager):
        client = client_for(user)
        assert _ids(client.get(REGISTERS)) == [mine.pk]
        assert _ids(client.get(REGISTERS, {"store": theirs.store_id})) == []
        assert_problem(client.get(f"{REGISTERS}{theirs.pk}/"), 404, "not_found")


def test_admin_filters_registers_by_store(admin_client, registers) -> None:
    mine, theirs = registers
    assert _ids(admin_client.get(REGISTERS)) == [mine.pk, theirs.pk]
    assert _ids(admin_client.get(REGISTERS, {"store": theirs.store_id})) == [theirs.pk]


def test_manager_writes_registers_of_their_store_only(
    manager_client, manager: User, store: Store, other_store: Store, registers
) -> None:
    mine, theirs = registers
    created = manager_client.post(REGISTERS, {"store": store.pk, "code": "R2", "name": "Two"})
    assert created.status_code == 201, created.content
    assert AuditEvent.objects.get(action="register.created").store_id == store.pk

    elsewhere = manager_client.post(REGISTERS, {"store": other_store.pk, "code": "R7"})
    assert "store" in assert_problem(elsewhere, 400, "validation_error")["errors"]
    assert not Register.objects.filter(code="R7").exists()

    assert_problem(
        manager_client.patch(f"{REGISTERS}{theirs.pk}/", {"name": "Mine now"}), 404, "not_found"
    )
    renamed = manager_client.patch(f"{REGISTERS}{mine.pk}/", {"name": "Front", "is_active": False})
    assert renamed.status_code == 200
    assert renamed.json()["is_active"] is False


def test_register_never_moves_to_another_store(admin_client, registers, other_store) -> None:
    mine, _ = registers
    response = admin_client.patch(f"{REGISTERS}{mine.pk}/", {"store": other_store.pk})
    assert response.status_code == 200
    assert response.json()["store"] == mine.store_id
    mine.refresh_from_db()
    assert mine.store_id != other_store.pk


def test_register_code_unique_per_store(admin_client, registers, store: Store) -> None:
    response = admin_client.post(REGISTERS, {"store": store.pk, "code": "R1"})
    assert_problem(response, 400, "validation_error")
    mine, _ = registers
    clash = admin_client.patch(f"{REGISTERS}{mine.pk}/", {"code": "R1"})
    assert clash.status_code == 200  # unchanged code is fine
    RegisterFactory(store=store, code="R3")
    dup = admin_client.patch(f"{REGISTERS}{mine.pk}/", {"code": "R3"})
    assert_problem(dup, 400, "validation_error")


def test_cashier_cannot_write_registers(cashier_client, store: Store, registers) -> None:
    mine, _ = registers
    assert_problem(
        cashier_client.post(REGISTERS, {"store": store.pk, "code": "R5"}), 403, "permission_denied"
    )
    assert_problem(
        cashier_client.patch(f"{REGISTERS}{mine.pk}/", {"name": "x"}), 403, "permission_denied"
    )


def test_store_and_register_lists_cost_a_fixed_number_of_queries(
    admin_client, django_assert_max_num_queries, store: Store
) -> None:
    for n in range(30):
        RegisterFactory(store=store, code=f"Q{n}")
    with django_assert_max_num_queries(4):
        assert admin_client.get(REGISTERS).status_code == 200
    with django_assert_max_num_queries(4):
        assert admin_client.get(STORES).status_code == 200
