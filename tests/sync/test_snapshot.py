"""`GET /api/v1/sync/snapshot/`: the store's data at one version, gzip NDJSON, built once."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.services import (
    catalog_version_current,
    product_create,
    product_update,
    tax_rate_create,
)
from monitoring.metrics import SYNC_SNAPSHOT_BUILDS, SYNC_SNAPSHOT_SERVES
from sync import snapshots
from tests.sync.helpers import SNAPSHOT, follow, one_of_each, snapshot


def _builds() -> float:
    return SYNC_SNAPSHOT_BUILDS._value.get()


def _serves(result: str) -> float:
    return SYNC_SNAPSHOT_SERVES.labels(result=result)._value.get()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_snapshot_holds_what_the_feed_gives_from_zero(role, request, store, other_store) -> None:
    client = request.getfixturevalue(f"{role}_client")
    world = one_of_each(store, other_store)
    response, version, state = snapshot(client, store)
    assert response.status_code == 200
    assert version == catalog_version_current()
    followed: dict = {}
    follow(client, store, followed, 0)
    assert state == followed
    assert ("store", store.pk) in state
    assert ("price_list", world["elsewhere"].pk) not in state
    assert ("register", world["other_register"].pk) not in state
    assert ("store", other_store.pk) not in state
    product = state[("product", world["product"].pk)]
    assert ("cost" in product) is (role == "manager")
    assert state[("product", world["other_product"].pk)]["price"] == "1.99"


@pytest.mark.django_db
def test_etag_304_and_the_cache(cashier_client, manager_client, store) -> None:
    tax_before = _builds()
    first, version, _ = snapshot(cashier_client, store)
    etag = first["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    assert first["X-Catalog-Version"] == str(version)
    assert _builds() == tax_before + 1

    hits = _serves("hit")
    again, _, _ = snapshot(cashier_client, store)
    assert again.content == first.content
    assert _builds() == tax_before + 1
    assert _serves("hit") == hits + 1

    not_modified = _serves("not_modified")
    cached = cashier_client.get(SNAPSHOT, {"store": store.pk}, HTTP_IF_NONE_MATCH=etag)
    assert cached.status_code == 304
    assert cached.content == b""
    assert _serves("not_modified") == not_modified + 1

    # Managers see cost: another ETag, another build.
    manager_response, _, _ = snapshot(manager_client, store)
    assert manager_response["ETag"] != etag
    assert _builds() == tax_before + 2

    # A change: a new version, a new ETag.
    tax = tax_rate_create(user=None, name="New", rate=Decimal("1"))
    changed = cashier_client.get(SNAPSHOT, {"store": store.pk}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag
    assert tax.version == int(changed["X-Catalog-Version"])


@pytest.mark.django_db
def test_a_cached_snapshot_and_a_304_read_one_row(cashier_client, store) -> None:
    first, _, _ = snapshot(cashier_client, store)
    with CaptureQueriesContext(connection) as queries:
        again = cashier_client.get(SNAPSHOT, {"store": store.pk})
    assert again.status_code == 200
    assert len(queries.captured_queries) <= 1
    with CaptureQueriesContext(connection) as queries:
        response = cashier_client.get(
            SNAPSHOT, {"store": store.pk}, HTTP_IF_NONE_MATCH=first["ETag"]
        )
    assert response.status_code == 304
    assert len(queries.captured_queries) <= 1


@pytest.mark.django_db
def test_another_store_is_404_and_store_is_required(cashier_client, store, other_store) -> None:
    assert cashier_client.get(SNAPSHOT, {"store": other_store.pk}).status_code == 404
    response = cashier_client.get(SNAPSHOT)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_first_requests_build_once(client_for, store) -> None:
    from tests.factories import CashierFactory

    cashier = CashierFactory(stores=[store])
    tax = tax_rate_create(user=None, name="T", rate=Decimal("1"))
    for i in range(300):
        product_create(user=None, sku=f"P{i}", name=f"P{i}", price=Decimal("1"), tax_rate=tax)
    before = _builds()
    barrier = threading.Barrier(8)
    bodies: list[bytes] = []
    statuses: list[int] = []

    def register() -> None:
        try:
            client = client_for(cashier)
            barrier.wait(10)
            response = client.get(SNAPSHOT, {"store": store.pk})
            statuses.append(response.status_code)
            bodies.append(response.content)
        finally:
            connection.close()

    threads = [threading.Thread(target=register) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert statuses == [200] * 8
    assert len(bodies) == 8
    assert len(set(bodies)) == 1
    assert _builds() == before + 1


@pytest.mark.django_db
def test_a_waiter_takes_over_when_the_builder_died(store, settings) -> None:
    """The lock of a builder that died expires; the next caller builds."""
    settings.SYNC_SNAPSHOT_LOCK_SECONDS = 1
    version = catalog_version_current()
    key = snapshots._key(store.pk, version, False)
    assert snapshots._cache().add(f"{key}:lock", 1, timeout=1)  # a builder that never finishes
    before = _builds()
    built, by_me = snapshots.snapshot_get(
        store_id=store.pk, currency="USD", version=version, show_cost=False
    )
    assert by_me is True
    assert built.version == version
    assert _builds() == before + 1


@pytest.mark.django_db
def test_a_product_changed_after_the_snapshot_reaches_the_register(cashier_client, store) -> None:
    tax = tax_rate_create(user=None, name="T", rate=Decimal("1"))
    product = product_create(user=None, sku="A", name="A", price=Decimal("1"), tax_rate=tax)
    _, version, state = snapshot(cashier_client, store)
    product_update(product=product, user=None, name="A2")
    follow(cashier_client, store, state, version)
    assert state[("product", product.pk)]["name"] == "A2"
    _, _, now = snapshot(cashier_client, store)
    assert state == now
