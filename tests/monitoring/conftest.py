"""Fixtures for operations tests: dead ports, listeners that never answer, and settings that
point the cache or the broker at them."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from monitoring import health
from monitoring.tasks import breaker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HungListener:
    """Accepts TCP connections and never sends a byte: a dependency that is 'up' but hung."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(128)
        self.port = int(self.sock.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def dead_port() -> int:
    """A port nobody listens on: connections are refused at once."""
    return free_port()


@pytest.fixture
def hung_port() -> Iterator[int]:
    listener = HungListener()
    yield listener.port
    listener.close()


def redis_caches(port: int) -> dict[str, Any]:
    """The production cache settings (django-redis, short socket timeouts, errors ignored),
    pointed at `port`."""
    return {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "KEY_PREFIX": "ops-test",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.5,
                "SOCKET_TIMEOUT": 0.5,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }


@pytest.fixture(autouse=True)
def _fresh_operational_state() -> Iterator[None]:
    """Health checks still stuck on a dead dependency from another test, or an open publish
    breaker, must not leak into the next test."""
    breaker.reset()
    yield
    breaker.reset()
    # Let checks that outlived their probe finish (each closes its own database connection), so
    # no test leaves a session open on the test database; then start from a clean slate.
    for future in list(health._flights._running.values()):
        with contextlib.suppress(Exception):
            future.result(timeout=5)
    health._flights = health._SingleFlight()
