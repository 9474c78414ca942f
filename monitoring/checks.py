"""Start-up checks for operations settings: system checks (`manage.py check`, run by `migrate` and
`runserver`; `--deploy` ones by CI) and the refusal a web server or worker makes at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

from monitoring.exposition import parse_networks


@register(Tags.security)
def metrics_networks_check(app_configs: Any, **kwargs: Any) -> list[Error]:
    try:
        parse_networks(list(settings.METRICS_ALLOWED_CIDRS))
    except ValueError as exc:
        return [
            Error(
                f"METRICS_ALLOWED_CIDRS has a malformed network: {exc}",
                hint="Comma-separated CIDRs, e.g. 10.0.0.0/8,192.168.1.0/24.",
                id="monitoring.E001",
            )
        ]
    return []


def per_process_services() -> list[str]:
    """What would make a production deployment silently run per process or per machine: the
    in-process cache (each gunicorn worker its own rate limits, login lock-outs and cache) and the
    embedded file broker (tasks queued on one machine's disk). Empty when DEBUG is on or
    `DJANGO_ALLOW_LOCAL_SERVICES` allows them (`make run`, the test harnesses)."""
    if settings.DEBUG or settings.ALLOW_LOCAL_SERVICES:
        return []
    problems = []
    if "locmem" in settings.CACHES["default"]["BACKEND"].lower():
        problems.append("REDIS_URL is unset: the cache and rate limits would be per process")
    if (
        settings.CELERY_BROKER_URL.startswith("filesystem:")
        and not settings.CELERY_TASK_ALWAYS_EAGER
    ):
        problems.append("CELERY_BROKER_URL is unset: tasks would queue on this machine's disk")
    return problems


def require_shared_services() -> None:
    """Called when a web server (posproject/wsgi.py) or a Celery worker starts: refuse to start
    with DEBUG off on per-process services, unless explicitly allowed."""
    problems = per_process_services()
    if problems:
        raise ImproperlyConfigured(
            "; ".join(problems) + ". Set them, or DJANGO_ALLOW_LOCAL_SERVICES=true for a "
            "single-process local run."
        )
