"""Long DDL in migrations: `without_session_timeouts(*operations)`.

`migrate` runs with the app's own session timeouts (`statement_timeout` 5 s, `lock_timeout` 3 s,
libpq `options` in posproject/settings.py). `CREATE INDEX CONCURRENTLY` first waits for every
transaction writing the table, then reads the table twice: on a big, busy table that takes
longer, and a timeout leaves an INVALID index behind. Wrapped operations run with both timeouts
off, restored (`RESET`: the connection's own values) after the last one, in both directions.

That is session state, so it is set on a direct connection only, as migrations run in production
(docs/operations.md, "PgBouncer"). Behind PgBouncer (`DB_POOLER`, the pooled test pass) nothing is
set: a `SET` would stay on whichever pooled server connection ran it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.special import RunPython

__all__ = ["without_session_timeouts"]

_OFF = ("SET statement_timeout = 0", "SET lock_timeout = 0")
_RESTORE = ("RESET statement_timeout", "RESET lock_timeout")


def _run(statements: tuple[str, ...]) -> Callable[[Any, Any], None]:
    def run(apps: Any, schema_editor: Any) -> None:
        if settings.DB_POOLER:
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


def without_session_timeouts(*operations: Operation) -> list[Operation]:
    """`operations` with the session's statement and lock timeouts off around them."""
    return [
        RunPython(_run(_OFF), _run(_RESTORE)),
        *operations,
        RunPython(_run(_RESTORE), _run(_OFF)),
    ]
