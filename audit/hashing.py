"""The chain's hash: SHA-256 over the previous event's hash and a canonical JSON of the event.

Canonical JSON: sorted keys, no whitespace, ASCII only; Decimals, datetimes and other non-JSON
values are turned into strings *before* the event is stored (see `audit.redaction.to_json`),
so the stored row hashes to exactly what was hashed when it was written.

The rule lives here only: `chain_hash` is the hash in Python (verification), `chain_hash_sql`
the same hash in SQL (the append, which takes the previous hash from the chain head it locks in
the same statement). tests/audit/test_services.py checks that they agree on awkward content.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any


def format_at(at: dt.datetime) -> str:
    """UTC, microsecond precision, always the same width (databases keep microseconds)."""
    return at.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_content(
    *,
    at: dt.datetime,
    actor_id: int | None,
    action: str,
    store_id: int | None,
    object_type: str,
    object_id: str,
    changes: Any,
    ip: str | None,
    request_id: str,
) -> dict[str, Any]:
    return {
        "at": format_at(at),
        "actor": actor_id,
        "action": action,
        "store_id": store_id,
        "object_type": object_type,
        "object_id": object_id,
        "changes": changes,
        "ip": ip,
        "request_id": request_id,
    }


def canonical_json(content: Any) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def chain_hash(prev_hash: str, content: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("ascii")).hexdigest()


def chain_hash_sql(prev_hash: str, content: str) -> str:
    """`chain_hash` as a PostgreSQL expression over two SQL expressions of type text: the
    previous hash and the canonical JSON (ASCII, so its UTF-8 bytes are its ASCII bytes)."""
    return f"encode(sha256(convert_to({prev_hash} || {content}, 'UTF8')), 'hex')"
