"""Delta sync: `?since_version=N` and the `X-Catalog-Version` watermark.

The property that matters: a register that always syncs from the last watermark it received
never misses a change — also when writes overlap and commit in another order than they began.
"""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from urllib.parse import parse_qs, urlparse

import pytest
from django.db import connection, transaction

from catalog.models import Product
from catalog.selectors import product_sync_page
from catalog.services import (
    catalog_version_current,
    product_create,
    product_deactivate,
    product_update,
)
from tests.catalog.factories import CategoryFactory, ProductFactory, TaxRateFactory

URL = "/api/v1/products/"
HEADER = "X-Catalog-Version"


def sync(client, since: int, **params):
    response = client.get(URL, {"since_version": since, **params})
    assert response.status_code == 200, response.json()
    return response.json(), int(response[HEADER])


@pytest.mark.django_db
def test_sync_returns_changes_after_n_by_version_with_the_watermark(cashier_client) -> None:
    tax = TaxRateFactory()
    a = product_create(user=None, sku="A", name="A", price=Decimal("1.00"), tax_rate=tax)
    b = product_create(user=None, sku="B", name="B", price=Decimal("1.00"), tax_rate=tax)
    product_update(product=a, user=None, name="A2")  # A moves behind B

    body, watermark = sync(cashier_client, 0)
    assert [row["sku"] for row in body["results"]] == ["B", "A"]
    assert [row["version"] for row in body["results"]] == sorted(
        row["version"] for row in body["results"]
    )
    assert watermark == catalog_version_current()
    assert body["next"] is None
    assert body["count"] == 2

    after_b, _ = sync(cashier_client, Product.objects.get(pk=b.pk).version)
    assert [row["sku"] for row in after_b["results"]] == ["A"]


@pytest.mark.django_db
def test_count_is_what_is_left_to_sync_under_the_same_filters(cashier_client) -> None:
    """`count` is every product changed after `since_version` that the filters match, not just
    the page, and shrinks as the register pages on."""
    tax = TaxRateFactory()
    fruit, other = CategoryFactory(), CategoryFactory()
    for i in range(5):
        product_create(user=None, sku=f"F{i}", name=f"F{i}", price=Decimal("1"), tax_rate=tax,
                       category=fruit)  # fmt: skip
        product_create(user=None, sku=f"O{i}", name=f"O{i}", price=Decimal("1"), tax_rate=tax,
                       category=other)  # fmt: skip

    first, watermark = sync(cashier_client, 0, category=fruit.pk, page_size=2)
    second, _ = sync(cashier_client, watermark, category=fruit.pk, page_size=2)
    everything, _ = sync(cashier_client, 0, page_size=3)
    last, _ = sync(cashier_client, watermark, category=fruit.pk, page_size=200)

    assert (first["count"], len(first["results"])) == (5, 2)
    assert (second["count"], len(second["results"])) == (3, 2)
    assert (everything["count"], len(everything["results"])) == (10, 3)
    assert (last["count"], len(last["results"]), last["next"]) == (3, 3, None)
    assert {row["sku"][0] for row in first["results"] + second["results"]} == {"F"}


@pytest.mark.django_db
def test_deactivated_products_are_synced(cashier_client) -> None:
    tax = TaxRateFactory()
    product = product_create(user=None, sku="X", name="X", price=Decimal("1.00"), tax_rate=tax)
    _, watermark = sync(cashier_client, 0)
    product_deactivate(product=product, user=None)
    body, _ = sync(cashier_client, watermark)
    assert [(row["sku"], row["is_active"]) for row in body["results"]] == [("X", False)]


@pytest.mark.django_db
def test_nothing_changed_keeps_the_watermark(cashier_client) -> None:
    tax = TaxRateFactory()
    product_create(user=None, sku="X", name="X", price=Decimal("1.00"), tax_rate=tax)
    _, watermark = sync(cashier_client, 0)
    body, again = sync(cashier_client, watermark)
    assert body["results"] == []
    assert again == watermark
    # A watermark from the future (a restored database) falls back to the current version.
    _, capped = sync(cashier_client, watermark + 1000)
    assert capped == watermark


@pytest.mark.django_db
def test_paging_follows_next_with_keyset_watermarks(cashier_client) -> None:
    tax = TaxRateFactory()
    for i in range(5):
        product_create(user=None, sku=f"P{i}", name=f"P{i}", price=Decimal("1.00"), tax_rate=tax)

    seen: list[str] = []
    body, watermark = sync(cashier_client, 0, page_size=2)
    assert body["count"] == 5
    pages = 1
    while True:
        seen += [row["sku"] for row in body["results"]]
        if body["next"] is None:
            break
        assert watermark == body["results"][-1]["version"]
        query = parse_qs(urlparse(body["next"]).query)
        assert query["since_version"] == [str(watermark)]
        body, watermark = sync(cashier_client, int(query["since_version"][0]), page_size=2)
        pages += 1
    assert seen == [f"P{i}" for i in range(5)]
    assert pages == 3
    assert watermark == catalog_version_current()


@pytest.mark.django_db
def test_sync_combines_with_filters(cashier_client) -> None:
    tax = TaxRateFactory()
    product_create(user=None, sku="TEA-1", name="Tea", price=Decimal("1.00"), tax_rate=tax)
    product_create(user=None, sku="COF-1", name="Coffee", price=Decimal("1.00"), tax_rate=tax)
    body, _ = sync(cashier_client, 0, search="tea")
    assert [row["sku"] for row in body["results"]] == ["TEA-1"]


@pytest.mark.django_db
def test_plain_list_has_no_watermark(cashier_client) -> None:
    ProductFactory()
    assert HEADER not in cashier_client.get(URL)


# --- concurrency (PostgreSQL) --------------------------------------------------------------------


def _in_thread(target, *args) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_committing_after_a_later_one_is_not_missed() -> None:
    """Writer 1 takes its version and stays open; writer 2 starts later. Whatever order they
    commit in, a register syncing in between and then from its watermark gets both."""
    tax = TaxRateFactory()
    a = product_create(user=None, sku="A", name="A0", price=Decimal("1.00"), tax_rate=tax)
    b = product_create(user=None, sku="B", name="B0", price=Decimal("1.00"), tax_rate=tax)
    watermark = product_sync_page(
        queryset=Product.objects.all(), since_version=0, limit=50
    ).watermark

    first_written, release_first = threading.Event(), threading.Event()
    second_committed = threading.Event()

    def first_writer() -> None:
        with transaction.atomic():
            product_update(product=a, user=None, name="A1")
            first_written.set()
            release_first.wait(10)

    def second_writer() -> None:
        with transaction.atomic():
            product_update(product=b, user=None, name="B1")
        second_committed.set()

    t1 = _in_thread(first_writer)
    assert first_written.wait(10)
    t2 = _in_thread(second_writer)
    # Had the second writer been able to commit a higher version first, this is when a
    # register would sync and store a watermark above writer 1's (uncommitted) version.
    second_committed.wait(1.0)
    page = product_sync_page(queryset=Product.objects.all(), since_version=watermark, limit=50)
    register = {p.pk: (p.version, p.name) for p in page.products}
    watermark = page.watermark

    release_first.set()
    t1.join(10)
    t2.join(10)

    page = product_sync_page(queryset=Product.objects.all(), since_version=watermark, limit=50)
    register.update({p.pk: (p.version, p.name) for p in page.products})
    assert register[a.pk][1] == "A1"
    assert register[b.pk][1] == "B1"
    # Versions were handed out in commit order.
    assert register[a.pk][0] < register[b.pk][0]


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_register_never_misses_a_change_under_concurrent_writers() -> None:
    """Writers update products with random pauses inside their transactions while a register
    syncs in pages of 2. After every page, for every product, the register holds at least the
    last write whose version is at or below the watermark it was given — unless that write has
    since been superseded by one above the watermark, which a later page delivers instead (a
    superseded version is no longer in the table to be sent). After a last page (no more to
    come) there is no such exception, and the final state is every product's last write."""
    tax = TaxRateFactory()
    products = [
        product_create(user=None, sku=f"S{i}", name="0", price=Decimal("1.00"), tax_rate=tax)
        for i in range(4)
    ]
    history: dict[int, list[int]] = {p.pk: [p.version] for p in products}
    history_lock = threading.Lock()
    writers_done = threading.Event()
    observations: list[tuple[int, bool, dict[int, int]]] = []
    rng = random.Random(7)  # a reproducible schedule
    delays = [[rng.uniform(0, 0.02) for _ in range(8)] for _ in range(3)]

    def writer(n: int) -> None:
        for step, delay in enumerate(delays[n]):
            product = products[(n + step) % len(products)]
            with transaction.atomic():
                updated = product_update(product=product, user=None, name=f"w{n}s{step}")
                time.sleep(delay)  # hold the transaction open after taking the version
            with history_lock:
                history[product.pk].append(updated.version)

    def register() -> None:
        state: dict[int, int] = {}
        watermark = 0
        while True:
            finished = writers_done.is_set()
            page = product_sync_page(
                queryset=Product.objects.all(), since_version=watermark, limit=2
            )
            for p in page.products:
                state[p.pk] = max(state.get(p.pk, 0), p.version)
            watermark = page.watermark
            observations.append((watermark, page.has_more, dict(state)))
            if finished and not page.has_more:
                return
            time.sleep(0.003)

    threads = [_in_thread(writer, n) for n in range(3)]
    reader = _in_thread(register)
    for thread in threads:
        thread.join(60)
    writers_done.set()
    reader.join(60)

    assert len(observations) > 5
    for watermark, has_more, state in observations:
        for pk, versions in history.items():
            expected = max((v for v in versions if v <= watermark), default=0)
            if state.get(pk, 0) >= expected:
                continue
            # Mid-sync only: the product's newer write (above the watermark) comes on a later
            # page. Whether it had committed when the page was read is not recorded here, so
            # any later write in the history excuses it; the final state below checks delivery.
            assert has_more, (watermark, pk, versions, state)
            assert any(v > watermark for v in versions), (watermark, pk, versions, state)
    final_watermark, _, final_state = observations[-1]
    assert final_state == {p.pk: max(history[p.pk]) for p in products}
    assert final_watermark == catalog_version_current()


@pytest.mark.django_db
def test_a_superseded_version_below_the_watermark_arrives_as_its_successor() -> None:
    """X is written at v1 then again at v4, after Y (v2) and Z (v3). A register syncing in pages
    of 2 gets Y and Z first with watermark v3: X's v1 is no longer in the table, so the register
    cannot hold it yet; the next page brings X at v4 and the sync ends with everything."""
    tax = TaxRateFactory()
    x, y, z = (
        product_create(user=None, sku=sku, name="0", price=Decimal("1.00"), tax_rate=tax)
        for sku in ("X", "Y", "Z")
    )
    start = product_sync_page(queryset=Product.objects.all(), since_version=0, limit=50).watermark
    x1 = product_update(product=x, user=None, name="x1").version
    y2 = product_update(product=y, user=None, name="y2").version
    z3 = product_update(product=z, user=None, name="z3").version
    x4 = product_update(product=x, user=None, name="x4").version
    assert x1 < y2 < z3 < x4

    first = product_sync_page(queryset=Product.objects.all(), since_version=start, limit=2)
    assert [(p.pk, p.version) for p in first.products] == [(y.pk, y2), (z.pk, z3)]
    assert first.has_more
    assert first.watermark == z3  # above x1, which is gone: X comes next, as x4

    second = product_sync_page(queryset=Product.objects.all(), since_version=z3, limit=2)
    assert [(p.pk, p.version, p.name) for p in second.products] == [(x.pk, x4, "x4")]
    assert not second.has_more
    assert second.watermark == x4
