"""The `IdempotencyKey` table: where the `Idempotency-Key`s of sales, refunds and shift commands
are kept, and for how long.

The exactly-once mechanism itself is an API-layer piece (`apitools.idempotency`, bound to
these functions in `orders.views.idempotency`); it claims a key row, stores the answer on it and
finds it again. Services know nothing of keys or statuses.

Keys are kept `max(72, settings.IDEMPOTENCY_KEY_TTL_HOURS)` hours (`expires_at`), and an expired
key still present is treated as unused. The table is partitioned by month of `created_at`
(`dbtools.partitions`): `idempotency_keys_purge_expired` (tasks
`orders.tasks.purge_expired_idempotency_keys` and `orders.tasks.partitions_ensure`) drops the
partitions whose every key has expired — a `DROP TABLE`, never a DELETE.

(user, key) is unique among unexpired keys by `orders_idempotency_key_claim`, a database function
(orders/migrations/0020_partition_idempotency_keys.py): it serialises the claims of one (user,
key) on a transaction-scoped advisory lock, then checks and inserts. The lock is held until the
claimer commits or rolls back, so of any number of concurrent requests with one key exactly one
runs the work; the others wait and then find its key (a replay, or `in use`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from dbtools.partitions import ddl_transaction, partitions_of
from dbtools.rows import qn
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

_PURGE_LOCK = 20019
"""The purge's advisory lock (one-key form: apart from the claims' two-key locks)."""


def _ttl() -> timedelta:
    return timedelta(hours=max(MIN_TTL_HOURS, int(settings.IDEMPOTENCY_KEY_TTL_HOURS)))


def idempotency_key_claim(
    *, user_id: int, key: str, endpoint: str, fingerprint: str, now: datetime
) -> int | None:
    """Insert the key row; the id if this request owns the key, `None` if an unexpired one
    already existed.

    One query: `orders_idempotency_key_claim` locks (user, key) for the rest of the transaction,
    so it waits for a concurrent owner to finish before deciding, which is what turns a
    concurrent duplicate into a replay. An expired key is ignored (it stays until its partition
    is dropped).
    """
    stamp = IdempotencyKey._meta.get_field("created_at")
    params = [
        user_id,
        key,
        endpoint[:128],
        fingerprint,
        IdempotencyState.PROCESSING.value,
        stamp.get_db_prep_value(now, connection),
        stamp.get_db_prep_value(now + _ttl(), connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT orders_idempotency_key_claim(%s, %s, %s, %s, %s, %s, %s), "
            "current_setting('transaction_isolation')",
            params,
        )
        claimed, isolation = cursor.fetchone()
    if isolation != "read committed":
        # Under REPEATABLE READ or SERIALIZABLE the check after the lock wait reads the
        # transaction's old snapshot, misses a key committed meanwhile, and both requests run.
        raise RuntimeError(
            f"Idempotency-Key claims need READ COMMITTED, not {isolation.upper()}: "
            "a concurrent duplicate could run twice."
        )
    return None if claimed is None else int(claimed)


def idempotency_key_complete(*, row_id: int, status: int, body_text: str) -> None:
    """Store the answer on the key row (a plain UPDATE written out: built through the ORM it
    cost a sale more Python than the statement costs the database)."""
    sql = (
        f"UPDATE {qn(IdempotencyKey._meta.db_table)} SET {qn('state')} = %s, "  # noqa: S608
        f"{qn('response_status')} = %s, {qn('response_body')} = %s "  # nosec B608
        f"WHERE {qn('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [IdempotencyState.COMPLETED.value, status, body_text, row_id])


def idempotency_key_find(*, user_id: int, key: str) -> IdempotencyKey | None:
    """The newest key row with what a replay needs (not the request's other columns); an
    expired key may sit behind it until its partition is dropped."""
    return (
        IdempotencyKey.objects.filter(user_id=user_id, key=key)
        .only("id", "fingerprint", "state", "response_status", "response_body", "expires_at")
        .order_by("-id")
        .first()
    )


def idempotency_key_forget(*, row_id: int, now: datetime) -> None:
    """Nothing to do: an expired key is ignored by the claim and removed with its partition
    (rows are never deleted one by one)."""


def idempotency_keys_retention_bound(*, now: datetime) -> datetime:
    """Every key created before this instant has expired by `now`."""
    return now - _ttl()


def idempotency_keys_purge_expired(*, now: datetime | None = None) -> list[str]:
    """Drop the monthly partitions of the key table whose every key has expired (the month
    ended at least one retention period ago); the partitions dropped.

    A `DROP` of a partition takes an exclusive lock on the parent, and every sale that starts
    while it waits for that lock queues behind it: it waits `ddl_lock_timeout_ms` at most (a
    busy table makes the purge fail and the task retry), so no queued sale times out."""
    now = now or timezone.now()
    bound = idempotency_keys_retention_bound(now=now)
    dropped: list[str] = []
    with ddl_transaction() as cursor:
        # One purge at a time (the hourly task and the daily one, or a retry, may overlap): the
        # other would list a partition this one drops and then fail on it. Nothing is lost by
        # skipping: the running purge drops what is due.
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_PURGE_LOCK])
        if not cursor.fetchone()[0]:
            return dropped
        for partition in partitions_of(IdempotencyKey._meta.db_table):
            if partition.month.end > bound:
                continue
            # A key kept longer (the TTL was longer when it was made) keeps its month.
            cursor.execute(f"SELECT max(expires_at) FROM {qn(partition.name)}")  # noqa: S608 # nosec B608
            (last_expiry,) = cursor.fetchone()
            if last_expiry is not None and last_expiry > now:
                continue
            cursor.execute(f"DROP TABLE {qn(partition.name)}")
            dropped.append(partition.name)
    return dropped
