"""The audit trail is partitioned by month: each chain still verifies across months as a whole,
and one month verifies on its own from its anchor (`verify_audit --month`)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit import services as audit_services
from audit.models import AuditChainAnchor, AuditEvent
from audit.services import audit_record
from audit.verification import audit_verify, audit_verify_month
from dbtools.partitions import Month

pytestmark = pytest.mark.django_db

JAN = Month(2026, 1)
FEB = Month(2026, 2)
MAR = Month(2026, 3)


def _at(month: Month, day: int) -> dt.datetime:
    return month.start + dt.timedelta(days=day - 1, hours=12)


@pytest.fixture
def three_months(store, manager, monkeypatch, history_months) -> dict[Month, list[AuditEvent]]:
    """Two events a month in January, February and March 2026, on the store's chain and on
    the manager's own chain (a login: outside any store), appended in time order."""
    history_months("audit_auditevent", since=JAN)
    events: dict[Month, list[AuditEvent]] = {}
    for month in (JAN, FEB, MAR):
        for day in (3, 20):
            moment = _at(month, day)
            monkeypatch.setattr(audit_services, "timezone", SimpleNamespace(now=lambda m=moment: m))
            events.setdefault(month, []).append(
                audit_record(action="order.created", actor=manager, store_id=store.id)
            )
            audit_record(action="auth.login", actor=manager)
    return events


def _partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM audit_auditevent WHERE id = %s", [event_id]
        )
        return cursor.fetchone()[0]


def _tamper(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def test_events_land_in_their_months_partition(three_months) -> None:
    for month, events in three_months.items():
        for event in events:
            assert _partition_of(event.pk) == f"audit_auditevent_p{month.year}{month.month:02d}"


def test_the_append_anchors_each_chains_first_event_of_a_month(
    store, manager, three_months
) -> None:
    anchors = AuditChainAnchor.objects.filter(chain=store.id).order_by("month")
    assert [(a.month, a.first_event_id) for a in anchors] == [
        (month.start.date(), events[0].pk) for month, events in three_months.items()
    ]
    first = three_months[FEB][0]
    anchor = anchors.get(month=FEB.start.date())
    assert (anchor.prev_hash, anchor.hash) == (first.prev_hash, first.hash)
    assert anchor.prev_hash == three_months[JAN][-1].hash  # the link across the months
    assert AuditChainAnchor.objects.filter(chain=-manager.pk).count() == 3  # the login chain


def test_the_whole_chain_verifies_across_partitions(three_months) -> None:
    result = audit_verify()
    assert (result.ok, result.events_checked) == (True, 12)


@pytest.mark.parametrize("month", [JAN, FEB, MAR])
def test_one_month_verifies_on_its_own(three_months, month) -> None:
    result = audit_verify_month(month=month)
    assert (result.ok, result.events_checked) == (True, 4)


def test_a_month_without_events_verifies_empty(three_months) -> None:
    result = audit_verify_month(month=Month(2026, 4))
    assert (result.ok, result.events_checked) == (True, 0)


def test_an_edit_in_february_breaks_february_only(store, three_months) -> None:
    edited = three_months[FEB][1]
    _tamper("UPDATE audit_auditevent SET action = 'order.voided' WHERE id = %s", [edited.pk])
    feb = audit_verify_month(month=FEB)
    assert (feb.ok, feb.first_broken_id, feb.broken_chains) == (False, edited.pk, (store.id,))
    assert audit_verify_month(month=JAN).ok
    assert audit_verify_month(month=MAR).ok
    whole = audit_verify()
    assert (whole.ok, whole.first_broken_id) == (False, edited.pk)


def test_an_event_removed_from_the_end_of_a_month_is_caught(store, three_months) -> None:
    removed = three_months[JAN][-1]
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [removed.pk])
    jan = audit_verify_month(month=JAN)
    assert not jan.ok
    assert jan.broken_chains == (store.id,)
    assert not audit_verify().ok


def test_a_rewritten_anchor_is_caught_by_the_full_walk(store, three_months) -> None:
    _tamper(
        "UPDATE audit_auditchainanchor SET prev_hash = %s WHERE chain = %s AND month = %s",
        ["f" * 64, store.id, MAR.start.date()],
    )
    assert not audit_verify_month(month=MAR).ok
    whole = audit_verify()
    assert not whole.ok
    assert whole.broken_chains == (store.id,)


def test_a_month_of_events_without_its_anchor_is_broken(store, three_months) -> None:
    _tamper(
        "DELETE FROM audit_auditchainanchor WHERE chain = %s AND month = %s",
        [store.id, FEB.start.date()],
    )
    result = audit_verify_month(month=FEB)
    assert (result.ok, result.first_broken_id) == (False, three_months[FEB][0].pk)


def test_verify_audit_month_command(three_months, capsys) -> None:
    call_command("verify_audit", "--month", "2026-02")
    assert "ok: 4 events checked" in capsys.readouterr().out
    _tamper(
        "UPDATE audit_auditevent SET changes = '{\"x\": 1}' WHERE id = %s",
        [three_months[FEB][0].pk],
    )
    with pytest.raises(CommandError, match="BROKEN"):
        call_command("verify_audit", "--month", "2026-02")
    call_command("verify_audit", "--month", "2026-03")  # still fine
    for bad in ("2026-13", "0000-05", "9999-12", "2026"):
        with pytest.raises(CommandError, match="not a month"):
            call_command("verify_audit", "--month", bad)


def test_the_chains_first_event_removed_with_its_anchor_moved_is_caught_by_the_month(
    store, three_months
) -> None:
    """The chain's very first event gone and its month's anchor moved onto the next event: that
    anchor no longer links to the genesis hash, and no earlier anchor explains it."""
    first, second = three_months[JAN]
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [first.pk])
    _tamper(
        "UPDATE audit_auditchainanchor SET first_event_id = %s, prev_hash = %s, hash = %s "
        "WHERE chain = %s AND month = %s",
        [second.pk, second.prev_hash, second.hash, store.id, JAN.start.date()],
    )
    jan = audit_verify_month(month=JAN)
    assert (jan.ok, jan.first_broken_id, jan.broken_chains) == (False, second.pk, (store.id,))
    assert audit_verify_month(month=FEB).ok
    assert not audit_verify().ok


def test_an_event_slipped_in_before_its_months_anchor_is_caught_by_the_month(
    store, three_months
) -> None:
    """No stretch starts before a chain's first anchor: an event of the month with a smaller id
    than the month's anchor is in no stretch, so the month check looks for it."""
    first = three_months[JAN][0]
    forged = first.pk - 1
    _tamper(
        "INSERT INTO audit_auditevent (id, at, action, store_id, chain, object_type, object_id,"
        " changes, request_id, prev_hash, hash) VALUES (%s, %s, 'order.created', %s, %s, '', '',"
        " '{}', '', %s, %s)",
        [forged, first.at, store.id, store.id, "0" * 64, "e" * 64],
    )
    jan = audit_verify_month(month=JAN)
    assert (jan.ok, jan.first_broken_id, jan.broken_chains) == (False, forged, (store.id,))
    assert not audit_verify().ok


def test_the_first_event_of_a_month_removed_is_caught(store, three_months) -> None:
    first = three_months[FEB][0]
    _tamper("DELETE FROM audit_auditevent WHERE id = %s", [first.pk])
    feb = audit_verify_month(month=FEB)
    assert (feb.ok, feb.broken_chains) == (False, (store.id,))
    assert audit_verify_month(month=JAN).ok
    whole = audit_verify()
    assert (whole.ok, whole.broken_chains) == (False, (store.id,))


def test_two_events_of_a_month_swapped_are_caught(store, three_months) -> None:
    first, second = three_months[FEB]
    swap = "UPDATE audit_auditevent SET id = %s WHERE id = %s"
    _tamper(swap, [-1, first.pk])
    _tamper(swap, [first.pk, second.pk])
    _tamper(swap, [second.pk, -1])
    feb = audit_verify_month(month=FEB)
    assert (feb.ok, feb.broken_chains) == (False, (store.id,))
    assert not audit_verify().ok


def test_a_month_stretch_reads_in_batches(store, three_months, monkeypatch) -> None:
    """A stretch longer than one keyset batch verifies whole, and a break after the first batch
    is found."""
    from audit import verification

    monkeypatch.setattr(verification, "_BATCH", 1)
    assert audit_verify_month(month=FEB).events_checked == 4
    edited = three_months[FEB][1]
    _tamper("UPDATE audit_auditevent SET action = 'order.voided' WHERE id = %s", [edited.pk])
    feb = audit_verify_month(month=FEB)
    assert (feb.ok, feb.first_broken_id) == (False, edited.pk)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditchainanchor SET prev_hash = repeat('f', 64) WHERE chain = %s",
        "DELETE FROM audit_auditchainanchor WHERE chain = %s",
    ],
)
def test_anchors_refuse_update_and_delete(store, three_months, statement) -> None:
    """Anchors are append-only, like the events: the trigger refuses a change whoever sends it."""
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [store.id])
    assert AuditChainAnchor.objects.filter(chain=store.id).count() == 3
    assert audit_verify().ok
