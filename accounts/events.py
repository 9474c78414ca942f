"""Audit-worthy account events (login, failed login, logout, password change, user created, role
changed, store and register changes). `accounts` depends on no other domain app, so the recorder
is looked up through the `AUDIT_RECORDER` setting (the audit app's `audit_record`, which appends
to the hash chain in the caller's transaction). Never pass a password or a token in `changes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


def record_account_event(
    action: str,
    *,
    actor: Any | None = None,
    store_id: int | None = None,
    object_type: str = "user",
    object_id: str | int = "",
    changes: Mapping[str, Any] | None = None,
) -> None:
    recorder = import_string(settings.AUDIT_RECORDER)
    recorder(
        action=action,
        actor=actor,
        store_id=store_id,
        object_type=object_type,
        object_id=object_id,
        changes=dict(changes or {}),
    )
