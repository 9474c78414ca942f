"""Chain verification catches an event edited or removed directly in the database."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from audit.services import audit_record
from audit.verification import audit_verify

pytestmark = pytest.mark.django_db


@contextmanager
def trigger_disabled():
    """Tamper like an attacker with superuser rights would: run as a replica, which fires no
    ordinary triggers (SET LOCAL: only for the test's own transaction)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
    try:
        yield connection
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


def tamper(sql: str, params: list) -> None:
    with trigger_disabled() as connection, connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def trail(store, manager) -> list[AuditEvent]:
    """Events interleaved over chain 0 and the store's chain."""
    events = []
    for n in range(3):
        events.append(audit_record(action="auth.login", actor=manager, changes={"n": n}))
        events.append(
            audit_record(
                action="order.created",
                actor=manager,
                store_id=store.id,
                object_type="order",
                object_id=n,
                changes={"total": f"{n}.50"},
            )
        )
    return events


def test_an_intact_trail_verifies(trail) -> None:
    result = audit_verify()
    assert (result.ok, result.events_checked, result.first_broken_id) == (True, 6, None)


def test_an_empty_trail_verifies() -> None:
    assert audit_verify().ok


def test_an_edited_event_is_caught(trail) -> None:
    victim = trail[3]  # the store chain's second event
    tamper(
        "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
        [json.dumps({"total": "0.01"}), victim.pk],
    )
    result = audit_verify()
    assert not result.ok
    assert result.first_broken_id == victim.pk
    assert result.events_checked == 6


def test_an_edit_that_also_recomputes_the_events_own_hash_is_caught(trail) -> None:
    """Rewriting an event *and* its hash breaks the next event's link."""
    victim, successor = trail[1], trail[3]
    tamper("UPDATE audit_auditevent SET hash = %s WHERE id = %s", ["f" * 64, victim.pk])
    result = audit_verify()
    assert result.first_broken_id == victim.pk  # its hash no longer matches its content
    assert successor.prev_hash != "f" * 64


def test_a_deleted_event_is_caught_at_the_gap(trail) -> None:
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [trail[2].pk])  # chain 0, middle
    result = audit_verify()
    assert not result.ok
    assert result.first_broken_id == trail[4].pk  # the next chain-0 event no longer links
    assert result.events_checked == 5


def test_a_deleted_last_event_is_caught_by_the_chain_head(trail) -> None:
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [trail[5].pk])  # store chain's last
    result = audit_verify()
    assert not result.ok
    assert result.first_broken_id == trail[5].pk


def test_verify_audit_command_exits_non_zero_when_broken(trail, capsys) -> None:
    call_command("verify_audit")
    assert "ok: 6 events checked" in capsys.readouterr().out
    tamper("UPDATE audit_auditevent SET action = 'auth.logout' WHERE id = %s", [trail[0].pk])
    with pytest.raises(CommandError, match=f"first broken event id {trail[0].pk}") as excinfo:
        call_command("verify_audit")
    assert excinfo.value.returncode == 1


def _batches_read(queries, size: int) -> int:
    return sum(
        1
        for query in queries
        if 'FROM "audit_auditevent"' in query["sql"] and query["sql"].endswith(f"LIMIT {size}")
    )


def test_the_walk_reads_in_batches_and_misses_nothing_at_their_edges(
    trail, monkeypatch, django_assert_max_num_queries
) -> None:
    """Keyset batches of 2 over 6 events on 2 chains: every event read once (batches end inside a
    chain and at a chain's edge), and a break in a later batch is still found."""
    from audit import verification

    monkeypatch.setattr(verification, "_BATCH", 2)
    with django_assert_max_num_queries(20) as captured:
        result = audit_verify()
    assert (result.ok, result.events_checked) == (True, 6)
    assert _batches_read(captured.captured_queries, 2) == 4  # 2 + 2 + 2 + the empty last

    victim = trail[5]  # the store chain's last event: the third batch
    tamper(
        "UPDATE audit_auditevent SET changes = %s WHERE id = %s",
        [json.dumps({"total": "9.99"}), victim.pk],
    )
    result = audit_verify()
    assert (result.ok, result.first_broken_id, result.events_checked) == (False, victim.pk, 6)
