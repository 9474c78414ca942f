"""`Idempotency-Key` for the orders API: the API toolkit's decorator bound to the orders'
`IdempotencyKey` table (`orders.services.idempotency`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from rest_framework.response import Response

from apitools import idempotency as api_idempotency
from apitools.idempotency import IdempotencyStore, StoredAnswer
from audit.services import audit_at_end
from orders.models import IdempotencyState
from orders.services.idempotency import (
    idempotency_key_claim,
    idempotency_key_complete,
    idempotency_key_find,
    idempotency_key_forget,
)


def _find(*, user_id: int, key: str) -> StoredAnswer | None:
    row = idempotency_key_find(user_id=user_id, key=key)
    if row is None:
        return None
    return StoredAnswer(
        row_id=row.pk,
        fingerprint=row.fingerprint,
        completed=row.state == IdempotencyState.COMPLETED,
        status=row.response_status,
        body_text=row.response_body,
        expires_at=row.expires_at,
    )


IDEMPOTENCY_KEYS = IdempotencyStore(
    claim=idempotency_key_claim,
    complete=idempotency_key_complete,
    find=_find,
    forget=idempotency_key_forget,
)


def idempotent(
    endpoint: str, *, status: int, required: bool = True
) -> Callable[[Callable[..., Any]], Callable[..., HttpResponse | Response]]:
    """`apitools.idempotency.idempotent` on the orders' key table. The audit events of the
    work are appended after its answer is stored, as the transaction's last statement: the
    store's chain head is then locked only from there to the commit (`audit.services`)."""
    return api_idempotency.idempotent(
        endpoint, store=IDEMPOTENCY_KEYS, status=status, required=required, around=audit_at_end
    )
