"""Exactly-once POSTs: the `Idempotency-Key` mechanism of sales and refunds.

Interface (views call it; the action does the real work)::

    from orders.services.idempotency import run_idempotent
    from orders.views.idempotency import IDEMPOTENCY_KEY_PARAMETER, idempotent_response

    outcome = run_idempotent(
        user=request.user,
        key=request.headers.get("Idempotency-Key"),
        endpoint="orders.create",                 # a stable name per operation
        payload=request.data,                     # the parsed JSON body, as sent
        action=lambda: (201, OrderSerializer(order_create(...)).data),
    )
    return idempotent_response(outcome)           # adds `Idempotent-Replayed: true` on replays

`action()` runs **inside** the transaction that holds the key row and must return
`(status, body)` with a JSON-serialisable body; it validates its input itself. Anything it raises
(a serializer `ValidationError`, a `DomainError` such as `insufficient_stock`) propagates and rolls
the whole transaction back, key row included: a failed request stores nothing and the same key
may be retried afresh (Stripe stores 4xx answers; we do not, because a refused sale is often
retried after fixing the cause, e.g. opening the shift).

Semantics:

* The key is required: missing, empty, over 255 characters or not printable ASCII →
  `400 validation_error` (`IdempotencyKeyMissing`). Keys are scoped to the user.
* The request fingerprint is the SHA-256 of the canonical JSON (sorted keys, no whitespace) of
  the endpoint name and the parsed body.
* First request: the key row is inserted (state `processing`) with `INSERT … ON CONFLICT DO
  NOTHING`, the action runs, its status and body are stored (state `completed`), one commit.
* A concurrent duplicate blocks on the unique index until the first transaction ends (PostgreSQL),
  then replays the stored response — "waits and replays". If the wait passes the database lock
  timeout, or the row is somehow seen still `processing` → `409 idempotency_key_in_use`.
* Same key, same fingerprint → the original status and body, `replayed=True` (the view adds the
  `Idempotent-Replayed: true` header), nothing runs; `pos_idempotent_replays_total` counts it.
* Same key, different fingerprint (other body or other endpoint) → `422 idempotency_key_reused`.
* The action waited past the lock timeout for a row another request holds, or lost a deadlock →
  `429 throttled` with `Retry-After: 1` (nothing written; resend the same request, same key).
* Keys are kept `max(72, settings.IDEMPOTENCY_KEY_TTL_HOURS)` hours (`expires_at`);
  `idempotency_keys_purge_expired` (task `orders.tasks.purge_expired_idempotency_keys`) deletes
  expired ones, and an expired key still present is treated as unused.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from audit.services import audit_at_end
from domain.errors import Throttled
from monitoring.metrics import IDEMPOTENT_REPLAYS
from orders.models import IdempotencyKey, IdempotencyState
from posproject.api.idempotency import (
    IdempotencyKeyInUse,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
)

__all__ = [
    "IDEMPOTENCY_HEADER",
    "MIN_TTL_HOURS",
    "REPLAYED_HEADER",
    "IdempotentOutcome",
    "idempotency_keys_purge_expired",
    "request_fingerprint",
    "run_idempotent",
    "validate_idempotency_key",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MIN_TTL_HOURS = 72
MAX_KEY_LENGTH = 255
_PRINTABLE_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")
# PostgreSQL: lock_not_available (lock_timeout) and query_canceled (statement_timeout) …
_WAIT_EXPIRED_SQLSTATES = {"55P03", "57014"}
# … and, inside the action, deadlock_detected and serialization_failure too.
_CONTENTION_SQLSTATES = {"55P03", "57014", "40P01", "40001"}


@dataclass(frozen=True, slots=True)
class IdempotentOutcome:
    """The answer: its status and its JSON text, byte for byte the same on every replay."""

    status: int
    body_text: str
    replayed: bool

    @property
    def body(self) -> Any:
        return json.loads(self.body_text)


def validate_idempotency_key(raw: str | None) -> str:
    if raw is None or not raw.strip():
        raise IdempotencyKeyMissing(
            errors={IDEMPOTENCY_HEADER: ["This header is required."]},
        )
    if len(raw) > MAX_KEY_LENGTH:
        raise IdempotencyKeyMissing(
            errors={IDEMPOTENCY_HEADER: [f"At most {MAX_KEY_LENGTH} characters."]},
        )
    if not _PRINTABLE_KEY.match(raw):
        raise IdempotencyKeyMissing(
            errors={IDEMPOTENCY_HEADER: ["Only printable ASCII characters are allowed."]},
        )
    return raw


def _canonical_json(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, cls=DjangoJSONEncoder
    )


def request_fingerprint(*, endpoint: str, payload: Any) -> str:
    canonical = _canonical_json({"endpoint": endpoint, "body": payload})
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _ttl() -> timedelta:
    return timedelta(hours=max(MIN_TTL_HOURS, int(settings.IDEMPOTENCY_KEY_TTL_HOURS)))


def _claim(*, user_id: int, key: str, endpoint: str, fingerprint: str, now: datetime) -> int | None:
    """Insert the key row; the id if this request owns the key, `None` if it already existed.

    `ON CONFLICT DO NOTHING` (PostgreSQL and SQLite ≥ 3.35) rather than a savepoint around a
    plain INSERT: one query, and on PostgreSQL it waits for a concurrent owner to finish before
    deciding, which is what turns a concurrent duplicate into a replay.
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


def _complete(*, row_id: int, status: int, body_text: str) -> None:
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


def _sqlstate(exc: DatabaseError) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def run_idempotent(
    *,
    user: Any,
    key: str | None,
    endpoint: str,
    payload: Mapping[str, Any] | Any,
    action: Callable[[], tuple[int, Any]],
) -> IdempotentOutcome:
    """Run `action` at most once per (user, key); see the module docstring."""
    key = validate_idempotency_key(key)
    fingerprint = request_fingerprint(endpoint=endpoint, payload=payload)

    for _attempt in range(2):
        now = timezone.now()
        with transaction.atomic():
            try:
                row_id = _claim(
                    user_id=user.pk, key=key, endpoint=endpoint, fingerprint=fingerprint, now=now
                )
            except DatabaseError as exc:
                if _sqlstate(exc) in _WAIT_EXPIRED_SQLSTATES:
                    raise IdempotencyKeyInUse() from None
                raise
            if row_id is not None:
                try:
                    # The audit events of the action are appended after the response is
                    # stored, as the transaction's last statement: the store's chain head is
                    # then locked only from there to the commit (`audit.services`).
                    with audit_at_end():
                        status, body = action()
                        body_text = _canonical_body(body)
                        _complete(row_id=row_id, status=status, body_text=body_text)
                except DatabaseError as exc:
                    if _sqlstate(exc) in _CONTENTION_SQLSTATES:
                        raise _busy() from None
                    raise
                return IdempotentOutcome(status=status, body_text=body_text, replayed=False)
            existing = (
                IdempotencyKey.objects.filter(user_id=user.pk, key=key)
                .only(
                    "id", "fingerprint", "state", "response_status", "response_body", "expires_at"
                )
                .first()
            )

        if existing is None:
            continue  # the owner rolled back between our insert and our read: claim again
        if existing.expires_at <= now:
            IdempotencyKey.objects.filter(pk=existing.pk, expires_at__lte=now).delete()
            continue
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if existing.state != IdempotencyState.COMPLETED or existing.response_status is None:
            raise IdempotencyKeyInUse()
        IDEMPOTENT_REPLAYS.labels(endpoint=endpoint).inc()
        return IdempotentOutcome(
            status=existing.response_status, body_text=existing.response_body, replayed=True
        )
    raise IdempotencyKeyInUse()


def _busy() -> Throttled:
    """The action waited too long for a row another request holds (the register's shift during a
    burst of sales on one till, a stock level, a chain head) or lost a deadlock: nothing was
    written, and the very same request (same key) can simply be sent again. Stripe answers this
    case (`lock_timeout`) with a 429 as well."""
    exc = Throttled(
        "Another request is working on the same register or stock right now; nothing was "
        "written. Retry shortly with the same Idempotency-Key.",
        retry_after=1,
    )
    exc.scope = "row_lock"  # type: ignore[attr-defined]
    return exc


def _canonical_body(body: Any) -> str:
    """The body as stored and as answered: JSON text keeps key order (jsonb would not), so a
    replay is byte-for-byte the original. Written as DRF's JSON renderer writes (compact, UTF-8
    rather than `\\u` escapes), and answered as this very text, not rendered again."""
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


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
