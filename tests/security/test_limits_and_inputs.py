"""Resource limits and hostile inputs (OWASP API4 Unrestricted Resource Consumption, API8;
ASVS V5.1, V13.1): oversized bodies, too many lines, huge pages, deeply nested JSON, NUL bytes
and out-of-range numbers all get a documented 4xx — never a 500, never an unbounded response."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.models import User
from catalog.models import Product
from tests.catalog.factories import TaxRateFactory
from tests.security.builders import StoreWorld, build_store_world, new_key, sale_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db: None, client_for: Callable[[User], APIClient]) -> StoreWorld:
    return build_store_world(client_for, code="LIM")


def assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    assert response["X-Request-ID"]
    assert response["Cache-Control"] == "no-store"


# --- Body size, lines, pages -------------------------------------------------------------------


def test_body_over_the_limit_is_413_before_anything_is_read(world: StoreWorld, settings) -> None:
    settings.API_MAX_BODY_BYTES = 4096
    body = sale_body(world.register.pk, world.product.pk, total="5.40", note="x" * 5000)
    response = world.cashier_client.post(
        "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key()
    )
    assert_problem(response, 413, "payload_too_large")


def test_body_at_the_limit_is_read(world: StoreWorld, settings) -> None:
    settings.API_MAX_BODY_BYTES = 4096
    response = world.cashier_client.post(
        "/api/v1/orders/quote/", sale_body(world.register.pk, world.product.pk), format="json"
    )
    assert response.status_code == 200


def test_default_body_limit_is_one_megabyte(world: StoreWorld, settings) -> None:
    assert settings.API_MAX_BODY_BYTES <= 1024 * 1024
    blob = '{"register": 1, "pad": "' + "x" * (settings.API_MAX_BODY_BYTES + 1) + '"}'
    response = world.cashier_client.post(
        "/api/v1/orders/quote/", data=blob, content_type="application/json"
    )
    assert_problem(response, 413, "payload_too_large")


def test_too_many_lines_is_400(world: StoreWorld, settings) -> None:
    limit = settings.API_MAX_ORDER_LINES
    lines = [{"product": world.product.pk, "quantity": "1"}] * (limit + 1)
    for path, headers in (
        ("/api/v1/orders/quote/", {}),
        ("/api/v1/orders/", {"HTTP_IDEMPOTENCY_KEY": new_key()}),
    ):
        response = world.cashier_client.post(
            path,
            {
                "register": world.register.pk,
                "lines": lines,
                "payments": [{"method": "cash", "amount": "1.00"}],
            },
            format="json",
            **headers,
        )
        assert_problem(response, 400, "validation_error")
        assert "lines" in response.json()["errors"]


def test_page_size_is_clamped_at_200(world: StoreWorld) -> None:
    tax = TaxRateFactory(name="Std")
    Product.objects.bulk_create(
        Product(sku=f"BULK-{n:04d}", name=f"Bulk {n}", price=Decimal("1.00"), tax_rate=tax)
        for n in range(205)
    )
    client = world.cashier_client
    for size, expected in (("100000", 200), ("201", 200), ("200", 200), ("7", 7)):
        body = client.get(f"/api/v1/products/?page_size={size}").json()
        assert body["count"] == 206
        assert len(body["results"]) == expected, size
    assert len(client.get("/api/v1/products/?page_size=").json()["results"]) == 50
    for junk in ("0", "-1", "abc", "1e9", "null", "2.5"):
        response = client.get(f"/api/v1/products/?page_size={junk}")
        assert_problem(response, 400, "validation_error")
        assert "page_size" in response.json()["errors"]


# --- Hostile JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "[" * 50_000 + "]" * 50_000,
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        '{"register": 1, "lines": ' + "[" * 3_000 + "]" * 3_000 + "}",
    ],
    ids=["deep-array", "deep-object", "deep-field"],
)
def test_deeply_nested_json_is_400_not_500(world: StoreWorld, body: str) -> None:
    client = world.cashier_client
    client.raise_request_exception = False
    for path, headers in (
        ("/api/v1/orders/quote/", {}),
        ("/api/v1/orders/", {"HTTP_IDEMPOTENCY_KEY": new_key()}),
        ("/api/v1/shifts/", {}),
    ):
        response = client.post(path, data=body, content_type="application/json", **headers)
        assert_problem(response, 400, "validation_error")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("register", 10**20),
        ("register", -1),
        ("register", "1; DROP TABLE orders_order"),
        ("register", True),
        ("register", [1]),
        ("lines", "x"),
        ("lines", None),
        ("lines", [{"product": 10**20, "quantity": "1"}]),
        ("lines", [{"product": 1, "quantity": "1e999"}]),
        ("lines", [{"product": 1, "quantity": "NaN"}]),
        ("lines", [{"product": 1, "quantity": "99999999999999999999999"}]),
        ("lines", [{"product": 1, "quantity": "-1"}]),
        ("lines", [{"product": 1, "quantity": "1", "discount": "-5.00"}]),
        ("client_created_at", "9999-99-99T99:99:99Z"),
        ("discount", "1e-99999"),
    ],
)
def test_out_of_range_and_wrongly_typed_values_are_400(
    world: StoreWorld, field: str, value: Any
) -> None:
    client = world.cashier_client
    client.raise_request_exception = False
    body = sale_body(world.register.pk, world.product.pk, total="5.40")
    body[field] = value
    response = client.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key())
    assert_problem(response, 400, "validation_error")


def test_nul_bytes_in_strings_are_400(world: StoreWorld) -> None:
    body = sale_body(world.register.pk, world.product.pk, total="5.40")
    body["payments"][0] = {"method": "card", "amount": "5.40", "reference": "A\x00B"}
    response = world.cashier_client.post(
        "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=new_key()
    )
    assert_problem(response, 400, "validation_error")


def _get_operations_with_query_params() -> list[tuple[str, list[str]]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        operation = item.get("get")
        if not operation or not path.startswith("/api/v1/") or "{" in path:
            continue
        names = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
        found.append((path, names))
    return found


@pytest.mark.parametrize(
    "value",
    ["\x00", "a\x00b", "9" * 30, "-1", "'; SELECT 1; --", "x" * 5000, "2026-02-30"],
    ids=["nul", "embedded-nul", "huge-int", "negative", "sqli", "long", "bad-date"],
)
def test_no_query_parameter_value_causes_a_server_error(
    world: StoreWorld, admin_client: APIClient, value: str
) -> None:
    """Every documented query parameter of every list, with hostile values: never a 5xx (a NUL
    byte reaching PostgreSQL, an integer overflowing a bigint column, …)."""
    admin_client.raise_request_exception = False
    failures = []
    for path, names in _get_operations_with_query_params():
        for name in names:
            response = admin_client.get(path, {name: value})
            if response.status_code >= 500:
                failures.append(f"{path}?{name}= → {response.status_code}")
    assert not failures, failures


@pytest.mark.parametrize(
    "segment", ["%00", "99999999999999999999999", "-1", "1.5", "..%2F..%2Fetc"]
)
def test_hostile_path_ids_are_404(world: StoreWorld, segment: str) -> None:
    client = world.cashier_client
    client.raise_request_exception = False
    for prefix in ("orders", "shifts", "products", "registers", "stores"):
        response = client.get(f"/api/v1/{prefix}/{segment}/")
        assert response.status_code == 404, (prefix, segment, response.status_code)
        assert response["Content-Type"] == "application/problem+json"
