"""Login throttling: failures per username, attempts per client address, 429 with Retry-After,
recovery after the cool-off, and failing open when the cache is down."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.core.cache.backends.base import BaseCache
from prometheus_client import REGISTRY

from accounts.models import User
from accounts.throttling import USERNAME_GROUP
from tests.accounts.conftest import PASSWORD_URL, assert_problem, bearer
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

WRONG = "definitely-wrong-9"


def _throttled_count(scope: str) -> float:
    return REGISTRY.get_sample_value("pos_throttled_requests_total", {"scope": scope}) or 0.0


class _Clock:
    """Stands in for the `time` module inside django-ratelimit (its fixed windows come from
    `time.time()`): frozen, so a window never rolls over in the middle of a test, and movable,
    so a test can jump past the cool-off without sleeping."""

    def __init__(self) -> None:
        self.frozen_at = time.time()
        self.offset = 0.0

    def time(self) -> float:
        return self.frozen_at + self.offset


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr("django_ratelimit.core.time", fake)
    return fake


@pytest.fixture
def small_rates(settings: Any) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "3/m"
    settings.LOGIN_RATE_PER_IP = "100/m"


@pytest.mark.usefixtures("small_rates")
def test_failures_per_username_lock_it_for_the_cool_off(cashier: User, login, clock) -> None:
    before = _throttled_count("login_username")
    for _ in range(3):
        assert_problem(login(cashier.username, WRONG), 401, "authentication_failed")

    # The right password does not help now, and is not even checked.
    refused = login(cashier.username)
    assert_problem(refused, 429, "throttled")
    retry_after = int(refused["Retry-After"])
    assert 1 <= retry_after <= 60
    assert _throttled_count("login_username") == before + 1
    # Another address does not get round it either.
    assert_problem(login(cashier.username, ip="10.9.9.9"), 429, "throttled")
    # Case does not get round it.
    assert_problem(login(cashier.username.upper()), 429, "throttled")

    # After the cool-off the username works again.
    clock.offset = retry_after + 1
    assert login(cashier.username).status_code == 200


@pytest.mark.usefixtures("small_rates")
def test_successful_logins_do_not_count_against_the_username(cashier: User, login) -> None:
    for _ in range(6):
        assert login(cashier.username).status_code == 200


@pytest.mark.usefixtures("small_rates")
def test_one_username_locked_does_not_lock_another(cashier: User, manager: User, login) -> None:
    for _ in range(3):
        login(cashier.username, WRONG)
    assert_problem(login(cashier.username), 429, "throttled")
    assert login(manager.username).status_code == 200


def test_attempts_per_address_are_limited(settings: Any, login, clock) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "100/m"
    settings.LOGIN_RATE_PER_IP = "4/m"
    users = [f"someone{n}" for n in range(5)]
    for name in users[:4]:
        assert_problem(login(name, WRONG, ip="192.0.2.7"), 401, "authentication_failed")
    before = _throttled_count("login_ip")
    refused = login(users[4], WRONG, ip="192.0.2.7")
    assert_problem(refused, 429, "throttled")
    assert int(refused["Retry-After"]) >= 1
    assert _throttled_count("login_ip") == before + 1
    # Another address is unaffected; the first recovers after the cool-off.
    assert_problem(login(users[4], WRONG, ip="192.0.2.8"), 401, "authentication_failed")
    clock.offset = int(refused["Retry-After"]) + 1
    assert_problem(login(users[4], WRONG, ip="192.0.2.7"), 401, "authentication_failed")


def test_default_rates_allow_a_handful_of_failures_and_dozens_per_address(settings: Any) -> None:
    from django_ratelimit.core import _split_rate

    per_username, _ = _split_rate(settings.LOGIN_RATE_PER_USERNAME)
    per_ip, _ = _split_rate(settings.LOGIN_RATE_PER_IP)
    assert 3 <= per_username <= 10
    assert per_ip >= 24


@pytest.mark.usefixtures("small_rates")
def test_wrong_old_passwords_count_as_failures(cashier: User, login) -> None:
    client = bearer(login(cashier.username).json()["access"])
    for _ in range(3):
        response = client.post(
            PASSWORD_URL, {"old_password": WRONG, "new_password": "another-long-pass-77"}
        )
        assert_problem(response, 400, "validation_error")
    response = client.post(
        PASSWORD_URL, {"old_password": DEFAULT_PASSWORD, "new_password": "another-long-pass-77"}
    )
    assert_problem(response, 429, "throttled")
    assert "Retry-After" in response


# --- Cache down: fail open ----------------------------------------------------------------------


def test_redis_down_logins_go_on_unthrottled(
    settings: Any, cashier: User, login, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis that does not answer: django-redis ignores the error, ratelimit fails open —
    and says so (a warning and `pos_throttle_unavailable_total`), so a lock-out that stopped
    working is seen."""
    metric = (
        REGISTRY.get_sample_value("pos_throttle_unavailable_total", {"group": USERNAME_GROUP})
        or 0.0
    )
    settings.LOGIN_RATE_PER_USERNAME = "2/m"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    for _ in range(4):
        assert_problem(login(cashier.username, WRONG), 401, "authentication_failed")
    assert login(cashier.username).status_code == 200
    assert any("login throttle unavailable" in record.getMessage() for record in caplog.records)
    after = REGISTRY.get_sample_value("pos_throttle_unavailable_total", {"group": USERNAME_GROUP})
    assert after is not None
    assert after > metric


class _ExplodingCache(BaseCache):
    """A cache backend whose every call raises (a driver error django-redis would not catch)."""

    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def _boom(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("cache is down")

    add = get = set = incr = delete = clear = touch = _boom  # type: ignore[assignment]


def test_any_cache_error_fails_open_never_500(settings: Any, cashier: User, login) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "1/m"
    settings.CACHES = {
        "default": {"BACKEND": "tests.accounts.test_throttling._ExplodingCache"},
    }
    for _ in range(3):
        assert_problem(login(cashier.username, WRONG), 401, "authentication_failed")
    assert login(cashier.username).status_code == 200
