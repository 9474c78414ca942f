"""Fixtures shared by every test module.

The suite runs on PostgreSQL only (DATABASE_URL, or the embedded server `make test` starts).
Tests whose subject is PostgreSQL itself (row locks, concurrency, triggers) carry
`@pytest.mark.postgres` to say so; nothing is skipped for want of it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from accounts.tokens import tokens_for
from tests.factories import (
    AdminFactory,
    CashierFactory,
    ManagerFactory,
    RegisterFactory,
    StoreFactory,
)
from tests.plain_http import PLAIN_HTTP_ENV, PLAIN_HTTP_SETTINGS

# Plain HTTP, explicitly (tests/plain_http.py): for this process and the ones it starts.
for _name, _value in PLAIN_HTTP_SETTINGS.items():
    setattr(django_settings, _name, _value)
for _name, _value in PLAIN_HTTP_ENV.items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    """Tests create users by the hundred; the production hasher costs about a second each on
    this machine. The production hasher is exercised by `seed_demo`, `make run` and the
    gunicorn-level tests, which run with the real settings."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    """Rate-limit counters and cached lookups must not leak from one test into the next. On
    Redis only this run's keys go (its own `CACHE_KEY_PREFIX`): never FLUSHDB a shared server."""
    if hasattr(cache, "delete_pattern"):
        cache.delete_pattern("*")
    else:
        cache.clear()


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> None:
    """No test needs a broker: tasks run in-process, whatever CELERY_BROKER_URL says (CI sets a
    real one for the health checks)."""
    from posproject.celery import app

    app.conf.task_always_eager = True


@pytest.fixture
def store(db: None) -> Store:
    return StoreFactory()


@pytest.fixture
def other_store(db: None) -> Store:
    return StoreFactory()


@pytest.fixture
def register(store: Store) -> Register:
    return RegisterFactory(store=store, code="R1")


@pytest.fixture
def admin_user(db: None) -> User:
    return AdminFactory()


@pytest.fixture
def manager(store: Store) -> User:
    return ManagerFactory(stores=[store])


@pytest.fixture
def cashier(store: Store) -> User:
    return CashierFactory(stores=[store])


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    """An API client authenticated with a real access token for the given user, so requests
    go through the same JWT authentication as production."""

    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user).access_token}")
        return client

    return make


@pytest.fixture
def cashier_client(client_for: Callable[[User], APIClient], cashier: User) -> APIClient:
    return client_for(cashier)


@pytest.fixture
def manager_client(client_for: Callable[[User], APIClient], manager: User) -> APIClient:
    return client_for(manager)


@pytest.fixture
def admin_client(client_for: Callable[[User], APIClient], admin_user: User) -> APIClient:
    return client_for(admin_user)


@pytest.fixture(autouse=True, scope="session")
def _history_partitions(django_db_setup: None, django_db_blocker: object) -> None:
    """The history tables are partitioned by month with no catch-all partition (a row for a
    month without one is refused). The migrations created this month and the months ahead;
    tests run sales on fixed clocks from 2026-01 on, so those months exist for the session.
    From 2026-01 only: every partition is a table that each transactional test's flush
    (TRUNCATE) goes through. Tests about older months create theirs inside their own
    transaction (`history_months`)."""
    from dbtools.partitions import Month, ensure_partitions

    with django_db_blocker.unblock():  # type: ignore[attr-defined]
        ensure_partitions(since=Month(2026, 1))


@pytest.fixture
def history_months(db: None) -> Callable[..., None]:
    """`history_months("audit_auditevent", since=Month(2026, 1))`: that table's monthly
    partitions from `since` on, created in the test's transaction (gone with its rollback)."""
    from dbtools.partitions import Month, ensure_partitions

    def create(*tables: str, since: Month) -> None:
        ensure_partitions(since=since, tables=list(tables))

    return create
