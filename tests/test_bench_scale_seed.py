"""The scale benchmark's seeder (bench/scale_seed.py) writes history the app would accept.

Seeds a tiny N in two batches (so the second continues every audit chain from its head and the
resume logic is exercised), then checks what the 1M-order run relies on: row counts per order,
every journal entry balanced (with the ledger's triggers on), the audit trail verifying with the
project's own verifier, and a rerun adding nothing.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection

from audit.verification import audit_verify, audit_verify_month
from bench import scale_seed
from dbtools.partitions import Month

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

ORDERS = 30
END = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _seed(orders: int) -> scale_seed.Base:
    base = scale_seed.seed_base(stores=3, registers=2)
    scale_seed.seed_orders(base=base, orders=orders, months=1, batch=20, audit_per_order=5, end=END)
    return base


def _scalar(sql: str, params: list[dt.datetime] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def test_seed_counts_follow_the_per_order_shape() -> None:
    _seed(ORDERS)

    counts = scale_seed.counts()

    lines = sum(2 if i % 3 == 0 else 3 for i in range(1, ORDERS + 1))
    assert counts == {
        "orders": ORDERS,
        "order_lines": lines,
        "payments": ORDERS,
        "journal_entries": ORDERS,
        "journal_lines": 2 * ORDERS + 3 * lines,
        "audit_events": 5 * ORDERS,
        "stock_movements": lines,
        "idempotency_keys": _scalar(
            "SELECT count(*) FROM orders_order WHERE created_at > %s",
            [END - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)],
        ),
    }
    assert _scalar("SELECT count(DISTINCT store_id) FROM orders_order") == 3
    # Spread over the month before END, never after it.
    assert (
        _scalar(
            "SELECT count(*) FROM orders_order WHERE created_at >= '2026-06-01' "
            "OR created_at < '2026-05-02'"
        )
        == 0
    )


def test_every_journal_entry_balances_and_matches_its_order() -> None:
    _seed(ORDERS)

    unbalanced = _scalar(
        "SELECT count(*) FROM (SELECT entry_id FROM ledger_journalline GROUP BY entry_id "
        "HAVING sum(debit) <> sum(credit)) x"
    )
    mismatched = _scalar(
        "SELECT count(*) FROM orders_order o JOIN ledger_journalentry e "
        "ON e.source = 'sale' AND e.source_id = o.id "
        "WHERE o.total <> (SELECT sum(debit) FROM ledger_journalline l "
        "JOIN ledger_account a ON a.id = l.account_id "
        "WHERE l.entry_id = e.id AND a.code IN ('1000', '1010', '1020'))"
    )
    order_totals = _scalar(
        "SELECT count(*) FROM orders_order o WHERE o.total <> "
        "(SELECT sum(total) FROM orders_orderline l WHERE l.order_id = o.id) "
        "OR o.total <> (SELECT sum(amount) FROM orders_payment p WHERE p.order_id = o.id)"
    )

    assert (unbalanced, mismatched, order_totals) == (0, 0, 0)


def test_audit_trail_verifies_across_batches() -> None:
    _seed(ORDERS)

    result = audit_verify()

    assert result.ok, result
    assert result.events_checked == 5 * ORDERS
    assert _scalar("SELECT count(*) FROM audit_auditchainhead") == 3
    assert _scalar("SELECT sum(length) FROM audit_auditchainhead") == 5 * ORDERS
    # Anchored as the app's append anchors: each month verifies on its own.
    months = [Month.of(END - dt.timedelta(days=days)) for days in (1, 31)]
    assert _scalar("SELECT count(*) FROM audit_auditchainanchor") >= 3
    for month in months:
        assert audit_verify_month(month=month).ok, month


def test_audit_verification_notices_a_seeded_event_out_of_chain() -> None:
    """The seeded hashes are checked, not trusted: a chain head pointing elsewhere is caught."""
    _seed(ORDERS)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditchainhead SET length = length - 1 "
            "WHERE chain = (SELECT min(chain) FROM audit_auditchainhead)"
        )

    assert not audit_verify().ok


def test_a_rerun_resumes_after_the_last_batch() -> None:
    base = _seed(ORDERS // 2)

    _seed(ORDERS)
    _seed(ORDERS)

    assert scale_seed.seeded_orders(base) == ORDERS
    assert scale_seed.counts()["orders"] == ORDERS
    assert audit_verify().ok
