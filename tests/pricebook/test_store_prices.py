"""A store's price (its price lists') in the barcode lookup and the product delta sync: the
lookup stays cached (no query on a hit) and a price-list change shows at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.services.versions import products_version_bump
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db

LOOKUP = "/api/v1/products/?barcode={barcode}&store={store}"


def test_the_lookup_shows_the_store_price_and_follows_price_list_changes(
    manager_client,
    cashier_client,
    store,
    other_store,
    admin_client,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    product = ProductFactory(barcode="4006381333931", price=Decimal("5.00"))
    url = LOOKUP.format(barcode=product.barcode, store=store.pk)

    def price(client=cashier_client, address=url):  # type: ignore[no-untyped-def]
        response = client.get(address)
        assert response.status_code == 200, response.content
        return response.json()["results"][0]["price"]

    assert price() == "5.00"
    with django_capture_on_commit_callbacks(execute=True):
        created = manager_client.post(
            "/api/v1/price-lists/",
            {
                "name": "Here",
                "stores": [store.pk],
                "items": [{"product": product.pk, "price": "4.40"}],
            },
            format="json",
        )
    assert created.status_code == 201, created.content
    assert price() == "4.40"  # the change invalidated the cached entry
    with CaptureQueriesContext(connection) as queries:
        assert price() == "4.40"
    assert [q["sql"] for q in queries.captured_queries] == []  # a hit: no database query
    # Another store keeps the product's own price.
    assert price(admin_client, LOOKUP.format(barcode=product.barcode, store=other_store.pk)) == (
        "5.00"
    )
    with django_capture_on_commit_callbacks(execute=True):
        updated = manager_client.patch(
            f"/api/v1/price-lists/{created.json()['id']}/",
            {"items": [{"product": product.pk, "price": "4.10"}]},
            format="json",
        )
    assert updated.status_code == 200, updated.content
    assert price() == "4.10"


def test_delta_sync_with_a_store_gives_that_store_s_price(
    manager_client,
    store,
    other_store,  # type: ignore[no-untyped-def]
) -> None:
    listed, plain = ProductFactory(price=Decimal("9.99")), ProductFactory(price=Decimal("1.50"))
    products_version_bump(product_ids=[listed.pk, plain.pk])
    response = manager_client.post(
        "/api/v1/price-lists/",
        {"name": "Here", "stores": [store.pk], "items": [{"product": listed.pk, "price": "8.88"}]},
        format="json",
    )
    assert response.status_code == 201, response.content

    def prices(query: str) -> dict[int, str]:
        response = manager_client.get(f"/api/v1/products/?since_version=0{query}")
        assert response.status_code == 200, response.content
        return {row["id"]: row["price"] for row in response.json()["results"]}

    assert prices(f"&store={store.pk}") == {listed.pk: "8.88", plain.pk: "1.50"}
    assert prices("") == {listed.pk: "9.99", plain.pk: "1.50"}
    assert (
        manager_client.get(f"/api/v1/products/?since_version=0&store={other_store.pk}").status_code
        == 404
    )
