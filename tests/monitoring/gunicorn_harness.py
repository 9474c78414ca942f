"""Start the real gunicorn with `posproject/gunicorn.conf.py` for end-to-end operations tests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.monitoring.conftest import free_port
from tests.plain_http import PLAIN_HTTP_ENV

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIG = BASE_DIR / "posproject" / "gunicorn.conf.py"


def database_url(settings_dict: dict[str, Any]) -> str:
    """`DATABASE_URL` for a gunicorn subprocess from a connection's settings: the parts
    percent-encoded, so a Unix-socket directory (the embedded PostgreSQL of `make test`) stays
    the host instead of turning into part of the database name."""
    user = quote(settings_dict["USER"] or "", safe="")
    password = settings_dict["PASSWORD"]
    auth = user + (f":{quote(password, safe='')}" if password else "")
    host = quote(settings_dict["HOST"] or "127.0.0.1", safe="")
    port = settings_dict["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{quote(settings_dict['NAME'], safe='')}"


def _secret_key() -> str:
    """This test process's key when it is a real one (tokens minted here then verify there),
    else a throwaway (the server runs with DEBUG off, which refuses placeholder keys)."""
    from django.conf import settings

    key = str(settings.SECRET_KEY)
    return key if len(key) >= 50 and "insecure" not in key else "k" * 50


class Gunicorn:
    def __init__(self, tmp_path: Path, *, workers: int = 2, **env: str) -> None:
        self.port = free_port()
        self.tmp_path = tmp_path
        self.multiproc_dir = tmp_path / "prometheus"
        self.multiproc_dir.mkdir(exist_ok=True)
        self.stdout_path = tmp_path / "gunicorn.out"
        self.stderr_path = tmp_path / "gunicorn.err"
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "posproject.settings",
            "DJANGO_SECRET_KEY": _secret_key(),
            "DJANGO_DEBUG": "false",
            # A fresh machine has no Redis; tests that need one set REDIS_URL themselves.
            "DJANGO_ALLOW_LOCAL_SERVICES": "true",
            **PLAIN_HTTP_ENV,  # served over plain HTTP on loopback
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": str(workers),
            "GUNICORN_THREADS": "1",
            "PROMETHEUS_MULTIPROC_DIR": str(self.multiproc_dir),
            "LOG_LEVEL": "WARNING",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 25.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(CONFIG)],
            cwd=BASE_DIR,
            env=self.env,
            stdout=self.stdout_path.open("wb"),
            stderr=self.stderr_path.open("wb"),
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.stderr_path.read_text()[-3000:]}")
            try:
                # A long timeout: once connected, wait for the answer, so that exactly one probe
                # request reaches the application.
                status, _ = self.request("GET", "/health/live", timeout=timeout)
            except ConnectionRefusedError:
                time.sleep(0.1)
                continue
            if status == 200:
                return
        raise RuntimeError(f"gunicorn did not answer:\n{self.stderr_path.read_text()[-3000:]}")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30.0,
    ) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            payload = json.dumps(body) if body is not None else None
            all_headers = {"Content-Type": "application/json", **(headers or {})}
            conn.request(method, path, body=payload, headers=all_headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 40.0) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)

    def worker_pids(self) -> list[int]:
        """The worker processes currently alive (children of the master)."""
        assert self.process is not None
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]
