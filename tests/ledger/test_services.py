"""Posting rules, balance and rounding of `ledger.services`."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from ledger import services
from ledger.exceptions import UnbalancedEntry, UnknownAccount
from ledger.models import Account, JournalEntry, JournalLine
from ledger.services import PostingLine
from monitoring.metrics import LEDGER_POSTINGS

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = dt.date(2026, 11, 21)


def lines_of(entry: JournalEntry) -> list[tuple[str, Decimal, Decimal]]:
    return [
        (code, debit, credit)
        for code, debit, credit in entry.lines.order_by("id").values_list(
            "account__code", "debit", "credit"
        )
    ]


def assert_balanced(entry: JournalEntry) -> None:
    totals = entry.lines.aggregate(debit=Sum("debit"), credit=Sum("credit"))
    assert totals["debit"] == totals["credit"]


def test_chart_is_seeded_with_the_contract_accounts() -> None:
    chart = {a.code: (a.name, a.type) for a in Account.objects.all()}
    assert chart == {
        "1000": ("Cash", "asset"),
        "1010": ("Card clearing", "asset"),
        "1020": ("Other tenders", "asset"),
        "1050": ("Cash transfers", "asset"),
        "1090": ("Exchange clearing", "asset"),
        "1200": ("Inventory", "asset"),
        "2100": ("Sales tax payable", "liability"),
        "2150": ("Tips payable", "liability"),
        "2300": ("Gift cards outstanding", "liability"),
        "2310": ("Store credit", "liability"),
        "2320": ("Loyalty points", "liability"),
        "4000": ("Sales revenue", "revenue"),
        "4010": ("Gift card breakage", "revenue"),
        "4900": ("Sales returns", "revenue"),
        "5000": ("Cost of goods sold", "expense"),
        "5100": ("Inventory adjustments", "expense"),
        "6900": ("Cash over/short", "expense"),
        "6910": ("Cash rounding", "expense"),
    }


def test_journal_post_writes_a_balanced_entry_dropping_zero_lines(store) -> None:
    entry = services.journal_post(
        store=store,
        date=TODAY,
        memo="test",
        source="sale",
        source_id=7,
        lines=[
            PostingLine("1000", debit=D("10.01")),
            PostingLine("4000", credit=D("9.000")),
            PostingLine("2100", credit=D("1.01")),
            PostingLine("5000", debit=D("0.00")),  # zero → dropped
            PostingLine("1200", credit=D("0")),
        ],
        created_by=None,
    )
    entry.refresh_from_db()
    assert (entry.store_id, entry.date, entry.source, entry.source_id) == (
        store.id,
        TODAY,
        "sale",
        7,
    )
    assert lines_of(entry) == [
        ("1000", D("10.01"), D("0.00")),
        ("4000", D("0.00"), D("9.00")),
        ("2100", D("0.00"), D("1.01")),
    ]


@pytest.mark.parametrize(
    ("currency", "amount"),
    [("USD", "10.005"), ("USD", "0.001"), ("JPY", "100.5"), ("KWD", "1.0005")],
)
def test_journal_post_refuses_an_amount_finer_than_the_store_currency(
    store, currency: str, amount: str
) -> None:
    """A caller that left an amount unrounded has a bug: posting it rounded would hide it."""
    store.currency = currency
    with pytest.raises(UnbalancedEntry, match="minor unit"):
        services.journal_post(
            store=store,
            date=TODAY,
            memo="test",
            source="sale",
            source_id=7,
            lines=[PostingLine("1000", debit=D(amount)), PostingLine("4000", credit=D(amount))],
            created_by=None,
        )
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize(
    "lines",
    [
        [PostingLine("1000", debit=D("10.00")), PostingLine("4000", credit=D("9.99"))],
        # balanced before rounding, not after: refused
        [
            PostingLine("1000", debit=D("0.005")),
            PostingLine("4000", credit=D("0.004")),
            PostingLine("2100", credit=D("0.001")),
        ],
        [PostingLine("1000", debit=D("-1.00")), PostingLine("4000", debit=D("1.00"))],
        [PostingLine("1000", debit=D("1.00"), credit=D("1.00"))],
    ],
    ids=["unbalanced", "unbalanced-after-rounding", "negative", "both-sides"],
)
def test_unpostable_entries_are_refused_and_nothing_is_written(store, lines) -> None:
    with pytest.raises(UnbalancedEntry):
        services.journal_post(
            store=store,
            date=TODAY,
            memo="",
            source="sale",
            source_id=1,
            lines=lines,
            created_by=None,
        )
    assert not JournalEntry.objects.exists()
    assert not JournalLine.objects.exists()


def test_unknown_account_is_refused(store) -> None:
    with pytest.raises(UnknownAccount):
        services.journal_post(
            store=store,
            date=TODAY,
            memo="",
            source="sale",
            source_id=1,
            lines=[PostingLine("9999", debit=D("1")), PostingLine("1000", credit=D("1"))],
            created_by=None,
        )
    with pytest.raises(UnknownAccount):
        services.post_sale(
            store=store,
            date=TODAY,
            order_id=1,
            tenders={"bitcoin": D("1.00")},
            net=D("1.00"),
            tax=D("0"),
            cost=D("0"),
            created_by=None,
        )
    assert not JournalEntry.objects.exists()


def test_unknown_source_is_refused(store) -> None:
    with pytest.raises(ValueError, match="source"):
        services.journal_post(
            store=store, date=TODAY, memo="", source="gift", source_id=1, lines=[], created_by=None
        )


def test_post_sale(store, cashier) -> None:
    entry = services.post_sale(
        store=store,
        date=TODAY,
        order_id=42,
        tenders={"cash": D("10.00"), "card": D("7.73"), "other": D("0")},
        net=D("16.38"),
        tax=D("1.35"),
        cost=D("6.40"),
        created_by=cashier,
    )
    assert (entry.source, entry.source_id, entry.created_by_id) == ("sale", 42, cashier.id)
    assert sorted(lines_of(entry)) == sorted(
        [
            ("1000", D("10.00"), D("0.00")),
            ("1010", D("7.73"), D("0.00")),
            ("4000", D("0.00"), D("16.38")),
            ("2100", D("0.00"), D("1.35")),
            ("5000", D("6.40"), D("0.00")),
            ("1200", D("0.00"), D("6.40")),
        ]
    )
    assert_balanced(entry)


def test_post_sale_without_cost_has_no_cogs_lines(store) -> None:
    entry = services.post_sale(
        store=store,
        date=TODAY,
        order_id=1,
        tenders={"cash": D("5.00")},
        net=D("5.00"),
        tax=D("0.00"),
        cost=D("0.00"),
        created_by=None,
    )
    assert lines_of(entry) == [("1000", D("5.00"), D("0.00")), ("4000", D("0.00"), D("5.00"))]


def test_a_free_sale_still_gets_its_entry(store) -> None:
    entry = services.post_sale(
        store=store,
        date=TODAY,
        order_id=3,
        tenders={"cash": D("0")},
        net=D("0"),
        tax=D("0"),
        cost=D("0"),
        created_by=None,
    )
    assert entry.pk is not None
    assert lines_of(entry) == []


def test_post_refund_with_and_without_restock(store, manager) -> None:
    restocked = services.post_refund(
        store=store,
        date=TODAY,
        refund_id=5,
        tenders={"card": D("3.00"), "cash": D("2.41")},
        net=D("5.00"),
        tax=D("0.41"),
        restocked_cost=D("2.10"),
        created_by=manager,
    )
    assert (restocked.source, restocked.source_id) == ("refund", 5)
    assert sorted(lines_of(restocked)) == sorted(
        [
            ("4900", D("5.00"), D("0.00")),
            ("2100", D("0.41"), D("0.00")),
            ("1000", D("0.00"), D("2.41")),
            ("1010", D("0.00"), D("3.00")),
            ("1200", D("2.10"), D("0.00")),
            ("5000", D("0.00"), D("2.10")),
        ]
    )
    not_restocked = services.post_refund(
        store=store,
        date=TODAY,
        refund_id=6,
        tenders={"other": D("1.08")},
        net=D("1.00"),
        tax=D("0.08"),
        restocked_cost=D("0"),
        created_by=manager,
    )
    assert sorted(lines_of(not_restocked)) == sorted(
        [
            ("4900", D("1.00"), D("0.00")),
            ("2100", D("0.08"), D("0.00")),
            ("1020", D("0.00"), D("1.08")),
        ]
    )


@pytest.mark.parametrize(
    ("difference", "expected"),
    [
        (D("2.50"), [("1000", D("2.50"), D("0.00")), ("6900", D("0.00"), D("2.50"))]),
        (D("-0.75"), [("6900", D("0.75"), D("0.00")), ("1000", D("0.00"), D("0.75"))]),
    ],
    ids=["over", "short"],
)
def test_post_shift_close(store, difference, expected) -> None:
    entry = services.post_shift_close(
        store=store, date=TODAY, shift_id=9, difference=difference, created_by=None
    )
    assert entry is not None
    assert (entry.source, entry.source_id) == ("shift_close", 9)
    assert lines_of(entry) == expected


def test_post_shift_close_without_difference_posts_nothing(store) -> None:
    assert (
        services.post_shift_close(
            store=store, date=TODAY, shift_id=9, difference=D("0.00"), created_by=None
        )
        is None
    )
    assert not JournalEntry.objects.exists()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("in", [("1000", D("20.00"), D("0.00")), ("1050", D("0.00"), D("20.00"))]),
        ("out", [("1050", D("20.00"), D("0.00")), ("1000", D("0.00"), D("20.00"))]),
    ],
)
def test_post_cash_movement(store, kind, expected) -> None:
    entry = services.post_cash_movement(
        store=store, date=TODAY, movement_id=4, kind=kind, amount=D("20.00"), created_by=None
    )
    assert (entry.source, entry.source_id) == ("cash_movement", 4)
    assert lines_of(entry) == expected


def test_post_cash_movement_refuses_unknown_kind(store) -> None:
    with pytest.raises(ValueError, match="kind"):
        services.post_cash_movement(
            store=store, date=TODAY, movement_id=4, kind="sideways", amount=D("1"), created_by=None
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D("12.345"), [("1200", D("12.35"), D("0.00")), ("5100", D("0.00"), D("12.35"))]),
        (D("-3.00"), [("5100", D("3.00"), D("0.00")), ("1200", D("0.00"), D("3.00"))]),
    ],
    ids=["gain", "loss"],
)
def test_post_stock_adjustment(store, value, expected) -> None:
    entry = services.post_stock_adjustment(
        store=store, date=TODAY, movement_id=11, value=value, created_by=None
    )
    assert entry is not None
    assert (entry.source, entry.source_id) == ("stock_adjustment", 11)
    assert lines_of(entry) == expected


def test_post_stock_adjustment_of_zero_value_posts_nothing(store) -> None:
    assert (
        services.post_stock_adjustment(
            store=store, date=TODAY, movement_id=1, value=D("0.004"), created_by=None
        )
        is None
    )


def test_journal_reverse_mirrors_the_entry(store, manager) -> None:
    original = services.post_cash_movement(
        store=store, date=TODAY, movement_id=4, kind="in", amount=D("20.00"), created_by=None
    )
    reversal = services.journal_reverse(
        entry=original, date=TODAY + dt.timedelta(days=1), created_by=manager
    )
    assert (reversal.source, reversal.source_id) == ("reversal", original.id)
    assert lines_of(reversal) == [
        ("1000", D("0.00"), D("20.00")),
        ("1050", D("20.00"), D("0.00")),
    ]
    net = JournalLine.objects.filter(account__code="1000").aggregate(
        d=Sum("debit"), c=Sum("credit")
    )
    assert net["d"] == net["c"]


def test_posting_costs_the_same_queries_whatever_the_line_count(
    store, django_assert_num_queries
) -> None:
    # The entry and its lines in one statement.
    per_posting = 1
    services.clear_account_cache()
    with django_assert_num_queries(1 + per_posting):  # cold: the chart is loaded once
        services.post_cash_movement(
            store=store, date=TODAY, movement_id=1, kind="in", amount=D("1"), created_by=None
        )
    with django_assert_num_queries(per_posting):  # warm
        services.post_sale(
            store=store,
            date=TODAY,
            order_id=1,
            tenders={"cash": D("1.00"), "card": D("2.00"), "other": D("3.00")},
            net=D("5.50"),
            tax=D("0.50"),
            cost=D("2.00"),
            created_by=None,
        )
    many = [PostingLine("1000", debit=D("0.01")) for _ in range(200)]
    many.append(PostingLine("4000", credit=D("2.00")))
    with django_assert_num_queries(per_posting):
        services.journal_post(
            store=store,
            date=TODAY,
            memo="",
            source="sale",
            source_id=2,
            lines=many,
            created_by=None,
        )


def test_postings_metric_counts_after_commit_only(
    store, django_capture_on_commit_callbacks
) -> None:
    def value() -> float:
        return LEDGER_POSTINGS.labels(source="cash_movement")._value.get()

    before = value()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.post_cash_movement(
            store=store, date=TODAY, movement_id=1, kind="out", amount=D("1"), created_by=None
        )
    assert value() == before  # not yet committed
    for callback in callbacks:
        callback()
    assert value() == before + 1
