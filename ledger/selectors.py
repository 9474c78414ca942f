"""Reads of the ledger: the chart, posted entries (store-scoped) and the trial balance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from ledger.models import Account, JournalEntry, JournalLine
from money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, ZERO, round_cents


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
    accounts: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal


def _cents(value: Any) -> Decimal:
    """An aggregate (exact `numeric` from PostgreSQL) as a Decimal at the cent."""
    return round_cents(Decimal(value))


_MONEY: DecimalField[Decimal, Decimal] = DecimalField(
    max_digits=MONEY_MAX_DIGITS + 6, decimal_places=MONEY_DECIMAL_PLACES
)


def trial_balance(*, store_ids: Sequence[int] | None, date_to: dt.date | None) -> TrialBalance:
    """Σ debit and Σ credit per account over the stores' entries dated up to `date_to`
    (inclusive; every date when None), every account of the chart listed, in one aggregate
    query. `store_ids=None` means every store.

    Every posted entry balances, so the totals are always equal; a difference would mean the
    database was written around the posting service (and the PostgreSQL trigger)."""
    condition = Q()
    if store_ids is not None:
        condition &= Q(lines__entry__store_id__in=list(store_ids))
    if date_to is not None:
        condition &= Q(lines__entry__date__lte=date_to)
    zero = Value(ZERO, output_field=_MONEY)
    rows = (
        Account.objects.order_by("code")
        .annotate(
            total_debit=Coalesce(Sum("lines__debit", filter=condition, output_field=_MONEY), zero),
            total_credit=Coalesce(
                Sum("lines__credit", filter=condition, output_field=_MONEY), zero
            ),
        )
        .values_list("code", "name", "total_debit", "total_credit")
    )
    accounts = [
        TrialBalanceRow(code=code, name=name, debit=_cents(debit), credit=_cents(credit))
        for code, name, debit, credit in rows
    ]
    return TrialBalance(
        accounts=accounts,
        total_debit=sum((row.debit for row in accounts), ZERO),
        total_credit=sum((row.credit for row in accounts), ZERO),
    )


def account_balances(
    *,
    store_id: int,
    codes: Iterable[str],
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    sources: Mapping[str, Any] | None = None,
) -> dict[str, Decimal]:
    """Σ debit − Σ credit per account code in one store, in one grouped query: entries dated
    within [date_from, date_to] (inclusive, open ends when None), and — when `sources` is given
    — only entries of those sources (`{"sale": <ids or a values_list queryset>, …}`), so a
    caller can ask "the cash of these shifts' sales" without the ledger knowing what a shift
    is. Codes without lines are zero."""
    codes = list(codes)
    lines = JournalLine.objects.filter(account__code__in=codes, entry__store_id=store_id)
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
