"""Object-level authorization for every store-scoped endpoint (OWASP API1 BOLA, API5 BFLA):
a cashier or manager of store A never reads, and never writes through, anything of store B.

Reads of B's objects answer `404` (existence is not revealed); lists never contain B's rows,
whatever filter names B; writes that reference B's register, shift, order, order line or store
fail with 400/404 and change nothing in B. Endpoints a role may not use at all answer `403`.
Admins see both stores (the control that the arrangement is real)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import StockLevel, StockMovement
from ledger.models import JournalEntry
from orders.models import Order, Refund, Shift
from tests.security.builders import StoreWorld, build_store_world, new_key, sale_body

pytestmark = pytest.mark.django_db

REFUSED_WRITE = {400, 403, 404}


@pytest.fixture
def a(db: None, client_for: Callable[[User], APIClient]) -> StoreWorld:
    return build_store_world(client_for, code="SA")


@pytest.fixture
def b(db: None, client_for: Callable[[User], APIClient]) -> StoreWorld:
    """Store B with a sale, a refund and a stock adjustment: orders, shifts, stock movements,
    ledger entries and audit events all exist in B."""
    world = build_store_world(client_for, code="SB")
    refund = world.manager_client.post(
        f"/api/v1/orders/{world.order['id']}/refunds/",
        {"lines": [{"line": world.line_id, "quantity": "1"}], "restock": True, "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert refund.status_code == 201, refund.content
    adjustment = world.manager_client.post(
        "/api/v1/stock/adjustments/",
        {
            "store": world.store.pk,
            "product": world.product.pk,
            "quantity_delta": "5",
            "reason": "receive",
            "note": "B only",
        },
        format="json",
    )
    assert adjustment.status_code == 201, adjustment.content
    return world


@pytest.fixture(params=["cashier", "manager"])
def actor(request: pytest.FixtureRequest, a: StoreWorld) -> tuple[str, APIClient]:
    role = request.param
    return role, a.cashier_client if role == "cashier" else a.manager_client


def results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"


def assert_forbidden(response: Any) -> None:
    assert response.status_code == 403, (response.status_code, response.content[:300])
    assert response.json()["code"] == "permission_denied"


def assert_list_hides_store(response: Any, store_id: int) -> None:
    """A list filtered on, or merely run next to, store B: 200 without B's rows, or a refusal
    (400/403/404) that says nothing about B."""
    if response.status_code in (400, 403, 404):
        assert response["Content-Type"] == "application/problem+json"
        return
    for row in results(response):
        assert "store" in row, row  # the check below must not pass vacuously
        assert row["store"] != store_id, row


def b_snapshot(b: StoreWorld) -> dict[str, Any]:
    return {
        "orders": Order.objects.filter(store=b.store).count(),
        "refunds": Refund.objects.filter(store=b.store).count(),
        "open_shifts": Shift.objects.filter(store=b.store, status="open").count(),
        "shift_ids": sorted(Shift.objects.filter(store=b.store).values_list("id", flat=True)),
        "movements": StockMovement.objects.filter(store=b.store).count(),
        "stock": list(StockLevel.objects.filter(store=b.store).values_list("quantity", flat=True)),
        "entries": JournalEntry.objects.filter(store=b.store).count(),
        "register": (b.register.code, b.register.name, b.register.is_active),
    }


# --- Reads -------------------------------------------------------------------------------------


def test_detail_reads_of_store_b_are_404(actor, b: StoreWorld) -> None:
    role, client = actor
    order_id, shift_id = b.order["id"], b.shift["id"]
    for path in (
        f"/api/v1/orders/{order_id}/",
        f"/api/v1/orders/{order_id}/receipt/",
        f"/api/v1/orders/{order_id}/receipt/?format=html",
        f"/api/v1/shifts/{shift_id}/",
        f"/api/v1/shifts/{shift_id}/report/",
        f"/api/v1/registers/{b.register.pk}/",
        f"/api/v1/stores/{b.store.pk}/",
    ):
        assert_not_found(client.get(path))
    user_detail = client.get(f"/api/v1/users/{b.cashier.pk}/")
    if role == "manager":
        assert_not_found(user_detail)
    else:
        assert user_detail.status_code in (403, 404)


def test_lists_never_contain_store_b(actor, a: StoreWorld, b: StoreWorld) -> None:
    _role, client = actor
    sb = b.store.pk
    for path in (
        "/api/v1/orders/",
        f"/api/v1/orders/?store={sb}",
        f"/api/v1/orders/?register={b.register.pk}",
        f"/api/v1/orders/?shift={b.shift['id']}",
        f"/api/v1/orders/?cashier={b.cashier.pk}",
        f"/api/v1/orders/?number={b.order['number']}",
        "/api/v1/shifts/",
        f"/api/v1/shifts/?store={sb}",
        f"/api/v1/shifts/?register={b.register.pk}",
        "/api/v1/stock/",
        f"/api/v1/stock/?store={sb}",
        f"/api/v1/stock/?store={sb}&product={b.product.pk}",
        "/api/v1/registers/",
        f"/api/v1/registers/?store={sb}",
    ):
        assert_list_hides_store(client.get(path), sb)
    stores = [row["id"] for row in results(client.get("/api/v1/stores/"))]
    assert stores == [a.store.pk]
    # A's own data is there (the filter is not simply "nothing").
    assert [o["id"] for o in results(client.get("/api/v1/orders/"))] == [a.order["id"]]


def test_staff_reads_of_store_b_are_hidden(a: StoreWorld, b: StoreWorld) -> None:
    client, sb = a.manager_client, b.store.pk
    today = dt.date.today().isoformat()
    for path in (
        "/api/v1/stock/movements/",
        f"/api/v1/stock/movements/?store={sb}",
        "/api/v1/stock/adjustments/",
        f"/api/v1/stock/adjustments/?store={sb}",
        "/api/v1/ledger/entries/",
        f"/api/v1/ledger/entries/?store={sb}",
        f"/api/v1/ledger/entries/?order={b.order['id']}",
        "/api/v1/audit/events/",
        f"/api/v1/audit/events/?store={sb}",
        f"/api/v1/audit/events/?actor={b.cashier.pk}",
    ):
        assert_list_hides_store(client.get(path), sb)
    assert_not_found(client.get(f"/api/v1/ledger/trial-balance/?store={sb}"))
    assert_not_found(client.get(f"/api/v1/reports/daily/?store={sb}&date={today}"))
    assert_not_found(client.get(f"/api/v1/reports/daily/?store={sb}&date={today}&format=csv"))
    users = {row["id"] for row in results(client.get("/api/v1/users/"))}
    assert b.cashier.pk not in users
    assert b.manager.pk not in users
    # The trial balance of "all my stores" is A's alone: it equals A's own.
    mine = client.get("/api/v1/ledger/trial-balance/").json()
    only_a = client.get(f"/api/v1/ledger/trial-balance/?store={a.store.pk}").json()
    assert mine == {"currencies": {a.store.currency: only_a}}


def test_cashiers_cannot_use_staff_endpoints_at_all(a: StoreWorld, b: StoreWorld) -> None:
    client, today = a.cashier_client, dt.date.today().isoformat()
    for path in (
        "/api/v1/stock/movements/",
        "/api/v1/stock/adjustments/",
        "/api/v1/ledger/accounts/",
        "/api/v1/ledger/entries/",
        "/api/v1/ledger/trial-balance/",
        "/api/v1/audit/events/",
        "/api/v1/audit/verify/",
        f"/api/v1/reports/daily/?store={a.store.pk}&date={today}",
        "/api/v1/users/",
    ):
        assert_forbidden(client.get(path))
    refund = client.post(
        f"/api/v1/orders/{a.order['id']}/refunds/",
        {"lines": [{"line": a.line_id, "quantity": "1"}], "restock": True},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    # A cashier refunds only with a manager's approval (API.md 1.1, "Approvals").
    assert refund.status_code == 403, refund.content
    assert refund.json()["code"] == "approval_required"


def test_admin_sees_both_stores(a: StoreWorld, b: StoreWorld, admin_client: APIClient) -> None:
    orders = {row["store"] for row in results(admin_client.get("/api/v1/orders/"))}
    assert orders == {a.store.pk, b.store.pk}
    assert admin_client.get(f"/api/v1/orders/{b.order['id']}/").status_code == 200


# --- Writes that reference store B -------------------------------------------------------------


def test_cannot_sell_quote_or_open_a_shift_on_store_b_register(actor, b: StoreWorld) -> None:
    _role, client = actor
    before = b_snapshot(b)
    body = sale_body(b.register.pk, b.product.pk, total="5.40")
    sale = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert sale.status_code in {400, 404}, sale.content
    quote = client.post(
        "/api/v1/orders/quote/", sale_body(b.register.pk, b.product.pk), format="json"
    )
    assert quote.status_code in {400, 404}, quote.content
    # B's register has an open shift: a 409 `shift_already_open` would reveal that.
    shift = client.post(
        "/api/v1/shifts/", {"register": b.register.pk, "opening_float": "0.00"}, format="json"
    )
    assert shift.status_code in {400, 404}, shift.content
    assert b_snapshot(b) == before


def test_cannot_act_on_store_b_shift(actor, b: StoreWorld) -> None:
    _role, client = actor
    before = b_snapshot(b)
    shift_id = b.shift["id"]
    close = client.post(
        f"/api/v1/shifts/{shift_id}/close/",
        {"counted_cash": "0.00"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert_not_found(close)
    movement = client.post(
        f"/api/v1/shifts/{shift_id}/cash-movements/",
        {"kind": "out", "amount": "50.00", "reason": "lunch"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert_not_found(movement)
    assert b_snapshot(b) == before


def test_cannot_adjust_store_b_stock(actor, b: StoreWorld) -> None:
    role, client = actor
    before = b_snapshot(b)
    response = client.post(
        "/api/v1/stock/adjustments/",
        {
            "store": b.store.pk,
            "product": b.product.pk,
            "quantity_delta": "-50",
            "reason": "damage",
            "note": "",
        },
        format="json",
    )
    if role == "manager":
        assert_not_found(response)
    else:
        assert_forbidden(response)
    assert b_snapshot(b) == before


def test_cannot_refund_store_b_order_or_its_lines(a: StoreWorld, b: StoreWorld) -> None:
    client = a.manager_client
    before = b_snapshot(b)
    direct = client.post(
        f"/api/v1/orders/{b.order['id']}/refunds/",
        {"lines": [{"line": b.line_id, "quantity": "1"}], "restock": True, "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert_not_found(direct)
    # A's own order, but a line of B's order smuggled in.
    smuggled = client.post(
        f"/api/v1/orders/{a.order['id']}/refunds/",
        {"lines": [{"line": b.line_id, "quantity": "1"}], "restock": True, "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )
    assert smuggled.status_code in {400, 404}, smuggled.content
    assert b_snapshot(b) == before
    assert Refund.objects.filter(order_id=a.order["id"]).count() == 0


def test_manager_cannot_administer_store_b(a: StoreWorld, b: StoreWorld) -> None:
    client = a.manager_client
    before = b_snapshot(b)
    assert_not_found(
        client.patch(f"/api/v1/registers/{b.register.pk}/", {"is_active": False}, format="json")
    )
    created = client.post(
        "/api/v1/registers/", {"store": b.store.pk, "code": "EVIL", "name": "x"}, format="json"
    )
    assert created.status_code in REFUSED_WRITE, created.content
    assert not b.store.registers.filter(code="EVIL").exists()
    cashier = client.post(
        "/api/v1/users/",
        {
            "username": "mole",
            "password": "A-long-passphrase-42",
            "role": "cashier",
            "stores": [b.store.pk],
        },
        format="json",
    )
    assert cashier.status_code in REFUSED_WRITE, cashier.content
    assert not User.objects.filter(username="mole").exists()
    store = client.patch(f"/api/v1/stores/{b.store.pk}/", {"name": "pwned"}, format="json")
    assert store.status_code in {403, 404}
    takeover = client.patch(
        f"/api/v1/users/{b.cashier.pk}/", {"password": "A-long-passphrase-42"}, format="json"
    )
    assert takeover.status_code in {403, 404}
    b.register.refresh_from_db()
    b.store.refresh_from_db()
    assert b.store.name != "pwned"
    assert b_snapshot(b) == before


def test_cashier_of_a_cannot_sell_on_a_closed_or_foreign_register_by_guessing_ids(
    a: StoreWorld, b: StoreWorld
) -> None:
    """Enumerating register ids answers the same for 'exists in B' and 'does not exist'."""
    client = a.cashier_client
    body_b = sale_body(b.register.pk, a.product.pk, total="5.40")
    body_missing = sale_body(987654, a.product.pk, total="5.40")
    in_b = client.post("/api/v1/orders/", body_b, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    missing = client.post(
        "/api/v1/orders/", body_missing, format="json", HTTP_IDEMPOTENCY_KEY=new_key()
    )
    assert in_b.status_code == missing.status_code
    assert in_b.json()["code"] == missing.json()["code"]
    assert in_b.json().get("errors") == missing.json().get("errors")
