"""Upkeep of the monthly partitions of the history tables (`dbtools.partitions`): audit events,
stock movements, journal lines and idempotency keys. Run daily by the beat task
`orders.tasks.partitions_ensure` and by hand with `manage.py partitions`.

It lives in `orders` because it is the one app that may know every history table (the key
table's retention is the orders' business)."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from dbtools.partitions import Month, ensure_partitions
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
        with transaction.atomic():
            created = ensure_partitions(months_ahead=months_ahead, since=since, now=now)
        dropped = idempotency_keys_purge_expired(now=now)
    except Exception:
        PARTITION_MAINTENANCE_FAILURES.inc()
        logger.exception("partition maintenance failed")
        raise
    if created or dropped:
        logger.info("partitions created %s, dropped %s", created, dropped)
    return {"created": created, "dropped": dropped}
