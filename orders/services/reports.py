"""Daily reports: generate and store a store's figures for one local day, or compute them on demand.

A report is stored only for a day that is over: the store's local day has ended and a short grace
period (`REPORT_FINAL_AFTER`) has passed, so a sale whose transaction began just before midnight
has committed. From then on nothing can change the day's figures (see `orders.selectors.reports`
for what belongs to a day), so a stored report is final and is served as it is. Regenerating
replaces the stored row (`update_or_create` on the unique `(store, date)`), never duplicates it.

For today (or the few minutes of grace after midnight) the figures are computed on demand and not
stored: the day is not over.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.utils import timezone

from accounts.models import Store
from audit.services import audit_record
from domain.errors import InvalidInput
from monitoring.metrics import RECONCILIATION_DIFFERENCES
from orders.models import DailyReport
from orders.selectors.reports import daily_report_figures, local_day_bounds, local_today
from posproject.replica import read_reporting
from spreadsheets import safe_cell

logger = logging.getLogger(__name__)

#: How long after local midnight a day counts as over (late commits of sales begun before it).
REPORT_FINAL_AFTER = dt.timedelta(minutes=5)
#: Reports cover 1970-01-01 onwards (and never a day after the store's local today).
EARLIEST_REPORT_DATE = dt.date(1970, 1, 1)
#: How many past days the hourly schedule checks for a missing report (yesterday included).
REPORT_CATCHUP_DAYS = 3


def _check_reportable(*, store: Store, date: dt.date, now: dt.datetime) -> None:
    if date > local_today(store=store, now=now):
        raise InvalidInput(errors={"date": ["The store's local day has not begun yet."]})
    if date < EARLIEST_REPORT_DATE:
        raise InvalidInput(errors={"date": ["Reports start on 1970-01-01."]})


def daily_report_is_final(*, store: Store, date: dt.date, now: dt.datetime | None = None) -> bool:
    """Whether `date` is over for `store` (its local day ended at least the grace period ago)."""
    _, end = local_day_bounds(tz=store.tzinfo, date=date)
    return (now or timezone.now()) >= end + REPORT_FINAL_AFTER


def daily_report_compute(
    *, store: Store, date: dt.date, now: dt.datetime | None = None, using: str | None = None
) -> DailyReport:
    """The report for `store` on `date`, computed now and not stored (an unsaved instance).

    The figures are read from `using`, by default the read replica when it is within its lag
    bound (`posproject.replica.read_reporting`: the primary when the replica stops answering):
    a report of today may then be up to that many seconds behind the till. A report to be
    stored reads where `_final_figures_db` says."""
    now = now or timezone.now()
    _check_reportable(store=store, date=date, now=now)
    if using is None:
        _, data = read_reporting(lambda db: daily_report_figures(store=store, date=date, using=db))
    else:
        data = daily_report_figures(store=store, date=date, using=using)
    return DailyReport(store=store, date=date, data=data, generated_at=now)


def _final_figures_db(*, store: Store, date: dt.date, now: dt.datetime) -> str | None:
    """Where a report to be stored (final, never recomputed) reads its figures: the replica
    (None: wherever reports read) only once the day has been over for the grace period plus the
    most the replica may be behind (its lag bound plus the interval its state is cached for), so
    it holds every sale the primary would count; before that (a report asked for right after the
    grace period, or a lag bound configured near or above `REPORT_FINAL_AFTER`) the primary."""
    _, end = local_day_bounds(tz=store.tzinfo, date=date)
    behind = dt.timedelta(
        seconds=settings.REPLICA_MAX_LAG_SECONDS + settings.REPLICA_CHECK_INTERVAL_SECONDS
    )
    return None if now >= end + REPORT_FINAL_AFTER + behind else DEFAULT_DB_ALIAS


def daily_report_generate(
    *, store: Store, date: dt.date, now: dt.datetime | None = None
) -> DailyReport:
    """Compute the report of a day that is over and store it, replacing any stored one.

    Refuses a day that is not over: a stored report is final by definition."""
    now = now or timezone.now()
    _check_reportable(store=store, date=date, now=now)
    if not daily_report_is_final(store=store, date=date, now=now):
        raise InvalidInput(
            errors={"date": ["The store's local day is not over yet; its report cannot be stored."]}
        )
    computed = daily_report_compute(
        store=store, date=date, now=now, using=_final_figures_db(store=store, date=date, now=now)
    )
    with transaction.atomic():
        report, _ = DailyReport.objects.update_or_create(
            store=store,
            date=date,
            defaults={"data": computed.data, "generated_at": computed.generated_at},
        )
    return report


def daily_report_get(*, store: Store, date: dt.date, now: dt.datetime | None = None) -> DailyReport:
    """The stored report if there is one; else, for a day that is over, generate and store it;
    else (today) compute it without storing."""
    now = now or timezone.now()
    _check_reportable(store=store, date=date, now=now)
    stored = DailyReport.objects.filter(store=store, date=date).select_related("store").first()
    if stored is not None:
        return stored
    if daily_report_is_final(store=store, date=date, now=now):
        return daily_report_generate(store=store, date=date, now=now)
    return daily_report_compute(store=store, date=date, now=now)


def daily_reports_due(
    *, now: dt.datetime | None = None, lookback_days: int = REPORT_CATCHUP_DAYS
) -> list[tuple[int, dt.date]]:
    """`(store_id, date)` of every recent day that is over and has no stored report yet: each
    store's last `lookback_days` local days before today (yesterday once it is final, and the
    days before it, to catch up after a worker outage). Days before the store existed are
    skipped. Two queries."""
    now = now or timezone.now()
    candidates: list[tuple[int, dt.date]] = []
    for store in Store.objects.order_by("id"):
        today = local_today(store=store, now=now)
        opened = store.created_at.astimezone(store.tzinfo).date()
        for back in range(1, lookback_days + 1):
            date = today - dt.timedelta(days=back)
            if date >= opened and daily_report_is_final(store=store, date=date, now=now):
                candidates.append((store.pk, date))
    if not candidates:
        return []
    dates = {date for _, date in candidates}
    stored = set(
        DailyReport.objects.filter(
            store_id__in={store_id for store_id, _ in candidates},
            date__gte=min(dates),
            date__lte=max(dates),
        ).values_list("store_id", "date")
    )
    return [candidate for candidate in candidates if candidate not in stored]


def daily_report_payload(*, report: DailyReport) -> dict[str, Any]:
    """The contract's response body of a report (stored or computed)."""
    return {
        "store": report.store_id,
        "currency": report.store.currency,  # not rendered: the amounts' minor units
        "date": report.date,
        **report.data,
        "generated_at": report.generated_at,
    }


# --- Reconciliation runs ----------------------------------------------------------------------

#: The local hour at which each store's previous day is reconciled (after the nightly report).
RECONCILIATION_LOCAL_HOUR = 3
RECONCILIATION_ACTION = "reconciliation.run"


def reconciliations_due(*, now: dt.datetime | None = None) -> list[tuple[int, dt.date]]:
    """`(store_id, previous local day)` of the stores whose local clock is in the hour
    `RECONCILIATION_LOCAL_HOUR`: an hourly schedule thereby reconciles every store once a day,
    at night in its own time zone. One query."""
    now = now or timezone.now()
    due = []
    for store in Store.objects.order_by("id"):
        local = now.astimezone(store.tzinfo)
        if local.hour == RECONCILIATION_LOCAL_HOUR:
            due.append((store.pk, local.date() - dt.timedelta(days=1)))
    return due


def reconciliation_record(*, store: Store, date: dt.date) -> dict[str, Any]:
    """Reconcile the ledger with the sales of `store` on `date` and record the outcome in the
    audit trail (`reconciliation.run`, the result in `changes`, and the database it was read from
    in `read_from`: a difference found on the read replica is checked again on the primary before
    acting on it). Every run is recorded, also a rerun: the trail shows when the books were
    checked and what was found."""
    from orders.reconciliation import reconcile_store_day

    database, outcome = read_reporting(
        lambda db: reconcile_store_day(store=store, date=date, using=db)
    )
    result = _plain(outcome)
    for comparison in outcome.differences:
        # The books disagree with the records: an operator must look (alert
        # PosReconciliationDifference on this counter; the details are in the audit event).
        RECONCILIATION_DIFFERENCES.labels(store=store.code, comparison=comparison.name).inc()
        logger.error(
            "reconciliation difference: store %s on %s, %s: ledger %s, expected %s (%s); "
            "read from %s",
            store.code,
            date.isoformat(),
            comparison.name,
            comparison.ledger,
            comparison.expected,
            comparison.difference,
            database,
        )
    with transaction.atomic():
        audit_record(
            action=RECONCILIATION_ACTION,
            actor=None,
            store_id=store.pk,
            object_type="store_day",
            object_id=date.isoformat(),
            changes={"date": date.isoformat(), "result": result, "read_from": database},
        )
    return result


def _plain(value: Any) -> Any:
    """A reconciliation result (its `as_dict()`, a dataclass, mapping, list, Decimal …) as
    JSON-ready data."""
    if callable(getattr(value, "as_dict", None)):
        return _plain(value.as_dict())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _plain(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


# --- CSV ---------------------------------------------------------------------------------------

SUMMARY_FIELDS = (
    "store",
    "date",
    "orders_count",
    "gross_sales",
    "discount_total",
    "net_sales",
    "tax_total",
    "refunds_total",
    "returns_count",
    "returns_total",
    "voids_count",
    "voids_total",
    "rounding_total",
    "tips_total",
    "cash",
    "card",
    "other",
    "generated_at",
)
CSV_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("by_hour", ("hour", "orders", "total")),
    ("top_products", ("product", "name", "quantity", "total")),
    ("by_cashier", ("cashier", "username", "orders", "total")),
)


def daily_report_csv(*, payload: Mapping[str, Any]) -> str:
    """The report as CSV: one section per table, separated by a blank line. Every row starts
    with its section's name (`summary`, `by_hour`, `top_products`, `by_cashier`) and every
    section begins with its own header row (`section,<columns…>`). The summary row flattens
    `by_tender` into `cash,card,other`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    summary = {**payload, **payload["by_tender"]}
    _write_section(writer, "summary", SUMMARY_FIELDS, [summary])
    for name, columns in CSV_SECTIONS:
        buffer.write("\r\n")
        _write_section(writer, name, columns, payload[name])
    return buffer.getvalue()


def _write_section(
    writer: Any, name: str, columns: tuple[str, ...], rows: Iterable[Mapping[str, Any]]
) -> None:
    writer.writerow(("section", *columns))
    for row in rows:
        writer.writerow((name, *(safe_cell(row.get(column, "")) for column in columns)))
