"""The real gunicorn with the project's config: several workers report one set of totals on
`/metrics`, workers recycled by `max_requests` keep their counts, the access log is JSON, and
SIGTERM shuts down cleanly."""

from __future__ import annotations

import json
import re
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.monitoring.gunicorn_harness import Gunicorn, database_url

pytestmark = pytest.mark.slow

LIVE_COUNTER = "django_http_requests_total_by_view_transport_method"


def live_requests(metrics_text: str) -> float:
    for family in text_string_to_metric_families(metrics_text):
        if family.name == LIVE_COUNTER:
            return sum(
                s.value
                for s in family.samples
                if s.name.endswith("_total") and s.labels.get("view") == "monitoring:health-live"
            )
    return 0.0


def pids_with_counters(directory: Path) -> set[int]:
    return {
        int(match.group(1))
        for path in directory.glob("counter_*.db")
        if (match := re.match(r"counter_(\d+)\.db", path.name))
    }


def test_two_workers_add_up_and_recycled_workers_keep_their_counts(tmp_path: Path) -> None:
    # max_requests 15 (no jitter): workers are replaced during the run, so the totals must
    # survive worker exits as well as add up across workers.
    server = Gunicorn(
        tmp_path,
        workers=2,
        GUNICORN_MAX_REQUESTS="15",
        GUNICORN_MAX_REQUESTS_JITTER="0",
        GUNICORN_ACCESS_LOG="-",
    )
    server.start()
    try:
        n = 40
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(lambda _: server.request("GET", "/health/live")[0], range(n)))
        assert statuses == [200] * n

        status, body = server.request("GET", "/metrics")
        assert status == 200
        # n requests + the one start() made to see the server was up.
        assert live_requests(body.decode()) == n + 1
        # More than two processes contributed: both workers, and their replacements.
        assert len(pids_with_counters(server.multiproc_dir)) > 2

        # Not reachable from elsewhere (here: a proxy address in X-Forwarded-For changes nothing).
        status, _ = server.request("GET", "/metrics", headers={"X-Forwarded-For": "10.0.0.1"})
        assert status == 200  # still loopback: REMOTE_ADDR is what counts
    finally:
        code = server.stop()
    assert code == 0

    access = [
        json.loads(line)
        for line in server.stdout_path.read_text().splitlines()
        if line.startswith("{") and '"gunicorn.access"' in line
    ]
    assert len(access) >= 40
    line = access[-1]
    assert line["path"] == "/metrics"
    assert line["status"] == 200
    assert len(line["request_id"]) == 32
    assert isinstance(line["duration_ms"], float)


def test_sigterm_is_graceful(tmp_path: Path) -> None:
    server = Gunicorn(tmp_path, workers=1, GUNICORN_GRACEFUL_TIMEOUT="10", LOG_LEVEL="INFO")
    server.start()
    workers = server.worker_pids()
    assert len(workers) == 1
    code = server.stop()
    assert code == 0
    errors = server.stderr_path.read_text()
    assert "Shutting down" in errors or "Handling signal: term" in errors
    # Every line on stderr is JSON: gunicorn's own, and Python warnings (captured into logging).
    loggers = [json.loads(raw)["logger"] for raw in errors.splitlines() if raw.strip()]
    assert any(name.startswith("gunicorn") for name in loggers)
    for name in loggers:
        assert name.startswith("gunicorn") or name == "py.warnings", name


# --- SIGTERM in the middle of a sale ------------------------------------------------------------


def _database_url() -> str:
    from django.db import connection

    return database_url(connection.settings_dict)


def _raw_connection():
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    return psycopg.connect(
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"],
        password=s["PASSWORD"] or None,
        dbname=s["NAME"],
    )


def _wait_for_blocked_backend(outcome, server, timeout: float = 20.0) -> None:
    """Until some session of this database waits on a lock (the sale, on our row lock). Polled
    from its own autocommit connection: pg_stat_activity is a snapshot per transaction."""
    import time

    deadline = time.monotonic() + timeout
    with _raw_connection() as conn:
        conn.autocommit = True
        while time.monotonic() < deadline:
            blocked = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if blocked:
                return
            time.sleep(0.05)
    raise AssertionError(
        f"the sale never reached the locked stock row: {outcome}\n"
        + server.stderr_path.read_text()[-3000:]
    )


def _whole_sale_or_nothing(register, product, initial_stock) -> int:
    """Assert the database holds complete sales only; return how many."""
    from decimal import Decimal

    from audit.models import AuditEvent
    from catalog.models import StockLevel, StockMovement
    from ledger.models import JournalEntry
    from orders.models import Order, OrderLine, Payment

    orders = list(Order.objects.filter(register=register))
    for order in orders:
        assert OrderLine.objects.filter(order=order).count() == 1
        assert Payment.objects.filter(order=order).count() == 1
        assert StockMovement.objects.filter(source_type="order", source_id=order.pk).count() == 1
        assert JournalEntry.objects.filter(source_id=order.pk).count() >= 1
        assert AuditEvent.objects.filter(object_type="order", object_id=str(order.pk)).exists()
    level = StockLevel.objects.get(store=register.store, product=product)
    assert level.quantity == Decimal(initial_stock) - len(orders)
    return len(orders)


@pytest.fixture
def committed_sale_setup(transactional_db, settings):
    from decimal import Decimal

    from accounts.tokens import tokens_for
    from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
    from tests.factories import CashierFactory, RegisterFactory, StoreFactory
    from tests.orders.factories import open_shift_on

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    store = StoreFactory()
    register = RegisterFactory(store=store, code="T1")
    cashier = CashierFactory(stores=[store])
    product = ProductFactory(price=Decimal("4.99"), tax_rate=TaxRateFactory(rate=Decimal("0")))
    set_stock(store, product, 20)
    open_shift_on(register, cashier)
    access = str(tokens_for(cashier).access_token)
    body = {
        "register": register.pk,
        "lines": [{"product": product.pk, "quantity": "1"}],
        "payments": [{"method": "cash", "amount": "4.99", "tendered": "5.00"}],
    }
    return register, product, access, body


@pytest.mark.postgres
@pytest.mark.parametrize("shutdown", ["graceful", "forced"])
def test_sigterm_mid_sale_leaves_the_whole_sale_or_nothing(
    tmp_path: Path, settings, committed_sale_setup, shutdown
) -> None:
    """A sale is blocked inside its transaction (we hold its stock row) when gunicorn gets
    SIGTERM. Graceful: the worker finishes it → one whole sale, answered 201. Forced (graceful
    timeout shorter than the sale): the worker is killed → PostgreSQL rolls the transaction
    back → nothing. Either way, the client's retry with the same Idempotency-Key leaves exactly
    one order."""
    import threading
    import time

    from rest_framework.test import APIClient

    register, product, access, body = committed_sale_setup
    server = Gunicorn(
        tmp_path,
        workers=1,
        DATABASE_URL=_database_url(),
        JWT_SIGNING_KEY=settings.SIMPLE_JWT["SIGNING_KEY"],
        DB_LOCK_TIMEOUT_MS="20000",
        DB_STATEMENT_TIMEOUT_MS="30000",
        GUNICORN_GRACEFUL_TIMEOUT="20" if shutdown == "graceful" else "1",
        LOG_LEVEL="INFO",
    )
    server.start()
    headers = {"Authorization": f"Bearer {access}", "Idempotency-Key": "till-7-sale-1"}
    outcome: dict[str, object] = {}

    def send() -> None:
        try:
            outcome["status"], outcome["body"] = server.request(
                "POST", "/api/v1/orders/", body, headers=headers, timeout=60
            )
        except OSError as exc:  # the worker died with the connection open
            outcome["error"] = type(exc).__name__

    blocker = _raw_connection()
    try:
        blocker.execute(
            "SELECT id FROM catalog_stocklevel WHERE product_id = %s FOR UPDATE", [product.pk]
        )
        client = threading.Thread(target=send)
        client.start()
        _wait_for_blocked_backend(outcome, server)
        server.process.send_signal(signal.SIGTERM)
        if shutdown == "graceful":
            time.sleep(1.0)
            assert server.process.poll() is None, "the master waits for the in-flight sale"
        else:
            server.process.wait(timeout=30)  # graceful timeout (1 s) passed: worker killed
    finally:
        blocker.rollback()  # release the stock row
        blocker.close()
    client.join(timeout=60)
    assert server.process.wait(timeout=40) == 0 or shutdown == "forced"

    if shutdown == "graceful":
        assert outcome.get("status") == 201, outcome
        assert _whole_sale_or_nothing(register, product, 20) == 1
    else:
        assert "status" not in outcome, outcome  # the client never got an answer
        time.sleep(0.5)  # PostgreSQL notices the dead client and rolls back
        assert _whole_sale_or_nothing(register, product, 20) == 0

    # The register retries with the same key (against any web process: here, in-process).
    retry = APIClient()
    retry.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    response = retry.post(
        "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="till-7-sale-1"
    )
    assert response.status_code == 201, response.content
    assert response.get("Idempotent-Replayed") == ("true" if shutdown == "graceful" else None)
    assert _whole_sale_or_nothing(register, product, 20) == 1
