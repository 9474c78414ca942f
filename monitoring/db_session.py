"""The database session's timeouts: what they are, what the settings want, and the role settings
that carry them behind PgBouncer.

Directly connected, every session gets `statement_timeout`, `lock_timeout` and
`idle_in_transaction_session_timeout` through libpq's `options` (posproject/settings.py). PgBouncer
does not pass `options` on, so behind it (`DB_POOLER=pgbouncer`) they must be settings of the role
the pool logs in as (`ALTER ROLE … SET`, `manage.py db_role_settings`), which PostgreSQL applies to
every server connection PgBouncer opens. Without them a runaway query or a lock wait would hold a
pooled server connection, and with it every client queued behind it, indefinitely.
"""

from __future__ import annotations

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import sql

TIMEOUT_NAMES = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")


def expected_timeouts() -> dict[str, int]:
    """The timeouts (milliseconds) the settings ask for (`DB_*_TIMEOUT_MS`)."""
    return {name: int(settings.DB_TIMEOUTS_MS[name]) for name in TIMEOUT_NAMES}


def session_timeouts(conn: BaseDatabaseWrapper) -> dict[str, int]:
    """The timeouts in effect for `conn`'s session, in milliseconds (0: none). Behind PgBouncer
    this is the server connection the query ran on: every one of them starts from the role's
    settings, and the app never changes them at session level."""
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT name, setting::bigint FROM pg_settings WHERE name = ANY(%s)",
            [list(TIMEOUT_NAMES)],
        )
        found = {str(name): int(value) for name, value in cursor.fetchall()}
    return {name: found.get(name, 0) for name in TIMEOUT_NAMES}


def role_timeouts(conn: BaseDatabaseWrapper, role: str) -> dict[str, int | None]:
    """The role's own timeout settings (all databases), in milliseconds; None where unset."""
    with conn.cursor() as cursor:
        cursor.execute(
            """
            SELECT unnest(s.setconfig) FROM pg_db_role_setting s
            JOIN pg_roles r ON r.oid = s.setrole
            WHERE r.rolname = %s AND s.setdatabase = 0
            """,
            [role],
        )
        raw = dict(str(row[0]).split("=", 1) for row in cursor.fetchall())
    return {name: _to_ms(raw[name]) if name in raw else None for name in TIMEOUT_NAMES}


def apply_role_timeouts(conn: BaseDatabaseWrapper, role: str, timeouts: dict[str, int]) -> None:
    """`ALTER ROLE role SET name = value` for each timeout. New sessions of the role get them;
    PgBouncer's open server connections keep their old values until they are recycled
    (`server_lifetime`, or `RECONNECT` on its admin console)."""
    with conn.cursor() as cursor:
        for name in TIMEOUT_NAMES:
            statement = sql.SQL("ALTER ROLE {} SET {} = {}").format(
                sql.Identifier(role), sql.Identifier(name), sql.Literal(int(timeouts[name]))
            )
            cursor.execute(statement.as_string(conn.connection))


def role_differences(
    actual: dict[str, int | None], expected: dict[str, int]
) -> dict[str, tuple[int | None, int]]:
    """Timeouts whose role setting is missing or differs: name -> (actual, expected)."""
    return {
        name: (actual.get(name), want)
        for name, want in expected.items()
        if actual.get(name) != want
    }


_UNITS_MS = {"us": 0.001, "ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000, "d": 86_400_000}


def _to_ms(value: str) -> int:
    """A timeout as stored in pg_db_role_setting ("5000", "5s", "2min", "500us") in
    milliseconds."""
    text = value.strip().strip("'")
    digits = text.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = text[len(digits) :].strip() or "ms"
    return round(float(digits) * _UNITS_MS[unit])
