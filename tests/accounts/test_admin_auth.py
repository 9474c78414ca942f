"""The Django admin's sign-in and password change obey the API's rules (issue 14, item 1): the same
per-username and per-address throttle as `POST /api/v1/auth/token/`, sharing its counters, and
the same audit events (`auth.login`, `auth.login_failed`, `auth.password_changed`)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from accounts import services
from accounts.models import Role, Store, User
from audit.models import AuditEvent
from tests.accounts.conftest import assert_problem
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

PASSWORD = "admin-login-pass-73"
WRONG = "definitely-wrong-9"
LOGIN_URL = "/admin/login/"
PASSWORD_CHANGE_URL = "/admin/password_change/"


class _Clock:
    """Frozen and movable `time` for django-ratelimit's fixed windows."""

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


@pytest.fixture
def staff(store: Store) -> User:
    return services.user_create(
        actor=None, username="floor", password=PASSWORD, role=Role.MANAGER, stores=[store]
    )


def admin_login(username: str, password: str, *, ip: str = "10.0.0.1") -> tuple[Client, Any]:
    client = Client(REMOTE_ADDR=ip)
    response = client.post(
        f"{LOGIN_URL}?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
    )
    return client, response


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.usefixtures("small_rates")
def test_a_username_locked_on_the_api_is_refused_at_the_admin_even_with_the_right_password(
    staff: User, login: Any, clock: _Clock
) -> None:
    for _ in range(3):
        assert_problem(login(staff.username, WRONG), 401, "authentication_failed")

    client, response = admin_login(staff.username, PASSWORD)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert not signed_in(client)
    assert b"Too many login attempts" in response.content

    # The lock lifts by itself when the window is over.
    clock.offset += 61
    client, response = admin_login(staff.username, PASSWORD)
    assert response.status_code == 302
    assert signed_in(client)


@pytest.mark.usefixtures("small_rates")
def test_wrong_admin_passwords_lock_the_username_everywhere(staff: User, login: Any) -> None:
    for _ in range(3):
        client, response = admin_login(staff.username.upper(), WRONG)
        assert response.status_code == 200  # the form again, with its error
        assert not signed_in(client)

    assert admin_login(staff.username, PASSWORD)[1].status_code == 429
    assert_problem(login(staff.username, PASSWORD), 429, "throttled")


def test_admin_logins_per_address_are_limited(settings: Any, staff: User) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "100/m"
    settings.LOGIN_RATE_PER_IP = "4/m"
    for number in range(4):
        assert admin_login(f"nobody-{number}", WRONG, ip="10.9.9.9")[1].status_code == 200

    client, response = admin_login(staff.username, PASSWORD, ip="10.9.9.9")
    assert response.status_code == 429
    assert not signed_in(client)
    # Another address is not affected.
    assert admin_login(staff.username, PASSWORD, ip="10.9.9.10")[1].status_code == 302


def test_admin_logins_are_audited(staff: User) -> None:
    admin_login(staff.username, WRONG)
    failed = AuditEvent.objects.get(action="auth.login_failed")
    assert failed.actor_id is None
    assert failed.changes["username"] == staff.username
    assert WRONG not in str(failed.changes)

    _, response = admin_login(staff.username, PASSWORD)
    assert response.status_code == 302
    succeeded = AuditEvent.objects.get(action="auth.login")
    assert succeeded.actor_id == staff.pk
    assert succeeded.object_id == str(staff.pk)


def test_a_cashier_cannot_sign_in_to_the_admin_and_the_attempt_is_audited(
    cashier: User,
) -> None:
    client, response = admin_login(cashier.username, DEFAULT_PASSWORD)
    assert response.status_code == 200
    assert not signed_in(client)
    assert not AuditEvent.objects.filter(action="auth.login").exists()
    assert AuditEvent.objects.filter(action="auth.login_failed").count() == 1


def test_admin_password_change_is_audited_and_revokes_tokens(staff: User) -> None:
    client, _ = admin_login(staff.username, PASSWORD)
    version = staff.token_version
    new = "a-brand-new-pass-84"

    response = client.post(
        PASSWORD_CHANGE_URL,
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302, response.content[:2000]
    staff.refresh_from_db()
    assert staff.check_password(new)
    assert staff.token_version > version
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor_id == staff.pk
    assert event.object_id == str(staff.pk)
    assert event.changes == {"self_service": True, "usable": True}
    assert signed_in(client)  # the session that changed it stays signed in


@pytest.mark.usefixtures("small_rates")
def test_wrong_old_passwords_in_the_admin_count_as_failures(staff: User, login: Any) -> None:
    client, _ = admin_login(staff.username, PASSWORD)
    new = "a-brand-new-pass-84"
    for _ in range(3):
        response = client.post(
            PASSWORD_CHANGE_URL,
            {"old_password": WRONG, "new_password1": new, "new_password2": new},
        )
        assert response.status_code == 200

    response = client.post(
        PASSWORD_CHANGE_URL,
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 200  # refused: locked
    assert b"Too many login attempts" in response.content
    staff.refresh_from_db()
    assert staff.check_password(PASSWORD)
    assert_problem(login(staff.username, PASSWORD), 429, "throttled")
