"""Where reports read: the read replica when it is configured and fresh enough, else the primary.

`REPLICA_DATABASE_URL` adds the `replica` database alias (settings). The reads that may be a few
seconds stale — the daily report's figures, the dashboard, the CSV exports, `reconcile` and the
ledger balances they show — ask `reporting_db()` for an alias (or hand `read_reporting()` a
function of it, which reads again on the primary when the replica stops answering between two
checks) and pass it explicitly (`.using(alias)`, `connections[alias]`). There is no database
router: a sale, a refund or anything that reads its own writes never names the replica, so it
never reads from it.

The replica is used only while its replay lag is within `REPLICA_MAX_LAG_SECONDS`. The lag is
`now() − pg_last_xact_replay_timestamp()` on the standby, except that a standby that has replayed
all the WAL the primary had written when the check began (`pg_current_wal_lsn()` on the primary,
asked first) is not behind at all: with an idle primary the last replayed commit grows old without
the standby falling behind. What the standby has *received* proves nothing: a standby whose WAL
receiver has stopped (network, a removed WAL segment, a changed password) replays all it received
and then stands still. A lagging or unreachable replica sends the reads to the primary
(`pos_replica_fallbacks_total{reason}`); the state is checked at most once per
`REPLICA_CHECK_INTERVAL_SECONDS` per process (one query on each server), so a report costs no
extra round trip. One thread measures at a time; the others read the primary meanwhile rather
than queue behind a slow replica.

The replica is at most the bound plus the check interval behind the primary, so a stored (final)
daily report reads it only once its day has been over for `REPORT_FINAL_AFTER` plus that much
(`orders.services.reports`), and then misses nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, OperationalError, connections

from monitoring.metrics import REPLICA_FALLBACKS, REPLICA_LAG

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT = "default"
REPLICA = "replica"

OK = "ok"
LAGGING = "lagging"
UNREACHABLE = "unreachable"
UNCONFIGURED = "unconfigured"

CHECKING = "checking"

# Asked of the primary first: the end of the WAL it has written (every commit made so far).
_PRIMARY_LSN_SQL = "SELECT pg_current_wal_lsn()::text"
# One row from the standby: in recovery, caught up (replayed at least the primary's LSN above),
# seconds since the last replayed commit. On a server that is not a standby the lag functions
# return NULL.
_STATE_SQL = """
SELECT pg_is_in_recovery(),
       COALESCE(pg_last_wal_replay_lsn() >= %s::pg_lsn, false),
       EXTRACT(EPOCH FROM (clock_timestamp() - pg_last_xact_replay_timestamp()))::float8
"""


@dataclass(frozen=True, slots=True)
class ReplicaState:
    """The outcome of one check: the alias reports read from, and why."""

    alias: str
    status: str
    lag_seconds: float | None = None


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def lag_from(*, in_recovery: bool, caught_up: bool, since_last_replay: float | None) -> float:
    """The replay lag in seconds: 0 for a server that is not a standby (nothing to replay) or one
    that has replayed all the primary had written when the check began; else the age of the last
    replayed commit (infinite when none has been replayed yet)."""
    if not in_recovery or caught_up:
        return 0.0
    if since_last_replay is None:
        return float("inf")
    return max(0.0, since_last_replay)


def measure_replica(alias: str = REPLICA) -> ReplicaState:
    """Ask the replica for its lag now (one query on the primary, one on the replica) and decide;
    records the metrics."""
    with connections[DEFAULT].cursor() as cursor:
        cursor.execute(_PRIMARY_LSN_SQL)
        (primary_lsn,) = cursor.fetchone()
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(_STATE_SQL, [primary_lsn])
            in_recovery, caught_up, since_last_replay = cursor.fetchone()
    except DatabaseError as exc:
        # Do not keep a broken session for the next check.
        connections[alias].close()
        logger.warning("read replica unreachable, reports read the primary: %s", type(exc).__name__)
        REPLICA_FALLBACKS.labels(reason="unreachable").inc()
        return ReplicaState(alias=DEFAULT, status=UNREACHABLE)
    lag = lag_from(
        in_recovery=bool(in_recovery),
        caught_up=bool(caught_up),
        since_last_replay=since_last_replay,
    )
    REPLICA_LAG.set(lag if lag != float("inf") else -1)
    if lag > settings.REPLICA_MAX_LAG_SECONDS:
        logger.warning(
            "read replica lags %.1f s (bound %s s), reports read the primary",
            lag,
            settings.REPLICA_MAX_LAG_SECONDS,
        )
        REPLICA_FALLBACKS.labels(reason="lag").inc()
        return ReplicaState(alias=DEFAULT, status=LAGGING, lag_seconds=lag)
    return ReplicaState(alias=alias, status=OK, lag_seconds=lag)


class _Cached:
    """The last state and when it was measured (monotonic), shared by the process's threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.state: ReplicaState | None = None
        self.measured_at = 0.0
        self.measuring = 0  # threads measuring now (never under the lock: a slow replica)


_cached = _Cached()


def replica_state(*, refresh: bool = False) -> ReplicaState:
    """The replica's state, measured at most once per `REPLICA_CHECK_INTERVAL_SECONDS` per
    process (`refresh` measures now). While another thread measures, the answer is the primary
    (`checking`): a replica slow to connect or to answer holds up the one thread that asked it,
    never every report of the process."""
    if not replica_configured():
        return ReplicaState(alias=DEFAULT, status=UNCONFIGURED)
    now = time.monotonic()
    with _cached.lock:
        fresh = now - _cached.measured_at < settings.REPLICA_CHECK_INTERVAL_SECONDS
        if _cached.state is not None and fresh and not refresh:
            return _cached.state
        if _cached.measuring and not refresh:
            return ReplicaState(alias=DEFAULT, status=CHECKING)
        _cached.measuring += 1
    try:
        state = measure_replica()
    finally:
        with _cached.lock:
            _cached.measuring -= 1
    with _cached.lock:
        _cached.state, _cached.measured_at = state, time.monotonic()
    return state


def reporting_db() -> str:
    """The alias report-like reads use: `replica` when configured and within the lag bound, else
    `default`."""
    return replica_state().alias


def read_reporting(read: Callable[[str], T]) -> tuple[str, T]:
    """`read(alias)` on `reporting_db()`; returns the alias it was read from and the result.

    A replica that stops answering between two checks (its connection broken: the standby down,
    restarted or cut off) is taken for unreachable at once, as the next check would find it, and
    the read is made again on the primary. A query that fails on a working connection (a
    statement timeout, a conflict with replay) is not retried: the primary would fare no better.
    """
    alias = reporting_db()
    if alias == DEFAULT:
        return alias, read(alias)
    try:
        return alias, read(alias)
    except OperationalError as exc:
        if connections[alias].is_usable():
            raise
        connections[alias].close()
        logger.warning(
            "read replica stopped answering, reports read the primary: %s", type(exc).__name__
        )
        REPLICA_FALLBACKS.labels(reason="unreachable").inc()
        with _cached.lock:
            _cached.state = ReplicaState(alias=DEFAULT, status=UNREACHABLE)
            _cached.measured_at = time.monotonic()
    return DEFAULT, read(DEFAULT)


def forget_replica_state() -> None:
    """Drop the cached state (tests, and after changing the replica's settings)."""
    with _cached.lock:
        _cached.state, _cached.measured_at = None, 0.0


__all__ = [
    "CHECKING",
    "DEFAULT",
    "REPLICA",
    "ReplicaState",
    "forget_replica_state",
    "lag_from",
    "measure_replica",
    "read_reporting",
    "replica_configured",
    "replica_state",
    "reporting_db",
]
