"""`/api/v1/tax-rates/` and `/api/v1/categories/`: cached lists invalidated on every write,
no cycles in the category tree, and in-use rows refused with 409."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from catalog import cache
from catalog.models import Category
from catalog.services import category_update
from domain.errors import InvalidInput
from monitoring.metrics import CACHE_REQUESTS
from tests.catalog.factories import CategoryFactory, ProductFactory, TaxRateFactory

pytestmark = pytest.mark.django_db

TAX = "/api/v1/tax-rates/"
CAT = "/api/v1/categories/"


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run the write's after-commit work (cache invalidation) as a real commit would."""

    def run(call, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return call(*args, **kwargs)

    return run


def test_tax_rates_read_by_all_written_by_staff(cashier_client, manager_client) -> None:
    TaxRateFactory(name="Standard", rate=Decimal("8.250"))
    assert cashier_client.get(TAX).json()["results"] == [
        {
            "id": cashier_client.get(TAX).json()["results"][0]["id"],
            "name": "Standard",
            "rate": "8.250",
        }
    ]
    assert cashier_client.post(TAX, {"name": "Zero", "rate": "0"}, format="json").status_code == 403
    created = manager_client.post(TAX, {"name": "Zero", "rate": "0"}, format="json")
    assert created.status_code == 201
    assert created.json()["rate"] == "0.000"
    assert AuditEvent.objects.filter(action="tax_rate.created").exists()


@pytest.mark.parametrize("rate", ["-1", "100", "8.2501", "abc"])
def test_bad_rates_are_400(manager_client, rate) -> None:
    response = manager_client.post(TAX, {"name": "Bad", "rate": rate}, format="json")
    assert response.status_code == 400
    assert "rate" in response.json()["errors"]


def test_tax_rate_list_is_cached_and_invalidated_after_commit(
    cashier_client, manager_client, commit
) -> None:
    rate = TaxRateFactory(name="Standard", rate=Decimal("8.250"))
    hits = CACHE_REQUESTS.labels(cache=cache.TAX_RATES, result="hit")
    before = hits._value.get()

    cashier_client.get(TAX)  # fills the cache
    with CaptureQueriesContext(connection) as cached_read:
        assert cashier_client.get(TAX).json()["results"][0]["rate"] == "8.250"
    assert hits._value.get() == before + 1
    assert not any("catalog_taxrate" in q["sql"] for q in cached_read.captured_queries)

    response = commit(manager_client.patch, f"{TAX}{rate.pk}/", {"rate": "9.000"}, format="json")
    assert response.status_code == 200
    assert cashier_client.get(TAX).json()["results"][0]["rate"] == "9.000"


def test_tax_rate_in_use_cannot_be_deleted(admin_client) -> None:
    rate = TaxRateFactory()
    ProductFactory(tax_rate=rate)
    response = admin_client.delete(f"{TAX}{rate.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "tax_rate_in_use"
    unused = TaxRateFactory()
    assert admin_client.delete(f"{TAX}{unused.pk}/").status_code == 204


def test_category_tree_crud_and_cache(cashier_client, manager_client, commit) -> None:
    root = commit(manager_client.post, CAT, {"name": "Drinks"}, format="json").json()
    assert cashier_client.get(CAT).json()["count"] == 1  # cached now
    child = commit(
        manager_client.post, CAT, {"name": "Soda", "parent": root["id"]}, format="json"
    ).json()
    assert child["parent"] == root["id"]
    listing = cashier_client.get(CAT).json()
    assert [(c["name"], c["parent"]) for c in listing["results"]] == [
        ("Drinks", None),
        ("Soda", root["id"]),
    ]
    renamed = commit(manager_client.patch, f"{CAT}{child['id']}/", {"name": "Pop"}, format="json")
    assert renamed.status_code == 200
    assert cashier_client.get(CAT).json()["results"][1]["name"] == "Pop"


def test_categories_paginate_from_the_cached_list(cashier_client) -> None:
    CategoryFactory.create_batch(5)
    first = cashier_client.get(CAT, {"page_size": 2}).json()
    third = cashier_client.get(CAT, {"page_size": 2, "page": 3}).json()
    assert first["count"] == 5
    assert first["next"] is not None
    assert len(third["results"]) == 1
    assert third["next"] is None


def test_category_cannot_become_its_own_ancestor(manager_client) -> None:
    top = CategoryFactory(name="Top")
    middle = CategoryFactory(name="Middle", parent=top)
    bottom = CategoryFactory(name="Bottom", parent=middle)

    for parent in (bottom, middle, top):
        response = manager_client.patch(f"{CAT}{top.pk}/", {"parent": parent.pk}, format="json")
        assert response.status_code == 400, parent
        assert "parent" in response.json()["errors"]
    assert Category.objects.get(pk=top.pk).parent_id is None

    # Moving a subtree elsewhere is fine.
    other = CategoryFactory(name="Other")
    moved = manager_client.patch(f"{CAT}{middle.pk}/", {"parent": other.pk}, format="json")
    assert moved.status_code == 200
    with pytest.raises(InvalidInput):
        category_update(category=other, user=None, parent=bottom)


def test_category_in_use_cannot_be_deleted(admin_client) -> None:
    parent = CategoryFactory()
    CategoryFactory(parent=parent)
    with_product = CategoryFactory()
    ProductFactory(category=with_product)
    for category in (parent, with_product):
        response = admin_client.delete(f"{CAT}{category.pk}/")
        assert response.status_code == 409
        assert response.json()["code"] == "category_in_use"


def test_lists_work_with_the_cache_down(cashier_client, cache_down, commit, manager_client) -> None:
    TaxRateFactory()
    CategoryFactory()
    assert cashier_client.get(TAX).json()["count"] == 1
    assert cashier_client.get(CAT).json()["count"] == 1
    created = commit(manager_client.post, CAT, {"name": "New"}, format="json")
    assert created.status_code == 201
    assert cashier_client.get(CAT).json()["count"] == 2
