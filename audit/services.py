"""The one way to write an audit event.

Services call `audit_record` explicitly, inside their own transaction and as their last write:
the event commits or rolls back with the change it describes, and the chain head's row lock is
held only from that call to the commit.

A request that does more work after the service returns, inside the same transaction (the
idempotent write endpoints serialise the response and store it with the key), wraps that work in
`audit_at_end()`: events recorded inside the block are appended when it ends, right before the
commit. Every sale of a store appends to the store's one chain, so the time the head stays
locked is the time sales of a store spend in single file; this keeps it to the append and the
commit.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.db import connection
from django.utils import timezone
from django.utils.ipv6 import clean_ipv6_address

from audit.chains import chain_for
from audit.hashing import canonical_json, chain_hash_sql, event_content
from audit.models import (
    GENESIS_HASH,
    AuditChainAnchor,
    AuditChainHead,
    AuditEvent,
)
from audit.redaction import to_json
from dbtools.rows import column, field_column, qn, table
from dbtools.unnest import insert_fields, saved_one, scalar_type
from request_context import get_context

_REQUEST_ID_MAX = AuditEvent._meta.get_field("request_id").max_length or 128
_OBJECT_ID_MAX = AuditEvent._meta.get_field("object_id").max_length or 64
_OBJECT_TYPE_MAX = AuditEvent._meta.get_field("object_type").max_length or 64


def _actor_id(actor: Any | None) -> int | None:
    if actor is None:
        return None
    if isinstance(actor, int) and not isinstance(actor, bool):
        return actor
    if not getattr(actor, "is_authenticated", False):
        return None  # AnonymousUser: a failed login has no actor
    return actor.pk


def _normalized_ip(ip: str | None) -> str | None:
    """The address as the database will store it (so the hash survives a round trip), or None
    when it is not an address at all."""
    if not ip:
        return None
    try:
        validate_ipv46_address(ip)
    except ValidationError:
        return None
    return clean_ipv6_address(ip) if ":" in ip else ip


@functools.cache
def _append_sql() -> str:
    """Lock the chain's head, insert the event hashed over the head's hash, anchor it when it is
    the chain's first event of its month (`AuditChainAnchor`, `ON CONFLICT DO NOTHING`: one
    index probe), move the head: one statement. Parameters: the event's columns by attname, and
    `content` (its canonical JSON)."""
    event_fields = insert_fields(AuditEvent, exclude=("prev_hash", "hash"))
    chain = field_column(AuditChainHead, "chain")
    last_hash = field_column(AuditChainHead, "last_hash")
    length = field_column(AuditChainHead, "length")
    last_event = field_column(AuditChainHead, "last_event_id")
    anchor_columns = ", ".join(
        field_column(AuditChainAnchor, name)
        for name in ("chain", "month", "first_event_id", "prev_hash", "hash")
    )
    return f"""
WITH head AS (
    SELECT {last_hash} FROM {table(AuditChainHead)} WHERE {chain} = %(chain)s FOR UPDATE
), event AS (
    INSERT INTO {table(AuditEvent)} ({", ".join(column(f) for f in event_fields)},
                                     {qn("prev_hash")}, {qn("hash")})
    SELECT {", ".join(f"%({f.attname})s::{scalar_type(f)}" for f in event_fields)},
           head.{last_hash}, {chain_hash_sql(f"head.{last_hash}", "%(content)s")}
    FROM head
    RETURNING {qn("id")}, {qn("prev_hash")}, {qn("hash")}
), anchor AS (
    INSERT INTO {table(AuditChainAnchor)} ({anchor_columns})
    SELECT %(chain)s, date_trunc('month', %(at)s::timestamptz AT TIME ZONE 'UTC')::date,
           event.{qn("id")}, event.{qn("prev_hash")}, event.{qn("hash")}
    FROM event
    ON CONFLICT ({field_column(AuditChainAnchor, "chain")},
                 {field_column(AuditChainAnchor, "month")}) DO NOTHING
)
UPDATE {table(AuditChainHead)} AS h
SET {last_hash} = event.{qn("hash")}, {last_event} = event.{qn("id")},
    {length} = h.{length} + 1
FROM event
WHERE h.{chain} = %(chain)s
RETURNING event.{qn("id")}, event.{qn("prev_hash")}, event.{qn("hash")}
"""  # noqa: S608  # nosec B608


@dataclass(frozen=True, slots=True)
class _PendingEvent:
    """An event with everything but its place in the chain (previous hash, hash, id)."""

    chain: int
    at: Any
    actor_id: int | None
    store_id: int | None
    content: dict[str, Any]
    changes: Any
    ip: str | None
    request_id: str

    def event(self, *, event_id: int, prev_hash: str, event_hash: str) -> AuditEvent:
        """The appended event, as if read back."""
        return saved_one(
            AuditEvent,
            {
                "id": event_id,
                "at": self.at,
                "actor_id": self.actor_id,
                "action": self.content["action"],
                "store_id": self.store_id,
                "chain": self.chain,
                "object_type": self.content["object_type"],
                "object_id": self.content["object_id"],
                "changes": self.changes,
                "ip": self.ip,
                "request_id": self.request_id,
                "prev_hash": prev_hash,
                "hash": event_hash,
            },
        )


def _append_in_one_statement(pending: _PendingEvent) -> AuditEvent | None:
    """Lock the chain head, insert the event hashed over the head's hash and move the head, in
    one statement (one round trip instead of three, on every sale). The hash is
    `audit.hashing.chain_hash_sql`, so `audit.verification` checks it like any other. `None`
    when the chain has no head yet."""
    content = pending.content
    with connection.cursor() as cursor:
        cursor.execute(
            _append_sql(),
            {
                "chain": pending.chain,
                "at": pending.at,
                "actor_id": pending.actor_id,
                "action": content["action"],
                "store_id": pending.store_id,
                "object_type": content["object_type"],
                "object_id": content["object_id"],
                "changes": json.dumps(pending.changes),
                "ip": pending.ip,
                "request_id": pending.request_id,
                "content": canonical_json(content),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    event_id, prev_hash, event_hash = row
    return pending.event(event_id=event_id, prev_hash=prev_hash, event_hash=event_hash)


@dataclass(slots=True)
class _Deferral:
    alias: str
    savepoint_depth: int
    events: list[_PendingEvent]


_deferral: ContextVar[_Deferral | None] = ContextVar("audit_deferral", default=None)


@contextmanager
def audit_at_end() -> Iterator[None]:
    """Append the events recorded inside the block when it ends without an exception, in the
    order they were recorded; drop them when it raises (the caller's transaction is rolled back
    then). Must sit inside a transaction (`transaction.atomic`), as its last step: the chain
    heads are locked from the end of the block to the commit only.

    An event recorded inside a nested savepoint is written at once instead (a savepoint rolled
    back on its own must take its event with it). Nested `audit_at_end` blocks flush with the
    outermost one."""
    if _deferral.get() is not None:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("audit_at_end() must run inside transaction.atomic().")
    state = _Deferral(alias=connection.alias, savepoint_depth=_savepoints(), events=[])
    token = _deferral.set(state)
    try:
        yield
    finally:
        _deferral.reset(token)
    for pending in state.events:
        _append(pending)


def _deferred() -> _Deferral | None:
    state = _deferral.get()
    if state is None or state.alias != connection.alias:
        return None
    if _savepoints() != state.savepoint_depth:
        return None
    return state


def _savepoints() -> int:
    """Savepoints open now (an `atomic(savepoint=False)` block records `None`: no savepoint)."""
    return sum(1 for sid in connection.savepoint_ids if sid is not None)


def audit_record(
    *,
    action: str,
    actor: Any | None = None,
    store_id: int | None = None,
    object_type: str = "",
    object_id: str | int = "",
    changes: Mapping[str, Any] | None = None,
    ip: str | None = None,
    request_id: str | None = None,
) -> AuditEvent | None:
    """Append an event to its hash chain (its store's; outside any store, the chain of the user
    it is about or of the username it names: `audit.chains.chain_for`), in the caller's
    transaction. `ip` and `request_id` default to the current request context.

    `changes` is stored JSON-native with secrets redacted (`audit.redaction`). One query (lock
    the head, insert, move the head, in one statement); the first event of a chain costs more.
    Call it as the service's last write, so the head stays locked for as short a time as
    possible; concurrent appenders to one chain queue on that lock and can never fork the chain.

    Inside `audit_at_end()` the event is appended when that block ends and `None` is returned.
    """
    ctx = get_context()
    actor_id = _actor_id(actor)
    clean_changes = to_json(dict(changes or {}))
    clean_ip = _normalized_ip(ip if ip is not None else ctx.ip)
    clean_request_id = (request_id if request_id is not None else ctx.request_id or "")[
        :_REQUEST_ID_MAX
    ]
    at = timezone.now()
    content = event_content(
        at=at,
        actor_id=actor_id,
        action=action,
        store_id=store_id,
        object_type=object_type[:_OBJECT_TYPE_MAX],
        object_id=str(object_id)[:_OBJECT_ID_MAX],
        changes=clean_changes,
        ip=clean_ip,
        request_id=clean_request_id,
    )
    pending = _PendingEvent(
        chain=chain_for(content),
        at=at,
        actor_id=actor_id,
        store_id=store_id,
        content=content,
        changes=clean_changes,
        ip=clean_ip,
        request_id=clean_request_id,
    )
    deferral = _deferred()
    if deferral is not None:
        deferral.events.append(pending)
        return None
    return _append(pending)


def _append(pending: _PendingEvent) -> AuditEvent:
    """Append the event (one statement); a chain's first event creates its head first (an
    `INSERT … ON CONFLICT DO NOTHING` two first writers may race on harmlessly: the second
    waits for the first, then finds the row) and costs two queries more."""
    appended = _append_in_one_statement(pending)
    if appended is None:
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(chain=pending.chain, last_hash=GENESIS_HASH, length=0)],
            ignore_conflicts=True,
        )
        appended = _append_in_one_statement(pending)
        if appended is None:  # pragma: no cover - the head exists now, committed or ours
            raise RuntimeError(f"Audit chain {pending.chain} has no head.")
    return appended
