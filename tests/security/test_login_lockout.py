"""Online password guessing is cut short (OWASP API2/API4; ASVS V2.2.1): brute force on one
username, credential stuffing across usernames from one address, and the tricks that try to dodge
the counters (case variants, unknown usernames, a forged X-Forwarded-For). The lock lifts by
itself after the cool-off: a locked-out cashier is back at the till without an admin."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import RequestFactory
from django_ratelimit.core import get_usage
from rest_framework.test import APIClient

from accounts.models import User
from accounts.throttling import USERNAME_GROUP
from tests.factories import DEFAULT_PASSWORD, CashierFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


class Clock:
    """Stands in for `time` inside django-ratelimit, whose fixed windows come from `time.time()`.

    Frozen: a window ends at a fixed instant (every period, shifted by a hash of the counted
    value), and a test running across that instant would see its counter start again from zero
    half-way (a slow CI run once got `400` for the sixth wrong password instead of `429`). A test
    moves it explicitly (`offset`) to get past a cool-off."""

    def __init__(self) -> None:
        self.frozen_at = time.time()
        self.offset = 0.0

    def time(self) -> float:
        return self.frozen_at + self.offset


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django_ratelimit.core.time", fake)
    return fake


def login(username: str, password: str, *, ip: str = "10.1.2.3", **extra: Any) -> Any:
    return APIClient().post(
        TOKEN, {"username": username, "password": password}, format="json", REMOTE_ADDR=ip, **extra
    )


def assert_throttled(response: Any) -> int:
    assert response.status_code == 429, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "throttled"
    retry_after = int(response["Retry-After"])
    assert 1 <= retry_after <= 300
    assert "access" not in response.json()
    return retry_after


def failures_counted(username: str) -> int:
    """The failed-password counter of `username` in the current window, read without counting."""
    usage = get_usage(
        RequestFactory().get("/"),
        group=USERNAME_GROUP,
        key=lambda _group, _request: username.strip().casefold(),
        rate=django_settings.LOGIN_RATE_PER_USERNAME,
        increment=False,
    )
    assert usage is not None, "the rate-limit cache answered nothing"
    return int(usage["count"])


def fail_until_locked(username: str, *, limit: int = 10, **kwargs: Any) -> int:
    for attempt in range(1, limit + 1):
        response = login(username, "wrong-password", **kwargs)
        if response.status_code == 429:
            return attempt
        assert response.status_code == 401, response.content
        assert response.json()["code"] == "authentication_failed"
    pytest.fail(f"{username} was not locked after {limit} failures")


@pytest.fixture
def victim(db: None) -> User:
    return CashierFactory(username="till.anna")


def test_brute_force_locks_the_username_even_for_the_right_password(
    victim: User, settings, clock: Clock
) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    assert fail_until_locked(victim.username) == 6  # five failures allowed, the sixth refused
    # The right password no longer helps the attacker (or anyone) until the cool-off is over.
    assert_throttled(login(victim.username, DEFAULT_PASSWORD))


def test_lock_lifts_after_the_cool_off(victim: User, settings, clock: Clock) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    fail_until_locked(victim.username)
    retry_after = assert_throttled(login(victim.username, DEFAULT_PASSWORD))
    clock.offset = retry_after + 1
    response = login(victim.username, DEFAULT_PASSWORD)
    assert response.status_code == 200, response.content
    assert set(response.json()) >= {"access", "refresh"}


def test_case_and_whitespace_variants_share_one_counter(victim: User, settings, clock) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    for variant in ("till.anna", "TILL.ANNA", "Till.Anna", " till.anna", "till.anna "):
        login(variant, "wrong-password")
    assert_throttled(login("till.anna", DEFAULT_PASSWORD))


def test_unknown_usernames_lock_the_same_way(settings, clock: Clock) -> None:
    """No username enumeration: an unknown username fails and locks exactly like a real one."""
    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    CashierFactory(username="real.user")
    unknown = [login("ghost.user", "wrong-password") for _ in range(5)]
    real = [login("real.user", "wrong-password") for _ in range(5)]
    assert [r.status_code for r in unknown] == [r.status_code for r in real] == [401] * 5
    assert unknown[0].json()["detail"] == real[0].json()["detail"]
    assert_throttled(login("ghost.user", "wrong-password"))
    assert_throttled(login("real.user", "wrong-password"))


def test_password_spraying_from_one_address_is_limited(settings, clock: Clock) -> None:
    """Many usernames, one password each, from one address: the per-address limit stops it."""
    settings.LOGIN_RATE_PER_IP = "20/5m"
    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    statuses = [login(f"user{n}", "Summer2026!", ip="203.0.113.9").status_code for n in range(25)]
    assert statuses[:20] == [401] * 20
    assert set(statuses[20:]) == {429}
    # Another address (another store) is not affected.
    assert login("user99", "Summer2026!", ip="198.51.100.7").status_code == 401


def test_forged_forwarded_for_does_not_reset_the_address_counter(settings, clock) -> None:
    settings.LOGIN_RATE_PER_IP = "10/5m"
    for n in range(10):
        login(f"u{n}", "x", ip="203.0.113.10", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    response = login("u11", "x", ip="203.0.113.10", HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert_throttled(response)


def test_a_stolen_access_token_is_no_password_oracle(
    victim: User, settings, clock: Clock, client_for
) -> None:
    """Wrong `old_password`s on the password-change endpoint count as failed logins."""
    settings.LOGIN_RATE_PER_USERNAME = "5/5m"
    client = client_for(victim)

    def guess(n: int) -> Any:
        return client.post(
            "/api/v1/auth/password/",
            {"old_password": f"guess-{n}", "new_password": "N3w-secure-passphrase"},
            format="json",
        )

    assert [guess(n).status_code for n in range(5)] == [400] * 5
    # Each wrong guess was counted against the username: the limit is reached before the next
    # attempt (so a refusal below is the lock, not something else).
    assert failures_counted(victim.username) == 5
    assert_throttled(guess(5))
    assert_throttled(guess(6))
    assert failures_counted(victim.username) == 5  # a refused guess is never checked or counted
    assert_throttled(login(victim.username, DEFAULT_PASSWORD))
