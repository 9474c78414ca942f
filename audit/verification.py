"""Walk every chain and check it link by link.

An event is broken when its stored hash is not the hash of its own content (it was edited),
when its `prev_hash` is not the hash of the event before it in its chain (an event before it was
removed, or events were reordered or moved between chains), or when it sits in the wrong chain.
Events removed from the *end* of a chain leave no successor to notice; the chain head's
`length`, `last_hash` and `last_event_id` catch that.

Streams the events in chain order with a server-side cursor, so memory stays flat however long
the trail is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from audit.chains import chain_holds
from audit.hashing import chain_hash, event_content
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent

_FIELDS = (
    "id",
    "at",
    "actor_id",
    "action",
    "store_id",
    "chain",
    "object_type",
    "object_id",
    "changes",
    "ip",
    "request_id",
    "prev_hash",
    "hash",
)


@dataclass(frozen=True, slots=True)
class VerificationResult:
    ok: bool
    events_checked: int
    first_broken_id: int | None
    broken_chains: tuple[int, ...] = ()


def _content(row: dict[str, Any]) -> dict[str, Any]:
    return event_content(
        at=row["at"],
        actor_id=row["actor_id"],
        action=row["action"],
        store_id=row["store_id"],
        object_type=row["object_type"],
        object_id=row["object_id"],
        changes=row["changes"],
        ip=None if row["ip"] is None else str(row["ip"]),
        request_id=row["request_id"],
    )


def _recomputed_hash(row: dict[str, Any]) -> str:
    return chain_hash(row["prev_hash"], _content(row))


def _in_right_chain(row: dict[str, Any]) -> bool:
    """The event sits on the chain its content names (`audit.chains`): not moved elsewhere."""
    return chain_holds(row["chain"], _content(row))


def _rows(chain: int | None) -> Iterator[dict[str, Any]]:
    queryset = AuditEvent.objects.order_by("chain", "id")
    if chain is not None:
        queryset = queryset.filter(chain=chain)
    return queryset.values(*_FIELDS).iterator(chunk_size=2000)


def audit_verify(*, chain: int | None = None) -> VerificationResult:
    """Verify every chain (or one). `first_broken_id` is the smallest id found broken: the edited
    event, the first event after a removed one, or — for events removed from a chain's end — the
    id the chain head says was last.

    Heads and events are read in one snapshot (REPEATABLE READ when we open the transaction), so
    events appended while we read never look like a tampered chain end."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        return _verify(chain)


def _verify(chain: int | None) -> VerificationResult:
    heads = {
        head.chain: head
        for head in (
            AuditChainHead.objects.filter(chain=chain)
            if chain is not None
            else AuditChainHead.objects.all()
        )
    }
    broken: dict[int, int] = {}  # chain → first broken event id
    checked = 0

    current_chain: int | None = None
    expected_prev = GENESIS_HASH
    length = 0
    last_id: int | None = None

    def close_chain(chain_id: int) -> None:
        head = heads.pop(chain_id, None)
        if chain_id in broken:
            return
        if head is None or head.length != length or head.last_hash != expected_prev:
            # Events were removed from the end (or the head was tampered with).
            suspect = head.last_event_id if head is not None else None
            broken[chain_id] = suspect if suspect is not None else (last_id or 0)

    for row in _rows(chain):
        if row["chain"] != current_chain:
            if current_chain is not None:
                close_chain(current_chain)
            current_chain, expected_prev, length = row["chain"], GENESIS_HASH, 0
        checked += 1
        length += 1
        last_id = row["id"]
        if row["chain"] in broken:
            continue
        if (
            not _in_right_chain(row)
            or row["prev_hash"] != expected_prev
            or _recomputed_hash(row) != row["hash"]
        ):
            broken[row["chain"]] = row["id"]
        expected_prev = row["hash"]
    if current_chain is not None:
        close_chain(current_chain)

    # Heads whose every event is gone.
    for chain_id, head in heads.items():
        if head.length:
            broken[chain_id] = head.last_event_id or 0

    first_broken = min(broken.values()) if broken else None
    return VerificationResult(
        ok=not broken,
        events_checked=checked,
        first_broken_id=first_broken,
        broken_chains=tuple(sorted(broken)),
    )
