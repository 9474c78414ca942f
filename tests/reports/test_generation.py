"""Storing reports: rerun replaces, the hourly fan-out is idempotent, the query count does not
grow with the number of orders."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Store
from audit.models import AuditEvent
from domain.errors import InvalidInput
from orders import tasks
from orders.models import DailyReport
from orders.services.reports import (
    daily_report_compute,
    daily_report_generate,
    daily_report_is_final,
    daily_reports_due,
    reconciliations_due,
)
from tests.catalog.factories import ProductFactory
from tests.factories import StoreFactory
from tests.reports.conftest import ny
from tests.reports.factories import record_sale, record_sale_around_the_services

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)


def _zone_at_local_noon() -> str:
    """A fixed-offset zone in which it is about noon now, so that "yesterday" is safely over and
    "today" safely not, whenever the test runs."""
    offset = 12 - timezone.now().astimezone(dt.UTC).hour  # -11 … +12
    offset = max(-12, min(offset, 14))
    # POSIX-style names are inverted: Etc/GMT-5 is UTC+5.
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def _backdate(store: Store, days: int) -> None:
    Store.objects.filter(pk=store.pk).update(created_at=timezone.now() - dt.timedelta(days=days))


def test_rerun_replaces_the_stored_report(store, shift, cashier, coffee) -> None:
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    first = tasks.daily_report_generate.delay(store.pk, "2026-03-10").get()
    report = DailyReport.objects.get(pk=first)
    assert report.data["orders_count"] == 1

    # A late correction lands in the day (say, restored from a backup); a rerun picks it up.
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 10, 0), lines=[(coffee, "1")])
    second = tasks.daily_report_generate.delay(store.pk, "2026-03-10").get()

    assert second == first
    assert DailyReport.objects.filter(store=store, date=DAY).count() == 1
    report.refresh_from_db()
    assert report.data["orders_count"] == 2
    assert report.data["net_sales"] == "20.00"


def test_generate_refuses_a_day_that_is_not_over(store) -> None:
    start_of_day = ny(2026, 3, 10, 0, 0)
    assert not daily_report_is_final(store=store, date=DAY, now=start_of_day)
    with pytest.raises(InvalidInput):
        daily_report_generate(store=store, date=DAY, now=ny(2026, 3, 10, 22, 0))
    # Midnight has passed, but not the grace period for late commits.
    with pytest.raises(InvalidInput):
        daily_report_generate(store=store, date=DAY, now=ny(2026, 3, 11, 0, 2))
    daily_report_generate(store=store, date=DAY, now=ny(2026, 3, 11, 0, 6))
    assert DailyReport.objects.filter(store=store, date=DAY).exists()


def test_task_for_a_day_not_over_or_a_missing_store_does_nothing(store) -> None:
    today = timezone.now().astimezone(store.tzinfo).date()
    assert tasks.daily_report_generate.delay(store.pk, today.isoformat()).get() is None
    assert tasks.daily_report_generate.delay(999_999, "2026-03-10").get() is None
    assert not DailyReport.objects.exists()


def test_due_lists_each_stores_previous_local_days_that_lack_a_report() -> None:
    tokyo = StoreFactory(timezone="Asia/Tokyo")
    new_york = StoreFactory(timezone="America/New_York")
    for store in (tokyo, new_york):
        Store.objects.filter(pk=store.pk).update(created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    # 2026-03-11 02:00 UTC: Tokyo is at 11:00 on the 11th, New York at 22:00 on the 10th.
    now = dt.datetime(2026, 3, 11, 2, 0, tzinfo=dt.UTC)

    due = daily_reports_due(now=now, lookback_days=2)
    assert due == [
        (tokyo.pk, dt.date(2026, 3, 10)),
        (tokyo.pk, dt.date(2026, 3, 9)),
        (new_york.pk, dt.date(2026, 3, 9)),
        (new_york.pk, dt.date(2026, 3, 8)),
    ]
    daily_report_generate(store=tokyo, date=dt.date(2026, 3, 10), now=now)
    assert (tokyo.pk, dt.date(2026, 3, 10)) not in daily_reports_due(now=now, lookback_days=2)


def test_due_skips_days_before_the_store_existed() -> None:
    store = StoreFactory(timezone="UTC")
    Store.objects.filter(pk=store.pk).update(created_at=dt.datetime(2026, 3, 10, 15, tzinfo=dt.UTC))
    now = dt.datetime(2026, 3, 12, 9, 0, tzinfo=dt.UTC)
    assert daily_reports_due(now=now, lookback_days=3) == [
        (store.pk, dt.date(2026, 3, 11)),
        (store.pk, dt.date(2026, 3, 10)),
    ]


def test_hourly_task_stores_yesterdays_reports_once() -> None:
    store = StoreFactory(timezone=_zone_at_local_noon())
    _backdate(store, days=10)
    local_yesterday = timezone.now().astimezone(zoneinfo.ZoneInfo(store.timezone)).date() - (
        dt.timedelta(days=1)
    )

    assert tasks.daily_reports_generate_due.delay().get() == 3  # yesterday and two days before
    assert DailyReport.objects.filter(store=store, date=local_yesterday).exists()
    assert DailyReport.objects.filter(store=store).count() == 3

    assert tasks.daily_reports_generate_due.delay().get() == 0  # nothing left to do
    assert DailyReport.objects.filter(store=store).count() == 3


def test_tasks_declare_time_limits_and_retries() -> None:
    for task in (
        tasks.daily_reports_generate_due,
        tasks.daily_report_generate,
        tasks.reconciliations_run_due,
        tasks.reconciliation_run,
    ):
        assert task.time_limit
        assert task.soft_time_limit
        assert task.soft_time_limit < task.time_limit
        assert task.max_retries
        assert task.retry_backoff
        assert task.autoretry_for


def test_report_queries_do_not_grow_with_the_number_of_orders(
    django_assert_num_queries, django_assert_max_num_queries, store, shift, cashier, tax10
) -> None:
    products = [ProductFactory(tax_rate=tax10) for _ in range(15)]

    def sell(count: int) -> None:
        for index in range(count):
            record_sale(
                shift=shift,
                cashier=cashier,
                at=ny(2026, 3, 10, 8 + index % 12, index % 60),
                lines=[(products[index % 15], "1"), (products[(index + 3) % 15], "2")],
            )

    sell(2)
    with django_assert_num_queries(8):  # six aggregates and two name lookups, nothing per row
        daily_report_compute(store=store, date=DAY, now=ny(2026, 3, 12, 0, 0))
    sell(40)
    with django_assert_num_queries(8):
        report = daily_report_compute(store=store, date=DAY, now=ny(2026, 3, 12, 0, 0))
    assert report.data["orders_count"] == 42
    assert len(report.data["top_products"]) == 10

    # Storing adds the upsert (a locking read and an insert or update, in savepoints).
    with django_assert_max_num_queries(16):
        daily_report_generate(store=store, date=DAY)


# --- Reconciliation runs -------------------------------------------------------------------------


def test_reconciliation_is_due_at_three_in_the_morning_local_time() -> None:
    tokyo = StoreFactory(timezone="Asia/Tokyo")  # UTC+9
    new_york = StoreFactory(timezone="America/New_York")  # UTC-4 in March
    at_tokyo_three = dt.datetime(2026, 3, 10, 18, 40, tzinfo=dt.UTC)  # Tokyo 03:40 on the 11th
    assert reconciliations_due(now=at_tokyo_three) == [(tokyo.pk, dt.date(2026, 3, 10))]
    at_new_york_three = dt.datetime(2026, 3, 11, 7, 40, tzinfo=dt.UTC)  # New York 03:40
    assert reconciliations_due(now=at_new_york_three) == [(new_york.pk, dt.date(2026, 3, 10))]
    assert reconciliations_due(now=dt.datetime(2026, 3, 11, 12, 0, tzinfo=dt.UTC)) == []


def test_reconciliation_run_records_its_result_in_the_audit_trail(
    store, shift, cashier, coffee
) -> None:
    # A sale written around the services: the ledger never saw its revenue.
    record_sale_around_the_services(
        shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")]
    )

    result = tasks.reconciliation_run.delay(store.pk, "2026-03-10").get()
    tasks.reconciliation_run.delay(store.pk, "2026-03-10").get()  # every run is recorded

    events = AuditEvent.objects.filter(action="reconciliation.run", store_id=store.pk)
    assert events.count() == 2
    event = events.order_by("id").last()
    assert event.object_type == "store_day"
    assert event.object_id == "2026-03-10"
    assert event.changes["result"] == result
    assert event.changes["read_from"] == "default"  # no replica configured
    assert result["ok"] is False
    revenue = next(c for c in result["comparisons"] if c["name"] == "sales_revenue")
    assert revenue["ok"] is False
    assert Decimal(revenue["expected"]) == Decimal("10.00")
    assert Decimal(revenue["ledger"]) == 0


def test_reconciliation_of_a_quiet_day_is_ok(store) -> None:
    result = tasks.reconciliation_run.delay(store.pk, "2026-03-10").get()
    assert result["ok"] is True
    assert AuditEvent.objects.filter(action="reconciliation.run").count() == 1
    assert tasks.reconciliation_run.delay(999_999, "2026-03-10").get() is None


def test_a_stored_report_reads_the_replica_only_once_it_cannot_miss_a_sale(
    store, settings, monkeypatch
) -> None:
    """A stored report is final: its figures come from the replica only when the day has been
    over for the grace period plus the most the replica may be behind (lag bound + check
    interval), however the lag bound is configured; else from the primary."""
    from orders.selectors.reports import local_day_bounds
    from orders.services import reports as services

    read_from: list[str] = []

    def figures(*, store: Store, date: dt.date, using: str) -> dict:
        read_from.append(using)
        return {}

    monkeypatch.setattr(services, "daily_report_figures", figures)
    monkeypatch.setattr(services, "read_reporting", lambda read: ("replica", read("replica")))
    settings.REPLICA_MAX_LAG_SECONDS = 600  # above the grace period (5 minutes)
    settings.REPLICA_CHECK_INTERVAL_SECONDS = 5
    _, end = local_day_bounds(tz=store.tzinfo, date=DAY)

    just_final = end + services.REPORT_FINAL_AFTER
    daily_report_generate(store=store, date=DAY, now=just_final)
    daily_report_generate(store=store, date=DAY, now=just_final + dt.timedelta(seconds=604))
    daily_report_generate(store=store, date=DAY, now=just_final + dt.timedelta(seconds=605))
    # Not stored, so never final: today's figures (or a past day's, shown) read the replica.
    daily_report_compute(store=store, date=DAY, now=just_final)
    assert read_from == ["default", "default", "replica", "replica"]
