"""Celery tasks of selling. Each takes ids (and ISO dates), imports its service and calls it; each
is idempotent, has time limits, and retries with backoff when the database is in trouble.

The beat schedule lives in the database (django-celery-beat), seeded by the data migration
`orders/migrations/*_seed_beat_schedule.py`; admins edit it in the Django admin.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

logger = logging.getLogger(__name__)

#: Shared by the tasks below: retried on database errors (connection lost, deadlock, lock or
#: statement timeout, a unique race), with exponential backoff and jitter; acknowledged only
#: once done, so a worker lost mid-task hands the task to another.
_RETRYING: dict[str, Any] = {
    "autoretry_for": (DatabaseError,),
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
    "acks_late": True,
}


# --- Daily reports ------------------------------------------------------------------------------


@shared_task(
    name="orders.tasks.daily_reports_generate_due",
    soft_time_limit=60,
    time_limit=90,
    **_RETRYING,
)
def daily_reports_generate_due() -> int:
    """Hourly: enqueue the report of every store's previous local day once that day is over
    (and of the few days before it that lack one). Days already stored are skipped, so running
    it again is harmless. Returns the number of reports enqueued."""
    from orders.services.reports import daily_reports_due

    due = daily_reports_due(now=timezone.now())
    for store_id, date in due:
        daily_report_generate.delay(store_id, date.isoformat())
    return len(due)


@shared_task(
    name="orders.tasks.daily_report_generate",
    soft_time_limit=120,
    time_limit=150,
    **_RETRYING,
)
def daily_report_generate(store_id: int, date: str) -> int | None:
    """Compute and store the report of one store's local day; a rerun replaces the stored
    report. Returns the report's id (None when the store is gone or the day is not over)."""
    from accounts.models import Store
    from domain.errors import InvalidInput
    from orders.services.reports import daily_report_generate as generate

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        logger.warning("daily report skipped: store %s does not exist", store_id)
        return None
    try:
        report = generate(store=store, date=dt.date.fromisoformat(date))
    except InvalidInput:
        logger.warning("daily report skipped: %s is not over for store %s", date, store_id)
        return None
    return report.pk


# --- Reconciliation -----------------------------------------------------------------------------


@shared_task(
    name="orders.tasks.reconciliations_run_due",
    soft_time_limit=60,
    time_limit=90,
    **_RETRYING,
)
def reconciliations_run_due() -> int:
    """Hourly: enqueue the reconciliation of the previous local day of every store whose local
    clock is in its reconciliation hour (03:00–03:59), i.e. once a day per store."""
    from orders.services.reports import reconciliations_due

    due = reconciliations_due(now=timezone.now())
    for store_id, date in due:
        reconciliation_run.delay(store_id, date.isoformat())
    return len(due)


@shared_task(
    name="orders.tasks.reconciliation_run",
    soft_time_limit=240,
    time_limit=300,
    **_RETRYING,
)
def reconciliation_run(store_id: int, date: str) -> dict | None:
    """Reconcile one store's local day and record the result in the audit trail
    (`reconciliation.run`). Read-only on the books, so a rerun only records another check."""
    from accounts.models import Store
    from orders.services.reports import reconciliation_record

    store = Store.objects.filter(pk=store_id).first()
    if store is None:
        logger.warning("reconciliation skipped: store %s does not exist", store_id)
        return None
    return reconciliation_record(store=store, date=dt.date.fromisoformat(date))


# --- Idempotency keys ---------------------------------------------------------------------------


@shared_task(
    name="orders.tasks.purge_expired_idempotency_keys",
    soft_time_limit=240,
    time_limit=300,
    **_RETRYING,
)
def purge_expired_idempotency_keys() -> int:
    """Drop the Idempotency-Key partitions whose every key is past its `expires_at` (kept
    ≥ 72 h): a `DROP TABLE` per month, never a DELETE. Returns how many partitions were dropped;
    running it twice is harmless."""
    from orders.services.idempotency import idempotency_keys_purge_expired

    return len(idempotency_keys_purge_expired())


# --- Partitions ---------------------------------------------------------------------------------


@shared_task(
    name="orders.tasks.partitions_ensure",
    soft_time_limit=240,
    time_limit=300,
    **_RETRYING,
)
def partitions_ensure() -> dict[str, list[str]]:
    """Daily: create the history tables' monthly partitions `PARTITION_MONTHS_AHEAD` months
    ahead (a month without its partition refuses every row) and drop the expired
    idempotency-key partitions. Idempotent. A failure is logged, counted
    (`pos_partition_maintenance_failures_total`) and retried."""
    from orders.services.partitions import partitions_maintain

    return partitions_maintain()
