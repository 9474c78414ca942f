"""The audit trail in the Django admin (read-only), and admin changes joining the trail."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from audit.models import AuditEvent
from audit.services import audit_record
from tests.factories import AdminFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user():
    """A superuser: the Django admin authorises by model permissions, which superusers hold."""
    return AdminFactory(is_superuser=True)


@pytest.fixture
def admin_web(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_additions_changes_and_deletions_are_audited(admin_web, admin_user) -> None:
    response = admin_web.post("/admin/auth/group/add/", {"name": "Auditors", "permissions": []})
    assert response.status_code == 302, response.content
    group = Group.objects.get(name="Auditors")
    added = AuditEvent.objects.get(action="admin.add")
    assert (added.actor_id, added.object_type, added.object_id, added.store_id) == (
        admin_user.id,
        "auth.group",
        str(group.id),
        None,
    )
    assert added.changes["object"] == "Auditors"

    admin_web.post(f"/admin/auth/group/{group.id}/change/", {"name": "Auditors 2"})
    changed = AuditEvent.objects.get(action="admin.change")
    assert "Name" in changed.changes["message"]
    assert changed.prev_hash == added.hash

    admin_web.post(f"/admin/auth/group/{group.id}/delete/", {"post": "yes"})
    assert not Group.objects.filter(id=group.id).exists()
    assert AuditEvent.objects.filter(action="admin.delete", object_id=str(group.id)).exists()


def test_bulk_deletion_is_audited_per_object(admin_web) -> None:
    groups = [Group.objects.create(name=f"G{n}") for n in range(3)]
    response = admin_web.post(
        "/admin/auth/group/",
        {
            "action": "delete_selected",
            "post": "yes",
            "_selected_action": [g.id for g in groups],
        },
    )
    assert response.status_code == 302
    assert not Group.objects.filter(id__in=[g.id for g in groups]).exists()
    deleted = AuditEvent.objects.filter(action="admin.delete").order_by("object_id")
    assert sorted(e.object_id for e in deleted) == sorted(str(g.id) for g in groups)


def test_audit_events_are_view_only_in_the_admin(admin_web, store) -> None:
    event = audit_record(action="shift.opened", store_id=store.id)
    assert admin_web.get("/admin/audit/auditevent/").status_code == 200
    assert admin_web.get(f"/admin/audit/auditevent/{event.id}/change/").status_code == 200
    assert admin_web.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_web.post(f"/admin/audit/auditevent/{event.id}/delete/").status_code == 403
    response = admin_web.post(f"/admin/audit/auditevent/{event.id}/change/", {"action": "forged"})
    assert response.status_code == 403
    assert AuditEvent.objects.get(id=event.id).action == "shift.opened"


def test_ledger_is_view_only_in_the_admin(admin_web, store) -> None:
    import datetime as dt
    from decimal import Decimal

    from ledger.services import post_cash_movement

    entry = post_cash_movement(
        store=store,
        date=dt.date(2026, 11, 21),
        movement_id=1,
        kind="in",
        amount=Decimal("5.00"),
        created_by=None,
    )
    assert admin_web.get("/admin/ledger/journalentry/").status_code == 200
    assert admin_web.get(f"/admin/ledger/journalentry/{entry.id}/change/").status_code == 200
    assert admin_web.get("/admin/ledger/journalentry/add/").status_code == 403
    assert admin_web.post(f"/admin/ledger/journalentry/{entry.id}/delete/").status_code == 403
    assert admin_web.get("/admin/ledger/account/add/").status_code == 403


def test_managers_see_only_their_stores_events_in_the_admin(
    client, manager, store, other_store
) -> None:
    mine = audit_record(action="shift.opened", store_id=store.id)
    theirs = audit_record(action="shift.opened", store_id=other_store.id)
    # The admin authorises by model permissions: those of the manager role's group.
    manager.groups.add(Group.objects.get(name="manager"))
    client.force_login(manager)
    response = client.get("/admin/audit/auditevent/")
    assert response.status_code == 200
    assert f"/admin/audit/auditevent/{mine.id}/change/" in response.content.decode()
    assert f"/admin/audit/auditevent/{theirs.id}/change/" not in response.content.decode()
