"""Helpers for the accounts and auth tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/auth/me/"
PASSWORD_URL = "/api/v1/auth/password/"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["request_id"] == response["X-Request-ID"]
    return body


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """PBKDF2 at Django's production cost takes most of a second per hash; these tests hash a
    lot. The production hasher is exercised by the seed and `make run`."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def login() -> Callable[..., Any]:
    """POST the token endpoint like a register does (optionally from a given address)."""

    def do(username: str, password: str = DEFAULT_PASSWORD, *, ip: str = "10.0.0.1") -> Any:
        return APIClient().post(
            TOKEN_URL, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip
        )

    return do
