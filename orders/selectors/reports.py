"""Reads behind the daily report and the manager's dashboard: one store's figures for one local
day, summed by the database.

What counts towards a day
-------------------------
A day is the store's local calendar day (`Store.timezone`), i.e. the half-open UTC interval
`[local midnight, next local midnight)` — 23 or 25 hours long on daylight-saving changes.
A sale belongs to the day of its `Order.created_at` (when the server recorded it, also for
offline sales synced later: `client_created_at` is the register's claim, not the books' date), and
a refund to the day of its own `Refund.created_at`, whatever the day of the sale. Once a day has
ended no row can move into it any more, which is what makes a stored report final.

Figures (money as `Decimal`, rounded to the cent; the same definitions as `orders.pricing`):

* `orders_count` — sales recorded that day, whatever happened to them later (refunds are reported
  separately, on the day they are made) but a void: a voided order is left out of every sales
  figure below (count, sums, tenders, hours, products, cashiers) and counted instead in
  `voids_count` / `voids_total` (Σ `Order.total` of the day's voided orders) on the day of the
  sale. A void happens only while the sale's shift is open, so nearly always on the sale's day;
  a void after midnight of a shift that runs past it changes the day before (regenerate its
  stored report);
* `gross_sales` = Σ `Order.subtotal` = Σ line `gross` (unit price × quantity, as priced — that is
  tax-inclusive in a store whose prices include tax);
* `discount_total` = Σ `Order.discount_total` (line discounts plus the spread order discounts);
* `net_sales` = Σ `OrderLine.net` — revenue without tax after discounts, what the ledger credits
  to account 4000 for the day's sales. Computed as Σ `Order.total` − Σ `Order.tax_total`, which
  is the same sum (every line's `total = net + tax`, and an order's totals are its lines' sums)
  without joining the lines;
* `tax_total` = Σ `Order.tax_total` (account 2100); `net_sales + tax_total` is what customers paid;
* `refunds_total` = Σ `Refund.total` (tax included) of the refunds made that day;
* `by_tender` — Σ `Payment.amount` per method (the amount applied to the sale, change excluded);
* `by_hour` — orders and Σ `Order.total` per local hour 0–23, all 24 hours present (zeros
  included; on the autumn daylight-saving day the repeated hour is summed into one);
* `top_products` — the 10 products with the highest Σ line `total`, then quantity, then id;
  `name` is the product's current catalog name;
* `by_cashier` — orders and Σ `Order.total` per cashier, highest total first.

Every query is an aggregate (`aggregate`, `values().annotate()`) but the two that read the
names of the cashiers and of the ten top products: the number of queries is the same for ten
orders and for a hundred thousand, and the day's orders, payments and lines are each read once.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, DecimalField, Func, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, ExtractHour, TruncHour

from accounts.models import Store, User
from catalog.models import Product, StockLevel
from dbtools.rows import field_column, qn, table
from ledger.selectors import account_balances
from money import (
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    QUANTITY_DECIMAL_PLACES,
    QUANTITY_MAX_DIGITS,
    ZERO,
)
from money.currencies import round_money
from orders.models import (
    SALE_TENDERS,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Refund,
    Return,
    Shift,
    ShiftStatus,
)

TOP_PRODUCTS_LIMIT = 10
_MONEY: dict[str, Any] = {"max_digits": MONEY_MAX_DIGITS, "decimal_places": MONEY_DECIMAL_PLACES}
_QUANTITY: dict[str, Any] = {
    "max_digits": QUANTITY_MAX_DIGITS,
    "decimal_places": QUANTITY_DECIMAL_PLACES,
}
_MILLI = Decimal("0.001")


def _money_sum(expression: str, **kwargs: Any) -> Coalesce:
    return Coalesce(Sum(expression, **kwargs), Value(ZERO), output_field=DecimalField(**_MONEY))


def _money(value: Any, currency: str) -> str:
    """A money figure as the contract's string with the currency's minor units."""
    return f"{round_money(Decimal(value or 0), currency):f}"


def _quantity(value: Any) -> str:
    return str(Decimal(value or 0).quantize(_MILLI))


def local_day_bounds(*, tz: zoneinfo.ZoneInfo, date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """`[start, end)` in UTC of the local calendar day `date` in `tz`."""
    start = dt.datetime.combine(date, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def local_today(*, store: Store, now: dt.datetime) -> dt.date:
    return now.astimezone(store.tzinfo).date()


def orders_of_day(*, store: Store, date: dt.date, using: str = DEFAULT_DB_ALIAS) -> QuerySet[Order]:
    """The store's sales recorded on its local day `date` (range on `order_store_created`)."""
    start, end = local_day_bounds(tz=store.tzinfo, date=date)
    return Order.objects.using(using).filter(
        store_id=store.pk, created_at__gte=start, created_at__lt=end
    )


def _lines_of_day(*, store: Store, date: dt.date, using: str) -> QuerySet[OrderLine]:
    start, end = local_day_bounds(tz=store.tzinfo, date=date)
    return (
        OrderLine.objects.using(using)
        .filter(order__store_id=store.pk, order__created_at__gte=start, order__created_at__lt=end)
        .exclude(order__status=OrderStatus.VOIDED)
    )


def _hour_grouping(
    *, tz: zoneinfo.ZoneInfo, start: dt.datetime, end: dt.datetime
) -> tuple[Func, Callable[[Any], int]]:
    """How to group a day's orders by local hour: an expression and the local hour of its value.

    Where the zone's offset is a whole number of hours all day (nearly everywhere, daylight
    saving included), UTC hours line up with local hours: grouping by the UTC hour
    (`date_trunc`, no per-row time zone conversion — the cheapest grouping PostgreSQL can do)
    and naming each of the ≤ 25 buckets' local hour here is exact. Elsewhere (India, Nepal, …)
    the database converts each row to the local hour."""
    hour = dt.timedelta(hours=1)
    whole_hours = all(
        (moment.astimezone(tz).utcoffset() or dt.timedelta(0)) % hour == dt.timedelta(0)
        for moment in (start, end - dt.timedelta(microseconds=1))
    )
    if whole_hours:
        return TruncHour("created_at", tzinfo=dt.UTC), lambda bucket: bucket.astimezone(tz).hour
    return ExtractHour("created_at", tzinfo=tz), int


@functools.cache
def _tenders_sql() -> str:
    """Σ payment amount per method over a store's orders in [start, end), voided ones left out:
    parameters store id, start, end, the voided status."""
    col = field_column
    return f"""
SELECT payment.{col(Payment, "method")}, SUM(payment.{col(Payment, "amount")})
FROM {table(Order)} AS o
CROSS JOIN LATERAL (
    SELECT {col(Payment, "method")}, {col(Payment, "amount")} FROM {table(Payment)}
    WHERE {col(Payment, "order")} = o.{qn("id")} OFFSET 0
) AS payment
WHERE o.{col(Order, "store")} = %s
  AND o.{col(Order, "created_at")} >= %s AND o.{col(Order, "created_at")} < %s
  AND o.{col(Order, "status")} <> %s
GROUP BY payment.{col(Payment, "method")}
"""  # noqa: S608  # nosec B608


def _tenders_of_day(
    *, store: Store, start: dt.datetime, end: dt.datetime, using: str
) -> list[tuple[str, Decimal]]:
    """Σ payment amount per method over the day's orders.

    The day's orders by the (store, created_at) index, then each order's payments
    by their order index (`OFFSET 0` keeps the lateral subquery a per-order probe). Left to
    itself the planner joined the day's orders to a sequential scan of every payment ever made
    once the history outgrew the day (124 ms at 1,000,000 orders, and growing with them;
    bench/RESULTS.md); this reads only the day's payments, whatever the history."""
    with connections[using].cursor() as cursor:
        cursor.execute(_tenders_sql(), [store.pk, start, end, OrderStatus.VOIDED.value])
        return [(method, Decimal(total)) for method, total in cursor.fetchall()]


def daily_report_figures(
    *, store: Store, date: dt.date, using: str = DEFAULT_DB_ALIAS
) -> dict[str, Any]:
    """The report's figures for `store` on its local day `date`, in the contract's JSON shape
    (money as strings with the store currency's minor units, quantities with three). Eight
    queries, whatever the number of orders: six aggregates (orders by hour and cashier,
    refunds, returns, tenders, products, promotions) and the names of the cashiers and of the
    top products. All on the database `using` (the caller's `posproject.replica.reporting_db()`
    for a report)."""
    tz = store.tzinfo
    start, end = local_day_bounds(tz=tz, date=date)

    def money(value: Any) -> str:
        return _money(value, store.currency)

    orders = orders_of_day(store=store, date=date, using=using)
    lines = _lines_of_day(store=store, date=date, using=using)

    # One scan of the day's orders, grouped by hour and cashier (at most 25 × cashiers rows):
    # the day's totals, the hours and the cashiers are all sums of those groups. Voided orders
    # are in the scan but out of the sums (`stood`), counted apart (`voids`).
    hour_bucket, local_hour = _hour_grouping(tz=tz, start=start, end=end)
    stood = ~Q(status=OrderStatus.VOIDED)
    voided = Q(status=OrderStatus.VOIDED)
    groups = list(
        orders.annotate(bucket=hour_bucket)
        .values("bucket", "cashier_id")
        .annotate(
            # The voids first: an annotation named like a column (`total`) hides the column
            # from the annotations after it.
            voids=Count("id", filter=voided),
            voids_total=_money_sum("total", filter=voided),
            orders=Count("id", filter=stood),
            gross=_money_sum("subtotal", filter=stood),
            discount=_money_sum("discount_total", filter=stood),
            promotions=_money_sum("promotion_total", filter=stood),
            tax=_money_sum("tax_total", filter=stood),
            total=_money_sum("total", filter=stood),
            rounding=_money_sum("rounding", filter=stood),
            tips=_money_sum("tips_total", filter=stood),
        )
        .order_by()
    )
    voids_count = sum(group["voids"] for group in groups)
    voids_total = sum((group["voids_total"] for group in groups), ZERO)
    groups = [group for group in groups if group["orders"]]
    by_hour: dict[int, dict[str, Any]] = {hour: {"orders": 0, "total": ZERO} for hour in range(24)}
    by_cashier: dict[int, dict[str, Any]] = {}
    for group in groups:
        for bucket in (
            by_hour[local_hour(group["bucket"])],
            by_cashier.setdefault(group["cashier_id"], {"orders": 0, "total": ZERO}),
        ):
            bucket["orders"] += group["orders"]
            bucket["total"] += group["total"]
    day_total = sum((group["total"] for group in groups), ZERO)
    tax_total = sum((group["tax"] for group in groups), ZERO)
    usernames = dict(
        User.objects.using(using).filter(pk__in=list(by_cashier)).values_list("id", "username")
    )

    refunds_total = (
        Refund.objects.using(using)
        .filter(store_id=store.pk, created_at__gte=start, created_at__lt=end)
        .aggregate(total=_money_sum("total"))["total"]
    )
    returns = (
        Return.objects.using(using)
        .filter(store_id=store.pk, created_at__gte=start, created_at__lt=end)
        .aggregate(count=Count("id"), total=_money_sum("total"))
    )

    # Money tenders only: the `exchange` part of a sale was paid by returned goods (counted
    # with the refunds), not taken in.
    tenders = dict.fromkeys(SALE_TENDERS, ZERO)
    for method, amount in _tenders_of_day(store=store, start=start, end=end, using=using):
        if method in tenders:
            tenders[method] += amount

    product_rows = list(
        lines.values("product_id")
        .annotate(
            quantity=Coalesce(Sum("quantity"), Value(ZERO), output_field=DecimalField(**_QUANTITY)),
            total=_money_sum("total"),
        )
        .order_by("-total", "-quantity", "product_id")[:TOP_PRODUCTS_LIMIT]
    )
    names = dict(
        Product.objects.using(using)
        .filter(pk__in=[row["product_id"] for row in product_rows])
        .values_list("id", "name")
    )
    # What each automatic promotion took off that day (its name as the lines snapshotted it).
    promotion_rows = list(
        lines.filter(promotion_id__isnull=False)
        .values("promotion_id")
        .annotate(
            name=Max("promotion_name"),
            lines_count=Count("id"),
            discount=_money_sum("promotion_discount"),
        )
        .order_by("-discount", "promotion_id")
    )

    return {
        "orders_count": sum(group["orders"] for group in groups),
        "gross_sales": money(sum((group["gross"] for group in groups), ZERO)),
        "discount_total": money(sum((group["discount"] for group in groups), ZERO)),
        "promotion_total": money(sum((group["promotions"] for group in groups), ZERO)),
        "by_promotion": [
            {
                "promotion": row["promotion_id"],
                "name": row["name"],
                "lines": row["lines_count"],
                "discount": money(row["discount"]),
            }
            for row in promotion_rows
        ],
        # Σ line net = Σ (line total − line tax) = Σ order total − Σ order tax (orders.pricing).
        "net_sales": money(day_total - tax_total),
        "tax_total": money(tax_total),
        "refunds_total": money(refunds_total),
        "returns_count": returns["count"],
        "returns_total": money(returns["total"]),
        "voids_count": voids_count,
        "voids_total": money(voids_total),
        "rounding_total": money(sum((group["rounding"] for group in groups), ZERO)),
        "tips_total": money(sum((group["tips"] for group in groups), ZERO)),
        "by_tender": {method: money(amount) for method, amount in tenders.items()},
        "by_hour": [
            {"hour": hour, "orders": row["orders"], "total": money(row["total"])}
            for hour, row in sorted(by_hour.items())
        ],
        "top_products": [
            {
                "product": row["product_id"],
                "name": names.get(row["product_id"], ""),
                "quantity": _quantity(row["quantity"]),
                "total": money(row["total"]),
            }
            for row in product_rows
        ],
        "by_cashier": [
            {
                "cashier": cashier_id,
                "username": usernames.get(cashier_id, ""),
                "orders": figures["orders"],
                "total": money(figures["total"]),
            }
            for cashier_id, figures in sorted(
                by_cashier.items(), key=lambda item: (-item[1]["total"], item[0])
            )
        ],
    }


# --- The manager's dashboard -------------------------------------------------------------------


def stores_today_totals(
    *, stores: list[Store], now: dt.datetime, using: str = DEFAULT_DB_ALIAS
) -> dict[int, dict[str, Any]]:
    """Today's (each store's own local today) order count, Σ total, Σ net-of-tax and refunds,
    per store, in the store's currency (voided orders left out, as in the daily report): two
    grouped queries whatever the number of stores."""
    if not stores:
        return {}
    order_window = Q()
    refund_window = Q()
    for store in stores:
        start, end = local_day_bounds(tz=store.tzinfo, date=local_today(store=store, now=now))
        order_window |= Q(store_id=store.pk, created_at__gte=start, created_at__lt=end)
        refund_window |= Q(store_id=store.pk, created_at__gte=start, created_at__lt=end)

    result: dict[int, dict[str, Any]] = {
        store.pk: {"orders": 0, "total": ZERO, "tax": ZERO, "refunds": ZERO} for store in stores
    }
    for row in (
        Order.objects.using(using)
        .filter(order_window)
        .exclude(status=OrderStatus.VOIDED)
        .values("store_id")
        .annotate(orders=Count("id"), total=_money_sum("total"), tax=_money_sum("tax_total"))
        .order_by("store_id")
    ):
        result[row["store_id"]].update(orders=row["orders"], total=row["total"], tax=row["tax"])
    for refund_row in (
        Refund.objects.using(using)
        .filter(refund_window)
        .values("store_id")
        .annotate(refunds=_money_sum("total"))
        .order_by("store_id")
    ):
        result[refund_row["store_id"]]["refunds"] = refund_row["refunds"]
    for store in stores:
        figures = result[store.pk]
        for key in ("total", "tax", "refunds"):
            figures[key] = round_money(Decimal(figures[key]), store.currency)
        figures["net"] = figures["total"] - figures["tax"]
    return result


def totals_by_currency(
    *, stores: list[Store], totals: dict[int, dict[str, Any]]
) -> list[dict[str, Any]]:
    """The stores' figures (`stores_today_totals`) added up per currency, by currency code: a
    dollar and a yen have no sum, so a manager of stores of several currencies gets one total
    for each."""
    by_currency: dict[str, dict[str, Any]] = {}
    for store in stores:
        figures = totals[store.pk]
        zero = round_money(ZERO, store.currency)
        total = by_currency.setdefault(
            store.currency,
            {
                "currency": store.currency,
                "stores": 0,
                "orders": 0,
                **dict.fromkeys(("net", "tax", "total", "refunds"), zero),
            },
        )
        total["stores"] += 1
        for key in ("orders", "net", "tax", "total", "refunds"):
            total[key] += figures[key]
    return [by_currency[code] for code in sorted(by_currency)]


def low_stock_levels(
    *,
    store_ids: list[int] | None,
    threshold: Decimal,
    limit: int = 25,
    using: str = DEFAULT_DB_ALIAS,
) -> QuerySet[StockLevel]:
    """Stock levels at or below `threshold` of active tracked products, lowest first
    (`store_ids=None`: every store)."""
    queryset = (
        StockLevel.objects.using(using)
        .select_related("store", "product")
        .filter(product__track_stock=True, product__is_active=True, quantity__lte=threshold)
    )
    if store_ids is not None:
        queryset = queryset.filter(store_id__in=store_ids)
    return queryset.order_by("quantity", "store_id", "product_id")[:limit]


def shifts_closed_on_day(
    *, store: Store, date: dt.date, using: str = DEFAULT_DB_ALIAS
) -> QuerySet[Shift]:
    """The shifts of `store` closed on its local day `date`: the day's Z reports."""
    start, end = local_day_bounds(tz=store.tzinfo, date=date)
    return (
        Shift.objects.using(using)
        .select_related("register", "closed_by")
        .filter(
            store_id=store.pk,
            status=ShiftStatus.CLOSED,
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .order_by("closed_at", "id")
    )


#: What a store owes its customers in stored value: the liability accounts, in the order the
#: dashboard lists them. An account not in the chart yet (a part of issue 16 still to come) or
#: without lines is owed nothing.
STORED_VALUE_ACCOUNTS: tuple[tuple[str, str], ...] = (
    ("2300", "Gift cards outstanding"),
    ("2310", "Store credit"),
    ("2320", "Loyalty points"),
)


def stored_value_owed(
    *, store: Store, date: dt.date | None = None, using: str = DEFAULT_DB_ALIAS
) -> dict[str, Any]:
    """The store's stored-value liabilities from its ledger as of the end of its local `date`
    (all entries when None): `{rows: [{code, name, owed}], total}`, `owed` = credit − debit in
    the store currency's minor units. One query."""
    balances = account_balances(
        store_id=store.pk,
        codes=[code for code, _ in STORED_VALUE_ACCOUNTS],
        date_to=date,
        using=using,
    )
    owed = {code: round_money(-balances[code], store.currency) for code, _ in STORED_VALUE_ACCOUNTS}
    return {
        "rows": [
            {"code": code, "name": name, "owed": owed[code]} for code, name in STORED_VALUE_ACCOUNTS
        ],
        "total": round_money(sum(owed.values(), ZERO), store.currency),
    }
