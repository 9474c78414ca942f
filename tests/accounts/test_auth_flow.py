"""The whole auth flow over HTTP: sign in, use, rotate, sign out, change password, deactivate."""

from __future__ import annotations

import json

import jwt
import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts import services
from accounts.models import User
from audit.models import AuditEvent
from tests.accounts.conftest import (
    LOGOUT_URL,
    ME_URL,
    PASSWORD_URL,
    REFRESH_URL,
    assert_problem,
    bearer,
)
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-longer-passphrase-42"


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_login_me_refresh_logout(cashier: User, store, login) -> None:
    # Sign in.
    response = login(cashier.username)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    pair = response.json()
    assert set(pair) == {"access", "refresh"}
    access_claims = _claims(pair["access"])
    assert access_claims["token_type"] == "access"
    assert access_claims["ver"] == cashier.token_version
    assert access_claims["exp"] - access_claims["iat"] == 15 * 60
    refresh_claims = _claims(pair["refresh"])
    assert refresh_claims["exp"] - refresh_claims["iat"] == 30 * 24 * 3600

    # Use the access token.
    me = bearer(pair["access"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json() == {
        "id": cashier.pk,
        "username": cashier.username,
        "role": "cashier",
        "stores": [store.pk],
    }

    # Rotate: a new pair; the old refresh is spent.
    rotated = APIClient().post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
    assert rotated.status_code == 200
    new_pair = rotated.json()
    assert set(new_pair) == {"access", "refresh"}
    assert new_pair["refresh"] != pair["refresh"]
    assert _claims(new_pair["access"])["ver"] == cashier.token_version
    again = APIClient().post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
    assert_problem(again, 401, "token_not_valid")
    assert bearer(new_pair["access"]).get(ME_URL).status_code == 200

    # Sign out: that refresh is revoked (and revoking it again is fine).
    client = bearer(new_pair["access"])
    out = client.post(LOGOUT_URL, {"refresh": new_pair["refresh"]}, format="json")
    assert out.status_code == 204
    assert (
        client.post(LOGOUT_URL, {"refresh": new_pair["refresh"]}, format="json").status_code == 204
    )
    after = APIClient().post(REFRESH_URL, {"refresh": new_pair["refresh"]}, format="json")
    assert_problem(after, 401, "token_not_valid")


def test_refresh_tokens_are_stored_as_fingerprints_only(cashier: User, login) -> None:
    pair = login(cashier.username).json()
    row = OutstandingToken.objects.get(jti=_claims(pair["refresh"])["jti"])
    assert row.token.startswith("sha256:")
    assert pair["refresh"] not in row.token


def test_wrong_password_is_401_authentication_failed_and_audited(cashier: User, login) -> None:
    response = login(cashier.username, "not-the-password")
    body = assert_problem(response, 401, "authentication_failed")
    assert "access" not in body
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.actor_id is None
    assert event.changes == {"username": cashier.username}
    assert event.ip == "10.0.0.1"
    assert event.request_id == response["X-Request-ID"]
    assert "not-the-password" not in json.dumps(event.changes)


def test_unknown_user_is_the_same_401(login) -> None:
    assert_problem(login("nobody-here", "whatever-123"), 401, "authentication_failed")
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1


def test_successful_login_is_audited_with_its_actor(cashier: User, login) -> None:
    assert login(cashier.username).status_code == 200
    event = AuditEvent.objects.get(action="auth.login")
    assert event.actor_id == cashier.pk
    assert event.object_id == str(cashier.pk)
    cashier.refresh_from_db()
    assert cashier.last_login is not None


def test_inactive_user_cannot_sign_in(cashier: User, login) -> None:
    User.objects.filter(pk=cashier.pk).update(is_active=False)
    assert_problem(login(cashier.username), 401, "authentication_failed")


@pytest.mark.parametrize(
    "body",
    [{}, {"username": "x"}, {"password": "y"}, {"username": "", "password": ""}],
)
def test_login_validation_errors(body: dict) -> None:
    response = APIClient().post("/api/v1/auth/token/", body, format="json")
    assert_problem(response, 400, "validation_error")


def test_stale_bearer_does_not_block_signing_in(cashier: User, login) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = client.post(
        "/api/v1/auth/token/",
        {"username": cashier.username, "password": DEFAULT_PASSWORD},
        format="json",
    )
    assert response.status_code == 200


def test_refresh_rejects_garbage_access_tokens_and_tampering(cashier: User, login) -> None:
    pair = login(cashier.username).json()
    for bad in ("garbage", pair["access"], pair["refresh"][:-2] + "xx"):
        response = APIClient().post(REFRESH_URL, {"refresh": bad}, format="json")
        assert_problem(response, 401, "token_not_valid")
    assert_problem(APIClient().post(REFRESH_URL, {}, format="json"), 400, "validation_error")


def test_refresh_token_is_not_a_bearer_token(cashier: User, login) -> None:
    pair = login(cashier.username).json()
    assert_problem(bearer(pair["refresh"]).get(ME_URL), 401, "token_not_valid")


def test_token_signed_with_another_key_is_refused(cashier: User) -> None:
    forged = jwt.encode(
        {
            "token_type": "access",
            "user_id": str(cashier.pk),
            "ver": 0,
            "exp": 4102444800,
            "jti": "x",
        },
        "not-the-signing-key-but-long-enough-for-hs256",
        algorithm="HS256",
    )
    assert_problem(bearer(forged).get(ME_URL), 401, "token_not_valid")


def test_expired_access_token_is_401(cashier: User, settings_jwt_short_access) -> None:
    from accounts.tokens import tokens_for

    access = str(tokens_for(cashier).access_token)
    assert_problem(bearer(access).get(ME_URL), 401, "token_not_valid")


@pytest.fixture
def settings_jwt_short_access(monkeypatch: pytest.MonkeyPatch):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    monkeypatch.setattr(AccessToken, "lifetime", timedelta(seconds=-1))


# --- Password change and deactivation revoke everything issued before ---------------------------


def test_password_change_revokes_old_access_and_refresh(cashier: User, login) -> None:
    first = login(cashier.username).json()
    second = login(cashier.username).json()  # another register, same user
    client = bearer(first["access"])

    response = client.post(
        PASSWORD_URL,
        {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 204

    for pair in (first, second):
        assert_problem(bearer(pair["access"]).get(ME_URL), 401, "token_not_valid")
        refused = APIClient().post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
        assert_problem(refused, 401, "token_not_valid")

    assert_problem(login(cashier.username), 401, "authentication_failed")
    fresh = login(cashier.username, NEW_PASSWORD)
    assert fresh.status_code == 200
    assert bearer(fresh.json()["access"]).get(ME_URL).status_code == 200

    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor_id == cashier.pk
    assert NEW_PASSWORD not in json.dumps(event.changes)


def test_password_change_needs_the_old_password(cashier: User, login) -> None:
    client = bearer(login(cashier.username).json()["access"])
    response = client.post(
        PASSWORD_URL, {"old_password": "wrong-one-123", "new_password": NEW_PASSWORD}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert "old_password" in body["errors"]
    assert client.get(ME_URL).status_code == 200  # nothing revoked


@pytest.mark.parametrize("weak", ["short", "12345678901", "password123"])
def test_new_password_goes_through_django_validators(cashier: User, login, weak: str) -> None:
    client = bearer(login(cashier.username).json()["access"])
    response = client.post(
        PASSWORD_URL, {"old_password": DEFAULT_PASSWORD, "new_password": weak}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert "new_password" in body["errors"]


def test_password_change_from_anywhere_revokes_tokens(cashier: User, login) -> None:
    """`manage.py changepassword` and the admin go through `User.save`, which bumps the version."""
    pair = login(cashier.username).json()
    user = User.objects.get(pk=cashier.pk)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert_problem(bearer(pair["access"]).get(ME_URL), 401, "token_not_valid")


def test_deactivation_revokes_old_access_and_refresh(
    cashier: User, admin_user: User, login
) -> None:
    pair = login(cashier.username).json()
    services.user_deactivate(actor=admin_user, user=cashier)
    assert_problem(bearer(pair["access"]).get(ME_URL), 401, "token_not_valid")
    refused = APIClient().post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
    assert_problem(refused, 401, "token_not_valid")
    assert_problem(login(cashier.username), 401, "authentication_failed")


def test_deactivated_then_reactivated_user_still_cannot_use_old_tokens(
    cashier: User, admin_user: User, login
) -> None:
    pair = login(cashier.username).json()
    services.user_deactivate(actor=admin_user, user=cashier)
    services.user_update(actor=admin_user, user=cashier, is_active=True)
    assert_problem(bearer(pair["access"]).get(ME_URL), 401, "token_not_valid")
    assert login(cashier.username).status_code == 200


def test_inactive_user_tokens_are_refused_even_with_current_version(cashier: User, login) -> None:
    pair = login(cashier.username).json()
    User.objects.filter(pk=cashier.pk).update(is_active=False)  # behind the service's back
    assert_problem(bearer(pair["access"]).get(ME_URL), 401, "token_not_valid")
    refused = APIClient().post(REFRESH_URL, {"refresh": pair["refresh"]}, format="json")
    assert_problem(refused, 401, "token_not_valid")


# --- Logout -------------------------------------------------------------------------------------


def test_logout_requires_authentication(cashier: User, login) -> None:
    pair = login(cashier.username).json()
    response = APIClient().post(LOGOUT_URL, {"refresh": pair["refresh"]}, format="json")
    assert_problem(response, 401, "not_authenticated")


def test_logout_refuses_someone_elses_or_a_bad_token(cashier: User, manager: User, login) -> None:
    mine = login(cashier.username).json()
    theirs = login(manager.username).json()
    client = bearer(mine["access"])
    body = assert_problem(
        client.post(LOGOUT_URL, {"refresh": theirs["refresh"]}, format="json"),
        400,
        "validation_error",
    )
    assert "refresh" in body["errors"]
    assert_problem(
        client.post(LOGOUT_URL, {"refresh": "nonsense"}, format="json"), 400, "validation_error"
    )
    assert_problem(
        client.post(LOGOUT_URL, {"refresh": mine["access"]}, format="json"),
        400,
        "validation_error",
    )
    # Their refresh still works.
    ok = APIClient().post(REFRESH_URL, {"refresh": theirs["refresh"]}, format="json")
    assert ok.status_code == 200


@pytest.mark.django_db(transaction=True)
def test_failed_login_event_is_committed_although_the_request_fails(cashier: User, login) -> None:
    """No test transaction around this one: the event must really be committed."""
    assert_problem(login(cashier.username, "nope-nope-nope"), 401, "authentication_failed")
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1
