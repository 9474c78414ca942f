"""Walk every chain and check it link by link.

An event is broken when its stored hash is not the hash of its own content (it was edited),
when its `prev_hash` is not the hash of the event before it in its chain (an event before it was
removed, or events were reordered or moved between chains), or when it sits in the wrong chain.
Events removed from the *end* of a chain leave no successor to notice; the chain head's
`length`, `last_hash` and `last_event_id` catch that.

Reads the events in chain order in keyset batches (`(chain, id) > last seen`, 2,000 rows each)
inside one REPEATABLE READ snapshot, so memory stays flat however long the trail is and every
statement is short, also behind PgBouncer in transaction mode, where `.iterator()` has no
server-side cursor and would receive the whole trail at once (and a single statement over
millions of events would outlast `statement_timeout`).

The events are partitioned by month (`dbtools.partitions`); `audit_verify_month` checks one
month's stretch of each chain on its own, from that month's `AuditChainAnchor` (the chain's
first event of the month) to the chain's next anchor, without reading the rest of the trail.
The full walk also checks that every anchor matches the event it names.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Exists, Min, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL

from audit.chains import chain_holds
from audit.hashing import chain_hash, event_content
from audit.models import (
    GENESIS_HASH,
    AuditChainAnchor,
    AuditChainHead,
    AuditEvent,
)
from dbtools.partitions import Month

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


_BATCH = 2000


def _in_batches(queryset: QuerySet[Any, Any], keys: tuple[str, ...]) -> Iterator[dict[str, Any]]:
    """The `.values()` rows of `queryset`, ordered by `keys` (unique together), read `_BATCH` at
    a time after the last key seen (a row comparison the `keys` index serves at any depth)."""
    meta = queryset.model._meta
    columns = ", ".join(f'"{meta.db_table}"."{meta.get_field(key).column}"' for key in keys)
    placeholders = ", ".join(["%s"] * len(keys))
    queryset = queryset.order_by(*keys)
    after: tuple[Any, ...] | None = None
    while True:
        page = queryset
        if after is not None:
            # Column names from the model's own meta, values bound: nothing from outside.
            position = RawSQL(  # noqa: S611 # nosec B611
                f"({columns}) > ({placeholders})", after, output_field=BooleanField()
            )
            page = page.filter(position)
        rows = list(page[:_BATCH])
        yield from rows
        if len(rows) < _BATCH:
            return
        after = tuple(rows[-1][key] for key in keys)


def _rows(chain: int | None) -> Iterator[dict[str, Any]]:
    queryset = AuditEvent.objects.all()
    if chain is not None:
        queryset = queryset.filter(chain=chain)
    return _in_batches(queryset.values(*_FIELDS), ("chain", "id"))


def audit_verify(*, chain: int | None = None) -> VerificationResult:
    """Verify every chain (or one). `first_broken_id` is the smallest id found broken: the edited
    event, the first event after a removed one, or — for events removed from a chain's end — the
    id the chain head says was last.

    Heads and events are read in one snapshot (REPEATABLE READ when we open the transaction), so
    events appended while we read never look like a tampered chain end."""
    with _snapshot():
        result = _verify(chain)
        return _with_anchors_checked(result, chain)


@contextmanager
def _snapshot() -> Iterator[None]:
    """One snapshot for every read (REPEATABLE READ when we open the transaction)."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _with_anchors_checked(result: VerificationResult, chain: int | None) -> VerificationResult:
    """`result` plus the anchors that do not match the event they name (an anchor rewritten,
    or its event gone): month-by-month verification starts from them, so they must hold."""
    anchors = AuditChainAnchor.objects.all()
    if chain is not None:
        anchors = anchors.filter(chain=chain)
    broken = dict.fromkeys(result.broken_chains, result.first_broken_id or 0)
    # One query for all of them (not one per anchor: a chain per user makes many anchors).
    its_event = AuditEvent.objects.filter(
        pk=OuterRef("first_event_id"),
        chain=OuterRef("chain"),
        prev_hash=OuterRef("prev_hash"),
        hash=OuterRef("hash"),
    )
    mismatched = (
        anchors.filter(~Exists(its_event))
        .order_by("chain", "first_event_id")
        .values_list("chain", "first_event_id")
    )
    for anchor_chain, first_event_id in mismatched:
        broken.setdefault(anchor_chain, first_event_id)
    if set(broken) == set(result.broken_chains):
        return result
    first = min(
        [anchor_id for c, anchor_id in broken.items() if c not in result.broken_chains]
        + ([result.first_broken_id] if result.first_broken_id is not None else [])
    )
    return VerificationResult(
        ok=False,
        events_checked=result.events_checked,
        first_broken_id=first,
        broken_chains=tuple(sorted(broken)),
    )


def audit_verify_month(*, month: Month, chain: int | None = None) -> VerificationResult:
    """Verify the stretch of every chain (or one) that starts in `month` (UTC): from the
    chain's anchor of that month to its next anchor (or its head), link by link. Reads that
    stretch only, whatever the size of the other months' partitions.

    Broken: an event edited, removed or inserted inside the stretch; the stretch's last event not
    the one the next anchor (or the head) links to (events removed from its end); a chain's
    first anchor not linking to the genesis hash (the chain's start removed); events of the
    month in a chain that has no anchor for it, or before the month's anchor."""
    with _snapshot():
        return _verify_month(month, chain)


def _verify_month(month: Month, chain: int | None) -> VerificationResult:
    first_day = month.start.date()
    anchors = AuditChainAnchor.objects.filter(month=first_day)
    if chain is not None:
        anchors = anchors.filter(chain=chain)
    broken: dict[int, int] = {}
    checked = 0
    anchored: set[int] = set()
    for anchor in anchors.order_by("chain"):
        anchored.add(anchor.chain)
        count, broken_id = _verify_stretch(anchor)
        checked += count
        if broken_id is not None:
            broken[anchor.chain] = broken_id
    in_month = AuditEvent.objects.filter(at__gte=month.start, at__lt=month.end)
    if chain is not None:
        in_month = in_month.filter(chain=chain)
    # Events of the month that no stretch of it walks: in a chain without an anchor for the
    # month, or before the month's anchor (the anchor is the chain's first event of the month,
    # so nothing of the month comes before it; below a chain's first anchor no stretch reads).
    before_anchor = AuditChainAnchor.objects.filter(
        chain=OuterRef("chain"), month=first_day, first_event_id__gt=OuterRef("id")
    )
    unwalked = in_month.filter(~Q(chain__in=anchored) | Exists(before_anchor))
    for row in unwalked.order_by().values("chain").annotate(first=Min("id")):
        broken[row["chain"]] = min(row["first"], broken.get(row["chain"], row["first"]))
    return VerificationResult(
        ok=not broken,
        events_checked=checked,
        first_broken_id=min(broken.values()) if broken else None,
        broken_chains=tuple(sorted(broken)),
    )


def _verify_stretch(anchor: AuditChainAnchor) -> tuple[int, int | None]:
    """Walk one chain from `anchor` to its next anchor; (events checked, first broken id)."""
    following = (
        AuditChainAnchor.objects.filter(
            chain=anchor.chain, first_event_id__gt=anchor.first_event_id
        )
        .order_by("first_event_id")
        .first()
    )
    rows = AuditEvent.objects.filter(chain=anchor.chain, id__gte=anchor.first_event_id)
    if following is not None:
        rows = rows.filter(id__lt=following.first_event_id)
    expected_prev = anchor.prev_hash
    if expected_prev != GENESIS_HASH and not _has_earlier_anchor(anchor):
        # The chain's first anchor must be its first event: one that links to something
        # earlier means the chain's start was removed (and the anchor moved past it).
        return 0, anchor.first_event_id
    checked = 0
    last_id: int | None = None
    for row in _in_batches(rows.values(*_FIELDS), ("id",)):
        checked += 1
        first = last_id is None
        last_id = row["id"]
        if first and (row["id"] != anchor.first_event_id or row["hash"] != anchor.hash):
            return checked, row["id"]
        if (
            not _in_right_chain(row)
            or row["prev_hash"] != expected_prev
            or _recomputed_hash(row) != row["hash"]
        ):
            return checked, row["id"]
        expected_prev = row["hash"]
    if last_id is None:
        return checked, anchor.first_event_id
    if following is not None:
        if following.prev_hash != expected_prev:
            return checked, following.first_event_id
        return checked, None
    head = AuditChainHead.objects.filter(chain=anchor.chain).first()
    if head is None or head.last_hash != expected_prev or head.last_event_id != last_id:
        return checked, head.last_event_id if head and head.last_event_id else last_id
    return checked, None


def _has_earlier_anchor(anchor: AuditChainAnchor) -> bool:
    return AuditChainAnchor.objects.filter(
        chain=anchor.chain, first_event_id__lt=anchor.first_event_id
    ).exists()


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
