"""A PgBouncer in transaction mode for tests/pgbouncer (`dbtools.pgbouncer`).

Under `make test-pgbouncer` the whole run already goes through PgBouncer (`DB_POOLER=pgbouncer`,
DATABASE_URL on its port) and these fixtures only check that. Under plain `make test` the
session fixture starts one (or uses the one that runs), sets the pooled role's timeouts, and
`pooled` points the `default` alias at it for one test. Without the pgbouncer binary the tests
skip with the reason, except under `REQUIRE_SERVICES=1` (CI), where they fail.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connections

from dbtools import pgbouncer


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_SERVICES") == "1":
        pytest.fail(f"REQUIRE_SERVICES=1: {reason}")
    pytest.skip(reason)


def _upstream(settings_dict: dict[str, Any]) -> pgbouncer.Upstream:
    return pgbouncer.Upstream(
        host=settings_dict["HOST"] or "127.0.0.1",
        port=int(settings_dict["PORT"] or 5432),
        user=settings_dict["USER"] or "postgres",
        dbname=settings_dict["NAME"],
    )


@pytest.fixture(scope="session")
def pgbouncer_config(django_db_setup: None, django_db_blocker: Any) -> Iterator[pgbouncer.Config]:
    """The running PgBouncer's configuration: the one `make test-pgbouncer` started, or one
    started here (and stopped at the end of the session)."""
    settings_dict = connections["default"].settings_dict
    if django_settings.DB_POOLER == "pgbouncer":
        # The suite runs through PgBouncer already: the upstream is PgBouncer's concern.
        yield pgbouncer.Config(
            upstream=_upstream(settings_dict),
            port=int(settings_dict["PORT"]),
            role=settings_dict["USER"],
        )
        return
    config = pgbouncer.Config(
        upstream=_upstream(settings_dict),
        port=int(os.environ.get("PGBOUNCER_PORT", pgbouncer.DEFAULT_PORT)),
        role=os.environ.get("PGBOUNCER_ROLE", pgbouncer.DEFAULT_ROLE),
    )
    try:
        pgbouncer.binary()
    except pgbouncer.PgBouncerError as exc:
        _unavailable(str(exc))
    started_here = not pgbouncer.running(config)
    with django_db_blocker.unblock():
        pgbouncer.ensure_role(config)
        # Role settings apply to server connections opened afterwards: set them first.
        call_command("db_role_settings", role=config.role, verbosity=0)
    try:
        pgbouncer.start(config)
    except pgbouncer.PgBouncerError as exc:
        _unavailable(f"PgBouncer did not start: {exc}")
    if not started_here:
        # One left running from before: drop its server connections, whose timeouts may predate
        # the role settings just written.
        with admin_console(config) as console:
            console.execute("RECONNECT")
    yield config
    if started_here:
        pgbouncer.stop(config)


def admin_console(config: pgbouncer.Config) -> psycopg.Connection[Any]:
    """PgBouncer's admin console (the `pgbouncer` pseudo-database; simple queries only)."""
    return psycopg.connect(
        host="127.0.0.1",
        port=config.port,
        user=config.role,
        dbname="pgbouncer",
        autocommit=True,
        prepare_threshold=None,
        cursor_factory=psycopg.ClientCursor,
    )


def raw_pooled(config: pgbouncer.Config) -> psycopg.Connection[Any]:
    """A plain psycopg connection to the test database through PgBouncer."""
    return psycopg.connect(
        host="127.0.0.1",
        port=config.port,
        user=config.role,
        dbname=connections["default"].settings_dict["NAME"],
        autocommit=True,
        prepare_threshold=None,
    )


@pytest.fixture
def pooled(
    transactional_db: None, pgbouncer_config: pgbouncer.Config, settings: Any
) -> Iterator[pgbouncer.Config]:
    """For one test, the `default` alias goes through PgBouncer as `DB_POOLER=pgbouncer` makes
    it (no `options`, no server-side cursors, no prepared statements), in this thread and in
    any thread the test starts (they read the same settings dict)."""
    if django_settings.DB_POOLER == "pgbouncer":  # the whole run goes through it already
        yield pgbouncer_config
        return
    settings.DB_POOLER = "pgbouncer"
    conn = connections["default"]
    settings_dict = conn.settings_dict  # the very dict new threads' connections are built from
    saved = {key: settings_dict[key] for key in ("HOST", "PORT", "USER", "PASSWORD")}
    saved_options = dict(settings_dict["OPTIONS"])
    saved_cursors = settings_dict.get("DISABLE_SERVER_SIDE_CURSORS", False)
    conn.close()
    settings_dict.update(
        HOST="127.0.0.1", PORT=str(pgbouncer_config.port), USER=pgbouncer_config.role, PASSWORD=""
    )
    settings_dict["OPTIONS"].pop("options", None)
    settings_dict["OPTIONS"]["prepare_threshold"] = None
    settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = True
    try:
        yield pgbouncer_config
    finally:
        conn.close()
        settings_dict.update(saved)
        settings_dict["OPTIONS"] = saved_options
        settings_dict["DISABLE_SERVER_SIDE_CURSORS"] = saved_cursors
