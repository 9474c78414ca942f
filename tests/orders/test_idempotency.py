"""`apitools.idempotency.run_idempotent` on the orders' key table: exactly-once below the
views (the sale endpoint's replays are in test_sales.py, the concurrent ones in
test_sales_concurrency.py)."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Store, User
from apitools import idempotency
from apitools.errors import status_for
from apitools.idempotency import (
    IdempotencyKeyInUse,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
    IdempotentOutcome,
    request_fingerprint,
)
from dbtools.partitions import Month
from domain.errors import InvalidInput, Throttled
from monitoring.metrics import IDEMPOTENT_REPLAYS
from orders.models import IdempotencyKey, IdempotencyState
from orders.services.idempotency import MIN_TTL_HOURS, idempotency_keys_purge_expired
from orders.tasks import purge_expired_idempotency_keys
from orders.views.idempotency import IDEMPOTENCY_KEYS
from tests.factories import CashierFactory, StoreFactory

pytestmark = pytest.mark.django_db


def run_idempotent(**kwargs: Any) -> IdempotentOutcome:
    return idempotency.run_idempotent(store=IDEMPOTENCY_KEYS, **kwargs)


def _creating_store(code: str) -> Any:
    """An action that writes something countable and answers 201 with it."""

    def action() -> tuple[int, dict[str, Any]]:
        store = StoreFactory(code=code)
        return 201, {"id": store.pk, "code": code, "amount": "12.50"}

    return action


def test_first_call_runs_and_stores_the_response(cashier: User) -> None:
    outcome = run_idempotent(
        user=cashier, key="k-1", endpoint="test", payload={"a": 1}, action=_creating_store("A1")
    )
    assert outcome.status == 201
    assert outcome.replayed is False
    row = IdempotencyKey.objects.get(user=cashier, key="k-1")
    assert row.state == IdempotencyState.COMPLETED
    assert row.response_status == 201
    assert row.fingerprint == request_fingerprint(endpoint="test", payload={"a": 1})
    assert row.expires_at >= timezone.now() + dt.timedelta(hours=MIN_TTL_HOURS) - dt.timedelta(
        minutes=1
    )


def test_same_key_same_body_replays_without_running(cashier: User) -> None:
    first = run_idempotent(
        user=cashier,
        key="k-2",
        endpoint="test",
        payload={"a": 1, "b": [1, 2]},
        action=_creating_store("B1"),
    )
    before = IDEMPOTENT_REPLAYS.labels(endpoint="test")._value.get()
    second = run_idempotent(
        user=cashier,
        key="k-2",
        endpoint="test",
        payload={"b": [1, 2], "a": 1},  # key order
        action=_creating_store("B2"),
    )
    assert second.replayed is True
    assert (second.status, second.body) == (first.status, first.body)
    assert list(second.body) == list(first.body)  # same key order, byte-for-byte replay
    assert not Store.objects.filter(code="B2").exists()
    assert IDEMPOTENT_REPLAYS.labels(endpoint="test")._value.get() == before + 1


def test_same_key_other_body_is_refused(cashier: User) -> None:
    run_idempotent(
        user=cashier, key="k-3", endpoint="test", payload={"a": 1}, action=_creating_store("C1")
    )
    with pytest.raises(IdempotencyKeyReused) as info:
        run_idempotent(
            user=cashier,
            key="k-3",
            endpoint="test",
            payload={"a": 2},
            action=_creating_store("C2"),
        )
    assert (status_for(info.value), info.value.code) == (422, "idempotency_key_reused")
    # the same key on another endpoint is another request too
    with pytest.raises(IdempotencyKeyReused):
        run_idempotent(
            user=cashier,
            key="k-3",
            endpoint="other",
            payload={"a": 1},
            action=_creating_store("C3"),
        )
    assert not Store.objects.filter(code__in=["C2", "C3"]).exists()


def test_keys_are_scoped_to_the_user(cashier: User, store: Store) -> None:
    other = CashierFactory(stores=[store])
    run_idempotent(
        user=cashier, key="shared", endpoint="test", payload={}, action=_creating_store("D1")
    )
    outcome = run_idempotent(
        user=other, key="shared", endpoint="test", payload={}, action=_creating_store("D2")
    )
    assert outcome.replayed is False
    assert Store.objects.filter(code__in=["D1", "D2"]).count() == 2


def test_a_failed_action_stores_nothing_and_the_retry_runs(cashier: User) -> None:
    def failing() -> tuple[int, dict[str, Any]]:
        StoreFactory(code="E0")
        raise InvalidInput("no")

    with pytest.raises(InvalidInput):
        run_idempotent(user=cashier, key="k-5", endpoint="test", payload={}, action=failing)
    assert not IdempotencyKey.objects.filter(key="k-5").exists()
    assert not Store.objects.filter(code="E0").exists()

    outcome = run_idempotent(
        user=cashier, key="k-5", endpoint="test", payload={}, action=_creating_store("E1")
    )
    assert outcome.replayed is False
    assert Store.objects.filter(code="E1").exists()


def test_a_key_seen_still_processing_is_in_use(cashier: User) -> None:
    IdempotencyKey.objects.create(
        user=cashier,
        key="k-6",
        endpoint="test",
        fingerprint=request_fingerprint(endpoint="test", payload={}),
        state=IdempotencyState.PROCESSING,
        expires_at=timezone.now() + dt.timedelta(hours=96),
    )
    with pytest.raises(IdempotencyKeyInUse) as info:
        run_idempotent(
            user=cashier, key="k-6", endpoint="test", payload={}, action=_creating_store("F1")
        )
    assert (status_for(info.value), info.value.code) == (409, "idempotency_key_in_use")


@pytest.mark.parametrize("key", [None, "", "   ", "x" * 256, "tab\there", "é-accent", "new\nline"])
def test_malformed_keys_are_refused(cashier: User, key: str | None) -> None:
    with pytest.raises(IdempotencyKeyMissing) as info:
        run_idempotent(
            user=cashier, key=key, endpoint="test", payload={}, action=_creating_store("G")
        )
    assert (status_for(info.value), info.value.code) == (400, "validation_error")
    assert "Idempotency-Key" in info.value.errors


def test_longest_printable_key_is_accepted(cashier: User) -> None:
    key = "~" * 255
    outcome = run_idempotent(
        user=cashier, key=key, endpoint="test", payload={}, action=_creating_store("H1")
    )
    assert outcome.status == 201


def test_an_expired_key_counts_as_unused(cashier: User) -> None:
    run_idempotent(
        user=cashier, key="k-7", endpoint="test", payload={}, action=_creating_store("I1")
    )
    IdempotencyKey.objects.filter(key="k-7").update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    outcome = run_idempotent(
        user=cashier,
        key="k-7",
        endpoint="test",
        payload={"other": True},
        action=_creating_store("I2"),
    )
    assert outcome.replayed is False
    # The expired key stays (never deleted one by one) until its partition is dropped; the new
    # one is what a replay finds.
    rows = list(IdempotencyKey.objects.filter(key="k-7").order_by("id"))
    assert len(rows) == 2
    assert rows[0].expires_at < timezone.now() < rows[1].expires_at
    replay = run_idempotent(
        user=cashier,
        key="k-7",
        endpoint="test",
        payload={"other": True},
        action=_creating_store("I3"),
    )
    assert replay.replayed is True
    assert replay.body_text == outcome.body_text


@pytest.fixture
def key_months(history_months) -> None:
    history_months("orders_idempotencykey", since=Month(2026, 1))


def _key_made_at(user: User, key: str, made: dt.datetime) -> IdempotencyKey:
    """A key as if claimed at `made` (`created_at` is stamped on insert: moved afterwards,
    which moves the row into `made`'s partition)."""
    row = IdempotencyKey.objects.create(
        user=user,
        key=key,
        endpoint="test",
        fingerprint="f" * 64,
        expires_at=made + dt.timedelta(hours=96),
    )
    IdempotencyKey.objects.filter(pk=row.pk).update(created_at=made)
    # Run the deferred foreign-key checks now (what a commit does): a table with pending
    # trigger events cannot be dropped, and the test never commits.
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    return row


def _partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'orders_idempotencykey'::regclass ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


def test_purge_drops_only_the_partitions_whose_every_key_expired(cashier: User, key_months) -> None:
    utc = dt.UTC
    _key_made_at(cashier, "jan", dt.datetime(2026, 1, 20, tzinfo=utc))
    _key_made_at(cashier, "feb", dt.datetime(2026, 2, 27, 12, tzinfo=utc))
    # 3 March: February's last key expires on 3 March 12:00, January's long ago.
    dropped = idempotency_keys_purge_expired(now=dt.datetime(2026, 3, 3, tzinfo=utc))
    assert dropped == ["orders_idempotencykey_p202601"]
    assert "orders_idempotencykey_p202601" not in _partitions()
    assert "orders_idempotencykey_p202602" in _partitions()
    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"feb"}
    # February goes once a full retention period has passed since its end.
    dropped = idempotency_keys_purge_expired(now=dt.datetime(2026, 3, 5, tzinfo=utc))
    assert dropped == ["orders_idempotencykey_p202602"]
    assert not IdempotencyKey.objects.filter(key="feb").exists()


def test_purge_keeps_a_month_holding_a_key_kept_longer(cashier: User, key_months) -> None:
    utc = dt.UTC
    row = _key_made_at(cashier, "long", dt.datetime(2026, 1, 20, tzinfo=utc))
    IdempotencyKey.objects.filter(pk=row.pk).update(expires_at=dt.datetime(2026, 6, 1, tzinfo=utc))
    assert idempotency_keys_purge_expired(now=dt.datetime(2026, 3, 1, tzinfo=utc)) == []
    assert "orders_idempotencykey_p202601" in _partitions()


def test_purge_never_deletes_rows(cashier: User) -> None:
    _key_made_at(cashier, "now", timezone.now() - dt.timedelta(days=5))
    IdempotencyKey.objects.update(expires_at=timezone.now() - dt.timedelta(hours=1))
    with CaptureQueriesContext(connection) as queries:
        idempotency_keys_purge_expired()
    assert not [q for q in queries.captured_queries if "DELETE" in q["sql"].upper()]


def test_purge_task(cashier: User, key_months) -> None:
    _key_made_at(cashier, "t-1", dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
    _key_made_at(cashier, "t-2", timezone.now())
    partitions_before = len(_partitions())
    assert purge_expired_idempotency_keys() >= 1  # January's, and any other month long past
    assert "orders_idempotencykey_p202601" not in _partitions()
    assert len(_partitions()) < partitions_before
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["t-2"]


class _LockTimeout(Exception):
    sqlstate = "55P03"


def test_a_lock_timeout_inside_the_action_is_a_retryable_429(cashier: User) -> None:
    from django.db import OperationalError

    def contended() -> tuple[int, dict[str, Any]]:
        StoreFactory(code="L0")
        try:
            raise _LockTimeout("canceling statement due to lock timeout")
        except _LockTimeout as cause:
            raise OperationalError("canceling statement due to lock timeout") from cause

    with pytest.raises(Throttled) as info:
        run_idempotent(user=cashier, key="busy", endpoint="test", payload={}, action=contended)
    assert (status_for(info.value), info.value.code, info.value.retry_after) == (
        429,
        "throttled",
        1,
    )
    assert not IdempotencyKey.objects.filter(key="busy").exists()
    assert not Store.objects.filter(code="L0").exists()


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_duplicate_waiting_too_long_for_the_first_is_409_in_use(store: Store) -> None:
    """The first request holds its key row (uncommitted) longer than the duplicate is willing to
    wait on the unique index: the duplicate answers 409 `idempotency_key_in_use`; once the first
    commits, the same duplicate replays."""
    user = CashierFactory(stores=[store])
    started, release = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def slow_action() -> tuple[int, dict[str, Any]]:
        started.set()
        release.wait(timeout=20)
        return 201, {"done": True}

    def first() -> None:
        try:
            results["first"] = run_idempotent(
                user=user, key="slow", endpoint="test", payload={}, action=slow_action
            )
        finally:
            connection.close()

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert started.wait(timeout=20)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '300ms'")
        with pytest.raises(IdempotencyKeyInUse):
            run_idempotent(
                user=user, key="slow", endpoint="test", payload={}, action=_creating_store("X")
            )
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    finally:
        release.set()
        thread.join(timeout=30)
    assert results["first"].replayed is False
    replay = run_idempotent(
        user=user, key="slow", endpoint="test", payload={}, action=_creating_store("X")
    )
    assert (replay.status, replay.body, replay.replayed) == (201, {"done": True}, True)
    assert not Store.objects.filter(code="X").exists()


def test_a_purge_already_running_elsewhere_is_left_to_finish(cashier: User, key_months) -> None:
    """Two purges at once (the hourly task and the daily one) would both list a partition; the
    second then fails on the one the first dropped. The second steps aside instead."""
    import psycopg

    from orders.services.idempotency import _PURGE_LOCK

    _key_made_at(cashier, "jan", dt.datetime(2026, 1, 20, tzinfo=dt.UTC))
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.pop("prepare_threshold", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s)", [_PURGE_LOCK])
        try:
            assert idempotency_keys_purge_expired(now=dt.datetime(2026, 3, 3, tzinfo=dt.UTC)) == []
        finally:
            other.execute("SELECT pg_advisory_unlock(%s)", [_PURGE_LOCK])
    assert "orders_idempotencykey_p202601" in _partitions()
    dropped = idempotency_keys_purge_expired(now=dt.datetime(2026, 3, 3, tzinfo=dt.UTC))
    assert dropped == ["orders_idempotencykey_p202601"]


def test_a_purge_waiting_for_the_key_table_gives_up_before_a_sale_would(
    settings, cashier: User, key_months
) -> None:
    """Sales queue behind the purge's DROP while it waits for the table's lock: it must give up
    well within the sales' own lock timeout, so none of them times out because of it."""
    import time

    import psycopg
    from django.db import OperationalError

    settings.DB_LOCK_TIMEOUT_MS = 3000
    _key_made_at(cashier, "jan", dt.datetime(2026, 1, 20, tzinfo=dt.UTC))
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    with psycopg.connect(**params) as busy:  # a sale in flight: holds the table until it ends
        busy.execute("LOCK TABLE orders_idempotencykey IN ROW EXCLUSIVE MODE")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="lock timeout"):
            idempotency_keys_purge_expired(now=dt.datetime(2026, 3, 3, tzinfo=dt.UTC))
        waited = time.monotonic() - started
        busy.rollback()
    assert waited < 1.5
    assert "orders_idempotencykey_p202601" in _partitions()


@pytest.mark.django_db(transaction=True)
def test_a_claim_outside_read_committed_is_refused(cashier: User) -> None:
    """The claim's check after its lock wait must see a key committed meanwhile: under
    REPEATABLE READ it reads the transaction's older snapshot and a duplicate would run twice."""
    from orders.services.idempotency import idempotency_key_claim

    claim = {"user_id": cashier.pk, "endpoint": "test", "fingerprint": "f", "now": timezone.now()}

    def claim_under_repeatable_read() -> None:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            idempotency_key_claim(key="rr", **claim)

    with pytest.raises(RuntimeError, match="READ COMMITTED"):
        claim_under_repeatable_read()
    assert not IdempotencyKey.objects.filter(key="rr").exists()
    with transaction.atomic():
        assert idempotency_key_claim(key="rc", **claim) is not None
