"""Long DDL in migrations: `without_session_timeouts(*operations)`.

`migrate` runs with the app's own session timeouts (`statement_timeout` 5 s, `lock_timeout` 3 s,
libpq `options` in posproject/settings.py). `CREATE INDEX CONCURRENTLY` first waits for every
transaction writing the table, then reads the table twice: on a big, busy table that takes
longer, and a timeout leaves an INVALID index behind. Wrapped operations run with both timeouts
off, restored (`RESET`: the connection's own values) after the last one, in both directions.
Session-level `SET`: for non-atomic migrations on a direct connection (migrations never go
through PgBouncer, docs/operations.md).
"""

from __future__ import annotations

from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.special import RunSQL

__all__ = ["without_session_timeouts"]

_OFF = ("SET statement_timeout = 0", "SET lock_timeout = 0")
_RESTORE = ("RESET statement_timeout", "RESET lock_timeout")


def without_session_timeouts(*operations: Operation) -> list[Operation]:
    """`operations` with the session's statement and lock timeouts off around them."""
    return [
        RunSQL(_OFF, reverse_sql=_RESTORE),
        *operations,
        RunSQL(_RESTORE, reverse_sql=_OFF),
    ]
