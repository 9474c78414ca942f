"""Forged, stale and misused tokens are refused (OWASP API2 Broken Authentication; ASVS V3.5):
every one answers `401` problem+json with `token_not_valid` (a token was sent but is no good) or
`not_authenticated` (no usable bearer token at all), and never reaches a view."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.tokens import tokens_for
from tests.factories import AdminFactory, CashierFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me/"


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def signing_key() -> str:
    return str(settings.SIMPLE_JWT["SIGNING_KEY"])


def access_claims(user: User) -> dict[str, Any]:
    return dict(tokens_for(user).access_token.payload)


def sign(claims: dict[str, Any], *, key: str | None = None, algorithm: str = "HS256", **hdr) -> str:
    return jwt.encode(claims, key or signing_key(), algorithm=algorithm, headers=hdr or None)


def call_with(authorization: str | None) -> Any:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client.get(ME)


def assert_refused(response: Any, code: str) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == code, body
    assert body["status"] == 401
    assert "WWW-Authenticate" in response
    assert response["Cache-Control"] == "no-store"


@pytest.fixture
def user(db: None) -> User:
    return CashierFactory()


def test_a_genuine_token_is_accepted(user: User) -> None:
    """The control: everything below differs from this in one way only."""
    response = call_with(f"Bearer {sign(access_claims(user))}")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == user.username


def test_alg_none_is_refused(user: User) -> None:
    claims = access_claims(user)
    for alg in ("none", "None", "NONE"):
        token = f"{b64({'alg': alg, 'typ': 'JWT'})}.{b64(claims)}."
        assert_refused(call_with(f"Bearer {token}"), "token_not_valid")


def test_wrong_signing_key_is_refused(user: User) -> None:
    token = sign(access_claims(user), key="not-the-key-" + "x" * 40)
    assert_refused(call_with(f"Bearer {token}"), "token_not_valid")


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_algorithm_with_the_right_key_is_refused(user: User, algorithm: str) -> None:
    """Only the configured algorithm is accepted (no algorithm confusion)."""
    token = sign(access_claims(user), algorithm=algorithm)
    assert_refused(call_with(f"Bearer {token}"), "token_not_valid")


def test_expired_token_is_refused(user: User) -> None:
    claims = access_claims(user)
    now = int(time.time())
    claims.update(iat=now - 3600, exp=now - 60)
    assert_refused(call_with(f"Bearer {sign(claims)}"), "token_not_valid")


def test_refresh_token_used_as_access_is_refused(user: User) -> None:
    refresh = tokens_for(user)
    assert_refused(call_with(f"Bearer {refresh}"), "token_not_valid")


def test_tampered_payload_is_refused(user: User) -> None:
    """Swap the user id for an admin's, keep the original signature."""
    admin = AdminFactory()
    genuine = sign(access_claims(user))
    header, _payload, signature = genuine.split(".")
    claims = access_claims(user)
    claims["user_id"] = str(admin.pk)
    forged = f"{header}.{b64(claims)}.{signature}"
    assert_refused(call_with(f"Bearer {forged}"), "token_not_valid")
    # Upgrading one's own role in the token changes nothing either: the role is never read
    # from the token, and the signature no longer matches.
    claims = access_claims(user)
    claims["role"] = "admin"
    assert_refused(call_with(f"Bearer {header}.{b64(claims)}.{signature}"), "token_not_valid")


def test_token_without_version_claim_is_refused(user: User) -> None:
    claims = access_claims(user)
    claims.pop("ver")
    assert_refused(call_with(f"Bearer {sign(claims)}"), "token_not_valid")


def test_token_for_unknown_or_deactivated_user_is_refused(user: User) -> None:
    claims = access_claims(user)
    claims["user_id"] = "987654321"
    assert_refused(call_with(f"Bearer {sign(claims)}"), "token_not_valid")
    token = sign(access_claims(user))
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert_refused(call_with(f"Bearer {token}"), "token_not_valid")


def test_token_issued_before_password_change_is_refused(user: User) -> None:
    token = sign(access_claims(user))
    User.objects.filter(pk=user.pk).update(token_version=user.token_version + 1)
    assert_refused(call_with(f"Bearer {token}"), "token_not_valid")


def test_key_injection_headers_are_ignored(user: User) -> None:
    """`jku`/`jwk`/`kid` pointing at the attacker's key change nothing: the server's key decides."""
    attacker_key = "attacker-" + "k" * 40
    token = sign(
        access_claims(user),
        key=attacker_key,
        jku="https://evil.example/jwks.json",
        kid="../../../../dev/null",
    )
    assert_refused(call_with(f"Bearer {token}"), "token_not_valid")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer not-a-jwt",
        "Bearer a.b.c",
        "Bearer " + "A" * 5000,
        "Bearer eyJhbGciOiJIUzI1NiJ9..",
    ],
    ids=["garbage", "three-dots", "huge", "empty-parts"],
)
def test_garbage_tokens_are_refused(authorization: str) -> None:
    assert_refused(call_with(authorization), "token_not_valid")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic dXNlcjpwYXNz", "Token abc", "JWT abc"],
    ids=["absent", "empty", "basic", "token-scheme", "jwt-scheme"],
)
def test_no_bearer_token_is_not_authenticated(authorization: str | None) -> None:
    assert_refused(call_with(authorization), "not_authenticated")


def test_bearer_without_token_is_refused() -> None:
    response = call_with("Bearer")
    assert response.status_code == 401
    assert response.json()["code"] in {"not_authenticated", "authentication_failed"}


def test_session_cookie_does_not_authenticate_the_api(user: User, client) -> None:
    """The admin's session cookie is not an API credential (no CSRF-able API)."""
    admin = AdminFactory()
    client.force_login(admin)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
