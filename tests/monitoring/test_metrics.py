"""`/metrics`: who may read it, what it contains, and the business counters other code feeds."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from prometheus_client import REGISTRY
from rest_framework.exceptions import Throttled as DrfThrottled
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from apitools.errors import problem_exception_handler
from domain.errors import Throttled
from monitoring.exposition import address_allowed
from tests.monitoring.helpers import sample

BUSINESS_METRICS = (
    "pos_orders_total",
    "pos_order_amount_total",
    "pos_payments_total",
    "pos_payment_amount_total",
    "pos_refunds_total",
    "pos_refund_amount_total",
    "pos_voids_total",
    "pos_void_amount_total",
    "pos_returns_total",
    "pos_return_amount_total",
    "pos_idempotent_replays_total",
    "pos_throttled_requests_total",
    "pos_throttle_unavailable_total",
    "pos_insufficient_stock_total",
    "pos_cache_requests_total",
    "pos_ledger_postings_total",
    "pos_celery_tasks_total",
)


@pytest.mark.django_db
def test_metrics_from_loopback_has_http_db_and_business_metrics(client) -> None:
    client.get("/health/ready")
    response = client.get("/metrics")  # the test client's REMOTE_ADDR is 127.0.0.1
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    # Counters appear once they have a labelled sample; the readiness probe above made one.
    assert 'pos_dependency_checks_total{dependency="database",status="ok"}' in text
    # Latency histograms per view (p50/p95/p99 come from these buckets).
    assert "django_http_requests_latency_seconds_by_view_method_bucket" in text
    assert 'view="monitoring:health-ready"' in text
    # The database wrapper's query metrics.
    assert "django_db_execute_total" in text
    assert "django_db_query_duration_seconds_bucket" in text


def test_business_counters_are_registered_under_their_contract_names() -> None:
    import monitoring.metrics  # noqa: F401 - registers them

    registered = set(REGISTRY._names_to_collectors)  # type: ignore[attr-defined]
    assert set(BUSINESS_METRICS) <= registered


def test_money_counters_carry_the_currency() -> None:
    """A money counter summed over stores of different currencies would add dollars and yen:
    each one is labelled with its currency so that queries group by it."""
    from monitoring.metrics import (
        ORDER_AMOUNT,
        PAYMENT_AMOUNT,
        REFUND_AMOUNT,
        RETURN_AMOUNT,
        VOID_AMOUNT,
    )

    for counter in (ORDER_AMOUNT, PAYMENT_AMOUNT, REFUND_AMOUNT, VOID_AMOUNT, RETURN_AMOUNT):
        assert "currency" in counter._labelnames, counter._name


@pytest.mark.parametrize("address", ["10.1.2.3", "192.168.0.9", "2001:db8::1", ""])
def test_metrics_is_404_for_everyone_else(client, address) -> None:
    response = client.get("/metrics", REMOTE_ADDR=address)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "not_found"
    assert b"pos_orders_total" not in response.content


def test_forwarded_for_is_not_trusted(client) -> None:
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 404


def test_metrics_allowed_cidrs(client, settings) -> None:
    settings.METRICS_ALLOWED_CIDRS = ["10.0.0.0/8", "192.168.7.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.7.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.7.8").status_code == 404


def test_loopback_forms() -> None:
    for address in ("127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"):
        assert address_allowed(address, [])
    for address in ("::ffff:10.0.0.1", "not-an-ip", None, "10.0.0.1"):
        assert not address_allowed(address, [])
    assert address_allowed("::ffff:10.0.0.1", ["10.0.0.0/8"])


def test_malformed_cidr_fails_closed_and_the_system_check_says_so(client, settings) -> None:
    settings.METRICS_ALLOWED_CIDRS = ["10.0.0.0/8", "ten.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.1.1").status_code == 404
    assert client.get("/metrics").status_code == 200  # loopback still works
    errors = [e for e in run_checks() if e.id == "monitoring.E001"]
    assert len(errors) == 1


def _throttled_view() -> APIView:
    view = APIView()
    view.throttle_scope = "orders"  # type: ignore[attr-defined]
    return view


def test_every_429_is_counted_once_where_it_is_rendered() -> None:
    request = APIRequestFactory().get("/")
    before_domain = sample("pos_throttled_requests_total", scope="orders")
    response = problem_exception_handler(
        Throttled(retry_after=7), {"view": _throttled_view(), "request": request}
    )
    assert response is not None
    assert response.status_code == 429
    assert response["Retry-After"] == "7"
    assert sample("pos_throttled_requests_total", scope="orders") == before_domain + 1

    class QuoteView(APIView):
        pass

    before_drf = sample("pos_throttled_requests_total", scope="QuoteView")
    response = problem_exception_handler(DrfThrottled(wait=3), {"view": QuoteView()})
    assert response is not None
    assert response.status_code == 429
    assert sample("pos_throttled_requests_total", scope="QuoteView") == before_drf + 1


def test_a_scope_carried_by_the_exception_wins() -> None:
    exc = Throttled(retry_after=1)
    exc.scope = "login_ip"  # type: ignore[attr-defined]
    before = sample("pos_throttled_requests_total", scope="login_ip")
    problem_exception_handler(exc, {"view": _throttled_view()})
    assert sample("pos_throttled_requests_total", scope="login_ip") == before + 1


def test_the_replica_lag_of_a_recycled_worker_is_not_reported(tmp_path, monkeypatch) -> None:
    """gunicorn replaces its workers (`max_requests`): the lag a dead worker saw last, however
    high, must not stay in `pos_replica_lag_seconds` once the live workers see a small one."""
    from prometheus_client import CollectorRegistry, Gauge, multiprocess, values
    from prometheus_client import metrics as prometheus_metrics

    from monitoring.metrics import REPLICA_LAG

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))

    def worker_gauge(pid: int) -> Gauge:
        monkeypatch.setattr(
            prometheus_metrics.values, "ValueClass", values.MultiProcessValue(lambda: pid)
        )
        return Gauge(
            REPLICA_LAG._name,
            REPLICA_LAG._documentation,
            multiprocess_mode=REPLICA_LAG._multiprocess_mode,
            registry=None,
        )

    worker_gauge(1001).set(600)  # during an incident, then recycled
    multiprocess.mark_process_dead(1001, str(tmp_path))
    worker_gauge(1002).set(2)  # its replacement, now

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, str(tmp_path))
    assert registry.get_sample_value(REPLICA_LAG._name) == 2
