"""Monthly RANGE partitions of the history tables (PostgreSQL's declarative partitioning).

Audit events, stock movements, journal lines and idempotency keys grow without bound; each is a
partitioned table with one partition per calendar month (UTC) of its time column, named
`<table>_pYYYYMM`. There is deliberately no DEFAULT partition: a row for a month that has no
partition fails loudly (`no partition of relation … found for row`) instead of piling up in a
catch-all that could never be detached cheaply, so `ensure_partitions` runs ahead of time (a
daily beat task, `manage.py partitions`, and the migrations themselves).

The partitioned tables are found in the catalog (`pg_partitioned_table`), so this module knows
no domain app; the migrations that build the tables call `partition_table`.

Why these shapes:

* the primary key becomes `(id, <partition column>)` (a unique index on a partitioned table must
  contain the partition key); Django still treats `id` alone as the primary key, and `id` stays
  unique because it comes from one sequence;
* retention is `DROP TABLE` of a whole partition (the idempotency keys':
  `orders.services.idempotency.idempotency_keys_purge_expired`): no DELETE, no vacuum debt, and
  the append-only triggers (which refuse DELETE) stay in force.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection as default_connection
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper

from dbtools.rows import qn

__all__ = [
    "Month",
    "Partition",
    "ddl_lock_timeout_ms",
    "ddl_transaction",
    "ensure_partitions",
    "partition_name",
    "partition_table",
    "partitioned_tables",
    "partitions_of",
]

_NAME = re.compile(r"^(?P<table>.+)_p(?P<year>\d{4})(?P<month>\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month (UTC), the unit of partitioning."""

    year: int
    month: int

    @classmethod
    def of(cls, when: dt.date | dt.datetime) -> Month:
        if isinstance(when, dt.datetime) and when.tzinfo is not None:
            when = when.astimezone(dt.UTC)
        return cls(when.year, when.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM` (as `--since`/`--month` take it)."""
        try:
            year, month = (int(part) for part in text.split("-"))
            # A month whose start and end are both datetimes (year 1 to 9998).
            valid = 1 <= month <= 12 and dt.MINYEAR <= year < dt.MAXYEAR
            return cls(year, month) if valid else cls._bad(text)
        except ValueError:
            return cls._bad(text)

    @staticmethod
    def _bad(text: str) -> Month:
        raise ValueError(f"{text!r} is not a month (YYYY-MM).")

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        return self.plus(1).start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class Partition:
    table: str
    name: str
    month: Month


def ddl_lock_timeout_ms() -> int:
    """How long creating or dropping a partition may wait for its parent's lock (`SET LOCAL
    lock_timeout`). Both take an exclusive lock on the parent, and every statement on the table
    that starts meanwhile (a sale) queues behind them: a third of the sessions' own
    `DB_LOCK_TIMEOUT_MS`, at most 1 s, so no queued statement times out because of them."""
    from django.conf import settings

    sessions = int(settings.DB_LOCK_TIMEOUT_MS)
    return max(10, min(1000, sessions // 3)) if sessions > 0 else 1000


@contextmanager
def ddl_transaction() -> Iterator[CursorWrapper]:
    """A transaction (and its cursor) for creating or dropping partitions: it waits
    `ddl_lock_timeout_ms` at most for a parent's lock (`SET LOCAL`), then fails rather than
    hold up the statements queued behind it."""
    with transaction.atomic(), default_connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = {ddl_lock_timeout_ms()}")
        yield cursor


def partition_name(table: str, month: Month) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def partitioned_tables(*, using: BaseDatabaseWrapper | None = None) -> list[str]:
    """The partitioned tables of the schema, by name."""
    conn = using or default_connection
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT c.relispartition ORDER BY c.relname"
        )
        return [row[0] for row in cursor.fetchall()]


def partitions_of(table: str, *, using: BaseDatabaseWrapper | None = None) -> list[Partition]:
    """The monthly partitions of `table` (named `<table>_pYYYYMM`), oldest first."""
    conn = using or default_connection
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        names = [row[0] for row in cursor.fetchall()]
    found = []
    for name in names:
        match = _NAME.match(name)
        if match and match["table"] == table:
            found.append(Partition(table, name, Month(int(match["year"]), int(match["month"]))))
    return sorted(found, key=lambda p: p.month)


def _create_partition(conn: BaseDatabaseWrapper, table: str, month: Month) -> bool:
    """Create one month's partition unless it exists; whether it was created. The parent's
    indexes, constraints and row triggers are cloned onto it by PostgreSQL itself."""
    name = partition_name(table, month)
    exists = "SELECT to_regclass(%s) IS NOT NULL"
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        cursor.execute(exists, [name])
        if cursor.fetchone()[0]:
            return False
        # One creator at a time (the daily task and `manage.py partitions` may overlap): a lock
        # that only creators take (sales' row locks do not conflict with it), then look again.
        # A second `CREATE TABLE IF NOT EXISTS` racing the first fails with "already exists".
        cursor.execute(f"LOCK TABLE {qn(table)} IN SHARE UPDATE EXCLUSIVE MODE")
        cursor.execute(exists, [name])
        if cursor.fetchone()[0]:
            return False
        cursor.execute(
            f"CREATE TABLE {qn(name)} PARTITION OF {qn(table)} FOR VALUES FROM (%s) TO (%s)",
            [month.start.isoformat(), month.end.isoformat()],
        )
    return True


def ensure_partitions(
    *,
    months_ahead: int | None = None,
    since: Month | None = None,
    now: dt.datetime | None = None,
    tables: list[str] | None = None,
    using: BaseDatabaseWrapper | None = None,
) -> list[str]:
    """Create the missing monthly partitions of every partitioned table (or of `tables`), from
    `since` (default: the current month) through `months_ahead` months after the current one
    (default `settings.PARTITION_MONTHS_AHEAD`). Idempotent; returns the partitions created.

    Months before the oldest existing partition are only created when `since` asks for them:
    retention drops old partitions and this must not bring them back."""
    from django.conf import settings

    conn = using or default_connection
    ahead = settings.PARTITION_MONTHS_AHEAD if months_ahead is None else months_ahead
    current = Month.of(now or dt.datetime.now(dt.UTC))
    first = since or current
    created = []
    for table in tables or partitioned_tables(using=conn):
        month = first
        while month <= current.plus(ahead):
            if _create_partition(conn, table, month):
                created.append(partition_name(table, month))
            month = month.plus(1)
    return created


def partition_table(schema_editor: object, *, table: str, column: str) -> None:
    """Rebuild `table` as a table RANGE-partitioned by month on `column`, keeping its columns,
    defaults, CHECK constraints, indexes, foreign keys, `id` sequence and rows (a migration step;
    docs/operations.md "Partitioned history" gives the path for a large live database).

    Unique constraints other than the primary key are dropped (they cannot be enforced across
    partitions without the partition key): the caller says what replaces them. Triggers are not
    carried over: the caller creates them on the new parent, which clones them onto every
    partition, present and future."""
    old = f"{table}_unpartitioned"
    execute = schema_editor.execute  # type: ignore[attr-defined]
    conn: BaseDatabaseWrapper = schema_editor.connection  # type: ignore[attr-defined]
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname NOT IN ("
            "  SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass"
            "  AND contype IN ('p', 'u'))",
            [table, table],
        )
        index_defs = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(
            "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype IN ('p', 'u', 'f')",
            [table],
        )
        old_constraints = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s",
            [table],
        )
        old_indexes = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT COALESCE(max(id), 0), min({qn(column)}) FROM {qn(table)}"  # noqa: S608 # nosec B608
        )
        top_id, oldest = cursor.fetchone()
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
        old_sequence = cursor.fetchone()[0]
        cursor.execute(f"SELECT last_value FROM {old_sequence}")  # noqa: S608 # nosec B608
        top_id = max(int(top_id), int(cursor.fetchone()[0]))

    # Free the names for the new table: the old one loses its keys, indexes and sequence.
    execute(f"ALTER TABLE {qn(table)} RENAME TO {qn(old)}")
    for name in old_constraints:
        execute(f"ALTER TABLE {qn(old)} DROP CONSTRAINT IF EXISTS {qn(name)} CASCADE")
    for name in old_indexes:
        execute(f"DROP INDEX IF EXISTS {qn(name)}")
    if _is_identity(conn, old):
        execute(f"ALTER TABLE {qn(old)} ALTER COLUMN id DROP IDENTITY")
    else:
        execute(f"ALTER TABLE {qn(old)} ALTER COLUMN id DROP DEFAULT")
        execute(f"DROP SEQUENCE IF EXISTS {old_sequence}")
    sequence = f"{table}_id_seq"
    execute(f"CREATE SEQUENCE {qn(sequence)} AS bigint")
    execute(f"SELECT setval('{sequence}', {top_id + 1}, false)")

    execute(
        f"CREATE TABLE {qn(table)} (LIKE {qn(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS) "
        f"PARTITION BY RANGE ({qn(column)})"
    )
    execute(f"ALTER TABLE {qn(table)} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
    execute(f"ALTER SEQUENCE {qn(sequence)} OWNED BY {qn(table)}.id")
    execute(
        f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(table + '_pkey')} "
        f"PRIMARY KEY (id, {qn(column)})"
    )
    for definition in index_defs:
        execute(definition)
    for name, definition in foreign_keys:
        execute(f"ALTER TABLE {qn(table)} ADD CONSTRAINT {qn(name)} {definition}")

    since = Month.of(oldest) if oldest is not None else None
    ensure_partitions(since=since, tables=[table], using=conn)
    # The copy is one statement over the whole table: the app's `statement_timeout` (5 s) would
    # cancel it on a database of more than a few hundred thousand rows. Off for the rest of the
    # migration's transaction only (SET LOCAL: also right behind PgBouncer).
    execute("SET LOCAL statement_timeout = 0")
    execute(f"INSERT INTO {qn(table)} SELECT * FROM {qn(old)}")  # noqa: S608 # nosec B608 - names from the catalog
    # Check the copied rows' deferred foreign keys now: a table with pending trigger events
    # cannot take the DDL that follows in the migration (indexes, triggers).
    execute("SET CONSTRAINTS ALL IMMEDIATE")
    execute(f"DROP TABLE {qn(old)}")


def _is_identity(conn: BaseDatabaseWrapper, table: str) -> bool:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT attidentity <> '' FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attname = 'id'",
            [table],
        )
        return bool(cursor.fetchone()[0])
