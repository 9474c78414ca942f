"""Operational endpoints: liveness, readiness, the admin-only detailed health, and `/metrics`.

`live` and `ready` are plain Django views with no authentication: orchestrators call them, and
they must not depend on the token machinery (or the database behind it) to answer.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from functools import wraps
from typing import Any

import django
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apitools.errors import problem_response
from apitools.permissions import ADMIN_ONLY
from monitoring import health
from monitoring.exposition import address_allowed, metrics_registry

_STARTED_AT = time.time()
READY_CHECKS = ("database", "cache", "broker")


def ready_checks() -> tuple[str, ...]:
    """The readiness checks: the read replica's too when `REPLICA_DATABASE_URL` configures one."""
    return (*READY_CHECKS, "replica") if "replica" in settings.DATABASES else READY_CHECKS


View = Callable[[HttpRequest], HttpResponse]


def _safe_methods_only(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        if request.method not in ("GET", "HEAD"):
            response = problem_response(
                405, "method_not_allowed", f'Method "{request.method}" not allowed.'
            )
            response["Allow"] = "GET, HEAD"
            return response
        return view(request)

    return wrapper


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@_safe_methods_only
def live(request: HttpRequest) -> HttpResponse:
    """The process serves requests. Touches nothing else: a failing database must not make the
    orchestrator restart healthy web processes."""
    return _no_store(JsonResponse({"status": "ok"}))


def readiness(results: dict[str, health.CheckResult]) -> tuple[bool, dict[str, Any]]:
    """Ready when the database answers and every migration is applied. A down cache or broker
    degrades but does not unready: selling goes on without them."""
    database = results["database"]
    migrations = database.info.get("migrations", health.DOWN)
    checks = {
        "database": database.status,
        "migrations": migrations if database.status != health.DOWN else health.DOWN,
        "cache": results["cache"].status,
        "broker": results["broker"].status,
    }
    # A lagging or unreachable replica degrades, never unreadies: reports read the primary.
    if "replica" in results:
        replica = results["replica"]
        checks["replica"] = health.DEGRADED if replica.status == health.DOWN else replica.status
    ready = checks["database"] != health.DOWN and checks["migrations"] == health.OK
    if not ready:
        overall = health.DOWN
    elif any(status != health.OK for status in checks.values()):
        overall = health.DEGRADED
    else:
        overall = health.OK
    # `checks` is the canonical place; the three dependencies are repeated at the top level for
    # probes that only look one level deep.
    body: dict[str, Any] = {"status": overall, "checks": checks}
    body.update({name: checks[name] for name in READY_CHECKS})
    if "timeouts_ms" in database.info:
        # The session's effective timeouts: behind PgBouncer they are the role's settings, and a
        # missing one degrades the database check (monitoring/db_session.py).
        body["database_timeouts_ms"] = database.info["timeouts_ms"]
    if "replica" in results:
        body["replica"] = {"status": checks["replica"], **results["replica"].info}
    return ready, body


@_safe_methods_only
def ready(request: HttpRequest) -> HttpResponse:
    ready_, body = readiness(health.run_checks(ready_checks()))
    return _no_store(JsonResponse(body, status=200 if ready_ else 503))


@_safe_methods_only
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, to loopback and `METRICS_ALLOWED_CIDRS` only; everyone else gets
    the same 404 as for a path that does not exist."""
    if not address_allowed(request.META.get("REMOTE_ADDR"), settings.METRICS_ALLOWED_CIDRS):
        return problem_response(404, "not_found", "Not found.")
    payload = generate_latest(metrics_registry())
    return _no_store(HttpResponse(payload, content_type=CONTENT_TYPE_LATEST))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """`CSRF_FAILURE_VIEW`: `403 csrf_failed` as problem+json, like every other error (a POST
    without a token to `/health/*` or `/metrics`, say). The API is token-authenticated and
    CSRF-exempt; only the admin, where a person reads the page, keeps Django's explanation."""
    match = request.resolver_match
    if match is not None and "admin" in match.app_names:
        return django_csrf_failure(request, reason)
    return problem_response(403, "csrf_failed", f"CSRF verification failed: {reason}")


# --- Detailed (admins) --------------------------------------------------------------------------

_migration_heads: dict[str, str] | None = None


def migration_heads() -> dict[str, str]:
    """The latest migration on disk per app (read once: the files do not change under a running
    process)."""
    global _migration_heads
    if _migration_heads is None:
        from django.db.migrations.loader import MigrationLoader

        loader = MigrationLoader(None, ignore_no_migrations=True)
        heads: dict[str, str] = {}
        for app_label, name in sorted(loader.graph.leaf_nodes()):
            heads[app_label] = name
        _migration_heads = heads
    return _migration_heads


def _version(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


class DetailedHealthView(APIView):
    """Versions, migrations and each dependency with its latency. Admins only: it names software
    versions, which an attacker would like to know."""

    allowed_roles = ADMIN_ONLY

    @extend_schema(
        tags=["operations"],
        summary="Detailed health (admins)",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT), 503: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        results = health.run_checks(ready_checks())
        ready_, summary = readiness(results)
        dependencies = {name: result.as_dict() for name, result in results.items()}
        body = {
            "status": summary["status"],
            "ready": ready_,
            "release": settings.APP_RELEASE,
            "versions": {
                "python": platform.python_version(),
                "django": django.get_version(),
                "djangorestframework": _version("djangorestframework"),
                "celery": _version("celery"),
                "app_release": settings.APP_RELEASE,
                "migrations": migration_heads(),
            },
            "dependencies": dependencies,
            "process": {
                "pid": os.getpid(),
                "uptime_s": round(time.time() - _STARTED_AT, 1),
                "metrics_multiprocess": bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR")),
            },
        }
        response = Response(body, status=200 if ready_ else 503)
        response["Cache-Control"] = "no-store"
        return response
