"""The cached user row behind JWT authentication (`accounts.authentication`): no query per
request, and every revocation or change of role or stores still takes effect at once."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.authentication import _ENTRY_KEY
from accounts.models import Role, Store, User
from tests.factories import DEFAULT_PASSWORD, StoreFactory

pytestmark = pytest.mark.django_db

ME_URL = "/api/v1/auth/me/"
STORES_URL = "/api/v1/stores/"
USERS_URL = "/api/v1/users/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _get(client: APIClient, url: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    return response, len(ctx.captured_queries)


def test_an_authenticated_request_costs_no_query_once_the_user_is_cached(
    cashier: User, client_for: Any
) -> None:
    client = client_for(cashier)
    # Answered (400) by the filter right after authentication: what auth alone costs.
    auth_only = "/api/v1/products/?category=x"
    first, first_queries = _get(client, auth_only)
    second, second_queries = _get(client, auth_only)

    assert first.status_code == second.status_code == 400
    assert first_queries >= 1
    assert second_queries == 0
    me = client.get(ME_URL).json()
    assert me["id"] == cashier.pk
    assert me["role"] == "cashier"
    assert me["stores"] == list(cashier.stores.values_list("pk", flat=True))


def test_the_password_hash_is_never_cached(cashier: User, client_for: Any) -> None:
    client_for(cashier).get(ME_URL)
    entry = cache.get(_ENTRY_KEY.format(cashier.pk))
    assert entry is not None
    assert cashier.password not in repr(entry)
    assert "pbkdf2" not in repr(entry)
    assert "md5$" not in repr(entry)


def test_a_cached_user_can_still_change_their_password(cashier: User, client_for: Any) -> None:
    client = client_for(cashier)
    client.get(ME_URL)  # cached, password deferred
    response = client.post(
        "/api/v1/auth/password/",
        {"old_password": DEFAULT_PASSWORD, "new_password": "another-horse-battery-7"},
        format="json",
    )
    assert response.status_code == 204, response.content
    assert client.get(ME_URL).status_code == 401  # the old token is revoked at once


def test_password_change_by_an_admin_revokes_a_cached_token_at_once(
    cashier: User, admin_user: User, client_for: Any
) -> None:
    client = client_for(cashier)
    assert client.get(ME_URL).status_code == 200
    services.user_set_password(actor=admin_user, user=cashier, password="x-Very-new-pass-42")
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_deactivation_revokes_a_cached_token_at_once(
    cashier: User, admin_user: User, client_for: Any
) -> None:
    client = client_for(cashier)
    assert client.get(ME_URL).status_code == 200
    services.user_deactivate(actor=admin_user, user=cashier)
    assert client.get(ME_URL).status_code == 401


def test_a_role_change_is_seen_at_once(
    manager: User, admin_user: User, client_for: Any, store: Store
) -> None:
    client = client_for(manager)
    assert client.get(USERS_URL).status_code == 200  # managers list their cashiers
    services.user_update(actor=admin_user, user=manager, role=Role.CASHIER)
    assert client.get(USERS_URL).status_code == 403


def test_store_changes_are_seen_at_once_both_ways(cashier: User, client_for: Any) -> None:
    client = client_for(cashier)
    [own] = client.get(STORES_URL).json()["results"]
    extra = StoreFactory()

    cashier.stores.add(extra)  # forward
    assert {s["id"] for s in client.get(STORES_URL).json()["results"]} == {own["id"], extra.pk}

    extra.users.remove(cashier)  # reverse
    assert {s["id"] for s in client.get(STORES_URL).json()["results"]} == {own["id"]}

    Store.objects.get(pk=own["id"]).users.clear()  # reverse clear
    assert client.get(STORES_URL).json()["results"] == []


def test_on_commit_starts_another_generation(
    cashier: User, admin_user: User, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The second bump, after commit, is what defeats a reader that loaded the old row while
    the change was still uncommitted (and cached it under the generation of the first bump)."""
    client = client_for(cashier)
    client.get(ME_URL)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.user_deactivate(actor=admin_user, user=cashier)
    generation = cache.get(f"auth:user-gen:{cashier.pk}")
    for callback in callbacks:
        callback()
    assert cache.get(f"auth:user-gen:{cashier.pk}") != generation


def test_a_change_behind_the_orms_back_takes_effect_within_the_ttl(
    cashier: User, client_for: Any, settings: Any
) -> None:
    settings.AUTH_USER_CACHE_SECONDS = 1
    client = client_for(cashier)
    assert client.get(ME_URL).status_code == 200
    User.objects.filter(pk=cashier.pk).update(is_active=False)  # no signal
    time.sleep(1.2)
    assert client.get(ME_URL).status_code == 401


def test_without_a_cache_every_request_reads_the_user(
    cashier: User, client_for: Any, settings: Any
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    client = client_for(cashier)
    for _ in range(2):
        response, queries = _get(client, ME_URL)
        assert response.status_code == 200
        assert queries >= 1
    User.objects.filter(pk=cashier.pk).update(is_active=False)
    assert client.get(ME_URL).status_code == 401


def test_cache_off_with_zero_seconds(cashier: User, client_for: Any, settings: Any) -> None:
    settings.AUTH_USER_CACHE_SECONDS = 0
    client = client_for(cashier)
    client.get(ME_URL)
    _, queries = _get(client, ME_URL)
    assert queries >= 1
    assert cache.get(_ENTRY_KEY.format(cashier.pk)) is None


def test_a_token_is_decoded_once_then_remembered(
    cashier: User, client_for: Any, monkeypatch: Any
) -> None:
    from rest_framework_simplejwt.backends import TokenBackend

    decodes: list[int] = []
    original = TokenBackend.decode

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        decodes.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TokenBackend, "decode", counting)
    client = client_for(cashier)
    for _ in range(3):
        assert client.get(ME_URL).status_code == 200
    assert len(decodes) == 1


def test_a_remembered_token_is_refused_once_it_expires(cashier: User, monkeypatch) -> None:
    import datetime as dt

    import rest_framework_simplejwt.tokens as simplejwt_tokens

    import accounts.authentication as authentication
    from accounts.tokens import tokens_for

    token = tokens_for(cashier).access_token
    token.set_exp(lifetime=dt.timedelta(seconds=60))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(ME_URL).status_code == 200  # verified, and now remembered
    # Two minutes later (the clocks the remembered check and simplejwt read; no sleeping, so a
    # slow machine cannot make the first request late).
    later = authentication.aware_utcnow() + dt.timedelta(minutes=2)
    monkeypatch.setattr(authentication, "aware_utcnow", lambda: later)
    monkeypatch.setattr(simplejwt_tokens, "aware_utcnow", lambda: later)
    response = client.get(ME_URL)
    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"


def test_a_remembered_token_still_follows_revocation(
    cashier: User, admin_user: User, client_for: Any
) -> None:
    client = client_for(cashier)
    assert client.get(ME_URL).status_code == 200
    services.user_deactivate(actor=admin_user, user=cashier)
    assert client.get(ME_URL).status_code == 401
    services.user_update(actor=admin_user, user=cashier, is_active=True)
    assert client.get(ME_URL).status_code == 401  # its version moved on with the deactivation
