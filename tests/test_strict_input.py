"""`apitools.fields`: booleans are JSON booleans in bodies and true/false in filters, names are
JSON strings; anything else is `400` naming the field (never silently read as something else)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/products/?is_active={}",
        "/api/v1/products/?is_template={}",
        "/api/v1/price-lists/?is_active={}",
        "/api/v1/promotions/?is_active={}",
        "/api/v1/stock/movements/?flagged={}",
    ],
)
def test_boolean_filters_take_true_or_false_and_refuse_the_rest(
    admin_client: APIClient, url: str
) -> None:
    ProductFactory(is_active=False)
    for value in ("true", "false", "True", "1", "0", ""):
        assert admin_client.get(url.format(value)).status_code == 200, value
    response = admin_client.get(url.format("-58800"))
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == [url.split("?")[1].split("=")[0]]


def test_inactive_products_filter_still_works(admin_client: APIClient) -> None:
    active, inactive = ProductFactory(), ProductFactory(is_active=False)
    ids = {r["id"] for r in admin_client.get("/api/v1/products/?is_active=false").json()["results"]}
    assert inactive.pk in ids
    assert active.pk not in ids


@pytest.mark.parametrize("value", [0, 1, "true", "yes", None])
def test_a_boolean_in_a_body_is_a_json_boolean(admin_client: APIClient, value: object) -> None:
    response = admin_client.post(
        "/api/v1/modifier-groups/",
        {"name": "Milk", "min_choices": 0, "max_choices": 1, "is_active": value, "modifiers": []},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "is_active" in response.json()["errors"]
    for url, body in (
        ("/api/v1/price-lists/", {"name": "x", "is_active": value}),
        (
            "/api/v1/promotions/",
            {"name": "x", "kind": "percent_off", "value": "10", "is_active": value},
        ),
    ):
        response = admin_client.post(url, body, format="json")
        assert response.status_code == 400, response.content
        assert "is_active" in response.json()["errors"]


def test_names_are_json_strings(admin_client: APIClient) -> None:
    for url, body in (
        ("/api/v1/modifier-groups/", {"name": 0, "max_choices": 1}),
        (
            "/api/v1/modifier-groups/",
            {"name": "Milk", "max_choices": 1, "modifiers": [{"name": 7, "price_delta": "0.10"}]},
        ),
        ("/api/v1/price-lists/", {"name": 0}),
        ("/api/v1/promotions/", {"name": 0, "kind": "percent_off", "value": "10"}),
    ):
        response = admin_client.post(url, body, format="json")
        assert response.status_code == 400, response.content
        assert any("name" in field for field in response.json()["errors"]), response.json()
