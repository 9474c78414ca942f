"""Error responses never leak internals (OWASP API8, ASVS V7.4): every error is the one
problem+json shape, a 500 says `server_error` and the request id and nothing else, in production
settings (DEBUG off). Malformed and non-JSON bodies get their documented 400 / 415."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.security.urls_faults")]

PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "request_id"}
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "SELECT",
    "accounts_user",
    "table_that_does_not_exist",
    "RuntimeError",
    "psycopg",
    "sqlite",
    "/work/",
    "site-packages",
)


def assert_bare_server_error(response) -> None:
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = json.loads(response.content)
    assert set(body) == PROBLEM_KEYS, body
    assert body["code"] == "server_error"
    assert body["status"] == 500
    assert body["type"].endswith("/server_error")
    assert body["request_id"] == response["X-Request-ID"]
    text = response.content.decode()
    for marker in (*LEAK_MARKERS, settings.SECRET_KEY):
        assert marker not in text, marker


@pytest.fixture
def raw_client() -> Client:
    # Exceptions must become responses here, exactly as in production.
    return Client(raise_request_exception=False)


def test_drf_view_crash_is_bare_server_error(raw_client: Client, settings) -> None:
    settings.DEBUG = False
    assert_bare_server_error(raw_client.get("/api/v1/_test/boom/"))


def test_authenticated_drf_view_crash_is_bare_server_error(
    settings, cashier: User, client_for: Callable[[User], APIClient]
) -> None:
    settings.DEBUG = False
    client = client_for(cashier)
    client.raise_request_exception = False
    response = client.get("/api/v1/_test/boom-auth/")
    assert_bare_server_error(response)
    assert response["Cache-Control"] == "no-store"


def test_plain_django_view_crash_is_bare_server_error(raw_client: Client, settings) -> None:
    settings.DEBUG = False
    assert_bare_server_error(raw_client.get("/_test/django-boom/"))


def test_database_error_is_bare_server_error(raw_client: Client, settings) -> None:
    settings.DEBUG = False
    assert_bare_server_error(raw_client.get("/api/v1/_test/db-boom/"))


def test_crash_is_logged_with_its_request_id(raw_client: Client, settings, caplog) -> None:
    settings.DEBUG = False
    with caplog.at_level("ERROR"):
        response = raw_client.get("/api/v1/_test/boom/", HTTP_X_REQUEST_ID="crash-42")
    assert response["X-Request-ID"] == "crash-42"
    assert any(record.levelname == "ERROR" for record in caplog.records)


@pytest.mark.parametrize(
    "body",
    ['{"a": ', "{'single': 'quotes'}", "[1, 2,]", "\x00\x01", '{"a": NaN}', "\ufeff{}"],
    ids=["truncated", "single-quotes", "trailing-comma", "binary", "nan", "bom"],
)
def test_malformed_json_is_400_problem(
    body: str, cashier: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(cashier).post(
        "/api/v1/_test/echo/", data=body, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert set(problem) >= PROBLEM_KEYS
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", "register=1&total=0.00"),
        ("multipart/form-data; boundary=xyz", '--xyz\r\nContent-Disposition: form-data; name="a"'),
        ("text/plain", '{"register": 1}'),
        ("application/xml", "<order><register>1</register></order>"),
    ],
)
def test_non_json_body_is_415_problem(
    content_type: str, body: str, cashier: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(cashier).post("/api/v1/_test/echo/", data=body, content_type=content_type)
    assert response.status_code == 415, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unsupported_media_type"


def test_method_not_allowed_is_problem(
    cashier: User, client_for: Callable[[User], APIClient]
) -> None:
    response = client_for(cashier).delete("/api/v1/_test/echo/")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"


def test_unauthenticated_is_401_problem(api_client: APIClient) -> None:
    response = api_client.post("/api/v1/_test/echo/", data={"a": 1}, format="json")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_authenticated"


def test_disallowed_host_is_400_problem(raw_client: Client) -> None:
    response = raw_client.get("/api/v1/_test/echo/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert "evil.example" not in response.content.decode()
