"""The keyset index migrations (`orders 0022`, `ledger 0012`) build with `CREATE INDEX
CONCURRENTLY`, which waits for every transaction writing the table and then reads it whole:
on a big, busy table longer than the app's `statement_timeout` (5 s) and `lock_timeout` (3 s)
that `migrate` runs with. They lift both for their own statements."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from dbtools.ddl import without_session_timeouts

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BEFORE = [("orders", "0021_partitions_beat_schedule"), ("ledger", "0011_partition_journal_lines")]
AFTER = [("orders", "0022_keyset_indexes"), ("ledger", "0012_keyset_indexes")]
INDEXES = ("order_store_id", "refund_store_id", "journal_store_id")


def _applied() -> bool:
    return set(AFTER) <= MigrationExecutor(connection).loader.applied_migrations.keys()


def _migrate(targets: list[tuple[str, str]]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def _setting(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return str(cursor.fetchone()[0])


def test_index_builds_outlast_the_sessions_lock_timeout() -> None:
    _migrate(BEFORE)
    locked = threading.Event()

    def writer() -> None:
        # A sale in flight on both tables, for longer than the migrating session's lock_timeout.
        try:
            with transaction.atomic(), connections["default"].cursor() as cursor:
                cursor.execute("LOCK TABLE orders_order, ledger_journalentry IN ROW EXCLUSIVE MODE")
                locked.set()
                time.sleep(1.5)
        finally:
            locked.set()
            connections["default"].close()

    thread = threading.Thread(target=writer)
    own = (_setting("lock_timeout"), _setting("statement_timeout"))  # the connection's options
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        thread.start()
        assert locked.wait(10)
        _migrate(AFTER)  # waits the writer out instead of failing after 200 ms
        # The connection's own timeouts are back afterwards.
        assert (_setting("lock_timeout"), _setting("statement_timeout")) == own
        assert own != ("0", "0")
    finally:
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
            cursor.execute("RESET statement_timeout")
            if not _applied():  # a failed build leaves an INVALID index behind
                for name in INDEXES:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")
        _migrate(AFTER)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_index"
            " WHERE indisvalid AND indexrelid::regclass::text = ANY(%s)",
            [list(INDEXES)],
        )
        assert cursor.fetchone()[0] == 3


def test_behind_pgbouncer_no_session_state_is_set(settings: Any) -> None:
    settings.DB_POOLER = "pgbouncer"
    lift, restore = without_session_timeouts()
    own = _setting("lock_timeout")
    with connection.schema_editor(atomic=False) as editor:
        lift.code(None, editor)  # type: ignore[attr-defined]
    assert _setting("lock_timeout") == own != "0"
    settings.DB_POOLER = ""
    with connection.schema_editor(atomic=False) as editor:
        lift.code(None, editor)  # type: ignore[attr-defined]
        assert _setting("lock_timeout") == "0"
        restore.code(None, editor)  # type: ignore[attr-defined]
    assert _setting("lock_timeout") == own
