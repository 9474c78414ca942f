"""What `DB_POOLER` does to the database settings (a fresh process per configuration: settings
are read once at start-up)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.django_process import SETUP, run_django

pytestmark = pytest.mark.pgbouncer

_OURS = (
    "DB_POOLER",
    "DB_STATEMENT_TIMEOUT_MS",
    "DB_LOCK_TIMEOUT_MS",
    "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
)
_PRINT = (
    "import json; from django.conf import settings as s; d = s.DATABASES['default']; "
    "print(json.dumps({'options': d['OPTIONS'], 'no_server_cursors': "
    "d.get('DISABLE_SERVER_SIDE_CURSORS', False), 'max_age': d['CONN_MAX_AGE']}))"
)


def _database_settings(**env: str) -> subprocess.CompletedProcess[str]:
    # The pooled pass runs with DB_POOLER set: each case starts from none of these.
    return run_django(f"{SETUP}; {_PRINT}", env=env, unset=_OURS)


def _loaded(**env: str) -> dict[str, Any]:
    result = _database_settings(**env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_direct_connections_carry_the_timeouts_in_options() -> None:
    loaded = _loaded(DB_IDLE_IN_TRANSACTION_TIMEOUT_MS="12000")
    assert loaded["options"]["options"] == (
        "-c statement_timeout=5000 -c lock_timeout=3000 "
        "-c idle_in_transaction_session_timeout=12000"
    )
    assert loaded["no_server_cursors"] is False


def test_behind_pgbouncer_no_options_no_server_cursors_no_prepares() -> None:
    loaded = _loaded(DB_POOLER="pgbouncer")
    assert "options" not in loaded["options"]
    assert loaded["options"]["prepare_threshold"] is None
    assert loaded["no_server_cursors"] is True
    assert loaded["max_age"] == 60  # client connections to PgBouncer stay persistent


def test_an_unknown_pooler_is_refused() -> None:
    result = _database_settings(DB_POOLER="pgpool")
    assert result.returncode != 0
    assert "DB_POOLER must be empty or 'pgbouncer'" in result.stderr
