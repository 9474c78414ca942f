"""Audit endpoints: shapes, filters, scoping, permissions and verification."""

from __future__ import annotations

import pytest
from django.db import connection

from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(store, other_store, manager, admin_user):
    return {
        "login": audit_record(action="auth.login", actor=manager),
        "mine": audit_record(
            action="order.created",
            actor=manager,
            store_id=store.id,
            object_type="order",
            object_id=5,
            changes={"total": "17.73"},
            ip="10.0.0.7",
            request_id="req-5",
        ),
        "mine_shift": audit_record(action="shift.opened", actor=manager, store_id=store.id),
        "theirs": audit_record(action="order.created", actor=admin_user, store_id=other_store.id),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [event["id"] for event in response.json()["results"]]


def test_event_shape(manager_client, events, store, manager) -> None:
    body = manager_client.get("/api/v1/audit/events/").json()
    event = events["mine"]
    assert body["results"][0] == {
        "id": event.id,
        "at": body["results"][0]["at"],
        "actor": manager.id,
        "action": "order.created",
        "store": store.id,
        "object_type": "order",
        "object_id": "5",
        "changes": {"total": "17.73"},
        "ip": "10.0.0.7",
        "request_id": "req-5",
        "hash": event.hash,
    }
    assert body["results"][0]["at"].endswith("Z") or body["results"][0]["at"].endswith("+00:00")


def test_managers_see_their_stores_only_and_admins_everything(
    manager_client, admin_client, events
) -> None:
    assert ids(manager_client.get("/api/v1/audit/events/")) == [
        events["mine"].id,
        events["mine_shift"].id,
    ]
    assert ids(admin_client.get("/api/v1/audit/events/")) == [e.id for e in events.values()]


def test_filters(manager_client, admin_client, events, store, other_store, manager) -> None:
    assert ids(admin_client.get("/api/v1/audit/events/?action=order.created")) == [
        events["mine"].id,
        events["theirs"].id,
    ]
    assert ids(admin_client.get("/api/v1/audit/events/?action=auth.")) == [events["login"].id]
    assert ids(admin_client.get(f"/api/v1/audit/events/?actor={manager.id}")) == [
        events["login"].id,
        events["mine"].id,
        events["mine_shift"].id,
    ]
    assert ids(admin_client.get(f"/api/v1/audit/events/?store={other_store.id}")) == [
        events["theirs"].id
    ]
    since = events["mine_shift"].at.isoformat()
    assert ids(manager_client.get("/api/v1/audit/events/", {"since": since})) == [
        events["mine_shift"].id
    ]
    assert manager_client.get(f"/api/v1/audit/events/?store={other_store.id}").status_code == 404
    assert manager_client.get("/api/v1/audit/events/?since=soon").status_code == 400


def test_cashiers_and_anonymous_are_refused(cashier_client, api_client) -> None:
    for path in ("/api/v1/audit/events/", "/api/v1/audit/verify/"):
        assert cashier_client.get(path).status_code == 403
        assert api_client.get(path).status_code == 401


def test_no_write_routes(admin_client, events) -> None:
    event_id = events["mine"].id
    assert admin_client.post("/api/v1/audit/events/", {}, format="json").status_code == 405
    for method in ("put", "patch", "delete"):
        response = getattr(admin_client, method)(f"/api/v1/audit/events/{event_id}/")
        assert response.status_code in (404, 405)


def test_verify_is_admin_only_and_reports(manager_client, admin_client, events) -> None:
    assert manager_client.get("/api/v1/audit/verify/").status_code == 403
    response = admin_client.get("/api/v1/audit/verify/")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "events_checked": 4, "first_broken_id": None}


def test_verify_reports_a_tampered_event(admin_client, events) -> None:
    victim = events["mine"]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE audit_auditevent SET object_id = '6' WHERE id = %s", [victim.id])
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")
    assert admin_client.get("/api/v1/audit/verify/").json() == {
        "ok": False,
        "events_checked": 4,
        "first_broken_id": victim.id,
    }
