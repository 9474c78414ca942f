"""Reports on a real streaming replica: what reads there, what never does, and the fallback to
the primary when the standby lags or is gone (`posproject.replica`)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from prometheus_client import REGISTRY

from accounts.models import Store
from catalog.models import Product
from orders.models import Order
from orders.selectors.reports import daily_report_figures, local_today
from orders.services.reports import daily_report_compute
from posproject import replica
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.orders.factories import open_shift_on, post_sale, sale_body
from tests.orders.selling import refund_via_api
from tests.replica.conftest import Standby

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, databases=["default", "replica"]),
]

REPORT_URL = "/api/v1/reports/daily/"


def fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("pos_replica_fallbacks_total", {"reason": reason}) or 0.0


@pytest.fixture
def product(store: Store) -> Product:
    item = ProductFactory(
        price=Decimal("4.99"), tax_rate=TaxRateFactory(name="Std", rate=Decimal("8.250"))
    )
    set_stock(store, item, 100)
    return item


@pytest.fixture
def selling(standby: Standby, register, cashier, product, cashier_client) -> Any:
    """`selling()` posts a sale of 2 × `product` through the API and returns its body."""
    open_shift_on(register, cashier)

    def sell() -> dict[str, Any]:
        response = post_sale(cashier_client, sale_body(register, [(product, "2")]))
        assert response.status_code == 201, response.content
        return response.json()

    return sell


@contextlib.contextmanager
def replay_paused(standby: Standby) -> Iterator[Standby]:
    """The standby with WAL replay paused (it still receives), resumed afterwards."""
    standby.wait_for_replay()  # the previous test's flush, before the pause
    standby.execute("SELECT pg_wal_replay_pause()")
    try:
        yield standby
    finally:
        standby.execute("SELECT pg_wal_replay_resume()")
        standby.wait_for_replay()


@pytest.fixture
def paused(standby: Standby) -> Iterator[Standby]:
    with replay_paused(standby):
        yield standby


def test_a_committed_sale_appears_in_the_report_read_on_the_replica(
    standby: Standby, selling, store: Store, manager_client
) -> None:
    sale = selling()
    replay_seconds = standby.wait_for_replay()
    print(f"\nreplay of one sale: {replay_seconds * 1000:.1f} ms")
    today = local_today(store=store, now=timezone.now())

    assert replica.reporting_db() == "replica"
    with (
        CaptureQueriesContext(connections["replica"]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = manager_client.get(REPORT_URL, {"store": store.pk, "date": today.isoformat()})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["orders_count"] == 1
    assert body["by_tender"]["cash"] == sale["total"]
    # The figures' eight queries ran on the standby (the replica's state was measured just
    # before and is cached), none on the primary: it only answered the request's own reads
    # (user, store, stored report).
    figure_queries = [q["sql"] for q in on_replica.captured_queries]
    assert len(figure_queries) == 8, figure_queries
    assert not any('"orders_order"' in q["sql"] for q in on_primary.captured_queries)
    # And they are the primary's figures.
    assert daily_report_figures(store=store, date=today, using="default") == {
        key: value
        for key, value in body.items()
        if key not in ("store", "date", "generated_at", "currency")
    }


def test_a_paused_standby_sends_reports_to_the_primary_and_says_so(
    standby: Standby, selling, store: Store, settings, paused: Standby
) -> None:
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    selling()
    standby.wait_for_receive()
    # The sale has reached the standby's WAL but is not replayed: it lags.
    with psycopg_connect(standby) as conn:
        assert conn.execute("SELECT pg_is_wal_replay_paused()").fetchone()[0] is True
    assert Order.objects.using("replica").count() == 0
    before = fallbacks("lag")
    last_replay_older_than(standby, 0.6)

    state = replica.replica_state(refresh=True)
    assert state.status == replica.LAGGING
    assert state.alias == "default"
    assert state.lag_seconds is not None
    assert state.lag_seconds > 0.5
    assert fallbacks("lag") == before + 1
    assert REGISTRY.get_sample_value("pos_replica_lag_seconds") == pytest.approx(state.lag_seconds)
    today = local_today(store=store, now=timezone.now())
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        report = daily_report_compute(store=store, date=today)
    assert report.data["orders_count"] == 1  # the primary's figure
    assert on_replica.captured_queries == []


@contextlib.contextmanager
def receiver_stopped(standby: Standby) -> Iterator[Standby]:
    """The standby with its WAL receiver stopped (no `primary_conninfo`: it replays what it has
    and waits), streaming again afterwards."""
    import time

    from psycopg import sql

    standby.wait_for_replay()
    with psycopg_connect(standby) as conn:
        conninfo = conn.execute("SELECT current_setting('primary_conninfo')").fetchone()[0]
        conn.execute("ALTER SYSTEM SET primary_conninfo = ''")
        conn.execute("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while conn.execute("SELECT count(*) FROM pg_stat_wal_receiver").fetchone()[0]:
            assert time.monotonic() < deadline, "the WAL receiver did not stop"
            time.sleep(0.02)
    try:
        yield standby
    finally:
        with psycopg_connect(standby) as conn:
            conn.execute(
                sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo))
            )
            conn.execute("SELECT pg_reload_conf()")
        standby.wait_for_replay()


def test_a_standby_that_stopped_receiving_is_not_caught_up(
    standby: Standby, selling, store: Store, settings
) -> None:
    settings.REPLICA_MAX_LAG_SECONDS = 0.5
    with receiver_stopped(standby):
        selling()
        # The standby has replayed all it received, but not the sale: it is behind the primary.
        assert Order.objects.using("replica").count() == 0
        last_replay_older_than(standby, 0.6)
        state = replica.replica_state(refresh=True)
        assert (state.alias, state.status) == ("default", replica.LAGGING)
        today = local_today(store=store, now=timezone.now())
        assert daily_report_compute(store=store, date=today).data["orders_count"] == 1


def test_readiness_shows_a_lagging_replica_as_degraded_not_down(
    standby: Standby, selling, client, settings
) -> None:
    standby.wait_for_replay()
    response = client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["replica"]["status"] == "ok"
    assert response.json()["replica"]["reads_from"] == "replica"

    settings.REPLICA_MAX_LAG_SECONDS = 0.0
    with replay_paused(standby):
        selling()
        standby.wait_for_receive()
        response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["replica"] == "degraded"
    assert body["replica"]["state"] == "lagging"
    assert body["replica"]["reads_from"] == "default"


def test_sales_and_refunds_never_touch_the_replica(
    standby: Standby, selling, manager_client
) -> None:
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        sale = selling()
        order = Order.objects.get(pk=sale["id"])
        line = order.lines.get()
        refund = refund_via_api(manager_client, order, [(line, "1")], key="r1")
        assert refund.status_code == 201, refund.content
        assert manager_client.get(f"/api/v1/orders/{order.pk}/").status_code == 200
    assert on_replica.captured_queries == []


def test_an_unreachable_replica_sends_reports_to_the_primary(
    standby: Standby, store: Store, dead_replica: None
) -> None:
    before = fallbacks("unreachable")
    state = replica.replica_state(refresh=True)
    assert (state.alias, state.status) == ("default", replica.UNREACHABLE)
    assert fallbacks("unreachable") == before + 1

    report = daily_report_compute(store=store, date=local_today(store=store, now=timezone.now()))
    assert report.data["orders_count"] == 0


def test_a_standby_gone_between_two_checks_costs_no_report(
    standby: Standby, selling, store: Store, manager_client
) -> None:
    selling()
    standby.wait_for_replay()
    assert replica.reporting_db() == "replica"  # measured, and cached for the interval
    before = fallbacks("unreachable")
    today = local_today(store=store, now=timezone.now())
    with replica_gone():
        response = manager_client.get(REPORT_URL, {"store": store.pk, "date": today.isoformat()})
        assert response.status_code == 200, response.content
        assert response.json()["orders_count"] == 1  # read again on the primary
        assert fallbacks("unreachable") == before + 1
        assert replica.replica_state().status == replica.UNREACHABLE  # until the next check


def test_reconcile_reads_the_replica(standby: Standby, selling, store: Store, capsys) -> None:
    selling()
    standby.wait_for_replay()
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        call_command("reconcile", store=store.code)
    assert "read from replica" in capsys.readouterr().out
    assert len(on_replica.captured_queries) >= 10


def test_the_admin_dashboard_and_order_export_read_the_replica(
    standby: Standby, selling, store: Store, admin_user, client
) -> None:
    sale = selling()
    standby.wait_for_replay()
    # The role groups come from a data migration that a transactional test's flush removes.
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(admin_user)
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        dashboard = client.get(reverse("admin:orders_dailyreport_dashboard"), {"store": store.pk})
    assert dashboard.status_code == 200
    sql = " ".join(q["sql"] for q in on_replica.captured_queries)
    assert '"orders_order"' in sql
    assert '"ledger_journalline"' in sql

    with CaptureQueriesContext(connections["replica"]) as on_replica:
        export = client.get(reverse("admin:orders_order_export"))
        body = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
    assert sale["number"] in body
    assert any('"orders_order"' in q["sql"] for q in on_replica.captured_queries)


def test_replica_reads_stay_within_the_managers_stores(
    standby: Standby, selling, store: Store, other_store: Store, product: Product, client
) -> None:
    from django.contrib.auth.models import Group, Permission

    from accounts.models import Role
    from accounts.roles import group_name, sync_role_groups
    from tests.factories import CashierFactory, ManagerFactory, RegisterFactory
    from tests.orders.factories import sell

    mine = selling()
    set_stock(other_store, product, 100)
    seller = CashierFactory(stores=[other_store])
    register = RegisterFactory(store=other_store, code="OTHER")
    open_shift_on(register, seller)
    foreign = sell(user=seller, register=register, lines=[(product, "3")])
    standby.wait_for_replay()
    manager = ManagerFactory(stores=[store])
    # The role groups come from a data migration that a transactional test's flush removes.
    sync_role_groups(group_model=Group, permission_model=Permission)
    manager.groups.set([Group.objects.get(name=group_name(Role.MANAGER))])
    client.force_login(manager)

    dashboard_url = reverse("admin:orders_dailyreport_dashboard")
    with CaptureQueriesContext(connections["replica"]) as on_replica:
        export = client.get(reverse("admin:orders_order_export"))
        assert export.status_code == 200, export.content
        body = b"".join(export.streaming_content).decode()  # type: ignore[attr-defined]
        dashboard = client.get(dashboard_url)
    assert mine["number"] in body
    assert foreign.number not in body
    assert dashboard.status_code == 200
    assert [row["store"] for row in dashboard.context["stores_today"]] == [store]
    assert any('"orders_order"' in q["sql"] for q in on_replica.captured_queries)
    assert client.get(dashboard_url, {"store": other_store.pk}).status_code == 404


# --- helpers ------------------------------------------------------------------------------------


def psycopg_connect(standby: Standby) -> Any:
    import psycopg

    return psycopg.connect(standby.conninfo, autocommit=True)


def last_replay_older_than(standby: Standby, seconds: float) -> None:
    """Until the standby's last replayed commit is older than `seconds` (at most 5 s), timed on
    the standby's own clock (the one its lag is measured by)."""
    with psycopg_connect(standby) as conn:
        conn.execute(
            "SELECT pg_sleep(0.05) FROM generate_series(1, 100) "
            "WHERE clock_timestamp() - pg_last_xact_replay_timestamp() < make_interval(secs => %s)",
            [seconds],
        )


@pytest.fixture
def dead_replica(standby: Standby) -> Iterator[None]:
    """The `replica` alias pointed at a port nobody listens on, restored afterwards."""
    with replica_gone():
        yield


@contextlib.contextmanager
def replica_gone() -> Iterator[None]:
    """The `replica` alias's session dropped and its address a port nobody listens on (the
    standby gone), restored afterwards."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    conn = connections["replica"]
    saved = copy.deepcopy(conn.settings_dict)
    conn.close()
    conn.settings_dict["PORT"] = str(dead_port)
    conn.settings_dict["OPTIONS"]["connect_timeout"] = 2
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict.clear()
        conn.settings_dict.update(saved)
