"""The `IdempotencyKey` table: where the `Idempotency-Key`s of sales, refunds and shift commands
are kept, and for how long.

The exactly-once mechanism itself is an API-layer piece (`apitools.idempotency`, bound to
these functions in `orders.views.idempotency`); it claims a key row, stores the answer on it and
finds it again. Services know nothing of keys or statuses.

Keys are kept `max(72, settings.IDEMPOTENCY_KEY_TTL_HOURS)` hours (`expires_at`);
`idempotency_keys_purge_expired` (task `orders.tasks.purge_expired_idempotency_keys`) deletes
expired ones, and an expired key still present is treated as unused.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from orders.models import IdempotencyKey, IdempotencyState

__all__ = [
    "MIN_TTL_HOURS",
    "idempotency_key_claim",
    "idempotency_key_complete",
    "idempotency_key_find",
    "idempotency_key_forget",
    "idempotency_keys_purge_expired",
]

MIN_TTL_HOURS = 72


def _ttl() -> timedelta:
    return timedelta(hours=max(MIN_TTL_HOURS, int(settings.IDEMPOTENCY_KEY_TTL_HOURS)))


def idempotency_key_claim(
    *, user_id: int, key: str, endpoint: str, fingerprint: str, now: datetime
) -> int | None:
    """Insert the key row; the id if this request owns the key, `None` if it already existed.

    `ON CONFLICT DO NOTHING` rather than a savepoint around a plain INSERT: one query, and it
    waits for a concurrent owner to finish before deciding, which is what turns a concurrent
    duplicate into a replay.
    """
    qn = connection.ops.quote_name
    columns = (
        "user_id",
        "key",
        "endpoint",
        "fingerprint",
        "state",
        "response_body",
        "created_at",
        "expires_at",
    )
    sql = (
        f"INSERT INTO {qn(IdempotencyKey._meta.db_table)} "  # noqa: S608 - names from the model
        f"({', '.join(qn(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({qn('user_id')}, {qn('key')}) DO NOTHING RETURNING {qn('id')}"  # nosec B608
    )
    stamp = IdempotencyKey._meta.get_field("created_at")
    params = [
        user_id,
        key,
        endpoint[:128],
        fingerprint,
        IdempotencyState.PROCESSING.value,
        "",
        stamp.get_db_prep_value(now, connection),
        stamp.get_db_prep_value(now + _ttl(), connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return int(row[0]) if row else None


def idempotency_key_complete(*, row_id: int, status: int, body_text: str) -> None:
    """Store the answer on the key row (a plain UPDATE written out: built through the ORM it
    cost a sale more Python than the statement costs the database)."""
    qn = connection.ops.quote_name
    sql = (
        f"UPDATE {qn(IdempotencyKey._meta.db_table)} SET {qn('state')} = %s, "  # noqa: S608
        f"{qn('response_status')} = %s, {qn('response_body')} = %s "  # nosec B608
        f"WHERE {qn('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [IdempotencyState.COMPLETED.value, status, body_text, row_id])


def idempotency_key_find(*, user_id: int, key: str) -> IdempotencyKey | None:
    """The key row with what a replay needs (not the request's other columns)."""
    return (
        IdempotencyKey.objects.filter(user_id=user_id, key=key)
        .only("id", "fingerprint", "state", "response_status", "response_body", "expires_at")
        .first()
    )


def idempotency_key_forget(*, row_id: int, now: datetime) -> None:
    """Delete the key row if it has expired by `now` (an expired key counts as unused)."""
    IdempotencyKey.objects.filter(pk=row_id, expires_at__lte=now).delete()


def idempotency_keys_purge_expired(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete expired keys in batches (short transactions, no long table lock); the count."""
    now = now or timezone.now()
    deleted = 0
    while True:
        ids = list(
            IdempotencyKey.objects.filter(expires_at__lte=now)
            .order_by("id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            count, _ = IdempotencyKey.objects.filter(id__in=ids, expires_at__lte=now).delete()
        deleted += count
