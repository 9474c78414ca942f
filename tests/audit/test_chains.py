"""Events outside any store spread over per-user chains and username shards, so unrelated logins
never queue on one head row; verification still checks every chain, and that each event sits on
the chain its content names."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError, connection, transaction

from accounts.exceptions import InvalidCredentials
from accounts.models import User
from accounts.services import auth_login
from audit import services as audit_services
from audit.chains import (
    USERNAME_SHARD_BASE,
    USERNAME_SHARDS,
    chain_for,
    chain_holds,
    username_shard_chain,
)
from audit.models import OUTSIDE_ANY_STORE, AuditChainHead, AuditEvent
from audit.services import audit_record
from audit.verification import audit_verify
from tests.audit.test_verification import tamper
from tests.factories import DEFAULT_PASSWORD, CashierFactory, StoreFactory

SHARDS = range(USERNAME_SHARD_BASE - USERNAME_SHARDS + 1, USERNAME_SHARD_BASE + 1)


def _failed_login(username: str) -> AuditEvent:
    with pytest.raises(InvalidCredentials):
        auth_login(username=username, password="not-the-password")
    return AuditEvent.objects.filter(action="auth.login_failed").latest("id")


@pytest.mark.django_db
def test_a_login_goes_to_the_users_own_chain() -> None:
    user = CashierFactory()
    auth_login(username=user.username, password=DEFAULT_PASSWORD)
    event = AuditEvent.objects.get(action="auth.login")
    assert event.chain == -user.pk
    assert AuditChainHead.objects.get(chain=-user.pk).last_event_id == event.pk  # made on demand


@pytest.mark.django_db
def test_failed_logins_spread_over_username_shards() -> None:
    chains = {_failed_login(f"spray-{n}").chain for n in range(200)}
    assert chains <= set(SHARDS)
    assert len(chains) > 48  # 200 names over 64 shards; a single hot row would give 1


@pytest.mark.django_db
def test_one_username_keeps_one_shard() -> None:
    first = _failed_login("Mallory")
    again = _failed_login("  mallory ")
    assert first.chain == again.chain == username_shard_chain("MALLORY")
    assert AuditChainHead.objects.get(chain=first.chain).length == 2


@pytest.mark.django_db
def test_a_failed_login_of_a_known_username_does_not_touch_the_users_chain() -> None:
    user = CashierFactory()
    failed = _failed_login(user.username)
    assert failed.chain in SHARDS
    assert not AuditChainHead.objects.filter(chain=-user.pk).exists()


@pytest.mark.django_db
def test_store_events_and_system_events_keep_their_chains() -> None:
    store = StoreFactory()
    assert audit_record(action="shift.opened", store_id=store.pk).chain == store.pk  # type: ignore[union-attr]
    assert audit_record(action="system.tick").chain == OUTSIDE_ANY_STORE  # type: ignore[union-attr]


def _login_event_within(user: User, *, lock_timeout: str) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
        audit_record(action="auth.login", actor=user, object_id=user.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_logins_of_different_users_do_not_wait_for_each_other() -> None:
    alice, bob = CashierFactory(), CashierFactory()
    holding, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def alice_logs_in_and_holds_her_chain() -> None:
        try:
            with transaction.atomic():
                auth_login(username=alice.username, password=DEFAULT_PASSWORD)
                holding.set()  # her chain head stays locked until this commits
                release.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
            holding.set()
        finally:
            connection.close()

    holder = threading.Thread(target=alice_logs_in_and_holds_her_chain)
    holder.start()
    try:
        assert holding.wait(timeout=30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            auth_login(username=bob.username, password=DEFAULT_PASSWORD)  # does not wait
            _failed_login("someone-else")  # nor does a failed login
        # Alice's head really is held: a second login of hers waits, and gives up.
        with pytest.raises(OperationalError, match="lock timeout"):
            _login_event_within(alice, lock_timeout="200ms")
    finally:
        release.set()
        holder.join()
    assert errors == []
    assert AuditChainHead.objects.get(chain=-alice.pk).length == 1
    assert AuditChainHead.objects.get(chain=-bob.pk).length == 1
    assert audit_verify().ok


@pytest.fixture
def spread_trail() -> dict[str, AuditEvent]:
    alice, bob = CashierFactory(), CashierFactory()
    store = StoreFactory()
    events = {
        "alice": audit_record(action="auth.login", actor=alice, object_id=alice.pk),
        "bob": audit_record(action="auth.login", actor=bob, object_id=bob.pk),
        "store": audit_record(action="shift.opened", actor=alice, store_id=store.pk),
        "spray": audit_record(action="auth.login_failed", changes={"username": "root"}),
        "system": audit_record(action="system.tick"),
    }
    return events  # type: ignore[return-value]


@pytest.mark.django_db
def test_a_trail_over_user_shard_store_and_system_chains_verifies(spread_trail) -> None:
    result = audit_verify()
    assert result.ok
    assert result.events_checked == 5
    assert len({event.chain for event in spread_trail.values()}) == 5


@pytest.mark.django_db
def test_events_written_on_chain_zero_before_the_split_still_verify(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = CashierFactory()
    monkeypatch.setattr(audit_services, "chain_for", lambda content: OUTSIDE_ANY_STORE)
    legacy = audit_record(action="auth.login", actor=user, object_id=user.pk)
    monkeypatch.undo()
    current = audit_record(action="auth.login", actor=user, object_id=user.pk)
    assert (legacy.chain, current.chain) == (OUTSIDE_ANY_STORE, -user.pk)  # type: ignore[union-attr]
    assert audit_verify().ok


@pytest.mark.django_db
def test_an_edited_event_on_a_user_chain_is_caught(spread_trail) -> None:
    victim = spread_trail["alice"]
    tamper("UPDATE audit_auditevent SET action = 'auth.logout' WHERE id = %s", [victim.pk])
    result = audit_verify()
    assert not result.ok
    assert result.broken_chains == (victim.chain,)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["alice", "spray"])
def test_an_event_moved_to_another_chain_is_caught(spread_trail, who: str) -> None:
    """Moved with its head and its month's anchor, so every link, head and anchor still fits:
    only the check that the event sits on the chain its content names catches it."""
    victim = spread_trail[who]
    elsewhere = -(10**17)
    tamper("UPDATE audit_auditevent SET chain = %s WHERE id = %s", [elsewhere, victim.pk])
    tamper("UPDATE audit_auditchainhead SET chain = %s WHERE chain = %s", [elsewhere, victim.chain])
    tamper(
        "UPDATE audit_auditchainanchor SET chain = %s WHERE chain = %s", [elsewhere, victim.chain]
    )
    result = audit_verify()
    assert not result.ok
    assert result.broken_chains == (elsewhere,)
    assert result.first_broken_id == victim.pk


@pytest.mark.django_db
def test_a_store_event_may_not_sit_on_chain_zero() -> None:
    content = {"store_id": 7, "actor": None, "object_type": "", "object_id": "", "changes": {}}
    assert chain_for(content) == 7
    assert not chain_holds(OUTSIDE_ANY_STORE, content)
    assert chain_holds(OUTSIDE_ANY_STORE, {**content, "store_id": None})


def test_a_user_object_wins_over_the_actor() -> None:
    content = {"store_id": None, "actor": 3, "object_type": "user", "object_id": "9", "changes": {}}
    assert chain_for(content) == -9
    assert chain_for({**content, "object_id": ""}) == -3
    assert chain_for({**content, "object_type": "product", "object_id": "9"}) == -3
