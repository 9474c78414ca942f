"""Concurrent appenders never fork a chain (PostgreSQL: real threads, own connections)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from audit.models import GENESIS_HASH, AuditChainHead, AuditEvent
from audit.services import audit_record
from audit.verification import audit_verify
from tests.factories import StoreFactory

pytestmark = pytest.mark.concurrency

THREADS = 6
EVENTS_PER_THREAD = 8


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_to_one_chain_make_one_unbroken_chain() -> None:
    store = StoreFactory()
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def append(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(EVENTS_PER_THREAD):
                with transaction.atomic():
                    # Some work before the append, as a service would do: the head lock is
                    # taken only at the append and held until commit.
                    audit_record(
                        action="order.created",
                        store_id=store.id,
                        object_type="order",
                        object_id=f"{worker}-{n}",
                    )
                    # The first event of a chain racing on the head's creation, too.
                    if n % 3 == 0:
                        audit_record(action="auth.login", changes={"worker": worker})
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=append, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []

    chain = list(AuditEvent.objects.filter(chain=store.id).order_by("id"))
    assert len(chain) == THREADS * EVENTS_PER_THREAD
    previous = GENESIS_HASH
    for event in chain:
        assert event.prev_hash == previous  # no fork: every hash is used exactly once
        previous = event.hash
    head = AuditChainHead.objects.get(chain=store.id)
    assert (head.length, head.last_hash, head.last_event_id) == (len(chain), previous, chain[-1].id)

    result = audit_verify()
    assert result.ok
    assert result.events_checked == AuditEvent.objects.count()
