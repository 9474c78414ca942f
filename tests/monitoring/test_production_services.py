"""Production never runs silently per process: with DEBUG off, a web server or a Celery worker
refuses to start on the in-process cache or the embedded file broker unless explicitly allowed,
and readiness grades the file broker `degraded`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from monitoring.checks import per_process_services, require_shared_services
from posproject.celery import app as celery_app
from tests.monitoring.helpers import broker_at

ROOT = Path(__file__).resolve().parents[2]


def _start_wsgi(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the WSGI application (what gunicorn does at start-up) in a fresh process."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "REDIS_", "CELERY_"))
    }
    base.update(
        {
            "DJANGO_SETTINGS_MODULE": "posproject.settings",
            "DJANGO_SECRET_KEY": "s" * 60,
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "CRITICAL",
        }
    )
    base.update(env)
    return subprocess.run(
        [sys.executable, "-c", "import posproject.wsgi"],
        cwd=ROOT,
        env=base,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.slow
def test_web_server_refuses_the_in_process_cache_and_file_broker_with_debug_off() -> None:
    refused = _start_wsgi()
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "REDIS_URL is unset" in refused.stderr
    assert "CELERY_BROKER_URL is unset" in refused.stderr

    only_cache = _start_wsgi(CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:1//")
    assert only_cache.returncode != 0
    assert "REDIS_URL is unset" in only_cache.stderr
    assert "CELERY_BROKER_URL is unset" not in only_cache.stderr


@pytest.mark.slow
def test_web_server_starts_with_shared_services_or_when_allowed() -> None:
    # Neither URL is connected to at start-up: only their presence matters.
    shared = _start_wsgi(
        REDIS_URL="redis://127.0.0.1:1/0", CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:1//"
    )
    assert shared.returncode == 0, shared.stderr[-2000:]
    allowed = _start_wsgi(DJANGO_ALLOW_LOCAL_SERVICES="true")
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    debug = _start_wsgi(DJANGO_DEBUG="true")
    assert debug.returncode == 0, debug.stderr[-2000:]


def test_worker_start_refuses_the_same(settings) -> None:
    settings.DEBUG = False
    settings.ALLOW_LOCAL_SERVICES = False
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }
    settings.CELERY_BROKER_URL = "filesystem://localhost/"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert len(per_process_services()) == 2
    with pytest.raises(ImproperlyConfigured, match="DJANGO_ALLOW_LOCAL_SERVICES"):
        require_shared_services()
    # The handler connected to Celery's worker_init runs the same refusal.
    from celery.signals import worker_init

    receivers = [r() for _key, r in worker_init.receivers]
    handler = next(
        r for r in receivers if getattr(r, "__name__", "") == "_refuse_per_process_services"
    )
    with pytest.raises(ImproperlyConfigured):
        handler()
    settings.ALLOW_LOCAL_SERVICES = True
    assert per_process_services() == []
    handler()


@pytest.mark.django_db
def test_readiness_grades_the_file_broker_degraded(client, tmp_path: Path) -> None:
    folders = {name: tmp_path / name for name in ("in", "out", "processed", "control")}
    for folder in folders.values():
        folder.mkdir()
    with broker_at("filesystem://localhost/"):
        celery_app.conf.broker_transport_options = {
            "data_folder_in": str(folders["in"]),
            "data_folder_out": str(folders["in"]),
            "processed_folder": str(folders["processed"]),
            "control_folder": str(folders["control"]),
        }
        response = client.get("/health/ready")
    assert response.status_code == 200  # still ready: the queue works, on this machine
    body = response.json()
    assert body["broker"] == "degraded"
    assert body["status"] == "degraded"
