"""`X-Request-ID` on every response, whatever answered it (a view, an error handler, a middleware
short-circuit, static files, operations endpoints), and `Cache-Control: no-store` on every API
response and on anything answered to an authenticated user (API.md, Conventions; ASVS V8.2.1:
receipts, orders and tokens never sit in a shared or browser cache)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, AdminFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.security.urls_faults")]


@pytest.fixture
def anonymous() -> Client:
    return Client(raise_request_exception=False)


@pytest.fixture
def authenticated(cashier: User, client_for: Callable[[User], APIClient]) -> APIClient:
    client = client_for(cashier)
    client.raise_request_exception = False
    return client


def _responses(anonymous: Client, authenticated: APIClient, settings: Any) -> dict[str, Any]:
    settings.DEBUG = False
    settings.API_MAX_BODY_BYTES = 1024
    return {
        "api 200": authenticated.get("/api/v1/auth/me/"),
        "api 201/400": authenticated.post("/api/v1/shifts/", {}, format="json"),
        "api 401": anonymous.get("/api/v1/auth/me/"),
        "api 403": authenticated.get("/api/v1/ledger/accounts/"),
        "api 404": authenticated.get("/api/v1/orders/987654/"),
        "api 405": authenticated.delete("/api/v1/auth/me/"),
        "api 413": authenticated.post(
            "/api/v1/orders/quote/", data="x" * 2048, content_type="application/json"
        ),
        "api 415": authenticated.post(
            "/api/v1/orders/quote/", data="a=b", content_type="text/plain"
        ),
        "api 500": authenticated.get("/api/v1/_test/boom-auth/"),
        "django 500": anonymous.get("/_test/django-boom/"),
        "unknown path": anonymous.get("/definitely/not/here"),
        "login": anonymous.post(
            "/api/v1/auth/token/",
            {"username": "nobody", "password": "wrong"},
            content_type="application/json",
        ),
        "schema": anonymous.get("/api/schema/"),
        "docs": anonymous.get("/api/docs/"),
        "static": anonymous.get("/static/admin/css/base.css"),
        "admin login": anonymous.get("/admin/login/"),
        "health live": anonymous.get("/health/live"),
        "health ready": anonymous.get("/health/ready"),
        "metrics": anonymous.get("/metrics", REMOTE_ADDR="127.0.0.1"),
    }


def test_every_response_carries_a_request_id(anonymous, authenticated, settings) -> None:
    for name, response in _responses(anonymous, authenticated, settings).items():
        assert response.get("X-Request-ID"), f"{name} ({response.status_code}) has no X-Request-ID"


def test_every_api_response_is_no_store(anonymous, authenticated, settings) -> None:
    for name, response in _responses(anonymous, authenticated, settings).items():
        if name.startswith("api") or name == "login":
            assert response.get("Cache-Control") == "no-store", (name, response.status_code)


def test_the_request_id_is_the_one_in_the_problem_body(authenticated, settings) -> None:
    settings.DEBUG = False
    response = authenticated.get("/api/v1/orders/987654/", HTTP_X_REQUEST_ID="till-3.req-17")
    assert response["X-Request-ID"] == "till-3.req-17"
    assert response.json()["request_id"] == "till-3.req-17"


def test_authenticated_admin_pages_are_no_store() -> None:
    superuser = AdminFactory(is_superuser=True)  # factories bypass the role groups
    client = Client()
    assert client.login(username=superuser.username, password=DEFAULT_PASSWORD)
    for path in ("/admin/", "/admin/orders/order/", "/admin/accounts/user/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "no-store" in response["Cache-Control"], path
