"""`GET /api/v1/sync/changes/`: every type, in version order, as its REST endpoint shows it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import register_update
from catalog.models import SyncTombstone
from catalog.services import (
    catalog_version_current,
    category_delete,
    product_create,
    product_delete,
    product_update,
    tax_rate_create,
    tax_rate_delete,
)
from catalog.services.modifiers import modifier_group_create, modifier_group_delete
from pricebook.services import price_list_delete, price_list_update, promotion_delete
from tests.sync.helpers import CHANGES, feed, follow, one_of_each

DETAIL = {
    "store": "/api/v1/stores/{}/",
    "register": "/api/v1/registers/{}/",
    "tax_rate": "/api/v1/tax-rates/{}/",
    "category": "/api/v1/categories/{}/",
    "modifier_group": "/api/v1/modifier-groups/{}/",
    "price_list": "/api/v1/price-lists/{}/",
    "promotion": "/api/v1/promotions/{}/",
    "product": "/api/v1/products/{}/",
}

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["cashier", "manager"])
def test_each_type_is_what_its_detail_endpoint_shows(
    role, request, store, other_store, cashier, manager
) -> None:
    client = request.getfixturevalue(f"{role}_client")
    world = one_of_each(store, other_store)
    page = feed(client, store)
    assert page["has_more"] is False
    assert page["next_since"] == catalog_version_current()
    versions = [change["version"] for change in page["changes"]]
    assert versions == sorted(versions)
    assert len(set(versions)) == len(versions)
    shown = {(c["type"], c["id"]): c for c in page["changes"]}
    seen_types = set()
    for (kind, object_id), change in shown.items():
        if change["deleted"]:
            continue
        seen_types.add(kind)
        detail = client.get(DETAIL[kind].format(object_id))
        assert detail.status_code == 200, (kind, detail.content)
        expected = detail.json()
        if kind == "product" and object_id == world["other_product"].pk:
            # The store's price list sets it: the store's effective price.
            assert change["data"]["price"] == "1.99"
            expected["price"] = "1.99"
        assert change["data"] == expected, kind
    assert seen_types == set(DETAIL)
    product = shown[("product", world["product"].pk)]["data"]
    assert ("cost" in product) is (role == "manager")
    if role == "manager":
        assert product["cost"] == "1.235"
    assert shown[("product", world["other_product"].pk)]["data"]["price"] == "1.99"
    assert shown[("store", store.pk)]["data"]["cash_rounding"] == "0.05"


def test_scoping_other_stores_objects(cashier_client, store, other_store) -> None:
    world = one_of_each(store, other_store)
    shown = {(c["type"], c["id"]): c for c in feed(cashier_client, store)["changes"]}
    # Another store's price list is sent as deleted (it does not cover this store)...
    assert shown[("price_list", world["elsewhere"].pk)]["deleted"] is True
    assert shown[("price_list", world["elsewhere"].pk)]["data"] is None
    # ... its registers and the other store itself are not sent at all.
    assert ("register", world["other_register"].pk) not in shown
    assert ("store", other_store.pk) not in shown
    assert shown[("register", world["register"].pk)]["deleted"] is False

    # A list that stops covering the store is sent as deleted when it changes.
    since = feed(cashier_client, store)["next_since"]
    price_list_update(price_list=world["price_list"], user=None, stores=[other_store])
    changes = feed(cashier_client, store, since)["changes"]
    lists = [c for c in changes if c["type"] == "price_list"]
    assert [(c["id"], c["deleted"]) for c in lists] == [(world["price_list"].pk, True)]
    # Its product's price went back to the product's own, with a new version.
    products = {c["id"]: c["data"] for c in changes if c["type"] == "product"}
    assert products[world["other_product"].pk]["price"] == "2.125"


def test_deletions_leave_tombstones_in_the_feed(cashier_client, store, other_store) -> None:
    world = one_of_each(store, other_store)
    tax = tax_rate_create(user=None, name="Zero", rate=Decimal("0"))
    never_sold = product_create(
        user=None, sku="GONE", name="Gone", price=Decimal("1"), tax_rate=tax
    )
    group = modifier_group_create(user=None, name="Unused")
    state: dict = {}
    since = follow(cashier_client, store, state, 0)
    assert ("product", never_sold.pk) in state

    product_delete(product=never_sold, user=None)
    tax_rate_delete(tax_rate=tax, user=None)
    modifier_group_delete(group=group, user=None)
    promotion_delete(promotion=world["promotion"], user=None)
    price_list_delete(price_list=world["price_list"], user=None)
    page = feed(cashier_client, store, since)
    deleted = {(c["type"], c["id"]) for c in page["changes"] if c["deleted"]}
    assert deleted == {
        ("product", never_sold.pk),
        ("tax_rate", tax.pk),
        ("modifier_group", group.pk),
        ("promotion", world["promotion"].pk),
        ("price_list", world["price_list"].pk),
    }
    assert SyncTombstone.objects.filter(kind="product", object_id=never_sold.pk).exists()
    follow(cashier_client, store, state, since)
    assert ("product", never_sold.pk) not in state
    assert ("tax_rate", tax.pk) not in state


def test_deleting_a_category_or_product_a_promotion_names_changes_the_promotion(
    cashier_client, store, other_store
) -> None:
    world = one_of_each(store, other_store)
    leaf = world["category"]
    # Free the leaf category (the product leaves it), then delete it.
    product_update(product=world["product"], user=None, category=None)
    since = feed(cashier_client, store)["next_since"]
    from pricebook.services import promotion_update

    promotion_update(promotion=world["promotion"], user=None, categories=[leaf])
    since2 = feed(cashier_client, store, since)["next_since"]
    category_delete(category=leaf, user=None)
    changes = feed(cashier_client, store, since2)["changes"]
    kinds = {(c["type"], c["id"]): c for c in changes}
    assert kinds[("category", leaf.pk)]["deleted"] is True
    assert kinds[("promotion", world["promotion"].pk)]["data"]["categories"] == []


def test_registers_and_store_settings_are_versioned(cashier_client, store, other_store) -> None:
    world = one_of_each(store, other_store)
    since = feed(cashier_client, store)["next_since"]
    register_update(actor=None, register=world["register"], name="Back")
    changes = feed(cashier_client, store, since)["changes"]
    assert [(c["type"], c["data"]["name"]) for c in changes] == [("register", "Back")]
    # Another store's register changing is nothing to this store.
    since = feed(cashier_client, store, since)["next_since"]
    register_update(actor=None, register=world["other_register"], name="Elsewhere")
    assert feed(cashier_client, store, since)["changes"] == []


def test_paging_keeps_the_watermark_rules(cashier_client, store) -> None:
    tax = tax_rate_create(user=None, name="T", rate=Decimal("1"))
    for i in range(7):
        product_create(user=None, sku=f"P{i}", name=f"P{i}", price=Decimal("1"), tax_rate=tax)
    page = feed(cashier_client, store, 0, limit=3)
    assert page["has_more"] is True
    assert page["next_since"] == page["changes"][-1]["version"]
    state: dict = {}
    last = follow(cashier_client, store, state, 0, limit=3)
    assert last == catalog_version_current()
    assert len([k for k in state if k[0] == "product"]) == 7
    # Nothing changed: the watermark stays; from the future it falls back to the current one.
    assert feed(cashier_client, store, last) == {
        "changes": [],
        "next_since": last,
        "has_more": False,
    }
    assert feed(cashier_client, store, last + 1000)["next_since"] == last


def test_another_store_is_404_and_parameters_are_validated(
    cashier_client, admin_client, store, other_store
) -> None:
    assert cashier_client.get(CHANGES, {"store": other_store.pk}).status_code == 404
    assert admin_client.get(CHANGES, {"store": other_store.pk}).status_code == 200
    assert admin_client.get(CHANGES, {"store": 999999}).status_code == 404
    for params in (
        {},
        {"store": store.pk, "limit": 0},
        {"store": store.pk, "limit": 1001},
        {"store": store.pk, "limit": "x"},
        {"store": store.pk, "since": -1},
    ):
        response = cashier_client.get(CHANGES, params)
        assert response.status_code == 400, params
        assert response["Content-Type"].startswith("application/problem+json")
    assert cashier_client.get(CHANGES, {"store": store.pk, "limit": 1000}).status_code == 200


def test_anonymous_is_refused(api_client, store) -> None:
    assert api_client.get(CHANGES, {"store": store.pk}).status_code == 401


def test_a_page_of_500_changes_is_at_most_two_queries(manager_client, store, other_store) -> None:
    one_of_each(store, other_store)
    tax = tax_rate_create(user=None, name="Q", rate=Decimal("5"))
    for i in range(520):
        product_create(user=None, sku=f"Q{i}", name=f"Q{i}", price=Decimal("1"), tax_rate=tax)
    manager_client.get(CHANGES, {"store": store.pk, "limit": 1})  # warm the user's token
    with CaptureQueriesContext(connection) as queries:
        page = feed(manager_client, store, 0, limit=500)
    assert len(page["changes"]) == 500
    assert page["has_more"] is True
    sync_queries = [q for q in queries.captured_queries if "UNION ALL" in q["sql"]]
    assert len(sync_queries) == 1
    assert len(queries.captured_queries) <= 2, [q["sql"][:80] for q in queries.captured_queries]
    # The last (empty) page too.
    current = catalog_version_current()
    with CaptureQueriesContext(connection) as queries:
        assert feed(manager_client, store, current)["changes"] == []
    assert len(queries.captured_queries) <= 2
