"""Audit-worthy account events (login, failed login, logout, password change, user created, role
changed, store and register changes), appended to the audit trail's hash chain in the caller's
transaction. The audit trail (`audit.services`, `audit.models`) is a leaf that imports no domain
app, so `accounts` may import it directly. Never pass a password or a token in `changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from audit.services import audit_record


def record_account_event(
    action: str,
    *,
    actor: Any | None = None,
    store_id: int | None = None,
    object_type: str = "user",
    object_id: str | int = "",
    changes: Mapping[str, Any] | None = None,
) -> None:
    audit_record(
        action=action,
        actor=actor,
        store_id=store_id,
        object_type=object_type,
        object_id=object_id,
        changes=dict(changes or {}),
    )
