"""Posting to the ledger. The ledger knows its sources only by type and id, and takes plain
amounts: the calling service (a sale, a refund, a shift close …) computes them and calls the
matching `post_*` function inside its own transaction, so the entry commits or rolls back with
its cause.

Every posting costs one query whatever the number of lines (the entry and its lines in one
statement). Account ids come from an in-process cache of the seeded chart, which is loaded once per
process (one query) and never changes afterwards.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Field
from django.utils import timezone

from accounts.models import Store, User
from dbtools.rows import cache_related, column, qn, table
from dbtools.unnest import UnnestInsert, fill_defaults, insert_fields, saved_one
from ledger.exceptions import UnbalancedEntry, UnknownAccount
from ledger.models import CHART_OF_ACCOUNTS, Account, EntrySource, JournalEntry, JournalLine
from money import ZERO
from money.currencies import fits_currency, round_money
from monitoring.metrics import LEDGER_POSTINGS

# Account codes the posting rules use (contract: "Ledger").
CASH = "1000"
CARD_CLEARING = "1010"
OTHER_TENDERS = "1020"
CASH_TRANSFERS = "1050"
EXCHANGE_CLEARING = "1090"
INVENTORY = "1200"
SALES_TAX_PAYABLE = "2100"
TIPS_PAYABLE = "2150"
GIFT_CARDS_OUTSTANDING = "2300"
STORE_CREDIT = "2310"
LOYALTY_POINTS = "2320"
SALES_REVENUE = "4000"
GIFT_CARD_BREAKAGE = "4010"
SALES_RETURNS = "4900"
COST_OF_GOODS_SOLD = "5000"
INVENTORY_ADJUSTMENTS = "5100"
CASH_OVER_SHORT = "6900"
CASH_ROUNDING = "6910"

TENDER_ACCOUNTS: Mapping[str, str] = {
    "cash": CASH,
    "card": CARD_CLEARING,
    "other": OTHER_TENDERS,
    # An exchange: the returned goods' refund credits it, the sale they pay for debits it, in
    # one transaction; it is zero after every commit.
    "exchange": EXCHANGE_CLEARING,
    # A gift card pays (Dr: the liability shrinks) or is refunded to (Cr: it grows again).
    "gift_card": GIFT_CARDS_OUTSTANDING,
    # Store credit pays (Dr: the customer's balance shrinks) or is given back as a refund, a
    # return or an exchange's payback (Cr: it grows).
    "store_credit": STORE_CREDIT,
    # Points redeemed pay (Dr: the liability shrinks) or go back to the customer (Cr).
    "points": LOYALTY_POINTS,
}


@dataclass(frozen=True, slots=True)
class PostingLine:
    account_code: str
    debit: Decimal = Decimal("0.00")
    credit: Decimal = Decimal("0.00")


# --- The chart and its id cache -----------------------------------------------------------------

_account_ids: dict[str, int] | None = None
_account_ids_lock = threading.Lock()


def _account_id_map() -> dict[str, int]:
    """code → id of the chart, loaded once per process (the chart never changes at run time)."""
    global _account_ids
    cached = _account_ids
    if cached is None:
        with _account_ids_lock:
            cached = _account_ids
            if cached is None:
                cached = dict(Account.objects.values_list("code", "id"))
                if cached:  # never cache an empty chart (a database being set up)
                    _account_ids = cached
    return cached


def clear_account_cache() -> None:
    global _account_ids
    with _account_ids_lock:
        _account_ids = None


def ensure_chart_of_accounts(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create any missing account of the seeded chart (after a flush); idempotent."""
    clear_account_cache()
    if Account._meta.db_table not in connections[using].introspection.table_names():
        return  # migrating backwards: the ledger's tables are gone
    existing = set(Account.objects.using(using).values_list("code", flat=True))
    missing = [
        Account(code=code, name=name, type=type_)
        for code, name, type_ in CHART_OF_ACCOUNTS
        if code not in existing
    ]
    if missing:
        Account.objects.using(using).bulk_create(missing, ignore_conflicts=True)


# --- Posting ------------------------------------------------------------------------------------


def _prepared_lines(
    lines: Iterable[PostingLine], currency: str
) -> list[tuple[str, Decimal, Decimal]]:
    """Drop zero lines, and refuse what cannot be posted: a negative amount, a line with both
    sides, an amount finer than the currency's minor unit (a caller's rounding bug: posting it
    rounded would hide it), unequal sides."""
    prepared: list[tuple[str, Decimal, Decimal]] = []
    total_debit = total_credit = ZERO
    for line in lines:
        debit = Decimal(line.debit)
        credit = Decimal(line.credit)
        if not (fits_currency(debit, currency) and fits_currency(credit, currency)):
            raise UnbalancedEntry(
                f"An amount on {line.account_code} is finer than {currency}'s minor unit."
            )
        if debit < 0 or credit < 0:
            raise UnbalancedEntry(f"Negative amount on account {line.account_code}.")
        if debit and credit:
            raise UnbalancedEntry(f"Line on {line.account_code} has both a debit and a credit.")
        if not debit and not credit:
            continue
        prepared.append((line.account_code, debit, credit))
        total_debit += debit
        total_credit += credit
    if total_debit != total_credit:
        raise UnbalancedEntry(f"Debits {total_debit} ≠ credits {total_credit}.")
    return prepared


def journal_post(
    *,
    store: Store,
    date: dt.date,
    memo: str,
    source: str,
    source_id: int,
    lines: Sequence[PostingLine],
    created_by: User | None,
) -> JournalEntry:
    """Post one balanced entry in the caller's transaction; refuses an unbalanced one.

    Amounts must already be in the store currency's minor units; zero lines are dropped; Σ debit
    must equal Σ credit (`UnbalancedEntry` otherwise — a bug in the caller, rolled back with it).
    An entry whose lines are all zero (a free sale of costless goods) is still recorded, without
    lines, so every source has its entry.
    """
    if source not in EntrySource.values:
        raise ValueError(f"Unknown journal source {source!r}.")
    prepared = _prepared_lines(lines, store.currency)
    account_ids = _account_id_map()
    unknown = sorted({code for code, _, _ in prepared if code not in account_ids})
    if unknown:
        raise UnknownAccount(f"Unknown account code(s): {', '.join(unknown)}.")

    # No savepoint: the entry belongs to the caller's transaction (and a savepoint would cost
    # two queries on every sale).
    with transaction.atomic(savepoint=False):
        entry = _insert_entry_with_lines(
            {
                "store_id": store.pk,
                "date": date,
                "memo": memo[:255],
                "source": source,
                "source_id": source_id,
                "created_by_id": created_by.pk if created_by is not None else None,
                "created_at": timezone.now(),
            },
            [
                {"account_id": account_ids[code], "debit": debit, "credit": credit}
                for code, debit, credit in prepared
            ],
        )
        cache_related(entry, store=store)
        if created_by is not None:
            cache_related(entry, created_by=created_by)
        transaction.on_commit(lambda: LEDGER_POSTINGS.labels(source=source).inc())
    return entry


@functools.cache
def _entry_statement() -> tuple[str, list[Field[Any, Any]], UnnestInsert[JournalLine]]:
    entry_fields = insert_fields(JournalEntry)
    # A line carries its entry's `created_at` (the month partition it lands in; the balance
    # trigger relies on it, see ledger/migrations/0011_partition_journal_lines.py).
    lines = UnnestInsert(JournalLine, prefix="line", from_statement=("entry", "created_at"))
    sql = f"""
WITH entry AS (
    INSERT INTO {table(JournalEntry)} ({", ".join(column(f) for f in entry_fields)})
    VALUES ({", ".join(f"%({f.attname})s" for f in entry_fields)})
    RETURNING {qn("id")}, {qn("created_at")}
), lines AS (
    INSERT INTO {lines.table} ({lines.columns})
    SELECT entry.{qn("id")}, entry.{qn("created_at")}, line.* FROM entry, {lines.unnest} AS line
)
SELECT {qn("id")} FROM entry
"""  # noqa: S608  # nosec B608
    return sql, entry_fields, lines


def _insert_entry_with_lines(
    entry_row: dict[str, Any], line_rows: list[dict[str, Any]]
) -> JournalEntry:
    """The entry and its lines in one statement (one round trip instead of two, on every sale);
    an entry without lines inserts none. The deferred balance trigger checks the lines at
    commit."""
    sql, entry_fields, lines = _entry_statement()
    fill_defaults(entry_fields, entry_row)
    params: dict[str, Any] = {f.attname: entry_row[f.attname] for f in entry_fields}
    params.update(lines.params(line_rows))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        (entry_row["id"],) = cursor.fetchone()
    return saved_one(JournalEntry, entry_row)


def _tender_lines(tenders: Mapping[str, Decimal], *, debit: bool) -> list[PostingLine]:
    lines = []
    for method, amount in sorted(tenders.items()):
        try:
            code = TENDER_ACCOUNTS[method]
        except KeyError:
            raise UnknownAccount(f"No account for tender {method!r}.") from None
        # A negative amount (the cash an exchange pays back) goes on the other side.
        if (amount >= 0) == debit:
            lines.append(PostingLine(code, debit=abs(amount)))
        else:
            lines.append(PostingLine(code, credit=abs(amount)))
    return lines


def post_sale(
    *,
    store: Store,
    date: dt.date,
    order_id: int,
    tenders: Mapping[str, Decimal],
    net: Decimal,
    tax: Decimal,
    cost: Decimal,
    created_by: User | None,
    tips: Decimal = ZERO,
    rounding: Decimal = ZERO,
    late_cash: Decimal = ZERO,
    loyalty: Decimal = ZERO,
) -> JournalEntry:
    """Dr each tender's account (`cash`→1000, `card`→1010, `other`→1020) what it took (amounts
    plus tips), Cr 4000 net, Cr 2100 tax, Cr 2150 tips; the cash rounding (signed: what the
    customer paid over the total) Cr 6910 when positive, Dr 6910 when negative; Dr 5000 /
    Cr 1200 at cost (omitted when cost is zero). A late sale onto a closed shift also posts
    Dr 6900 / Cr 1000 its `late_cash` (the close counted it as over). The value of the loyalty
    points the sale earned (`loyalty`): Dr 4000 / Cr 2320."""
    lines = [
        *_tender_lines(tenders, debit=True),
        PostingLine(SALES_REVENUE, credit=net),
        PostingLine(SALES_TAX_PAYABLE, credit=tax),
        PostingLine(TIPS_PAYABLE, credit=tips),
        PostingLine(CASH_ROUNDING, credit=rounding)
        if rounding > 0
        else PostingLine(CASH_ROUNDING, debit=-rounding),
        PostingLine(COST_OF_GOODS_SOLD, debit=cost),
        PostingLine(INVENTORY, credit=cost),
        PostingLine(CASH_OVER_SHORT, debit=late_cash),
        PostingLine(CASH, credit=late_cash),
        PostingLine(SALES_REVENUE, debit=loyalty),
        PostingLine(LOYALTY_POINTS, credit=loyalty),
    ]
    return journal_post(
        store=store,
        date=date,
        memo=f"Sale, order {order_id}" + (" (late, onto a closed shift)" if late_cash else ""),
        source=EntrySource.SALE,
        source_id=order_id,
        lines=lines,
        created_by=created_by,
    )


def post_refund(
    *,
    store: Store,
    date: dt.date,
    refund_id: int,
    tenders: Mapping[str, Decimal],
    net: Decimal,
    tax: Decimal,
    restocked_cost: Decimal,
    created_by: User | None,
    loyalty: Decimal = ZERO,
) -> JournalEntry:
    """Dr 4900 net, Dr 2100 tax, Cr each tender; Dr 1200 / Cr 5000 at cost when restocked; the
    value of the loyalty points the refund takes back (`loyalty`): Dr 2320 / Cr 4000."""
    return journal_post(
        store=store,
        date=date,
        memo=f"Refund {refund_id}",
        source=EntrySource.REFUND,
        source_id=refund_id,
        lines=[
            *_money_back_lines(tenders=tenders, net=net, tax=tax, restocked_cost=restocked_cost),
            PostingLine(LOYALTY_POINTS, debit=loyalty),
            PostingLine(SALES_REVENUE, credit=loyalty),
        ],
        created_by=created_by,
    )


def _money_back_lines(
    *, tenders: Mapping[str, Decimal], net: Decimal, tax: Decimal, restocked_cost: Decimal
) -> list[PostingLine]:
    """Goods taken back, a refund's or a return's: Dr 4900 net, Dr 2100 tax, Cr each tender;
    Dr 1200 / Cr 5000 the cost of what went back on the shelf (zero lines are dropped)."""
    return [
        PostingLine(SALES_RETURNS, debit=net),
        PostingLine(SALES_TAX_PAYABLE, debit=tax),
        *_tender_lines(tenders, debit=False),
        PostingLine(INVENTORY, debit=restocked_cost),
        PostingLine(COST_OF_GOODS_SOLD, credit=restocked_cost),
    ]


def post_return(
    *,
    store: Store,
    date: dt.date,
    return_id: int,
    tenders: Mapping[str, Decimal],
    net: Decimal,
    tax: Decimal,
    restocked_cost: Decimal,
    created_by: User | None,
) -> JournalEntry:
    """A return without a receipt, posted like a refund (source `return`): Dr 4900 net,
    Dr 2100 tax, Cr each tender; Dr 1200 / Cr 5000 at the restocked goods' current cost."""
    return journal_post(
        store=store,
        date=date,
        memo=f"Return {return_id}",
        source=EntrySource.RETURN,
        source_id=return_id,
        lines=_money_back_lines(tenders=tenders, net=net, tax=tax, restocked_cost=restocked_cost),
        created_by=created_by,
    )


def post_void(
    *, store: Store, date: dt.date, order_id: int, created_by: User | None
) -> JournalEntry:
    """The mirror of the order's sale entry, line by line (debit ↔ credit), as one entry of
    source `void`: read from the posted entry rather than recomputed, so sale + void is zero on
    every account whatever the rounding, the tenders or the cost posted then. One query to read
    the sale's lines, one to post. The sale's entry is its first `sale` entry (`UnknownAccount`
    never applies: the codes were posted once already)."""
    first_entry = (
        JournalEntry.objects.filter(store_id=store.pk, source=EntrySource.SALE, source_id=order_id)
        .order_by("id")
        .values("id")[:1]
    )
    rows = list(
        JournalLine.objects.filter(entry_id__in=first_entry)
        .order_by("id")
        .values_list("account__code", "debit", "credit")
    )
    return journal_post(
        store=store,
        date=date,
        memo=f"Void of order {order_id}",
        source=EntrySource.VOID,
        source_id=order_id,
        lines=[PostingLine(code, debit=credit, credit=debit) for code, debit, credit in rows],
        created_by=created_by,
    )


def post_gift_card_issue(
    *,
    store: Store,
    date: dt.date,
    movement_id: int,
    tenders: Mapping[str, Decimal],
    created_by: User | None,
) -> JournalEntry:
    """A gift card sold (not a sale: no revenue, no tax): Dr each tender what it took, Cr 2300
    Gift cards outstanding their sum. `movement_id` is the card's `issue` movement."""
    lines = _tender_lines(tenders, debit=True)
    total = sum((line.debit for line in lines), ZERO)
    return journal_post(
        store=store,
        date=date,
        memo=f"Gift card issued, movement {movement_id}",
        source=EntrySource.GIFT_CARD_ISSUE,
        source_id=movement_id,
        lines=[*lines, PostingLine(GIFT_CARDS_OUTSTANDING, credit=total)],
        created_by=created_by,
    )


def post_gift_card_expiry(
    *,
    store: Store,
    date: dt.date,
    movement_id: int,
    amount: Decimal,
    created_by: User | None,
) -> JournalEntry:
    """A gift card expired with `amount` left on it (breakage): Dr 2300 / Cr 4010 Gift card
    breakage. `movement_id` is the card's `expire` movement."""
    return journal_post(
        store=store,
        date=date,
        memo=f"Gift card expired, movement {movement_id}",
        source=EntrySource.GIFT_CARD_EXPIRY,
        source_id=movement_id,
        lines=[
            PostingLine(GIFT_CARDS_OUTSTANDING, debit=amount),
            PostingLine(GIFT_CARD_BREAKAGE, credit=amount),
        ],
        created_by=created_by,
    )


def post_shift_close(
    *, store: Store, date: dt.date, shift_id: int, difference: Decimal, created_by: User | None
) -> JournalEntry | None:
    """Counted − expected: over → Dr 1000 / Cr 6900; short → Dr 6900 / Cr 1000; zero → None."""
    difference = round_money(difference, store.currency)
    if not difference:
        return None
    if difference > 0:
        lines = [
            PostingLine(CASH, debit=difference),
            PostingLine(CASH_OVER_SHORT, credit=difference),
        ]
        memo = f"Shift {shift_id} close: cash over {difference}"
    else:
        lines = [
            PostingLine(CASH_OVER_SHORT, debit=-difference),
            PostingLine(CASH, credit=-difference),
        ]
        memo = f"Shift {shift_id} close: cash short {-difference}"
    return journal_post(
        store=store,
        date=date,
        memo=memo,
        source=EntrySource.SHIFT_CLOSE,
        source_id=shift_id,
        lines=lines,
        created_by=created_by,
    )


def post_cash_movement(
    *,
    store: Store,
    date: dt.date,
    movement_id: int,
    kind: str,
    amount: Decimal,
    created_by: User | None,
) -> JournalEntry:
    """`in` → Dr 1000 / Cr 1050; `out` → Dr 1050 / Cr 1000."""
    if kind == "in":
        lines = [PostingLine(CASH, debit=amount), PostingLine(CASH_TRANSFERS, credit=amount)]
    elif kind == "out":
        lines = [PostingLine(CASH_TRANSFERS, debit=amount), PostingLine(CASH, credit=amount)]
    else:
        raise ValueError(f"Unknown cash movement kind {kind!r}.")
    return journal_post(
        store=store,
        date=date,
        memo=f"Cash {kind}, movement {movement_id}",
        source=EntrySource.CASH_MOVEMENT,
        source_id=movement_id,
        lines=lines,
        created_by=created_by,
    )


def post_stock_adjustment(
    *,
    store: Store,
    date: dt.date,
    movement_id: int,
    value: Decimal,
    created_by: User | None,
) -> JournalEntry | None:
    """`value` = quantity delta × unit cost, signed. Gain → Dr 1200 / Cr 5100; loss →
    Dr 5100 / Cr 1200; zero → None."""
    value = round_money(value, store.currency)
    if not value:
        return None
    if value > 0:
        lines = [
            PostingLine(INVENTORY, debit=value),
            PostingLine(INVENTORY_ADJUSTMENTS, credit=value),
        ]
    else:
        lines = [
            PostingLine(INVENTORY_ADJUSTMENTS, debit=-value),
            PostingLine(INVENTORY, credit=-value),
        ]
    return journal_post(
        store=store,
        date=date,
        memo=f"Stock adjustment, movement {movement_id}",
        source=EntrySource.STOCK_ADJUSTMENT,
        source_id=movement_id,
        lines=lines,
        created_by=created_by,
    )


def journal_reverse(
    *, entry: JournalEntry, date: dt.date, memo: str = "", created_by: User | None
) -> JournalEntry:
    """Post the mirror image of `entry` (debits ↔ credits): the only way to correct the ledger,
    since posted entries are never changed. `source` is `reversal`, `source_id` the entry's id."""
    lines = [
        PostingLine(code, debit=credit, credit=debit)
        for code, debit, credit in JournalLine.objects.filter(entry=entry)
        .order_by("id")
        .values_list("account__code", "debit", "credit")
    ]
    return journal_post(
        store=entry.store,
        date=date,
        memo=memo or f"Reversal of entry {entry.pk}",
        source=EntrySource.REVERSAL,
        source_id=entry.pk,
        lines=lines,
        created_by=created_by,
    )
