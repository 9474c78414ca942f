"""`/api/v1/stock/` (levels, store-scoped) and `POST /api/v1/stock/adjustments/` (manager+,
their stores only): movement, journal entry at cost and audit event in one transaction."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from audit.models import AuditEvent
from catalog.exceptions import InsufficientStock
from catalog.models import StockLevel, StockMovement
from catalog.services import stock_adjust
from ledger.models import JournalEntry
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import ManagerFactory, StoreFactory

STOCK = "/api/v1/stock/"
ADJUST = "/api/v1/stock/adjustments/"
MOVEMENTS = "/api/v1/stock/movements/"


def adjustment(store, product, delta="5", reason="receive", note="delivery 42"):
    return {
        "store": store.pk,
        "product": product.pk,
        "quantity_delta": delta,
        "reason": reason,
        "note": note,
    }


def entry_lines(entry: JournalEntry) -> set[tuple[str, str, str]]:
    return {
        (line.account.code, f"{line.debit:.2f}", f"{line.credit:.2f}")
        for line in entry.lines.select_related("account")
    }


# --- levels --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_stock_list_is_scoped_to_the_users_stores(cashier_client, store, other_store) -> None:
    product = ProductFactory()
    untracked = ProductFactory(track_stock=False)
    set_stock(store, product, 7)
    set_stock(other_store, product, 99)
    set_stock(store, untracked, 1)

    body = cashier_client.get(STOCK).json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row == {
        "store": store.pk,
        "product": product.pk,
        "quantity": "7.000",
        "updated_at": row["updated_at"],
    }
    assert cashier_client.get(STOCK, {"store": other_store.pk}).json()["count"] == 0
    assert (
        cashier_client.get(STOCK, {"store": store.pk, "product": product.pk}).json()["count"] == 1
    )


@pytest.mark.django_db
def test_admin_sees_every_store(admin_client, store, other_store) -> None:
    product = ProductFactory()
    set_stock(store, product, 1)
    set_stock(other_store, product, 2)
    quantities = [row["quantity"] for row in admin_client.get(STOCK).json()["results"]]
    assert quantities == ["1.000", "2.000"]


@pytest.mark.django_db
def test_new_store_and_new_product_get_zero_levels(admin_client) -> None:
    product = ProductFactory()
    response = admin_client.post(
        "/api/v1/stores/", {"code": "NEW", "name": "New store"}, format="json"
    )
    assert response.status_code == 201, response.json()
    rows = admin_client.get(STOCK, {"store": response.json()["id"]}).json()["results"]
    assert [(r["product"], r["quantity"]) for r in rows] == [(product.pk, "0.000")]


# --- adjustments ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_manager_receives_stock_with_journal_and_audit(manager_client, manager, store) -> None:
    product = ProductFactory(cost=Decimal("2.50"))
    set_stock(store, product, 3)

    response = manager_client.post(ADJUST, adjustment(store, product, "4"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["quantity_delta"] == "4.000"
    assert body["quantity_after"] == "7.000"
    assert body["reason"] == "receive"
    assert body["note"] == "delivery 42"
    assert body["user"] == manager.pk
    assert StockLevel.objects.get(store=store, product=product).quantity == Decimal("7.000")

    entry = JournalEntry.objects.get(source="stock_adjustment", source_id=body["id"])
    assert entry.store_id == store.pk
    assert entry_lines(entry) == {("1200", "10.00", "0.00"), ("5100", "0.00", "10.00")}

    event = AuditEvent.objects.get(action="stock.adjusted")
    assert event.store_id == store.pk
    assert event.actor_id == manager.pk
    assert event.changes["quantity_delta"] == "4.000"
    assert event.changes["value"] == "10.00"


@pytest.mark.django_db
def test_damage_posts_a_loss(manager_client, store) -> None:
    product = ProductFactory(cost=Decimal("1.25"))
    set_stock(store, product, 10)
    response = manager_client.post(
        ADJUST, adjustment(store, product, "-2", reason="damage"), format="json"
    )
    assert response.status_code == 201
    entry = JournalEntry.objects.get(source_id=response.json()["id"], source="stock_adjustment")
    assert entry_lines(entry) == {("5100", "2.50", "0.00"), ("1200", "0.00", "2.50")}


@pytest.mark.django_db
def test_adjustment_below_zero_is_409_and_writes_nothing(manager_client, store) -> None:
    product = ProductFactory()
    set_stock(store, product, 1)
    response = manager_client.post(
        ADJUST, adjustment(store, product, "-2", reason="count"), format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["products"] == [product.pk]
    assert not StockMovement.objects.exists()
    assert not JournalEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="stock.adjusted").exists()


@pytest.mark.django_db
def test_adjustment_in_another_store_is_404(manager_client, other_store) -> None:
    product = ProductFactory()
    response = manager_client.post(ADJUST, adjustment(other_store, product), format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    missing = manager_client.post(
        ADJUST, {**adjustment(other_store, product), "store": 999_999}, format="json"
    )
    assert missing.status_code == 404
    assert not StockMovement.objects.exists()


@pytest.mark.django_db
def test_cashier_cannot_adjust(cashier_client, store) -> None:
    product = ProductFactory()
    assert cashier_client.post(ADJUST, adjustment(store, product), format="json").status_code == 403
    assert cashier_client.get(MOVEMENTS).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reason", "sale"),
        ("reason", "theft"),
        ("quantity_delta", "0"),
        ("quantity_delta", "1.2345"),
        ("product", 999_999),
    ],
)
def test_bad_adjustments_are_400(manager_client, store, field, value) -> None:
    product = ProductFactory()
    body = {**adjustment(store, product), field: value}
    response = manager_client.post(ADJUST, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


@pytest.mark.django_db
def test_untracked_product_cannot_be_adjusted(manager_client, store) -> None:
    product = ProductFactory(track_stock=False)
    response = manager_client.post(ADJUST, adjustment(store, product), format="json")
    assert response.status_code == 400
    assert "product" in response.json()["errors"]


@pytest.mark.django_db
def test_adjustment_and_movement_lists_are_scoped(manager_client, store, other_store) -> None:
    product = ProductFactory()
    other_manager = ManagerFactory(stores=[other_store])
    stock_adjust(
        store=store, product=product, quantity_delta=Decimal("3"), reason="receive", user=None
    )
    stock_adjust(
        store=other_store,
        product=product,
        quantity_delta=Decimal("5"),
        reason="receive",
        user=other_manager,
    )
    rows = manager_client.get(ADJUST).json()["results"]
    assert [(r["store"], r["quantity_delta"]) for r in rows] == [(store.pk, "3.000")]
    assert manager_client.get(MOVEMENTS, {"store": other_store.pk}).json()["count"] == 0


# --- concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_adjustments_final_quantity_exact() -> None:
    store = StoreFactory()
    product = ProductFactory(cost=Decimal("1.00"))
    set_stock(store, product, 20)
    manager = ManagerFactory(stores=[store])
    errors: list[Exception] = []
    refused: list[int] = []
    barrier = threading.Barrier(10)

    def work(i: int) -> None:
        try:
            barrier.wait()
            delta = Decimal("3") if i % 2 else Decimal("-5")
            stock_adjust(
                store=store,
                product=product,
                quantity_delta=delta,
                reason="correction",
                note=f"thread {i}",
                user=manager,
            )
        except InsufficientStock:
            refused.append(i)
        except Exception as exc:  # noqa: BLE001 — asserted on below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    movements = StockMovement.objects.filter(store=store, product=product)
    expected = Decimal("20") + sum(m.quantity_delta for m in movements)
    assert StockLevel.objects.get(store=store, product=product).quantity == expected
    assert movements.count() + len(refused) == 10
    assert JournalEntry.objects.filter(source="stock_adjustment").count() == movements.count()
    # Movements are written under the row lock, so in id order they replay one serial history.
    running = Decimal("20")
    for movement in movements.order_by("id"):
        running += movement.quantity_delta
        assert movement.quantity_after == running
        assert running >= 0
