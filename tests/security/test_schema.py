"""The served OpenAPI schema tells the truth about security (OWASP API9 Improper Inventory
Management): it generates without warnings, every operation but sign-in requires the bearer JWT,
and every operation documents the error statuses the API can answer, as problem+json, with the
headers every response carries. Schemathesis (`make security`) then holds the API to it."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

PUBLIC_OPERATIONS = {("post", "/api/v1/auth/token/"), ("post", "/api/v1/auth/token/refresh/")}
IDEMPOTENT_WRITES = {("post", "/api/v1/orders/"), ("post", "/api/v1/orders/{id}/refunds/")}
METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method, path, operation


def test_schema_generates_and_validates_without_warnings(tmp_path) -> None:
    out = StringIO()
    try:
        call_command(
            "spectacular",
            "--fail-on-warn",
            "--validate",
            "--file",
            str(tmp_path / "schema.yaml"),
            stdout=out,
            stderr=out,
        )
    except SystemExit as exc:
        pytest.fail(f"schema warnings or errors (exit {exc.code}):\n{out.getvalue()}")


def test_the_api_is_in_the_schema(schema: dict[str, Any]) -> None:
    paths = set(schema["paths"])
    for expected in (
        "/api/v1/auth/token/",
        "/api/v1/orders/",
        "/api/v1/orders/{id}/refunds/",
        "/api/v1/shifts/",
        "/api/v1/stock/adjustments/",
        "/api/v1/ledger/entries/",
        "/api/v1/audit/events/",
        "/api/v1/reports/daily/",
        "/api/v1/users/",
    ):
        assert expected in paths, expected


def test_every_operation_but_sign_in_requires_the_bearer_jwt(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["jwtAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    for method, path, operation in operations(schema):
        if not path.startswith("/api/v1/"):
            continue
        security = operation.get("security") or []
        if (method, path) in PUBLIC_OPERATIONS:
            assert {} in security or not security, (method, path)
        else:
            assert security == [{"jwtAuth": []}], (method, path, security)
            assert "401" in operation["responses"], (method, path)


def test_every_operation_documents_its_errors_as_problem_json(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        responses = operation["responses"]
        expected = {"400", "429", "500"}
        if method in {"post", "put", "patch"}:
            expected |= {"413", "415"}
        if "{" in path:
            expected.add("404")
        assert expected <= set(responses), (method, path, sorted(responses))
        assert "text/html" in responses["414"]["content"]  # gunicorn's own answer
        for status, response in responses.items():
            if status == "414":
                continue
            if status.startswith(("4", "5")):
                content = response.get("content", {})
                assert "application/problem+json" in content, (method, path, status)
            assert "X-Request-ID" in response.get("headers", {}), (method, path, status)
            if path.startswith("/api/v1/"):
                assert "Cache-Control" in response["headers"], (method, path, status)


def test_idempotent_writes_require_the_key_and_document_its_conflicts(
    schema: dict[str, Any],
) -> None:
    for method, path, operation in operations(schema):
        if (method, path) not in IDEMPOTENT_WRITES:
            continue
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        assert headers["Idempotency-Key"]["required"] is True, path
        assert {"409", "422"} <= set(operation["responses"]), path


@pytest.mark.django_db
def test_schema_and_docs_are_served_without_authentication() -> None:
    client = APIClient()
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"openapi" in schema.content
    assert client.get("/api/docs/").status_code == 200
