"""Liveness, readiness and the detailed health endpoint, including dependencies that are down
(connection refused) or hung (accept, never answer)."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder

from monitoring import health
from tests.django_process import run_django
from tests.monitoring.conftest import redis_caches
from tests.monitoring.helpers import broker_at

# --- Liveness -----------------------------------------------------------------------------------


def test_live_is_ok_without_touching_anything(client, db, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_live_answers_even_without_database_access(client) -> None:
    # No `db` fixture: pytest-django blocks every query, so any I/O would fail the request.
    assert client.get("/health/live").status_code == 200


def test_live_refuses_writes_as_problem_json(client) -> None:
    response = client.post("/health/live")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "method_not_allowed"


# --- Readiness ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_ready_lists_every_check(client) -> None:
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "cache": "ok", "broker": "ok"}
    for name in ("database", "cache", "broker"):
        assert body[name] == "ok"
    assert response["Cache-Control"] == "no-store"


def test_ready_is_503_when_the_database_cannot_be_used(client) -> None:
    # No `db` fixture: pytest-django refuses the connection, like a database that is down.
    started = time.monotonic()
    response = client.get("/health/ready")
    assert time.monotonic() - started < 2.5
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == "down"
    # The others are still reported on their own.
    assert body["checks"]["cache"] == "ok"


def _warm_up(client) -> None:
    """One probe with everything up, as a running pod has had: the timing tests below measure
    the steady state, not the first import of the migration graph."""
    assert client.get("/health/ready").status_code == 200


@pytest.mark.django_db
def test_ready_with_redis_down_is_degraded_but_ready(client, settings, dead_port) -> None:
    _warm_up(client)
    settings.CACHES = redis_caches(dead_port)
    started = time.monotonic()
    response = client.get("/health/ready")
    assert time.monotonic() - started < 2.5
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["cache"] == "down"
    assert body["database"] == "ok"


@pytest.mark.django_db
def test_ready_with_redis_hung_answers_within_two_seconds(client, settings, hung_port) -> None:
    _warm_up(client)
    settings.CACHES = redis_caches(hung_port)
    started = time.monotonic()
    response = client.get("/health/ready")
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    assert response.status_code == 200
    assert response.json()["cache"] == "down"


@pytest.mark.django_db
def test_ready_with_broker_down_is_degraded_but_ready(client, dead_port) -> None:
    with broker_at(f"amqp://guest:guest@127.0.0.1:{dead_port}//"):
        response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["broker"] == "down"
    assert response.json()["status"] == "degraded"


@pytest.mark.django_db
def test_ready_with_broker_hung_answers_within_two_seconds(client, hung_port) -> None:
    _warm_up(client)
    with broker_at(f"amqp://guest:guest@127.0.0.1:{hung_port}//"):
        started = time.monotonic()
        response = client.get("/health/ready")
        elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    assert response.status_code == 200
    assert response.json()["broker"] == "down"


@pytest.mark.broker
@pytest.mark.django_db
def test_ready_with_a_real_broker_is_ok(client) -> None:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("amqp"):
        pytest.skip("needs CELERY_BROKER_URL=amqp://… (CI sets it)")
    with broker_at(url):
        response = client.get("/health/ready")
    assert response.json()["broker"] == "ok"


def test_a_hung_check_is_single_flight() -> None:
    """Repeated probes against a hung dependency reuse the one stuck attempt: no thread pile-up."""
    release = threading.Event()
    calls = []

    def stuck() -> dict[str, str]:
        calls.append(1)
        release.wait(10)
        return {}

    health.CHECKS["stuck-test"] = stuck
    try:
        for _ in range(5):
            result = health.run_checks(["stuck-test"], timeout=0.05)["stuck-test"]
            assert result.status == health.DOWN
            assert result.detail == "timed out"
        assert len(calls) == 1
        release.set()
        time.sleep(0.05)
        assert health.run_checks(["stuck-test"], timeout=1)["stuck-test"].status == health.OK
        assert len(calls) == 2
    finally:
        release.set()
        del health.CHECKS["stuck-test"]


def test_a_slow_check_is_degraded_and_a_failing_one_down() -> None:
    def slow() -> None:
        time.sleep(0.3)

    def broken() -> None:
        raise ConnectionError("nope")

    health.CHECKS.update({"slow-test": slow, "broken-test": broken})
    try:
        results = health.run_checks(["slow-test", "broken-test"], timeout=0.5)
    finally:
        del health.CHECKS["slow-test"], health.CHECKS["broken-test"]
    assert results["slow-test"].status == health.DEGRADED
    assert results["broken-test"].status == health.DOWN
    assert results["broken-test"].detail == "ConnectionError"


@pytest.mark.django_db(transaction=True)
def test_ready_is_503_while_a_migration_is_unapplied(client) -> None:
    recorder = MigrationRecorder(connection)
    app_label, name = max(
        (key for key in recorder.applied_migrations() if key[0] == "accounts"),
        key=lambda key: key[1],
    )
    health.reset_migration_cache()
    recorder.record_unapplied(app_label, name)
    try:
        response = client.get("/health/ready")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["database"] == "ok"
        assert body["checks"]["migrations"] == "down"
    finally:
        recorder.record_applied(app_label, name)
        health.reset_migration_cache()
    assert client.get("/health/ready").status_code == 200


HUNG_DATABASE_PROBE = """
import json, os, sys, time
import django
django.setup()
from django.db import connection
from django.test import RequestFactory
from monitoring.views import ready
started = time.monotonic()
response = ready(RequestFactory().get("/health/ready"))
ready_s = time.monotonic() - started
started = time.monotonic()
try:
    connection.ensure_connection()
    error = None
except Exception as exc:
    error = type(exc).__name__
query_s = time.monotonic() - started
print(json.dumps({"status": response.status_code, "body": json.loads(response.content),
                  "ready_s": ready_s, "query_s": query_s, "query_error": error}))
"""


def test_hung_database_makes_ready_503_within_two_seconds(hung_port) -> None:
    """A PostgreSQL that accepts connections and never answers: readiness says 503 in ~1.5 s,
    and an ordinary query fails after the connect timeout instead of hanging the worker."""
    env = {
        "DJANGO_SECRET_KEY": "x" * 50,
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"postgres://pos@127.0.0.1:{hung_port}/pos",
        "DB_CONNECT_TIMEOUT": "2",
        "REDIS_URL": "",
        "DJANGO_ALLOW_LOCAL_SERVICES": "true",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "LOG_LEVEL": "CRITICAL",
    }
    completed = run_django(HUNG_DATABASE_PROBE, env=env, unset=["PROMETHEUS_MULTIPROC_DIR"])
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["status"] == 503
    assert result["body"]["database"] == "down"
    assert result["ready_s"] < 2.0, result
    assert result["query_error"] == "OperationalError"
    assert result["query_s"] < 4.0, result


# --- Detailed -----------------------------------------------------------------------------------


def test_detailed_needs_a_token(api_client, db) -> None:
    response = api_client.get("/health/detailed")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"


def test_detailed_is_for_admins_only(client_for, cashier, manager) -> None:
    for user in (cashier, manager):
        response = client_for(user).get("/health/detailed")
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


def test_detailed_reports_versions_and_latencies(admin_client, settings) -> None:
    settings.APP_RELEASE = "2026.11.22-abc123"
    response = admin_client.get("/health/detailed")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["ready"] is True
    versions = body["versions"]
    assert versions["python"].startswith("3.11")
    assert versions["django"].startswith("5.2")
    assert versions["app_release"] == "2026.11.22-abc123"
    assert versions["migrations"]["accounts"].startswith("0")
    assert set(versions["migrations"]) >= {"accounts", "catalog", "orders", "ledger", "audit"}
    for name in ("database", "cache", "broker"):
        dependency = body["dependencies"][name]
        assert dependency["status"] == "ok"
        assert isinstance(dependency["latency_ms"], float)
    assert body["dependencies"]["database"]["vendor"] == "postgresql"
    assert body["dependencies"]["database"]["unapplied_migrations"] == 0
    # Never a connection string (passwords live there).
    assert "://" not in json.dumps(body)


@pytest.mark.postgres
@pytest.mark.django_db
def test_checks_leave_no_database_session_behind() -> None:
    """Each check opens its own connections and closes all of them, including the one the
    migration recorder opens through the ORM in the check's thread."""
    import psycopg

    settings_dict = connection.settings_dict

    def sessions() -> int:
        with psycopg.connect(
            host=settings_dict["HOST"] or "127.0.0.1",
            port=settings_dict["PORT"] or 5432,
            user=settings_dict["USER"],
            password=settings_dict["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                [settings_dict["NAME"]],
            ).fetchone()
            return int(row[0]) if row else 0

    before = sessions()
    health.reset_migration_cache()  # the first check of a process reads django_migrations
    for _ in range(3):
        assert health.run_checks(["database"], timeout=10)["database"].status != health.DOWN
    assert sessions() == before
