"""Upkeep of the monthly partitions of the history tables (`dbtools.partitions`): audit events,
stock movements, journal lines and idempotency keys. Run daily by the beat task
`orders.tasks.partitions_ensure` and by hand with `manage.py partitions`.

It lives in `orders` because it is the one app that may know every history table (the key
table's retention is the orders' business)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from dbtools.partitions import Month, ddl_transaction, ensure_partitions, partitioned_tables
from monitoring.metrics import PARTITION_MAINTENANCE_FAILURES
from orders.services.idempotency import idempotency_keys_purge_expired

logger = logging.getLogger(__name__)

__all__ = ["partitions_maintain"]


def partitions_maintain(
    *, since: Month | None = None, months_ahead: int | None = None, now: dt.datetime | None = None
) -> dict[str, list[str]]:
    """Create the missing partitions (from `since`, default this month, through
    `months_ahead` months ahead, default `settings.PARTITION_MONTHS_AHEAD`), then drop the
    idempotency-key partitions past retention. `{"created": [...], "dropped": [...]}`."""
    now = now or timezone.now()
    try:
        created = []
        # One short transaction per table, each waiting `ddl_lock_timeout_ms` at most for the
        # table's lock (creating a partition locks its parent exclusively, and sales queue
        # behind it): never one table's lock held while waiting for the next one's.
        for table in partitioned_tables():
            with ddl_transaction():
                created += ensure_partitions(
                    months_ahead=months_ahead, since=since, now=now, tables=[table]
                )
        dropped = idempotency_keys_purge_expired(now=now)
    except Exception:
        PARTITION_MAINTENANCE_FAILURES.inc()
        logger.exception("partition maintenance failed")
        raise
    if created or dropped:
        logger.info("partitions created %s, dropped %s", created, dropped)
    return {"created": created, "dropped": dropped}
