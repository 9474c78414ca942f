"""`audit.services.audit_record`: chaining, hashing, context defaults and redaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from audit.hashing import chain_hash, event_content
from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import audit_record
from request_context import RequestContext, reset_context, set_context

pytestmark = pytest.mark.django_db


def recomputed_hash(event: AuditEvent) -> str:
    return chain_hash(
        event.prev_hash,
        event_content(
            at=event.at,
            actor_id=event.actor_id,
            action=event.action,
            store_id=event.store_id,
            object_type=event.object_type,
            object_id=event.object_id,
            changes=event.changes,
            ip=None if event.ip is None else str(event.ip),
            request_id=event.request_id,
        ),
    )


def test_events_chain_per_store_and_per_user_outside_stores(store, other_store, manager):
    first = audit_record(
        action="product.created", actor=manager, object_type="product", object_id=1
    )
    in_store = audit_record(action="shift.opened", actor=manager, store_id=store.id)
    in_store_2 = audit_record(action="shift.closed", actor=manager, store_id=store.id)
    in_other = audit_record(action="shift.opened", actor=manager, store_id=other_store.id)
    second = audit_record(action="auth.login", actor=manager)

    assert (first.chain, in_store.chain, in_other.chain) == (-manager.pk, store.id, other_store.id)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert in_store.prev_hash == GENESIS_HASH
    assert in_store_2.prev_hash == in_store.hash
    assert in_other.prev_hash == GENESIS_HASH

    head = AuditChainHead.objects.get(chain=store.id)
    assert (head.last_hash, head.last_event_id, head.length) == (in_store_2.hash, in_store_2.id, 2)
    assert AuditChainHead.objects.get(chain=-manager.pk).length == 2
    assert not AuditChainHead.objects.filter(chain=0).exists()


def test_the_stored_row_hashes_to_its_hash(store, manager):
    event = audit_record(
        action="order.created",
        actor=manager,
        store_id=store.id,
        object_type="order",
        object_id=17,
        changes={
            "total": Decimal("17.73"),
            "client_created_at": dt.datetime(2026, 11, 21, 17, 2, 11, tzinfo=dt.UTC),
            "lines": [{"product": 17, "quantity": Decimal("1.250")}],
            "ünïcode": "café",
        },
        ip="2001:0db8:0000:0000:0000:0000:0000:0001",
        request_id="req-1",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.changes["total"] == "17.73"
    assert stored.changes["lines"] == [{"product": 17, "quantity": "1.250"}]
    assert stored.object_id == "17"
    assert str(stored.ip) == "2001:db8::1"
    assert len(stored.hash) == 64
    assert recomputed_hash(stored) == stored.hash


def test_ip_and_request_id_default_to_the_request_context(store):
    token = set_context(RequestContext(request_id="abc123", ip="10.1.2.3", user_id=None))
    try:
        event = audit_record(action="auth.login_failed", changes={"username": "bob"})
    finally:
        reset_context(token)
    assert (event.ip, event.request_id, event.actor_id) == ("10.1.2.3", "abc123", None)
    explicit = audit_record(action="x.y", ip="not-an-ip", request_id="r2")
    assert (explicit.ip, explicit.request_id) == (None, "r2")


def test_anonymous_or_id_actor(django_user_model, manager):
    from django.contrib.auth.models import AnonymousUser

    assert audit_record(action="auth.login_failed", actor=AnonymousUser()).actor_id is None
    assert audit_record(action="user.created", actor=manager.id).actor_id == manager.id


def test_secrets_never_reach_changes():
    event = audit_record(
        action="user.created",
        changes={
            "username": "carol",
            "password": "hunter2-very-secret",
            "new_password": "x",
            "refresh": "eyJhbGciOi.abc.def",
            "api_key": "k",
            "note": "paid with 4111 1111 1111 1111 and Bearer abc.def.ghi",
            "card_number": "4111111111111111",
            "nested": {"token": "t", "old": {"password": "p"}},
            "barcode": "4006381333931",
            "product": {"barcode": {"old": None, "new": "5901234123457"}},
        },
    )
    stored = AuditEvent.objects.get(pk=event.pk).changes
    assert stored["password"] == stored["new_password"] == "[REDACTED]"
    assert stored["refresh"] == stored["api_key"] == stored["card_number"] == "[REDACTED]"
    assert stored["nested"] == {"token": "[REDACTED]", "old": {"password": "[REDACTED]"}}
    assert "4111" not in stored["note"]
    assert "abc.def" not in stored["note"]
    # Product identifiers look like card numbers to a regex; they are kept.
    assert stored["barcode"] == "4006381333931"
    assert stored["product"]["barcode"]["new"] == "5901234123457"
    assert "hunter2" not in str(stored)


def test_queries_per_event_once_the_chain_exists(store, django_assert_num_queries):
    """One statement: lock the head, insert, move the head."""
    audit_record(action="first", store_id=store.id)
    with django_assert_num_queries(1):
        audit_record(action="second", store_id=store.id, changes={"a": 1})


def test_an_event_appended_to_an_existing_chain_hashes_like_the_first(store, manager):
    """Every event is hashed by the database (`chain_hash_sql`, in the append statement): it
    must hash exactly the text `chain_hash` hashes, whatever the content."""
    from audit.verification import audit_verify

    first = audit_record(action="shift.opened", actor=manager, store_id=store.id)
    event = audit_record(
        action="order.created",
        actor=manager,
        store_id=store.id,
        object_type="order",
        object_id=18,
        changes={
            "note": "quotes \" and ' and back\\slash, 100 % and ünïcode ☕",
            "total": Decimal("1.10"),
            "nested": {"b": [1, 2.5, None, True], "a": ""},
        },
        ip="2001:0db8:0000:0000:0000:0000:0000:0002",
        request_id="req-2",
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.prev_hash == first.hash == event.prev_hash
    assert stored.hash == event.hash
    assert recomputed_hash(stored) == stored.hash
    assert stored.changes == event.changes
    assert str(stored.ip) == "2001:db8::2"
    head = AuditChainHead.objects.get(chain=store.id)
    assert (head.last_hash, head.last_event_id, head.length) == (event.hash, event.pk, 2)
    assert audit_verify(chain=store.id).ok


# --- audit_at_end: the events of a block appended at its end ------------------------------------


def test_audit_at_end_appends_the_blocks_events_at_its_end_in_order(store, manager):
    from django.db import transaction

    from audit.services import audit_at_end
    from audit.verification import audit_verify

    with transaction.atomic():
        with audit_at_end():
            assert audit_record(action="shift.opened", actor=manager, store_id=store.id) is None
            assert audit_record(action="shift.closed", actor=manager, store_id=store.id) is None
            assert not AuditEvent.objects.filter(store_id=store.id).exists()
        events = list(AuditEvent.objects.filter(store_id=store.id).order_by("id"))

    assert [e.action for e in events] == ["shift.opened", "shift.closed"]
    assert events[1].prev_hash == events[0].hash
    assert all(e.hash == recomputed_hash(e) for e in events)
    assert audit_verify().ok


def test_audit_at_end_drops_the_events_when_the_block_raises(store, manager):
    from django.db import transaction

    from audit.services import audit_at_end

    def record_then_fail() -> None:
        with transaction.atomic(), audit_at_end():
            audit_record(action="shift.opened", actor=manager, store_id=store.id)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        record_then_fail()

    assert not AuditEvent.objects.filter(store_id=store.id).exists()
    head = AuditChainHead.objects.filter(chain=store.id).first()
    assert head is None or head.length == 0


def test_an_event_inside_a_nested_savepoint_is_written_at_once(store, manager):
    """A savepoint rolled back on its own must take its event with it, so it is not deferred."""
    from django.db import transaction

    from audit.services import audit_at_end

    with transaction.atomic(), audit_at_end():
        with transaction.atomic():
            written = audit_record(action="shift.opened", actor=manager, store_id=store.id)
            assert written is not None
            assert written.pk is not None
        try:
            with transaction.atomic():
                audit_record(action="shift.closed", actor=manager, store_id=store.id)
                raise RuntimeError("rolled back on its own")
        except RuntimeError:
            pass
        deferred = audit_record(action="cash.in", actor=manager, store_id=store.id)
        assert deferred is None

    actions = list(
        AuditEvent.objects.filter(store_id=store.id).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["shift.opened", "cash.in"]


@pytest.mark.django_db(transaction=True)
def test_audit_at_end_refuses_to_run_outside_a_transaction():
    from audit.services import audit_at_end

    with pytest.raises(RuntimeError, match=r"inside transaction\.atomic"), audit_at_end():
        pass  # pragma: no cover
