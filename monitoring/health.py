"""Dependency checks behind `/health/ready` and `/health/detailed`.

Every check runs in its own thread and the caller waits for all of them together, up to one
deadline (`HEALTH_CHECK_TIMEOUT`, 1.5 s by default). A dependency that accepts connections but
never answers therefore costs a probe the deadline, not a hung worker. Checks are single-flight:
while a check from an earlier probe is still stuck, the next probe waits on that same attempt
instead of starting another thread, so a hung dependency never piles up threads or connections.

Each check opens what it needs itself (a fresh database connection with a short connect timeout,
a cache round trip, a broker connection with no retries) and closes it again: probes never borrow
or disturb the connections that requests use.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import load_backend

from monitoring import db_session
from monitoring.metrics import DEPENDENCY_CHECKS

logger = logging.getLogger("monitoring.health")

OK = "ok"
DEGRADED = "degraded"
DOWN = "down"

# A check that answers but takes more than this share of the deadline is reported `degraded`.
SLOW_SHARE = 0.5
# libpq counts connect_timeout in whole seconds and treats values below 2 as 2.
_DB_CONNECT_TIMEOUT_S = 2
_BROKER_CONNECT_TIMEOUT_S = 1.0


@dataclass(frozen=True, slots=True)
class CheckResult:
    status: str
    latency_ms: float | None = None
    detail: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "latency_ms": self.latency_ms}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.info)
        return body


# --- Single-flight runner -----------------------------------------------------------------------


class _SingleFlight:
    """At most one running attempt per check name; later callers join the running one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, Future[CheckResult]] = {}

    def submit(self, name: str, fn: Callable[[], CheckResult]) -> Future[CheckResult]:
        with self._lock:
            running = self._running.get(name)
            if running is not None and not running.done():
                return running
            future: Future[CheckResult] = Future()
            self._running[name] = future
        thread = threading.Thread(
            target=self._run, args=(future, fn), name=f"health-check-{name}", daemon=True
        )
        thread.start()
        return future

    @staticmethod
    def _run(future: Future[CheckResult], fn: Callable[[], CheckResult]) -> None:
        result: CheckResult | None = None
        error: BaseException | None = None
        try:
            result = fn()
        except BaseException as exc:  # noqa: BLE001 - reported as `down` by the caller
            error = exc
        # The ORM may have opened this thread's own connection (the migration recorder queries
        # through the alias): close it before reporting, so no session outlives the check.
        connections.close_all()
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]


_flights = _SingleFlight()


def _timed(fn: Callable[[], dict[str, Any] | None], timeout: float) -> CheckResult:
    """Run `fn`, measure it, and grade it: an exception is `down`; slow, or working in a mode
    unfit for production (`info["degraded"]` says why), is `degraded`."""
    started = time.perf_counter()
    info = fn() or {}
    latency_ms = round((time.perf_counter() - started) * 1000, 1)
    slow = latency_ms > timeout * 1000 * SLOW_SHARE
    status = DEGRADED if slow or info.get("degraded") else OK
    return CheckResult(status=status, latency_ms=latency_ms, info=info)


def run_checks(names: Iterable[str], *, timeout: float | None = None) -> dict[str, CheckResult]:
    """Run the named checks concurrently and wait for all of them, at most `timeout` seconds in
    total. A check still running at the deadline is `down` ("timed out")."""
    deadline_s = float(timeout if timeout is not None else settings.HEALTH_CHECK_TIMEOUT)
    names = list(names)
    futures = {name: _flights.submit(name, _bind(name, deadline_s)) for name in names}
    deadline = time.monotonic() + deadline_s
    results: dict[str, CheckResult] = {}
    for name, future in futures.items():
        remaining = max(0.0, deadline - time.monotonic())
        try:
            results[name] = future.result(timeout=remaining)
        except FutureTimeout:
            results[name] = CheckResult(
                status=DOWN, latency_ms=round(deadline_s * 1000, 1), detail="timed out"
            )
        except Exception as exc:  # noqa: BLE001 - any failure of a dependency is `down`
            logger.warning("health check %s failed: %s", name, type(exc).__name__)
            results[name] = CheckResult(status=DOWN, detail=type(exc).__name__)
        DEPENDENCY_CHECKS.labels(dependency=name, status=results[name].status).inc()
    return results


def _bind(name: str, timeout: float) -> Callable[[], CheckResult]:
    check = CHECKS[name]
    return lambda: _timed(check, timeout)


# --- Database -----------------------------------------------------------------------------------

_migrations_applied: set[str] = set()


def reset_migration_cache() -> None:
    """Forget that migrations were once all applied (tests; never needed in production)."""
    _migrations_applied.clear()


def _fresh_connection(alias: str) -> BaseDatabaseWrapper:
    """A new connection wrapper for `alias`, with a connect timeout shorter than the deadline,
    independent of the thread-local connections requests use."""
    settings_dict = copy.deepcopy(connections.settings[alias])
    options = settings_dict.setdefault("OPTIONS", {})
    options["connect_timeout"] = min(
        int(options.get("connect_timeout", _DB_CONNECT_TIMEOUT_S)), _DB_CONNECT_TIMEOUT_S
    )
    backend = load_backend(settings_dict["ENGINE"])
    return backend.DatabaseWrapper(settings_dict, alias)  # type: ignore[no-any-return]


def _close_quietly(conn: BaseDatabaseWrapper) -> None:
    # Closing a broken connection may fail; there is nothing left to do then.
    with contextlib.suppress(Exception):
        conn.close()


def unapplied_migrations(conn: BaseDatabaseWrapper) -> list[str]:
    """Migrations on disk not yet recorded in the database. Once none are left, the answer is
    remembered for the life of the process: migrations are never un-applied under a running
    release, and the check then costs nothing."""
    if conn.alias in _migrations_applied:
        return []
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(conn)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    pending = [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
    if not pending:
        _migrations_applied.add(conn.alias)
    return pending


def check_database(alias: str = "default") -> dict[str, Any]:
    conn = _fresh_connection(alias)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        pending = unapplied_migrations(conn)
        info: dict[str, Any] = {
            "vendor": conn.vendor,
            "server_version": conn.pg_version,  # type: ignore[attr-defined]
            "migrations": DOWN if pending else OK,
            "unapplied_migrations": len(pending),
            "timeouts_ms": db_session.session_timeouts(conn),
        }
        missing = [name for name, ms in info["timeouts_ms"].items() if not ms]
        if missing and settings.DB_POOLER:
            # Behind PgBouncer the timeouts come from the role (`manage.py db_role_settings`):
            # without them one runaway query holds a pooled server connection indefinitely.
            info["degraded"] = f"no {', '.join(missing)} behind {settings.DB_POOLER}"
        return info
    finally:
        _close_quietly(conn)


# --- Cache --------------------------------------------------------------------------------------


class CacheRoundTripFailed(Exception):
    """The value written was not read back (django-redis hides errors: IGNORE_EXCEPTIONS)."""


def check_cache(alias: str = "default") -> dict[str, Any]:
    cache = caches[alias]
    key = f"health:{uuid.uuid4().hex}"
    token = uuid.uuid4().hex
    cache.set(key, token, timeout=30)
    if cache.get(key) != token:
        raise CacheRoundTripFailed
    cache.delete(key)
    return {"backend": type(cache).__module__.split(".")[0]}


# --- Broker -------------------------------------------------------------------------------------


def check_broker() -> dict[str, Any]:
    from posproject.celery import app

    if app.conf.task_always_eager or not app.conf.broker_url:
        # No external broker configured: tasks run in-process, so there is nothing to be down.
        return {"mode": "eager"}
    with app.connection_for_write(connect_timeout=_BROKER_CONNECT_TIMEOUT_S) as conn:
        conn.ensure_connection(max_retries=0)  # one attempt, bounded by the connect timeout
        info: dict[str, Any] = {"mode": "broker", "transport": str(conn.transport_cls)}
    if info["transport"] == "filesystem":
        # The embedded file queue works, but only for a worker on this machine's disk.
        info["degraded"] = "file broker (CELERY_BROKER_URL unset): tasks queue on local disk only"
    return info


# --- Read replica -------------------------------------------------------------------------------


def check_replica() -> dict[str, Any]:
    """The read replica's state, measured now (`posproject.replica`). Lagging or unreachable is
    `degraded`, never `down`: reports then read the primary and selling is not affected."""
    from posproject import replica

    state = replica.replica_state(refresh=True)
    info: dict[str, Any] = {"state": state.status, "reads_from": state.alias}
    if state.lag_seconds is not None and state.lag_seconds != float("inf"):
        info["lag_seconds"] = round(state.lag_seconds, 3)
    if state.status != replica.OK:
        info["degraded"] = f"read replica {state.status}: reports read the primary"
    return info


CHECKS: dict[str, Callable[[], dict[str, Any] | None]] = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "replica": check_replica,
}
