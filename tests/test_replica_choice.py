"""`posproject.replica.reporting_db()`: the decision, without a standby (tests/replica has the
real one). The replica's answers are stood in for at the cursor."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY

from posproject import replica
from tests.django_process import run_django


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("pos_replica_fallbacks_total", {"reason": reason}) or 0.0


class _Cursor:
    def __init__(self, row: tuple[Any, ...] | Exception) -> None:
        self.row = row
        self.executed: list[str] = []
        self.params: list[list[Any] | None] = []

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def execute(self, sql: str, params: list[Any] | None = None) -> None:
        self.executed.append(sql)
        self.params.append(params)
        if isinstance(self.row, Exception):
            raise self.row

    def fetchone(self) -> tuple[Any, ...]:
        assert not isinstance(self.row, Exception)
        return self.row


class _Connection:
    def __init__(self, row: tuple[Any, ...] | Exception) -> None:
        self.cursor_ = _Cursor(row)
        self.closed = 0

    def cursor(self) -> _Cursor:
        return self.cursor_

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def with_replica(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A `replica` alias in the settings (never connected to: the tests answer for it)."""
    monkeypatch.setitem(settings.DATABASES, "replica", copy.deepcopy(settings.DATABASES["default"]))
    settings.REPLICA_MAX_LAG_SECONDS = 30
    settings.REPLICA_CHECK_INTERVAL_SECONDS = 5
    replica.forget_replica_state()
    yield settings
    replica.forget_replica_state()


PRIMARY_LSN = "0/3000148"


def answering(monkeypatch: pytest.MonkeyPatch, row: tuple[Any, ...] | Exception) -> _Connection:
    """The replica answers `row`; the primary, that it has written WAL up to `PRIMARY_LSN`."""
    connection = _Connection(row)
    primary = _Connection((PRIMARY_LSN,))
    monkeypatch.setattr(replica, "connections", {"replica": connection, "default": primary})
    return connection


def test_without_a_replica_everything_reads_the_primary(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(settings.DATABASES, "replica", raising=False)
    replica.forget_replica_state()
    assert replica.reporting_db() == "default"
    assert replica.replica_state().status == replica.UNCONFIGURED


@pytest.mark.parametrize(
    ("in_recovery", "caught_up", "since_last_replay", "lag"),
    [
        (True, False, 12.5, 12.5),  # replaying, last commit 12.5 s old
        (True, True, 3600.0, 0.0),  # idle primary: all it had written is replayed
        (True, False, None, float("inf")),  # nothing replayed since the standby started
        (False, False, None, 0.0),  # not a standby: nothing to replay
        (True, False, -0.2, 0.0),  # clocks a little apart
    ],
)
def test_lag_from_the_standby_functions(
    in_recovery: bool, caught_up: bool, since_last_replay: float | None, lag: float
) -> None:
    assert (
        replica.lag_from(
            in_recovery=in_recovery, caught_up=caught_up, since_last_replay=since_last_replay
        )
        == lag
    )


def test_a_replica_within_the_bound_is_used(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(monkeypatch, (True, False, 29.9))
    state = replica.replica_state()
    assert (state.alias, state.status, state.lag_seconds) == ("replica", replica.OK, 29.9)
    assert REGISTRY.get_sample_value("pos_replica_lag_seconds") == 29.9


def test_a_replica_past_the_bound_falls_back_and_counts(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    answering(monkeypatch, (True, False, 30.5))
    before = fallbacks("lag")
    assert replica.reporting_db() == "default"
    assert replica.replica_state().status == replica.LAGGING
    assert fallbacks("lag") == before + 1  # the cached state is not counted again


def test_an_idle_caught_up_replica_is_used_however_old_its_last_commit(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = answering(monkeypatch, (True, True, 86400.0))
    assert replica.reporting_db() == "replica"
    # "Caught up" is measured against the primary's WAL, asked first, not against what the
    # standby happens to have received (a stopped WAL receiver has received nothing new).
    assert connection.cursor_.params == [[PRIMARY_LSN]]
    assert "pg_last_wal_receive_lsn" not in connection.cursor_.executed[0]


def test_a_slow_check_in_one_thread_does_not_hold_up_the_others(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow_measure(alias: str = "replica") -> replica.ReplicaState:
        entered.set()
        assert release.wait(10)
        return replica.ReplicaState(alias="replica", status=replica.OK, lag_seconds=0.0)

    monkeypatch.setattr(replica, "measure_replica", slow_measure)
    results: list[str] = []
    measuring = threading.Thread(target=lambda: results.append(replica.reporting_db()))
    measuring.start()
    try:
        assert entered.wait(10)
        # Another thread asks meanwhile: the primary, at once, not after the slow check.
        state = replica.replica_state()
        assert (state.alias, state.status) == ("default", replica.CHECKING)
    finally:
        release.set()
        measuring.join(10)
    assert results == ["replica"]
    assert replica.reporting_db() == "replica"  # the finished check is cached


def test_an_unreachable_replica_falls_back_and_drops_its_session(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = answering(monkeypatch, OperationalError("connection refused"))
    before = fallbacks("unreachable")
    assert replica.reporting_db() == "default"
    assert replica.replica_state().status == replica.UNREACHABLE
    assert fallbacks("unreachable") == before + 1
    assert connection.closed == 1


def test_the_state_is_measured_once_per_interval(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = answering(monkeypatch, (True, False, 1.0))
    clock = [1000.0]
    monkeypatch.setattr(replica.time, "monotonic", lambda: clock[0])

    for _ in range(3):
        assert replica.reporting_db() == "replica"
    assert len(connection.cursor_.executed) == 1

    clock[0] += 4.9
    replica.reporting_db()
    assert len(connection.cursor_.executed) == 1
    clock[0] += 0.2
    replica.reporting_db()
    assert len(connection.cursor_.executed) == 2
    replica.replica_state(refresh=True)
    assert len(connection.cursor_.executed) == 3


def test_a_recovered_replica_is_used_again_at_the_next_check(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(replica.time, "monotonic", lambda: clock[0])
    answering(monkeypatch, (True, False, 45.0))
    assert replica.reporting_db() == "default"
    answering(monkeypatch, (True, False, 2.0))
    assert replica.reporting_db() == "default"  # cached until the interval has passed
    clock[0] += 5.0
    assert replica.reporting_db() == "replica"


def test_the_replica_url_keeps_its_own_query_options() -> None:
    """`REPLICA_DATABASE_URL` (settings, read once: a fresh process): the default's connection
    options, with the replica URL's own (TLS to a standby elsewhere) on top."""
    import json

    program = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "r = s.DATABASES['replica']; "
        "print(json.dumps({k: r[k] for k in ('HOST', 'PORT', 'USER', 'PASSWORD', 'OPTIONS', "
        "'TEST')}))"
    )
    result = run_django(
        program,
        env={
            "REPLICA_DATABASE_URL": "postgres://ro:s%40cret@replica-host:6432/pos"
            "?sslmode=verify-full&sslrootcert=/etc/pos/ca.pem",
        },
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert (loaded["HOST"], loaded["PORT"], loaded["USER"], loaded["PASSWORD"]) == (
        "replica-host",
        6432,
        "ro",
        "s@cret",
    )
    assert loaded["OPTIONS"]["sslmode"] == "verify-full"
    assert loaded["OPTIONS"]["sslrootcert"] == "/etc/pos/ca.pem"
    assert loaded["OPTIONS"]["connect_timeout"] == 3  # the default's, copied
    assert loaded["OPTIONS"]["keepalives"] == 1
    assert loaded["TEST"]["MIRROR"] == "default"


class _Replica:
    """The replica's connection as `read_reporting` sees it after a failed read."""

    def __init__(self, *, usable: bool) -> None:
        self.usable = usable
        self.closed = 0

    def is_usable(self) -> bool:
        return self.usable

    def close(self) -> None:
        self.closed += 1


def test_a_replica_that_stops_answering_between_checks_is_read_around(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Within the check interval the standby goes down: the report is read again on the
    primary (not a 500), and the process reads the primary until the next check."""
    answering(monkeypatch, (True, False, 1.0))
    assert replica.reporting_db() == "replica"
    broken = _Replica(usable=False)
    monkeypatch.setattr(replica, "connections", {"replica": broken})
    before = fallbacks("unreachable")

    def read(alias: str) -> str:
        if alias == "replica":
            raise OperationalError("server closed the connection unexpectedly")
        return f"figures from {alias}"

    assert replica.read_reporting(read) == ("default", "figures from default")
    assert broken.closed == 1
    assert fallbacks("unreachable") == before + 1
    assert replica.replica_state().status == replica.UNREACHABLE  # until the next check
    assert replica.read_reporting(read) == ("default", "figures from default")


def test_a_query_that_fails_on_a_working_replica_is_not_retried(
    with_replica: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A statement timeout or a conflict with replay: the primary would fare no better."""
    answering(monkeypatch, (True, False, 1.0))
    assert replica.reporting_db() == "replica"
    monkeypatch.setattr(replica, "connections", {"replica": _Replica(usable=True)})
    reads: list[str] = []

    def read(alias: str) -> str:
        reads.append(alias)
        raise OperationalError("canceling statement due to statement timeout")

    with pytest.raises(OperationalError):
        replica.read_reporting(read)
    assert reads == ["replica"]
