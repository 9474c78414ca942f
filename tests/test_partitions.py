"""Monthly partitions of the history tables (dbtools.partitions): created ahead, refused rows for
a month without a partition, retention by DROP, and the append-only and balance triggers on
every partition, even when a statement names the partition itself."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from audit.services import audit_record
from catalog.models import StockMovement, StockReason
from dbtools.partitions import Month, ensure_partitions, partition_name, partitions_of
from ledger import services as ledger_services
from ledger.models import JournalLine
from monitoring.metrics import PARTITION_MAINTENANCE_FAILURES
from orders.services import partitions as partition_services
from orders.tasks import partitions_ensure
from tests.catalog.factories import ProductFactory
from tests.django_process import run_django

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

HISTORY = (
    ("audit_auditevent", "at"),
    ("catalog_stockmovement", "created_at"),
    ("ledger_journalline", "created_at"),
    ("orders_idempotencykey", "created_at"),
)
D = Decimal


def _sql(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _triggers(relation: str) -> set[str]:
    rows = _sql(
        "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
        [relation],
    )
    return {name for (name,) in rows}


@pytest.mark.parametrize(("table", "column"), HISTORY)
def test_history_tables_are_range_partitioned_by_month(table, column) -> None:
    (strategy, key), *_ = _sql(
        "SELECT p.partstrat, a.attname FROM pg_partitioned_table p "
        "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0] "
        "WHERE p.partrelid = %s::regclass",
        [table],
    )
    assert (strategy, key) == ("r", column)
    # No DEFAULT partition: a row for a month without one must fail.
    assert _sql(
        "SELECT partdefid FROM pg_partitioned_table WHERE partrelid = %s::regclass", [table]
    ) == [(0,)]
    # Primary key (id, partition column).
    (definition,) = _sql(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
        "AND contype = 'p'",
        [table],
    )[0]
    assert definition == f"PRIMARY KEY (id, {column})"


@pytest.mark.parametrize(("table", "column"), HISTORY)
def test_partitions_exist_from_this_month_to_the_months_ahead(settings, table, column) -> None:
    current = Month.of(timezone.now())
    months = {p.month for p in partitions_of(table)}
    for ahead in range(settings.PARTITION_MONTHS_AHEAD + 1):
        assert current.plus(ahead) in months


def test_ensure_creates_the_missing_months_once() -> None:
    later = Month.of(timezone.now()).plus(9)
    created = ensure_partitions(months_ahead=9)
    assert partition_name("audit_auditevent", later) in created
    assert len([name for name in created if name.endswith(f"{later.year}{later.month:02d}")]) == 4
    assert ensure_partitions(months_ahead=9) == []


def test_ensure_does_not_bring_back_months_dropped_by_retention(history_months) -> None:
    history_months("orders_idempotencykey", since=Month(2026, 1))
    _sql("DROP TABLE orders_idempotencykey_p202601")  # what retention does
    assert ensure_partitions() == []  # nothing before the current month unless asked (`since`)
    assert Month(2026, 1) not in {p.month for p in partitions_of("orders_idempotencykey")}


def test_a_row_for_a_month_without_partition_fails_loudly(store) -> None:
    far = Month.of(timezone.now()).plus(60).start
    movement = StockMovement.objects.create(
        store=store,
        product=ProductFactory(),
        quantity_delta=1,
        quantity_after=1,
        reason=StockReason.CORRECTION,
    )
    # `created_at` is stamped on insert: moving the row to the far month must fail.
    with pytest.raises(DatabaseError, match="no partition"), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(created_at=far)
    with pytest.raises(DatabaseError, match="no partition"), transaction.atomic():
        _sql(
            "INSERT INTO audit_auditevent (at, action, chain, object_type, object_id, changes,"
            " request_id, prev_hash, hash) VALUES (%s, 'x', 0, '', '', '{}', '', '', '')",
            [far],
        )
    past = dt.datetime(2020, 1, 15, tzinfo=dt.UTC)
    with pytest.raises(DatabaseError, match="no partition"), transaction.atomic():
        _sql(
            "INSERT INTO audit_auditevent (at, action, chain, object_type, object_id, changes,"
            " request_id, prev_hash, hash) VALUES (%s, 'x', 0, '', '', '{}', '', '', '')",
            [past],
        )


@pytest.mark.parametrize(
    ("table", "triggers"),
    [
        ("audit_auditevent", {"audit_auditevent_append_only"}),
        ("ledger_journalline", {"ledger_journalline_immutable", "ledger_journalline_balanced"}),
    ],
)
def test_every_partition_carries_the_triggers(table, triggers) -> None:
    later = Month.of(timezone.now()).plus(7)
    ensure_partitions(months_ahead=7)  # one created now gets them as well
    partitions = partitions_of(table)
    assert later in {p.month for p in partitions}
    assert triggers <= _triggers(table)
    for partition in partitions:
        assert triggers <= _triggers(partition.name), partition.name


def _partition_holding(table: str, row_id: int) -> str:
    ((name,),) = _sql(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [row_id])  # noqa: S608
    return name


@pytest.mark.parametrize(
    "statement", ["UPDATE {} SET action = 'x' WHERE id = %s", "DELETE FROM {} WHERE id = %s"]
)
def test_an_audit_partition_named_directly_refuses_update_and_delete(store, statement) -> None:
    event = audit_record(action="order.created", store_id=store.id)
    partition = _partition_holding("audit_auditevent", event.pk)
    assert partition == partition_name("audit_auditevent", Month.of(event.at))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        _sql(statement.format(partition), [event.pk])


@pytest.fixture
def entry(store):
    return ledger_services.post_cash_movement(
        store=store,
        date=dt.date(2026, 11, 21),
        movement_id=1,
        kind="in",
        amount=D("20.00"),
        created_by=None,
    )


def test_lines_carry_their_entrys_time(entry) -> None:
    lines = list(JournalLine.objects.filter(entry=entry))
    assert len(lines) == 2
    assert {line.created_at for line in lines} == {entry.created_at}
    assert JournalLine.objects.get(pk=lines[0].pk) == lines[0]  # Django's pk is still `id`


@pytest.mark.parametrize(
    "statement",
    ["UPDATE {} SET debit = debit + 1 WHERE entry_id = %s", "DELETE FROM {} WHERE entry_id = %s"],
)
def test_a_ledger_partition_named_directly_refuses_update_and_delete(entry, statement) -> None:
    line = entry.lines.first()
    partition = _partition_holding("ledger_journalline", line.pk)
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        _sql(statement.format(partition), [entry.pk])
    assert entry.lines.count() == 2


def _line_into(partition: str, entry_id: int, code: str, debit: str, credit: str, at) -> None:
    _sql(
        f"INSERT INTO {partition} (entry_id, account_id, debit, credit, created_at)"  # noqa: S608
        " SELECT %s, id, %s, %s, %s FROM ledger_account WHERE code = %s",
        [entry_id, D(debit), D(credit), at, code],
    )


def _write_and_check(partition: str, entry, lines: list[tuple]) -> None:
    """Insert `lines` (code, debit, credit, time) and run the deferred check at once (what a
    commit does: the test never commits)."""
    with transaction.atomic():
        for code, debit, credit, at in lines:
            _line_into(partition, entry.pk, code, debit, credit, at)
        _sql("SET CONSTRAINTS ledger_journalline_balanced IMMEDIATE")


def test_the_balance_trigger_holds_on_a_partition_named_directly(store, entry) -> None:
    partition = _partition_holding("ledger_journalline", entry.lines.first().pk)
    with pytest.raises(IntegrityError, match="unbalanced"):
        _write_and_check(partition, entry, [("1000", "5.00", "0", entry.created_at)])
    # Balanced additions pass.
    with transaction.atomic():
        _line_into(partition, entry.pk, "1000", "5.00", "0", entry.created_at)
        _line_into(partition, entry.pk, "1050", "0", "5.00", entry.created_at)
        _sql("SET CONSTRAINTS ledger_journalline_balanced IMMEDIATE")
    assert entry.lines.count() == 4


def test_a_line_dated_away_from_its_entry_is_refused(entry) -> None:
    """Otherwise a line could hide from the balance check in another month's partition."""
    _sql("SET CONSTRAINTS ledger_journalline_balanced IMMEDIATE")  # the entry's own lines
    elsewhere = entry.created_at + dt.timedelta(days=3)
    with pytest.raises(IntegrityError, match="is dated"):
        _write_and_check(
            "ledger_journalline",
            entry,
            [("1000", "5.00", "0", elsewhere), ("1050", "0", "5.00", entry.created_at)],
        )


def test_the_partitions_command(capsys) -> None:
    call_command("partitions", "--ahead", "8")
    later = Month.of(timezone.now()).plus(8)
    assert later in {p.month for p in partitions_of("catalog_stockmovement")}
    out = capsys.readouterr().out
    assert out.startswith("created ")
    assert f"+ {partition_name('catalog_stockmovement', later)}" in out
    with pytest.raises(CommandError, match="not a month"):
        call_command("partitions", "--since", "2026-1x")


def test_the_task_creates_ahead_and_drops_expired_key_months(settings, history_months) -> None:
    history_months("orders_idempotencykey", "audit_auditevent", since=Month(2026, 1))
    settings.PARTITION_MONTHS_AHEAD = 11
    result = partitions_ensure.delay().get()
    later = Month.of(timezone.now()).plus(11)
    for table, _column in HISTORY:
        assert partition_name(table, later) in result["created"]
    assert "orders_idempotencykey_p202601" in result["dropped"]
    assert "orders_idempotencykey_p202601" not in {
        p.name for p in partitions_of("orders_idempotencykey")
    }
    # Only the key table loses months: the other history is kept.
    assert Month(2026, 1) in {p.month for p in partitions_of("audit_auditevent")}


def test_a_failed_run_is_counted(monkeypatch) -> None:
    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(partition_services, "ensure_partitions", broken)
    before = PARTITION_MAINTENANCE_FAILURES._value.get()
    with pytest.raises(DatabaseError):
        partition_services.partitions_maintain()
    assert PARTITION_MAINTENANCE_FAILURES._value.get() == before + 1


@pytest.mark.parametrize(("value", "refused"), [("0", True), ("-1", True), ("1", False)])
def test_months_ahead_below_one_is_refused_at_start_up(value, refused) -> None:
    """With 0 the next month's partition would appear only when the daily task runs on the 1st:
    every sale from midnight UTC until then would be refused."""
    result = run_django(env={"PARTITION_MONTHS_AHEAD": value})
    assert (result.returncode != 0) is refused, result.stderr
    assert ("PARTITION_MONTHS_AHEAD must be 1 or more" in result.stderr) is refused


def test_creating_partitions_waits_briefly_for_a_busy_table_one_table_at_a_time(settings) -> None:
    """Creating a partition locks its parent exclusively and sales queue behind it: the task
    gives up well within the sales' own lock timeout, and never holds one table's lock while it
    waits for the next one's (each table is its own short transaction)."""
    import time

    import psycopg

    settings.DB_LOCK_TIMEOUT_MS = 3000
    later = Month.of(timezone.now()).plus(10)
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    with psycopg.connect(**params) as busy:  # a sale in flight on the stock movements
        busy.execute("LOCK TABLE catalog_stockmovement IN ROW EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(DatabaseError, match="lock timeout"):
            partition_services.partitions_maintain(months_ahead=10)
        waited = time.monotonic() - started
        busy.rollback()
    assert waited < 1.5
    # The table before it got its months (its own transaction, already over).
    assert later in {p.month for p in partitions_of("audit_auditevent")}
    assert later not in {p.month for p in partitions_of("catalog_stockmovement")}


@pytest.mark.django_db(transaction=True)
def test_two_creators_at_once_do_not_fail_on_each_other() -> None:
    """The daily task and `manage.py partitions` overlapping: the second waits for the first,
    then finds its partition instead of failing with "already exists"."""
    import threading
    import time

    import psycopg

    far = Month.of(timezone.now()).plus(40)
    name = partition_name("catalog_stockmovement", far)
    params = connection.get_connection_params()
    for option in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(option, None)
    other = psycopg.connect(**params)
    try:
        other.execute(  # the other creator, not committed yet
            f"CREATE TABLE {name} PARTITION OF catalog_stockmovement "
            f"FOR VALUES FROM ('{far.start.isoformat()}') TO ('{far.end.isoformat()}')"
        )
        committer = threading.Timer(0.5, other.commit)
        committer.start()
        started = time.monotonic()
        created = ensure_partitions(since=far, months_ahead=40, tables=["catalog_stockmovement"])
        committer.join()
        assert name not in created
        assert time.monotonic() - started >= 0.4  # it did wait for the other
        assert far in {p.month for p in partitions_of("catalog_stockmovement")}
    finally:
        other.rollback()
        other.execute(f"DROP TABLE IF EXISTS {name}")
        other.commit()
        other.close()


def test_partitioning_a_table_copies_its_rows_without_the_statement_timeout() -> None:
    """`partition_table` copies a whole table in one statement: the session's 5 s
    `statement_timeout` is off for the rest of the migration's transaction (SET LOCAL), so a
    database of millions of rows converts (the next transaction has the session's value back:
    SET LOCAL is PostgreSQL's own promise, not tested here inside the test's transaction)."""
    from dbtools.partitions import partition_table

    now = timezone.now()
    with transaction.atomic():
        _sql(
            "CREATE TABLE scratch_history (id bigint GENERATED BY DEFAULT AS IDENTITY "
            "PRIMARY KEY, at timestamptz NOT NULL, note text)"
        )
        _sql("INSERT INTO scratch_history (at, note) VALUES (%s, 'a'), (%s, 'b')", [now, now])
        _sql("SET LOCAL statement_timeout = '5s'")
        with connection.schema_editor(atomic=False) as editor:
            partition_table(editor, table="scratch_history", column="at")
        assert _sql("SHOW statement_timeout") == [("0",)]
        assert _sql("SELECT note FROM scratch_history ORDER BY id") == [("a",), ("b",)]
        assert _sql(
            "SELECT partstrat FROM pg_partitioned_table "
            "WHERE partrelid = 'scratch_history'::regclass"
        ) == [("r",)]
