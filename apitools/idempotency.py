"""Exactly-once POSTs with an `Idempotency-Key` header: a decorator for the view's work.

Usage (the store is where an app keeps its keys: `orders.views.idempotency` binds the
`IdempotencyKey` table of `orders`)::

    @idempotent("orders.refunds:{pk}", store=KEYS, status=201)
    def post(self, request, pk): ...                  # returns the body (`serializer.data`)

The decorated method does the work — validate the input, call the service, serialize the result
— and returns the response **body**; the decorator declares its success status. The method runs
**inside** the transaction that holds the key row. Anything it raises (a serializer
`ValidationError`, a `DomainError` such as `insufficient_stock`) propagates and rolls the whole
transaction back, key row included: a failed request stores nothing and the same key may be
retried afresh (Stripe stores 4xx answers; we do not, because a refused sale is often retried
after fixing the cause, e.g. opening the shift). Services never see a status or a key.

Semantics:

* The key is required (unless `required=False`: then a request without the header simply runs):
  missing, empty, over 255 characters or not printable ASCII → `400 validation_error`
  (`IdempotencyKeyMissing`). Keys are scoped to the user.
* The request fingerprint is the SHA-256 of the canonical JSON (sorted keys, no whitespace) of
  the endpoint name and the parsed body.
* First request: the key row is claimed (state `processing`, one statement: the store's claim,
  for `orders` a database function that takes a transaction-scoped lock on (user, key), checks
  and inserts), the work runs, its status and body are stored (state `completed`), one commit.
* A concurrent duplicate blocks on that lock until the first transaction ends, then
  replays the stored response — "waits and replays". If the wait passes the database lock
  timeout, or the row is somehow seen still `processing` → `409 idempotency_key_in_use`.
* Same key, same fingerprint → the original status and body, byte for byte, with
  `Idempotent-Replayed: true`; nothing runs; `pos_idempotent_replays_total` counts it.
* Same key, different fingerprint (other body or other endpoint) → `422 idempotency_key_reused`.
* The work waited past the lock timeout for a row another request holds, or lost a deadlock →
  `429 throttled` with `Retry-After: 1` (nothing written; resend the same request, same key).
* An expired key still present (the store decides the lifetime) is treated as unused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request
from rest_framework.response import Response

from domain.errors import Conflict, DomainError, InvalidInput, Throttled
from monitoring.metrics import IDEMPOTENT_REPLAYS

__all__ = [
    "IDEMPOTENCY_ERROR_RESPONSES",
    "IDEMPOTENCY_HEADER",
    "IDEMPOTENCY_KEY_PARAMETER",
    "REPLAYED_HEADER",
    "IdempotencyKeyInUse",
    "IdempotencyKeyMissing",
    "IdempotencyKeyReused",
    "IdempotencyStore",
    "IdempotentOutcome",
    "StoredAnswer",
    "idempotent",
    "idempotent_response",
    "replayed_header",
    "request_fingerprint",
    "run_idempotent",
    "validate_idempotency_key",
]

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
_PRINTABLE_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")
# PostgreSQL: lock_not_available (lock_timeout) and query_canceled (statement_timeout) …
_WAIT_EXPIRED_SQLSTATES = {"55P03", "57014"}
# … and, inside the work, deadlock_detected and serialization_failure too.
_CONTENTION_SQLSTATES = {"55P03", "57014", "40P01", "40001"}


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed."


class IdempotencyKeyReused(DomainError):
    """Answers 422 (the exception handler's status table)."""

    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request body."


class IdempotencyKeyMissing(InvalidInput):
    default_detail = "The Idempotency-Key header is required (1-255 printable characters)."


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A key row as the store finds it."""

    row_id: int
    fingerprint: str
    completed: bool
    status: int | None
    body_text: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class IdempotencyStore:
    """Where an app keeps its keys (its own table, its own lifetime), as four functions:

    * `claim(user_id=, key=, endpoint=, fingerprint=, now=)` inserts the key row unless it
      exists (waiting for a concurrent owner) and returns its id, or `None` if it existed;
    * `complete(row_id=, status=, body_text=)` stores the answer on the row;
    * `find(user_id=, key=)` returns the row as a `StoredAnswer`, or `None`;
    * `forget(row_id=, now=)` is told of a row found expired by `now` (a store that deletes
      rows one by one deletes it; `orders` drops whole partitions, so its `forget` does
      nothing and its claim ignores expired rows).
    """

    claim: Callable[..., int | None]
    complete: Callable[..., None]
    find: Callable[..., StoredAnswer | None]
    forget: Callable[..., None]


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


def _sqlstate(exc: DatabaseError) -> str | None:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def run_idempotent(
    *,
    store: IdempotencyStore,
    user: Any,
    key: str | None,
    endpoint: str,
    payload: Mapping[str, Any] | Any,
    action: Callable[[], tuple[int, Any]],
    around: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> IdempotentOutcome:
    """Run `action` (which returns `(status, body)`) at most once per (user, key); see the
    module docstring. `around()` wraps the action and the storing of its answer (orders append
    their audit events there, as the transaction's last statement)."""
    key = validate_idempotency_key(key)
    fingerprint = request_fingerprint(endpoint=endpoint, payload=payload)

    for _attempt in range(2):
        now = timezone.now()
        with transaction.atomic():
            try:
                row_id = store.claim(
                    user_id=user.pk, key=key, endpoint=endpoint, fingerprint=fingerprint, now=now
                )
            except DatabaseError as exc:
                if _sqlstate(exc) in _WAIT_EXPIRED_SQLSTATES:
                    raise IdempotencyKeyInUse() from None
                raise
            if row_id is not None:
                try:
                    with around():
                        status, body = action()
                        body_text = _canonical_body(body)
                        store.complete(row_id=row_id, status=status, body_text=body_text)
                except DatabaseError as exc:
                    if _sqlstate(exc) in _CONTENTION_SQLSTATES:
                        raise _busy() from None
                    raise
                return IdempotentOutcome(status=status, body_text=body_text, replayed=False)
            existing = store.find(user_id=user.pk, key=key)

        if existing is None:
            continue  # the owner rolled back between our insert and our read: claim again
        if existing.expires_at <= now:
            store.forget(row_id=existing.row_id, now=now)
            continue
        if existing.fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if not existing.completed or existing.status is None:
            raise IdempotencyKeyInUse()
        IDEMPOTENT_REPLAYS.labels(endpoint=endpoint).inc()
        return IdempotentOutcome(
            status=existing.status, body_text=existing.body_text, replayed=True
        )
    raise IdempotencyKeyInUse()


def _busy() -> Throttled:
    """The work waited too long for a row another request holds (the register's shift during a
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


def idempotent_response(outcome: IdempotentOutcome) -> HttpResponse:
    """The stored JSON text itself (the first answer and every replay are the same bytes; DRF's
    renderer would only parse and write it again). Content negotiation has already refused any
    client that does not accept JSON."""
    response = HttpResponse(
        outcome.body_text, status=outcome.status, content_type="application/json"
    )
    if outcome.replayed:
        response[REPLAYED_HEADER] = "true"
    return response


def idempotent(
    endpoint: str,
    *,
    store: IdempotencyStore,
    status: int,
    required: bool = True,
    around: Callable[[], AbstractContextManager[Any]] = nullcontext,
) -> Callable[[Callable[..., Any]], Callable[..., HttpResponse | Response]]:
    """Make a view method exactly-once per `Idempotency-Key` (see the module docstring).

    The method is called as `method(self, request, *args, **kwargs)` and returns the body of a
    `status` answer. `endpoint` names the operation in the fingerprint; it may refer to the
    method's keyword arguments (`"orders.refunds:{pk}"`, `"shifts.{shift.pk}.close"`).
    """
    templated = "{" in endpoint

    def decorate(work: Callable[..., Any]) -> Callable[..., HttpResponse | Response]:
        @functools.wraps(work)
        def view(self: Any, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if key is None and not required:
                return Response(work(self, request, *args, **kwargs), status=status)
            outcome = run_idempotent(
                store=store,
                user=request.user,
                key=key,
                endpoint=endpoint.format_map(kwargs) if templated else endpoint,
                payload=request.data,
                action=lambda: (status, work(self, request, *args, **kwargs)),
                around=around,
            )
            return idempotent_response(outcome)

        return view

    return decorate


# --- OpenAPI: what every idempotent POST documents ---------------------------------------------

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "1-255 printable ASCII characters, unique per attempt of one operation (a UUID v4 is a "
        "good choice), scoped to the user and kept at least 72 hours. Retrying with the same "
        "key and the same body returns the original status and body with "
        "`Idempotent-Replayed: true` and creates nothing. The same key with a different body → "
        "`422 idempotency_key_reused`; while the first request is still running the retry waits "
        "for it and replays, or after a few seconds answers `409 idempotency_key_in_use` (retry "
        "later with the same key). A request that failed (any 4xx/5xx) stores nothing: after "
        "fixing the cause, retrying with the same key runs afresh. Missing or malformed → 400."
    ),
)


def replayed_header(*status_codes: int) -> OpenApiParameter:
    """The `Idempotent-Replayed` response header, documented on the given success codes."""
    return OpenApiParameter(
        name=REPLAYED_HEADER,
        type=OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        enum=["true"],
        response=list(status_codes),
        description="`true` when this response replays the first response to the same "
        "Idempotency-Key (nothing was created this time); absent otherwise.",
    )


IDEMPOTENCY_ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    409: OpenApiResponse(
        description="`idempotency_key_in_use`: the first request with this key is still running "
        "(retry later with the same key); or another state conflict of the operation."
    ),
    422: OpenApiResponse(
        description="`idempotency_key_reused`: this key was used with a different body."
    ),
}
