"""`/api/v1/price-lists/`: CRUD with nested items, roles and store scope, audit events (with
`product.price_changed` per item), catalog versions for the products whose price may change
(so the product delta sync re-sends them), and the barcode cache invalidated on commit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from catalog import cache
from catalog.models import Product
from pricebook.models import PriceList, PriceListItem
from tests.catalog.factories import ProductFactory
from tests.factories import ManagerFactory
from tests.pricebook.factories import PriceListFactory, PriceListItemFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/price-lists/"


def detail(price_list: PriceList | int) -> str:
    return f"{URL}{getattr(price_list, 'pk', price_list)}/"


def price_events(product: Product) -> list[dict]:
    return [
        e.changes
        for e in AuditEvent.objects.filter(
            action="product.price_changed", object_id=str(product.pk)
        ).order_by("id")
    ]


def test_manager_creates_a_list_for_their_store(manager_client, store) -> None:
    a, b = ProductFactory(), ProductFactory()
    body = {
        "name": "Happy prices",
        "stores": [store.pk],
        "priority": 3,
        "valid_from": "2026-06-01T00:00:00Z",
        "items": [
            {"product": a.pk, "price": "3.5"},
            {"product": b.pk, "price": "1.255"},
        ],
    }
    response = manager_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["stores"] == [store.pk]
    assert data["priority"] == 3
    assert data["is_active"] is True
    assert data["valid_to"] is None
    assert data["version"] >= 1
    assert sorted(data["items"], key=lambda i: i["product"]) == [
        {"product": a.pk, "price": "3.50"},
        {"product": b.pk, "price": "1.255"},
    ]
    created = AuditEvent.objects.get(action="price_list.created")
    assert created.object_id == str(data["id"])
    assert price_events(a) == [
        {"sku": a.sku, "price_list": data["id"], "price": {"before": None, "after": "3.50"}}
    ]
    a.refresh_from_db()
    assert 1 <= a.version < data["version"]  # a version of its own, before the list's


def test_items_replace_the_set_with_audit_and_versions_of_changed_products_only(
    admin_client, store
) -> None:
    kept, changed, removed, added, unrelated = ProductFactory.create_batch(5)
    price_list = PriceListFactory(stores=[store])
    PriceListItemFactory(price_list=price_list, product=kept, price=Decimal("1.00"))
    PriceListItemFactory(price_list=price_list, product=changed, price=Decimal("2.00"))
    PriceListItemFactory(price_list=price_list, product=removed, price=Decimal("3.00"))

    response = admin_client.patch(
        detail(price_list),
        {
            "items": [
                {"product": kept.pk, "price": "1.00"},
                {"product": changed.pk, "price": "2.50"},
                {"product": added.pk, "price": "9"},
            ]
        },
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert dict(
        PriceListItem.objects.filter(price_list=price_list).values_list("product_id", "price")
    ) == {kept.pk: Decimal("1.000"), changed.pk: Decimal("2.500"), added.pk: Decimal("9.000")}
    assert price_events(changed) == [
        {
            "sku": changed.sku,
            "price_list": price_list.pk,
            "price": {"before": "2.00", "after": "2.50"},
        }
    ]
    assert price_events(removed)[0]["price"] == {"before": "3.00", "after": None}
    assert price_events(added)[0]["price"] == {"before": None, "after": "9.00"}
    assert price_events(kept) == []
    versions = dict(Product.objects.values_list("id", "version"))
    assert versions[kept.pk] == 0
    assert versions[unrelated.pk] == 0
    bumped = sorted(versions[p.pk] for p in (changed, removed, added))
    assert bumped[0] >= 1
    assert len(set(bumped)) == 3  # one version each
    assert not AuditEvent.objects.filter(action="price_list.updated").exists()


def test_changing_the_reach_bumps_every_product_of_the_list(admin_client, store) -> None:
    a, b = ProductFactory(), ProductFactory()
    price_list = PriceListFactory(stores=[store])
    PriceListItemFactory(price_list=price_list, product=a)
    PriceListItemFactory(price_list=price_list, product=b)

    response = admin_client.patch(detail(price_list), {"priority": 7}, format="json")

    assert response.status_code == 200, response.json()
    assert all(v >= 1 for v in Product.objects.values_list("version", flat=True))
    event = AuditEvent.objects.get(action="price_list.updated")
    assert event.changes["priority"] == {"before": 0, "after": 7}


def test_a_write_that_changes_nothing_takes_no_version(admin_client, store) -> None:
    price_list = PriceListFactory(stores=[store], version=4)
    response = admin_client.patch(detail(price_list), {"priority": 0}, format="json")
    assert response.status_code == 200
    assert response.json()["version"] == 4
    assert not AuditEvent.objects.exists()


def test_product_delta_sync_resends_a_product_after_its_list_price_changes(
    admin_client, cashier_client, store
) -> None:
    product = ProductFactory()
    PriceListFactory()  # noise
    start = cashier_client.get("/api/v1/products/", {"since_version": 0})
    watermark = int(start["X-Catalog-Version"])

    response = admin_client.post(
        URL,
        {"name": "Promo", "items": [{"product": product.pk, "price": "1.00"}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    sync = cashier_client.get("/api/v1/products/", {"since_version": watermark})

    assert [row["id"] for row in sync.json()["results"]] == [product.pk]
    assert int(sync["X-Catalog-Version"]) > watermark


def test_delete_removes_items_audits_prices_and_bumps(admin_client, store) -> None:
    product = ProductFactory()
    price_list = PriceListFactory()
    PriceListItemFactory(price_list=price_list, product=product, price=Decimal("2.00"))

    response = admin_client.delete(detail(price_list))

    assert response.status_code == 204
    assert not PriceList.objects.exists()
    assert AuditEvent.objects.filter(action="price_list.deleted").count() == 1
    assert price_events(product)[0]["price"] == {"before": "2.00", "after": None}
    product.refresh_from_db()
    assert product.version >= 1


def test_barcode_lookup_cache_is_invalidated_on_commit(
    cashier_client, admin_client, store, django_capture_on_commit_callbacks
) -> None:
    product = ProductFactory(barcode="4006381333931")
    name = cache.barcode_entry_name(product.barcode, store.pk)  # the cashier's only store
    cashier_client.get("/api/v1/products/", {"barcode": product.barcode})
    assert cache.lookup(cache.BARCODE, name) is not None

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            URL,
            {"name": "x", "items": [{"product": product.pk, "price": "1.00"}]},
            format="json",
        )
    assert response.status_code == 201
    assert cache.lookup(cache.BARCODE, name) is None


# --- validation -------------------------------------------------------------------------------


def test_validation_errors_name_the_field(admin_client) -> None:
    product = ProductFactory()
    response = admin_client.post(
        URL,
        {
            "name": "x",
            "items": [
                {"product": product.pk, "price": "1.00"},
                {"product": product.pk, "price": "2.00"},
                {"product": product.pk, "price": "-1"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "items.2.price" in response.json()["errors"]

    response = admin_client.post(
        URL,
        {
            "name": "x",
            "items": [
                {"product": product.pk, "price": "1.00"},
                {"product": product.pk, "price": "2.00"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "items.1.product" in response.json()["errors"]

    response = admin_client.post(
        URL,
        {"name": "x", "valid_from": "2026-06-02T00:00:00Z", "valid_to": "2026-06-01T00:00:00Z"},
        format="json",
    )
    assert response.status_code == 400
    assert "valid_to" in response.json()["errors"]
    assert not PriceList.objects.exists()


# --- roles and store scope --------------------------------------------------------------------


def test_cashier_reads_but_does_not_write(cashier_client, store) -> None:
    mine = PriceListFactory(stores=[store])
    assert cashier_client.get(detail(mine)).status_code == 200
    assert cashier_client.post(URL, {"name": "x"}, format="json").status_code == 403
    assert cashier_client.patch(detail(mine), {"name": "y"}, format="json").status_code == 403
    assert cashier_client.delete(detail(mine)).status_code == 403


def test_reads_are_scoped_to_the_users_stores(cashier_client, store, other_store) -> None:
    mine = PriceListFactory(stores=[store])
    everywhere = PriceListFactory()
    theirs = PriceListFactory(stores=[other_store])

    ids = [row["id"] for row in cashier_client.get(URL).json()["results"]]

    assert ids == [mine.pk, everywhere.pk]
    assert cashier_client.get(detail(theirs)).status_code == 404


def test_manager_writes_only_lists_of_their_own_stores(manager_client, store, other_store) -> None:
    shared = PriceListFactory(stores=[store, other_store])
    theirs = PriceListFactory(stores=[other_store])
    everywhere = PriceListFactory()

    assert (
        manager_client.post(URL, {"name": "x", "stores": [other_store.pk]}, format="json")
    ).status_code == 403
    assert manager_client.post(URL, {"name": "x"}, format="json").status_code == 403
    assert manager_client.patch(detail(shared), {"name": "y"}, format="json").status_code == 403
    assert manager_client.patch(detail(everywhere), {"name": "y"}, format="json").status_code == 403
    assert manager_client.delete(detail(theirs)).status_code == 404
    mine = PriceListFactory(stores=[store])
    response = manager_client.patch(
        detail(mine), {"stores": [store.pk, other_store.pk]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert manager_client.delete(detail(mine)).status_code == 204
    assert PriceList.objects.count() == 3


def test_a_manager_of_two_stores_may_name_both(client_for, store, other_store) -> None:
    manager = ManagerFactory(stores=[store, other_store])
    response = client_for(manager).post(
        URL, {"name": "x", "stores": [store.pk, other_store.pk]}, format="json"
    )
    assert response.status_code == 201, response.json()


def test_filters_store_is_active_and_product(admin_client, store, other_store) -> None:
    product = ProductFactory()
    here = PriceListFactory(stores=[store])
    everywhere = PriceListFactory(is_active=False)
    PriceListFactory(stores=[other_store])
    PriceListItemFactory(price_list=everywhere, product=product)

    def ids(**params: object) -> list[int]:
        response = admin_client.get(URL, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids(store=store.pk) == [here.pk, everywhere.pk]
    assert ids(store=store.pk, is_active="true") == [here.pk]
    assert ids(product=product.pk) == [everywhere.pk]


def test_list_is_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries) -> None:
    for _ in range(10):
        price_list = PriceListFactory()
        for _ in range(3):
            PriceListItemFactory(price_list=price_list)
    with django_assert_max_num_queries(8):
        response = admin_client.get(URL)
    assert len(response.json()["results"]) == 10
