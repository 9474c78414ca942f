"""Audit events are append-only: ORM guards and (on PostgreSQL) a trigger."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from audit.exceptions import ImmutableAuditEvent
from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(store) -> AuditEvent:
    return audit_record(action="shift.opened", store_id=store.id, changes={"float": "100.00"})


def test_save_and_delete_are_refused(event) -> None:
    event.action = "shift.closed"
    with pytest.raises(ImmutableAuditEvent):
        event.save()
    with pytest.raises(ImmutableAuditEvent):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "shift.opened"


def test_queryset_update_delete_and_bulk_update_are_refused(event) -> None:
    with pytest.raises(ImmutableAuditEvent):
        AuditEvent.objects.filter(pk=event.pk).update(action="x")
    with pytest.raises(ImmutableAuditEvent):
        AuditEvent.objects.all().delete()
    with pytest.raises(ImmutableAuditEvent):
        AuditEvent.objects.bulk_update([event], ["action"])
    assert AuditEvent.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET action = 'x' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_trigger_refuses_raw_update_and_delete(event, sql) -> None:
    with (
        pytest.raises(IntegrityError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.filter(pk=event.pk, action="shift.opened").exists()
