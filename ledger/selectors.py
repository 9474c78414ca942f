"""Reads of the ledger: the chart, posted entries (store-scoped) and the trial balance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.db.models import CharField, DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Store, User
from accounts.selectors import scope_to_user_stores
from ledger.models import Account, JournalEntry, JournalLine
from money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, ZERO, round_cents
from money.currencies import round_money


def account_list() -> QuerySet[Account]:
    return Account.objects.order_by("code")


def journal_entry_list(*, user: User) -> QuerySet[JournalEntry]:
    """The entries of the user's stores, oldest first, each with its lines and their account
    codes (three queries per page whatever its size: count, entries, lines)."""
    lines = JournalLine.objects.select_related("account").order_by("id")
    return scope_to_user_stores(
        JournalEntry.objects.select_related("store")
        .prefetch_related(
            Prefetch("lines", queryset=lines)  # type: ignore[arg-type]  # stubs: custom QuerySet
        )
        .order_by("id"),
        user,
    )


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    code: str
    name: str
    debit: Decimal
    credit: Decimal

    @property
    def balance(self) -> Decimal:
        return self.debit - self.credit


@dataclass(frozen=True, slots=True)
class TrialBalance:
    """The balance of one currency's stores: its amounts are in `currency`, rounded to its
    minor units."""

    currency: str
    accounts: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal


def _cents(value: Any) -> Decimal:
    """An aggregate (exact `numeric` from PostgreSQL) as a Decimal at the cent."""
    return round_cents(Decimal(value))


def _in_currency(value: Any, currency: str) -> Decimal:
    """An aggregate as a Decimal rounded to the currency's minor unit."""
    return round_money(Decimal(value), currency)


_MONEY: DecimalField[Decimal, Decimal] = DecimalField(
    max_digits=MONEY_MAX_DIGITS + 6, decimal_places=MONEY_DECIMAL_PLACES
)


def trial_balances(
    *, store_ids: Sequence[int] | None, date_to: dt.date | None
) -> dict[str, TrialBalance]:
    """Σ debit and Σ credit per account over the stores' entries dated up to `date_to`
    (inclusive; every date when None), one balance per currency of the stores (`store_ids=None`:
    every store), by currency code. Amounts of stores of different currencies are never added:
    a dollar and a yen have no sum. Every account of the chart is listed in each balance, and a
    store without entries still brings its currency (all zeros). Unknown store ids bring
    nothing.

    One query: the chart left-joined to every line (so an account without lines keeps a row,
    its currency NULL), grouped by account and store currency and summed over the selected
    lines only, united (`UNION ALL`) with the selected stores' currencies — the groups of
    other currencies (lines of stores outside the selection) are left out here.

    Every posted entry balances, so each currency's totals are equal; a difference would mean
    the database was written around the posting service (and the PostgreSQL trigger)."""
    condition = Q()
    stores = Store.objects.all()
    if store_ids is not None:
        condition &= Q(lines__entry__store_id__in=list(store_ids))
        stores = stores.filter(id__in=list(store_ids))
    if date_to is not None:
        condition &= Q(lines__entry__date__lte=date_to)
    zero = Value(ZERO, output_field=_MONEY)
    no_text = Value("", output_field=CharField())
    sums = (
        Account.objects.values_list("code", "name", "lines__entry__store__currency")
        .annotate(
            debit=Coalesce(Sum("lines__debit", filter=condition, output_field=_MONEY), zero),
            credit=Coalesce(Sum("lines__credit", filter=condition, output_field=_MONEY), zero),
        )
        .order_by()
    )
    currencies = (
        stores.order_by()
        .annotate(account_code=no_text, account_name=no_text, debit=zero, credit=zero)
        .values_list("account_code", "account_name", "currency", "debit", "credit")
    )
    chart: dict[str, str] = {}
    amounts: dict[str | None, dict[str, tuple[Any, Any]]] = {}
    wanted: set[str] = set()
    for code, name, currency, debit, credit in sums.union(currencies, all=True):
        if code:  # a (account, currency) group
            chart[code] = name
            amounts.setdefault(currency, {})[code] = (debit, credit)
        else:  # a store of the selection
            wanted.add(currency)
    balances: dict[str, TrialBalance] = {}
    for currency in sorted(wanted):
        by_account = amounts.get(currency, {})
        accounts = []
        for code in sorted(chart):
            debit, credit = by_account.get(code, (ZERO, ZERO))
            accounts.append(
                TrialBalanceRow(
                    code=code,
                    name=chart[code],
                    debit=_in_currency(debit, currency),
                    credit=_in_currency(credit, currency),
                )
            )
        balances[currency] = TrialBalance(
            currency=currency,
            accounts=accounts,
            total_debit=sum((row.debit for row in accounts), ZERO),
            total_credit=sum((row.credit for row in accounts), ZERO),
        )
    return balances


def trial_balance(*, store_id: int, date_to: dt.date | None) -> TrialBalance | None:
    """The trial balance of one store, in its currency (None: no such store). One query."""
    return next(iter(trial_balances(store_ids=[store_id], date_to=date_to).values()), None)


def account_balances(
    *,
    store_id: int,
    codes: Iterable[str],
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sources: Mapping[str, Any] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> dict[str, Decimal]:
    """Σ debit − Σ credit per account code in one store, in one grouped query: entries dated
    within [date_from, date_to] (inclusive, open ends when None), and — when `sources` is given
    — only entries of those sources (`{"sale": <ids or a values_list queryset>, …}`), so a
    caller can ask "the cash of these shifts' sales" without the ledger knowing what a shift
    is. Codes without lines are zero. Read from the database `using` (a report passes
    `posproject.replica.reporting_db()`; the `sources` querysets are evaluated there too)."""
    codes = list(codes)
    lines = JournalLine.objects.using(using).filter(
        account__code__in=codes, entry__store_id=store_id
    )
    if date_from is not None:
        lines = lines.filter(entry__date__gte=date_from)
    if date_to is not None:
        lines = lines.filter(entry__date__lte=date_to)
    if sources is not None:
        by_source = Q(pk__in=[])
        for source, ids in sources.items():
            by_source |= Q(entry__source=source, entry__source_id__in=ids)
        lines = lines.filter(by_source)
    rows = (
        lines.order_by()
        .values_list("account__code")
        .annotate(
            debit=Sum("debit", output_field=_MONEY), credit=Sum("credit", output_field=_MONEY)
        )
    )
    balances = dict.fromkeys(codes, ZERO)
    for code, debit, credit in rows:
        balances[code] = _cents(debit) - _cents(credit)
    return balances
