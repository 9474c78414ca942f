"""Stripe's idempotency promise under faults, end to end over HTTP against real gunicorn and
PostgreSQL: whatever happens to the first attempt of a sale — its worker is killed mid-
transaction, the database makes it wait past the lock timeout, or the register sends the same key
twice at once from two connections — the register's retry with the same `Idempotency-Key` ends
with exactly one order, and never two.

The operations tests (`tests/monitoring/test_gunicorn.py`) cover SIGTERM (graceful and forced)
with an in-process retry; these add SIGKILL of the worker with the retry sent to the respawned
worker, a database lock wait, and concurrent duplicates across two workers."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.monitoring.gunicorn_harness import Gunicorn, database_url

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

KEY = "till-9-sale-42"


def _settings_dict() -> dict[str, Any]:
    from django.db import connection

    return connection.settings_dict


def _raw_connection() -> Any:
    import psycopg

    s = _settings_dict()
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
    )


def _wait_until_a_backend_waits_on_a_lock(timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    with _raw_connection() as conn:
        conn.autocommit = True
        while time.monotonic() < deadline:
            waiting = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.05)
    raise AssertionError("the sale never reached the locked stock row")


class HeldStockRow:
    """Another session holds the product's stock row `FOR UPDATE`: the sale blocks inside its
    transaction, after it has claimed the idempotency key."""

    def __init__(self, product_id: int) -> None:
        self.conn = _raw_connection()
        self.conn.execute(
            "SELECT id FROM catalog_stocklevel WHERE product_id = %s FOR UPDATE", [product_id]
        )

    def release(self) -> None:
        if not self.conn.closed:
            self.conn.rollback()
            self.conn.close()


@pytest.fixture
def sale(transactional_db: None, settings: Any) -> dict[str, Any]:
    from accounts.tokens import tokens_for
    from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
    from tests.factories import CashierFactory, RegisterFactory, StoreFactory
    from tests.orders.factories import open_shift_on

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    store = StoreFactory()
    register = RegisterFactory(store=store, code="T9")
    cashier = CashierFactory(stores=[store])
    product = ProductFactory(price=Decimal("4.99"), tax_rate=TaxRateFactory(rate=Decimal("0")))
    set_stock(store, product, 20)
    open_shift_on(register, cashier)
    return {
        "register": register,
        "product": product,
        "headers": {
            "Authorization": f"Bearer {tokens_for(cashier).access_token}",
            "Idempotency-Key": KEY,
        },
        "body": {
            "register": register.pk,
            "lines": [{"product": product.pk, "quantity": "1"}],
            "payments": [{"method": "cash", "amount": "4.99", "tendered": "5.00"}],
        },
    }


@pytest.fixture
def server_factory(tmp_path: Path, settings: Any) -> Iterator[Any]:
    started: list[Gunicorn] = []

    def start(workers: int = 1, **env: str) -> Gunicorn:
        server = Gunicorn(
            tmp_path,
            workers=workers,
            DATABASE_URL=database_url(_settings_dict()),
            JWT_SIGNING_KEY=str(settings.SIMPLE_JWT["SIGNING_KEY"]),
            DB_STATEMENT_TIMEOUT_MS="30000",
            **env,
        )
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _orders(register: Any) -> int:
    from orders.models import Order

    return Order.objects.filter(register=register).count()


def _stock(sale: dict[str, Any]) -> Decimal:
    from catalog.models import StockLevel

    return StockLevel.objects.get(product=sale["product"], store=sale["register"].store).quantity


def _send_in_background(server: Gunicorn, sale: dict[str, Any], outcome: dict[str, Any]) -> Any:
    def send() -> None:
        try:
            outcome["status"], outcome["body"] = server.request(
                "POST", "/api/v1/orders/", sale["body"], headers=sale["headers"], timeout=60
            )
        except OSError as exc:  # the worker died with the connection open
            outcome["error"] = type(exc).__name__

    thread = threading.Thread(target=send)
    thread.start()
    return thread


def _retry_until_settled(server: Gunicorn, sale: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """What a register does: resend the same request with the same key until it gets an answer
    that is not 'busy' (429/409)."""
    for _ in range(40):
        status, raw = server.request(
            "POST", "/api/v1/orders/", sale["body"], headers=sale["headers"]
        )
        if status not in (409, 429):
            return status, json.loads(raw)
        time.sleep(0.25)
    pytest.fail("the retry never settled")


def test_worker_killed_mid_sale_then_retry_yields_one_order(sale, server_factory) -> None:
    server = server_factory(workers=1, DB_LOCK_TIMEOUT_MS="20000")
    outcome: dict[str, Any] = {}
    held = HeldStockRow(sale["product"].pk)
    try:
        thread = _send_in_background(server, sale, outcome)
        _wait_until_a_backend_waits_on_a_lock()
        (worker,) = server.worker_pids()
        os.kill(worker, signal.SIGKILL)  # a crash, not a shutdown: no chance to finish
    finally:
        held.release()
    thread.join(timeout=60)
    assert "status" not in outcome, outcome  # the client never got an answer
    time.sleep(0.5)  # PostgreSQL notices the dead backend's client and rolls back
    assert _orders(sale["register"]) == 0
    assert _stock(sale) == 20

    # The master respawns a worker; the register retries the very same request.
    deadline = time.monotonic() + 20
    while not server.worker_pids() and time.monotonic() < deadline:
        time.sleep(0.1)
    status, body = _retry_until_settled(server, sale)
    assert status == 201, body
    again_status, again_raw = server.request(
        "POST", "/api/v1/orders/", sale["body"], headers=sale["headers"]
    )
    assert again_status == 201
    assert json.loads(again_raw) == body  # the replay answers the original, byte for byte
    assert _orders(sale["register"]) == 1
    assert _stock(sale) == 19


def test_database_lock_wait_is_bounded_and_the_retry_yields_one_order(sale, server_factory) -> None:
    server = server_factory(workers=1, DB_LOCK_TIMEOUT_MS="1000")
    held = HeldStockRow(sale["product"].pk)
    try:
        started = time.monotonic()
        status, raw = server.request(
            "POST", "/api/v1/orders/", sale["body"], headers=sale["headers"]
        )
        elapsed = time.monotonic() - started
    finally:
        held.release()
    assert elapsed < 5.0, elapsed  # a few seconds at most, never a hung worker
    assert status in (409, 429, 503), (status, raw[:300])
    problem = json.loads(raw)
    assert problem["code"] in {"throttled", "idempotency_key_in_use", "service_unavailable"}
    assert _orders(sale["register"]) == 0
    # Nothing was stored under the key: the retry runs the sale afresh.
    status, body = _retry_until_settled(server, sale)
    assert status == 201, body
    assert _orders(sale["register"]) == 1
    assert _stock(sale) == 19


def test_same_key_twice_at_once_on_two_workers_yields_one_order(sale, server_factory) -> None:
    server = server_factory(workers=2, DB_LOCK_TIMEOUT_MS="15000")
    first: dict[str, Any] = {}
    second: dict[str, Any] = {}
    held = HeldStockRow(sale["product"].pk)
    try:
        thread_1 = _send_in_background(server, sale, first)
        _wait_until_a_backend_waits_on_a_lock()
        thread_2 = _send_in_background(server, sale, second)
        time.sleep(1.0)  # the duplicate is now waiting on the first one's key
    finally:
        held.release()
    thread_1.join(timeout=60)
    thread_2.join(timeout=60)
    statuses = sorted([first.get("status"), second.get("status")])
    assert statuses in ([201, 201], [201, 409]), (first, second)
    bodies = [json.loads(o["body"]) for o in (first, second) if o.get("status") == 201]
    assert all(b == bodies[0] for b in bodies)  # the duplicate replays the same order
    assert _orders(sale["register"]) == 1
    assert _stock(sale) == 19
    status, body = _retry_until_settled(server, sale)
    assert status == 201
    assert body == bodies[0]
    assert _orders(sale["register"]) == 1
