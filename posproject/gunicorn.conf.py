"""Gunicorn configuration: `gunicorn -c posproject/gunicorn.conf.py`.

Everything comes from the environment, with defaults fit for a container:

| variable | default | |
|---|---|---|
| `PORT` / `GUNICORN_BIND` | `8000` / `0.0.0.0:$PORT` | where to listen |
| `WEB_CONCURRENCY` | `2 × cores + 1`, at most 12 | worker processes |
| `GUNICORN_THREADS` | `1` | threads per worker (`>1` switches to the gthread worker) |
| `GUNICORN_TIMEOUT` | `30` | a worker silent this long is killed and replaced |
| `GUNICORN_GRACEFUL_TIMEOUT` | `30` | on SIGTERM, in-flight requests get this long to finish |
| `GUNICORN_KEEPALIVE` | `5` | seconds to hold an idle keep-alive connection |
| `GUNICORN_MAX_REQUESTS` / `…_JITTER` | `1000` / `100` | recycle workers at staggered times |
| `GUNICORN_ACCESS_LOG` | unset (off) | `-` for gunicorn's own JSON access log on stdout |
| `FORWARDED_ALLOW_IPS` | `127.0.0.1` | proxies whose `X-Forwarded-*` headers are trusted |
| `PROMETHEUS_MULTIPROC_DIR` | a fresh temp dir | where workers share their metric values |

Why sync workers by default: a request stuck on a dependency (a database that stopped answering)
blocks its worker; gunicorn kills a sync worker that is silent past `timeout` and starts a new
one, so no worker stays stuck. The database, Redis and broker clients also carry their own short
timeouts (settings), so that is the last resort, not the plan.

Shutdown: SIGTERM is graceful — the master stops accepting, each worker finishes the request it
is serving (up to `graceful_timeout`) and exits. A sale is one database transaction, so even a
worker killed mid-request leaves the whole sale or nothing, and the client's retry with the same
`Idempotency-Key` completes it exactly once.

The application's own access log (`monitoring.access`, one JSON line per request with request id,
user and store) is the primary one; gunicorn's access log is off unless `GUNICORN_ACCESS_LOG` is
set, to avoid two lines per request. Both are JSON.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from gunicorn.glogging import Logger

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours CPU pinning/cgroups better than cpu_count
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# --- Server socket ------------------------------------------------------------------------------

bind = [os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_int('PORT', 8000)}"]
backlog = _int("GUNICORN_BACKLOG", 2048)

# --- Workers ------------------------------------------------------------------------------------

wsgi_app = "posproject.wsgi:application"
workers = _int("WEB_CONCURRENCY", min(2 * _cores() + 1, 12))
threads = _int("GUNICORN_THREADS", 1)
worker_class = "gthread" if threads > 1 else "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 100)
# The heartbeat file: on tmpfs when there is one (a disk-backed /tmp can stall heartbeats).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 # nosec B108
preload_app = False
# Gunicorn's control socket ($HOME/.gunicorn/gunicorn.ctl) is not used here; one fixed path per
# user would also collide between instances on one host, and the image's home is read-only.
control_socket_disable = True

# Only these proxies may set X-Forwarded-Proto (https detection). Gunicorn does not rewrite
# REMOTE_ADDR from X-Forwarded-For: the client address comes from TRUSTED_PROXY_CIDRS (settings).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# --- Logging ------------------------------------------------------------------------------------

loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
capture_output = False


def _iso_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.gmtime())


class _JsonLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith("{"):  # already a JSON access line
            return message
        line: dict[str, Any] = {
            "ts": _iso_now(),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
            "pid": record.process,
        }
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line)


class JsonLogger(Logger):
    """Gunicorn's error and access logs as one JSON object per line. The access line carries no
    query string and no headers but `X-Request-ID` and `User-Agent`."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                handler.setFormatter(_JsonLineFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        request_id = None
        for name, value in resp.headers:
            if name.lower() == "x-request-id":
                request_id = value
        line = {
            "ts": _iso_now(),
            "level": "INFO",
            "logger": "gunicorn.access",
            "message": "request",
            "request_id": request_id,
            "remote_addr": environ.get("REMOTE_ADDR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "status": int(status) if str(status).isdigit() else status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 1),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "pid": os.getpid(),
        }
        try:
            self.access_log.info(json.dumps(line))
        except Exception:  # noqa: BLE001 - a log line must never break a response
            self.exception("access log failed")


logger_class = JsonLogger

# --- Prometheus multi-process mode --------------------------------------------------------------
# Each worker writes its metric values to files in this directory; `/metrics` (whichever worker
# serves it) merges them, so the totals cover every worker. The variable must be set before any
# worker imports prometheus_client, hence here, in the master, at configuration time.

_created_multiproc_dir = False
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="pos-prometheus-")
    _created_multiproc_dir = True
prometheus_multiproc_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"]


def on_starting(server: Any) -> None:
    """Start from zero: values left by a previous run would otherwise be added to this one's."""
    os.makedirs(prometheus_multiproc_dir, exist_ok=True)
    for stale in glob.glob(os.path.join(prometheus_multiproc_dir, "*.db")):
        os.remove(stale)


def child_exit(server: Any, worker: Any) -> None:
    """A worker exited (recycled by max_requests, killed by timeout, or shut down): keep its
    counters (they are part of the totals) but drop its live gauges."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    if _created_multiproc_dir:
        for leftover in glob.glob(os.path.join(prometheus_multiproc_dir, "*.db")):
            os.remove(leftover)
        with contextlib.suppress(OSError):
            os.rmdir(prometheus_multiproc_dir)


def post_worker_init(worker: Any) -> None:
    """Import the URLconf (every view module) before this worker takes its first request, so a
    freshly started or recycled worker never makes a client wait for imports."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - the import is the point


def worker_abort(worker: Any) -> None:
    """SIGABRT from the master: this worker overran `timeout` (the traceback follows)."""
    worker.log.error("worker timed out (pid %s); a dependency may be hanging", worker.pid)
