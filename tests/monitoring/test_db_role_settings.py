"""`manage.py db_role_settings` writes and checks the role's timeouts, and `/health/ready`
reports the session's effective ones (degraded behind a pooler when one is missing)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, connections
from psycopg import sql

from monitoring import db_session

ROLE = "pos_role_settings_test"

pytestmark = pytest.mark.postgres


def _execute(statement: sql.Composable) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.as_string(connection.connection))


@pytest.fixture
def role(transactional_db: None) -> Iterator[str]:
    """A throwaway role (roles are cluster-wide: created and dropped outside any transaction)."""
    _execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))
    _execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(ROLE)))
    yield ROLE
    _execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(ROLE)))


def test_check_fails_for_a_role_without_the_timeouts(role: str) -> None:
    assert db_session.role_timeouts(connection, role) == dict.fromkeys(db_session.TIMEOUT_NAMES)
    with pytest.raises(CommandError, match="3 timeout"):
        call_command("db_role_settings", role=role, check=True)


def test_setting_them_makes_the_check_pass(role: str, settings, capsys) -> None:
    settings.DB_TIMEOUTS_MS = {
        "statement_timeout": 4000,
        "lock_timeout": 1500,
        "idle_in_transaction_session_timeout": 20000,
    }
    call_command("db_role_settings", role=role)
    call_command("db_role_settings", role=role, check=True)

    assert db_session.role_timeouts(connection, role) == settings.DB_TIMEOUTS_MS
    assert f"role {role} has statement_timeout=4000ms" in capsys.readouterr().out


def test_check_names_a_timeout_that_differs(role: str, settings, capsys) -> None:
    call_command("db_role_settings", role=role)
    _execute(sql.SQL("ALTER ROLE {} SET lock_timeout = '2s'").format(sql.Identifier(role)))
    assert db_session.role_timeouts(connection, role)["lock_timeout"] == 2000

    with pytest.raises(CommandError, match="1 timeout"):
        call_command("db_role_settings", role=role, check=True)
    assert "lock_timeout is 2000 ms" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("stored", "ms"),
    [
        ("5000", 5000),
        ("5s", 5000),
        ("2min", 120000),
        ("250ms", 250),
        ("3000us", 3),
        ("1d", 86400000),
    ],
)
def test_role_setting_values_in_any_unit(stored: str, ms: int) -> None:
    assert db_session._to_ms(stored) == ms


@pytest.mark.django_db
def test_ready_reports_the_sessions_timeouts(client) -> None:
    body = client.get("/health/ready").json()
    assert body["database_timeouts_ms"] == db_session.expected_timeouts()
    assert body["checks"]["database"] == "ok"


@pytest.fixture
def no_statement_timeout() -> Iterator[None]:
    """New connections of the `default` alias without a statement timeout, as behind PgBouncer
    when the role settings were never written."""
    options = connections["default"].settings_dict["OPTIONS"]
    saved = options.get("options")
    options["options"] = "-c statement_timeout=0"
    yield
    if saved is None:
        options.pop("options", None)
    else:
        options["options"] = saved


@pytest.mark.django_db
def test_a_missing_timeout_behind_the_pooler_degrades_ready(
    client, settings, no_statement_timeout
) -> None:
    settings.DB_POOLER = "pgbouncer"
    response = client.get("/health/ready")
    assert response.status_code == 200  # degraded, still ready
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "degraded"
    assert body["database_timeouts_ms"]["statement_timeout"] == 0


@pytest.mark.django_db
def test_a_missing_timeout_without_a_pooler_is_only_reported(
    client, settings, no_statement_timeout
) -> None:
    settings.DB_POOLER = ""
    body = client.get("/health/ready").json()
    assert body["checks"]["database"] == "ok"
    assert body["database_timeouts_ms"]["statement_timeout"] == 0
