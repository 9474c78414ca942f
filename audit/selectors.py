"""Reads of the audit trail."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_event_list(*, store_ids: Sequence[int] | None) -> QuerySet[AuditEvent]:
    """Events in id (= append) order. `store_ids=None`: every event, those outside any store
    included (admins); otherwise only events of those stores (events outside any store are
    admin-only: they are about users and logins across the whole merchant)."""
    events = AuditEvent.objects.order_by("id")
    if store_ids is not None:
        events = events.filter(store_id__in=list(store_ids))
    return events
