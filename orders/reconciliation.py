"""Reconcile one store's day: the ledger against the operational records it was posted from.

Each comparison puts a ledger figure beside the same figure rebuilt from orders, refunds,
shifts and stock; any difference means a posting was missed, doubled or wrong (or the database
was written around the services). `reconcile_store_day` returns a result object that the
`reconcile` management command prints (and a Celery task may record).

* cash — for the shifts *closed* that day: the ledger's cash account (1000) over those shifts'
  sales, refunds, cash movements and close differences, against what was counted in their
  drawers minus the float they opened with (the float itself is never posted). Matching by
  shift, not by date, keeps a shift that runs past midnight whole. Open shifts are not counted
  yet, so they are left for the day they close.
* inventory — the inventory account (1200), all entries up to the day's end, against the book
  value of the store's stock at the day's end: Σ `StockLevel.value` now minus the values of the
  movements made after the day. Stock is kept as a perpetual inventory at standard cost: every
  movement carries the money it moved (a sale: −Σ its lines' rounded costs; a restocked refund:
  its pro rata share of them; an adjustment: round(delta × cost)), the level's value moves with
  it, and the services post those same values to 1200 — so the two agree by construction, to
  the cent, however the quantities round. A difference here means a posting or a movement was
  written around the services. A change of a product's cost does not revalue the stock on hand
  (neither side moves).
* sales revenue — sales revenue minus returns (4000 − 4900) of entries dated that day, against
  the net (total − tax) of the orders created that local day minus the net of that day's refunds
  and of the orders voided that day (a void's entry is dated on the day of the void).
* sales tax — sales tax payable (2100) of that day against the orders' tax minus refunded and
  voided tax.
* A void's entry (source `void`, id = the order's) is counted with its order's shift for cash.
* A return without a receipt (source `return`) counts like a refund: with its shift for cash,
  and its net and tax are subtracted on the day it was taken.
* A gift card sold (source `gift_card_issue`) counts with its shift for cash (its cash went into
  that drawer).
* gift cards — gift cards outstanding (2300), all entries up to the day's end, against what the
  store's cards held at the day's end: Σ their movements (issue, redeem, refund, expire) made
  before it. Every movement is dated like the entry that posted it.
* store credit — store credit (2310), all entries up to the day's end, against Σ the store credit
  movements recorded in this store before it. Customers are merchant-wide, the ledger per store:
  credit given in one store and spent in another leaves the first store's 2310 in credit and the
  second's in debit, so per store this figure may legitimately be negative; summed over the
  stores of one currency it is what the customers hold (`storedvalue.models`).
* loyalty points — 2320, all entries up to the day's end, against Σ the values of the store's
  loyalty movements before it (each valued when it was made: a later change of the store's point
  value revalues nothing). Points earned and taken back move revenue too (Dr 4000 / Cr 2320 and
  back): the sales revenue comparison counts the day's `earn` and `take_back` values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Store
from catalog.models import StockLevel, StockMovement
from giftcards.models import GiftCardMovement, GiftCardMovementKind
from ledger.models import EntrySource
from ledger.selectors import account_balances
from ledger.services import (
    CASH,
    GIFT_CARDS_OUTSTANDING,
    INVENTORY,
    LOYALTY_POINTS,
    SALES_RETURNS,
    SALES_REVENUE,
    SALES_TAX_PAYABLE,
    STORE_CREDIT,
)
from money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, ZERO
from money.currencies import round_money
from orders.models import (
    CashMovement,
    Order,
    OrderStatus,
    Refund,
    Return,
    Shift,
    ShiftStatus,
)
from posproject.replica import reporting_db
from storedvalue.models import LoyaltyMovement, LoyaltyMovementKind, StoreCreditMovement

_MONEY: DecimalField[Decimal, Decimal] = DecimalField(
    max_digits=MONEY_MAX_DIGITS + 6, decimal_places=MONEY_DECIMAL_PLACES
)


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    description: str
    ledger: Decimal
    expected: Decimal

    @property
    def difference(self) -> Decimal:
        return self.ledger - self.expected

    @property
    def ok(self) -> bool:
        return self.difference == 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "ledger": str(self.ledger),
            "expected": str(self.expected),
            "difference": str(self.difference),
            "ok": self.ok,
        }


@dataclass(frozen=True, slots=True)
class ReconciliationResult:
    store_id: int
    store_code: str
    date: dt.date
    comparisons: tuple[Comparison, ...]
    shifts_closed: int
    shifts_open: int

    @property
    def ok(self) -> bool:
        return all(comparison.ok for comparison in self.comparisons)

    @property
    def differences(self) -> tuple[Comparison, ...]:
        return tuple(c for c in self.comparisons if not c.ok)

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store_id,
            "store_code": self.store_code,
            "date": self.date.isoformat(),
            "ok": self.ok,
            "shifts_closed": self.shifts_closed,
            "shifts_open": self.shifts_open,
            "comparisons": [c.as_dict() for c in self.comparisons],
        }


def local_day_bounds(store: Store, date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of `date` in the store's time zone, as aware datetimes."""
    tz = store.tzinfo
    start = dt.datetime.combine(date, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _amount(value: Any, store: Store) -> Decimal:
    """An aggregate (exact `numeric` from PostgreSQL) as a Decimal in the store currency's
    minor units (sums of whole minor units: exact)."""
    return round_money(Decimal(value), store.currency)


def _sum(expression: Any, **kwargs: Any) -> Coalesce:
    return Coalesce(
        Sum(expression, output_field=_MONEY, **kwargs), Value(ZERO, output_field=_MONEY)
    )


def _cash(store: Store, start: dt.datetime, end: dt.datetime, db: str) -> tuple[Comparison, int]:
    shifts = Shift.objects.using(db).filter(
        store=store, status=ShiftStatus.CLOSED, closed_at__gte=start, closed_at__lt=end
    )
    counted = shifts.aggregate(
        count=Coalesce(Sum(Value(1)), Value(0)),
        net=_sum(F("counted_cash") - F("opening_float")),
    )
    shift_ids = shifts.values("id")
    ledger_cash = account_balances(
        store_id=store.pk,
        codes=[CASH],
        using=db,
        sources={
            EntrySource.SALE: Order.objects.using(db).filter(shift__in=shift_ids).values("id"),
            EntrySource.REFUND: Refund.objects.using(db).filter(shift__in=shift_ids).values("id"),
            EntrySource.CASH_MOVEMENT: CashMovement.objects.using(db)
            .filter(shift__in=shift_ids)
            .values("id"),
            EntrySource.RETURN: Return.objects.using(db).filter(shift__in=shift_ids).values("id"),
            EntrySource.SHIFT_CLOSE: shift_ids,
            EntrySource.VOID: Order.objects.using(db)
            .filter(shift__in=shift_ids, status=OrderStatus.VOIDED)
            .values("id"),
            EntrySource.GIFT_CARD_ISSUE: GiftCardMovement.objects.using(db)
            .filter(kind=GiftCardMovementKind.ISSUE, card__shift__in=shift_ids)
            .values("id"),
        },
    )[CASH]
    comparison = Comparison(
        name="cash",
        description="cash account (1000) of the shifts closed today vs Σ (counted − float)",
        ledger=ledger_cash,
        expected=_amount(counted["net"], store),
    )
    return comparison, counted["count"]


def _inventory(store: Store, date: dt.date, end: dt.datetime, db: str) -> Comparison:
    # Every level, tracked or not: a product switched to untracked keeps the value it had, and
    # so does the ledger.
    later = (
        StockMovement.objects.using(db)
        .filter(store=store, created_at__gte=end)
        .order_by()
        .values("store")
        .annotate(value=Sum("value"))
        .values("value")
    )
    at_day_end = (
        StockLevel.objects.using(db)
        .filter(store=store)
        .aggregate(
            value=_sum("value") - Coalesce(Subquery(later), Value(ZERO), output_field=_MONEY)
        )["value"]
    )
    ledger_inventory = account_balances(
        store_id=store.pk, codes=[INVENTORY], date_to=date, using=db
    )[INVENTORY]
    return Comparison(
        name="inventory",
        description="inventory account (1200) up to today vs book value of stock at day end",
        ledger=ledger_inventory,
        expected=_amount(at_day_end, store),
    )


def _sales(
    store: Store, date: dt.date, start: dt.datetime, end: dt.datetime, db: str
) -> tuple[Comparison, Comparison]:
    # The day's orders and the day's voids (by `voided_at`) in one scan.
    created = Q(created_at__gte=start, created_at__lt=end)
    voided = Q(status=OrderStatus.VOIDED, voided_at__gte=start, voided_at__lt=end)
    orders = (
        Order.objects.using(db)
        .filter(store=store)
        .filter(created | voided)
        .aggregate(
            net=_sum(F("total") - F("tax_total"), filter=created),
            tax=_sum("tax_total", filter=created),
            void_net=_sum(F("total") - F("tax_total"), filter=voided),
            void_tax=_sum("tax_total", filter=voided),
        )
    )
    refunds = (
        Refund.objects.using(db)
        .filter(store=store, created_at__gte=start, created_at__lt=end)
        .aggregate(net=_sum("net_total"), tax=_sum("tax_total"))
    )
    returns = (
        Return.objects.using(db)
        .filter(store=store, created_at__gte=start, created_at__lt=end)
        .aggregate(net=_sum("net_total"), tax=_sum("tax_total"))
    )
    # The value of the points earned (Dr 4000) less those taken back (Cr 4000) that day.
    points = (
        LoyaltyMovement.objects.using(db)
        .filter(
            store=store,
            created_at__gte=start,
            created_at__lt=end,
            kind__in=(LoyaltyMovementKind.EARN, LoyaltyMovementKind.TAKE_BACK),
        )
        .aggregate(value=_sum("value"))
    )
    balances = account_balances(
        store_id=store.pk,
        codes=[SALES_REVENUE, SALES_RETURNS, SALES_TAX_PAYABLE],
        date_from=date,
        date_to=date,
        using=db,
    )
    revenue = Comparison(
        name="sales_revenue",
        description="sales revenue − returns (4000 − 4900) vs orders' net − refunds' net "
        "− returns' net − voids' net − loyalty points earned (net of those taken back)",
        # Revenue accounts carry credit balances: negate (balance = debit − credit).
        ledger=-(balances[SALES_REVENUE] + balances[SALES_RETURNS]),
        expected=_amount(orders["net"], store)
        - _amount(refunds["net"], store)
        - _amount(returns["net"], store)
        - _amount(orders["void_net"], store)
        - _amount(points["value"], store),
    )
    tax = Comparison(
        name="sales_tax",
        description="sales tax payable (2100) vs orders' tax − refunded, returned and voided tax",
        ledger=-balances[SALES_TAX_PAYABLE],
        expected=_amount(orders["tax"], store)
        - _amount(refunds["tax"], store)
        - _amount(returns["tax"], store)
        - _amount(orders["void_tax"], store),
    )
    return revenue, tax


def _gift_cards(store: Store, date: dt.date, end: dt.datetime, db: str) -> Comparison:
    held = (
        GiftCardMovement.objects.using(db)
        .filter(card__store=store, created_at__lt=end)
        .aggregate(value=_sum("amount"))["value"]
    )
    ledger = account_balances(
        store_id=store.pk, codes=[GIFT_CARDS_OUTSTANDING], date_to=date, using=db
    )[GIFT_CARDS_OUTSTANDING]
    return Comparison(
        name="gift_cards",
        description="gift cards outstanding (2300) up to today vs Σ the cards' balances at day end",
        # A liability carries a credit balance: negate (balance = debit − credit).
        ledger=-ledger,
        expected=_amount(held, store),
    )


def _liability_vs_movements(
    store: Store,
    date: dt.date,
    end: dt.datetime,
    db: str,
    *,
    movements: Any,
    field: str,
    code: str,
    name: str,
    description: str,
) -> Comparison:
    """A liability account up to `date` against the sum of the store's append-only movements
    (`field`) before `end`. A liability carries a credit balance: negate (debit − credit)."""
    held = (
        movements.objects.using(db)
        .filter(store=store, created_at__lt=end)
        .aggregate(value=_sum(field))["value"]
    )
    ledger = account_balances(store_id=store.pk, codes=[code], date_to=date, using=db)[code]
    return Comparison(
        name=name, description=description, ledger=-ledger, expected=_amount(held, store)
    )


def _store_credit(store: Store, date: dt.date, end: dt.datetime, db: str) -> Comparison:
    return _liability_vs_movements(
        store, date, end, db,
        movements=StoreCreditMovement, field="amount", code=STORE_CREDIT, name="store_credit",
        description="store credit (2310) up to today vs Σ the store's store credit movements "
        "at day end",
    )  # fmt: skip


def _loyalty_points(store: Store, date: dt.date, end: dt.datetime, db: str) -> Comparison:
    return _liability_vs_movements(
        store, date, end, db,
        movements=LoyaltyMovement, field="value", code=LOYALTY_POINTS, name="loyalty_points",
        description="loyalty points (2320) up to today vs Σ the values of the store's loyalty "
        "movements at day end",
    )  # fmt: skip


def reconcile_store_day(
    *, store: Store, date: dt.date, using: str | None = None
) -> ReconciliationResult:
    """Compare the ledger with the records of one store's local day (see the module docstring).
    Reads only; about ten aggregate queries whatever the day's volume, all on one database:
    `using`, by default the read replica when it is fresh enough
    (`posproject.replica.reporting_db()`), else the primary."""
    db = using or reporting_db()
    start, end = local_day_bounds(store, date)
    cash, shifts_closed = _cash(store, start, end, db)
    revenue, tax = _sales(store, date, start, end, db)
    inventory = _inventory(store, date, end, db)
    gift_cards = _gift_cards(store, date, end, db)
    store_credit = _store_credit(store, date, end, db)
    loyalty_points = _loyalty_points(store, date, end, db)
    shifts_open = (
        Shift.objects.using(db)
        .filter(store=store, status=ShiftStatus.OPEN, opened_at__lt=end)
        .count()
    )
    return ReconciliationResult(
        store_id=store.pk,
        store_code=store.code,
        date=date,
        comparisons=(cash, inventory, revenue, tax, gift_cards, store_credit, loyalty_points),
        shifts_closed=shifts_closed,
        shifts_open=shifts_open,
    )


def store_today(store: Store) -> dt.date:
    return timezone.localdate(timezone=store.tzinfo)
