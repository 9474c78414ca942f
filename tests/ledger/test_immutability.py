"""Posted entries are immutable and balanced: the ORM guards everywhere, and the PostgreSQL
triggers behind them (raw SQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction

from ledger import services
from ledger.exceptions import ImmutableRecord
from ledger.models import JournalEntry, JournalLine

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = dt.date(2026, 11, 21)


@pytest.fixture
def entry(store) -> JournalEntry:
    return services.post_cash_movement(
        store=store, date=TODAY, movement_id=1, kind="in", amount=D("20.00"), created_by=None
    )


def test_entry_save_and_delete_are_refused(entry) -> None:
    entry.memo = "rewritten"
    with pytest.raises(ImmutableRecord):
        entry.save()
    with pytest.raises(ImmutableRecord):
        entry.delete()
    assert JournalEntry.objects.get(pk=entry.pk).memo != "rewritten"


def test_line_save_and_delete_are_refused(entry) -> None:
    line = entry.lines.first()
    line.debit = D("99.00")
    with pytest.raises(ImmutableRecord):
        line.save()
    with pytest.raises(ImmutableRecord):
        line.delete()


@pytest.mark.parametrize("model", [JournalEntry, JournalLine])
def test_queryset_update_delete_and_bulk_update_are_refused(entry, model) -> None:
    with pytest.raises(ImmutableRecord):
        model.objects.all().update(id=0)
    with pytest.raises(ImmutableRecord):
        model.objects.filter(pk__gt=0).delete()
    with pytest.raises(ImmutableRecord):
        model.objects.bulk_update(list(model.objects.all()), ["id"])
    assert model.objects.count() == (1 if model is JournalEntry else 2)


def test_related_manager_cannot_delete_lines(entry) -> None:
    with pytest.raises(ImmutableRecord):
        entry.lines.all().delete()
    assert entry.lines.count() == 2


# --- PostgreSQL triggers ------------------------------------------------------------------------


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE ledger_journalentry SET memo = 'x' WHERE id = %s",
        "DELETE FROM ledger_journalentry WHERE id = %s",
        "UPDATE ledger_journalline SET debit = debit + 1 WHERE entry_id = %s",
        "DELETE FROM ledger_journalline WHERE entry_id = %s",
    ],
    ids=["update-entry", "delete-entry", "update-line", "delete-line"],
)
def test_trigger_refuses_raw_update_and_delete(entry, sql) -> None:
    with pytest.raises(IntegrityError, match="immutable"), transaction.atomic():
        raw(sql, [entry.pk])
    assert entry.lines.count() == 2


def _raw_entry(store_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO ledger_journalentry (date, store_id, memo, source, source_id, created_at)"
            " VALUES (%s, %s, '', 'sale', 1, now()) RETURNING id",
            [TODAY, store_id],
        )
        return cursor.fetchone()[0]


def _raw_line(entry_id: int, code: str, debit: str, credit: str) -> None:
    raw(
        "INSERT INTO ledger_journalline (entry_id, account_id, debit, credit)"
        " SELECT %s, id, %s, %s FROM ledger_account WHERE code = %s",
        [entry_id, D(debit), D(credit), code],
    )


def _write_unbalanced_entry(store_id: int, *, check_now: bool) -> int:
    with transaction.atomic():
        entry_id = _raw_entry(store_id)
        _raw_line(entry_id, "1000", "10.00", "0")
        _raw_line(entry_id, "4000", "0", "9.00")
        if check_now:
            # The trigger is deferred to commit. Force the check now (what COMMIT does): a test
            # inside the test-case transaction never commits.
            raw("SET CONSTRAINTS ledger_journalline_balanced IMMEDIATE")
    return entry_id


@pytest.mark.postgres
def test_deferred_trigger_refuses_an_unbalanced_entry_at_commit_time(store) -> None:
    with pytest.raises(IntegrityError, match="unbalanced"):
        _write_unbalanced_entry(store.id, check_now=True)


@pytest.mark.postgres
def test_deferred_trigger_lets_a_balanced_entry_written_line_by_line_through(store) -> None:
    with transaction.atomic():
        entry_id = _raw_entry(store.id)
        _raw_line(entry_id, "1000", "10.00", "0")  # unbalanced for a moment: fine, deferred
        _raw_line(entry_id, "4000", "0", "10.00")
        raw("SET CONSTRAINTS ledger_journalline_balanced IMMEDIATE")
    assert JournalLine.objects.filter(entry_id=entry_id).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_commit_of_an_unbalanced_entry_fails_and_leaves_nothing(store) -> None:
    with pytest.raises(IntegrityError, match="unbalanced"):
        _write_unbalanced_entry(store.id, check_now=False)  # fails at COMMIT
    assert not JournalEntry.objects.exists()
    # The service's own entries commit fine under the trigger.
    posted = services.post_sale(
        store=store,
        date=TODAY,
        order_id=1,
        tenders={"cash": D("10.80")},
        net=D("10.00"),
        tax=D("0.80"),
        cost=D("4.00"),
        created_by=None,
    )
    assert JournalLine.objects.filter(entry=posted).count() == 5
