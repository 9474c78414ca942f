"""The daily report's figures on a small, hand-computed dataset (store in New York, prices
without tax, 10 % tax)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from orders.models import OrderLine
from orders.selectors.reports import daily_report_figures, local_day_bounds
from tests.factories import CashierFactory, RegisterFactory, StoreFactory
from tests.reports.conftest import NEW_YORK, ny
from tests.reports.factories import open_shift, record_refund, record_sale

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 3, 10)


@pytest.fixture
def day_of_sales(store, shift, cashier, second_cashier, coffee, mug, other_store):
    """Three sales on DAY, one on each neighbouring day, one in another store, and refunds."""
    # 09:15 — 2 coffee = 20.00 + 2.00 tax, cash.
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 15), lines=[(coffee, "2")])
    # 12:00 — bob: 1 coffee, order discount 1.00 → net 9.00, tax 0.90; other 5.00 + cash 4.90.
    record_sale(
        shift=shift,
        cashier=second_cashier,
        at=ny(2026, 3, 10, 12, 0),
        lines=[(coffee, "1")],
        order_discount="1.00",
        payments=[("other", "5.00"), ("cash", "4.90")],
    )
    # 23:30 local = 03:30 UTC the next day: still DAY, hour 23. Mug with 1.00 line discount.
    late = record_sale(
        shift=shift,
        cashier=cashier,
        at=ny(2026, 3, 10, 23, 30),
        lines=[(mug, "1", "1.00")],
        payments=[("card", "4.40")],
    )
    # Not DAY: 23:59 the day before, 00:10 the day after.
    before = record_sale(
        shift=shift, cashier=cashier, at=ny(2026, 3, 9, 23, 59), lines=[(coffee, "5")]
    )
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 11, 0, 10), lines=[(mug, "3")])
    # Another store, same moment: never in this store's report.
    other_register = RegisterFactory(store=other_store)
    other_cashier = CashierFactory(stores=[other_store])
    other_shift = open_shift(store=other_store, register=other_register, cashier=other_cashier)
    record_sale(
        shift=other_shift, cashier=other_cashier, at=ny(2026, 3, 10, 12, 0), lines=[(coffee, "9")]
    )
    # Refunds count on the day they are made: yesterday's sale refunded on DAY counts, DAY's
    # late sale refunded the next day does not.
    record_refund(order=before, user=cashier, at=ny(2026, 3, 10, 15, 0), total="3.30", tax="0.30")
    record_refund(order=late, user=cashier, at=ny(2026, 3, 11, 9, 0), total="4.40", tax="0.40")


def test_day_bounds_are_local_midnights_in_utc() -> None:
    start, end = local_day_bounds(tz=NEW_YORK, date=DAY)
    assert start == dt.datetime(2026, 3, 10, 4, 0, tzinfo=dt.UTC)
    assert end == dt.datetime(2026, 3, 11, 4, 0, tzinfo=dt.UTC)


def test_figures_of_a_known_day(store, cashier, second_cashier, coffee, mug, day_of_sales) -> None:
    figures = daily_report_figures(store=store, date=DAY)

    assert figures["orders_count"] == 3
    assert figures["gross_sales"] == "35.00"  # 20.00 + 10.00 + 5.00
    assert figures["discount_total"] == "2.00"  # order discount 1.00 + line discount 1.00
    assert figures["net_sales"] == "33.00"  # 20.00 + 9.00 + 4.00
    assert figures["tax_total"] == "3.30"  # 2.00 + 0.90 + 0.40
    assert figures["refunds_total"] == "3.30"
    assert figures["by_tender"] == {
        "cash": "26.90",
        "card": "4.40",
        "other": "5.00",
        "gift_card": "0.00",
        "store_credit": "0.00",
        "points": "0.00",
    }

    hours = figures["by_hour"]
    assert [row["hour"] for row in hours] == list(range(24))
    busy = {row["hour"]: (row["orders"], row["total"]) for row in hours if row["orders"]}
    assert busy == {9: (1, "22.00"), 12: (1, "9.90"), 23: (1, "4.40")}
    assert all(row["total"] == "0.00" for row in hours if not row["orders"])

    assert figures["top_products"] == [
        {"product": coffee.pk, "name": "Coffee beans", "quantity": "3.000", "total": "31.90"},
        {"product": mug.pk, "name": "Mug", "quantity": "1.000", "total": "4.40"},
    ]
    assert figures["by_cashier"] == [
        {"cashier": cashier.pk, "username": cashier.username, "orders": 2, "total": "26.40"},
        {"cashier": second_cashier.pk, "username": "bob", "orders": 1, "total": "9.90"},
    ]


def test_the_sale_at_half_past_eleven_is_on_the_next_utc_date_but_on_the_local_day(
    store, day_of_sales
) -> None:
    next_day = daily_report_figures(store=store, date=DAY + dt.timedelta(days=1))
    assert next_day["orders_count"] == 1  # only the 00:10 sale
    assert [row["hour"] for row in next_day["by_hour"] if row["orders"]] == [0]
    assert next_day["refunds_total"] == "4.40"


def test_net_sales_is_the_sum_of_line_nets_and_what_customers_paid_less_tax(
    store, day_of_sales
) -> None:
    figures = daily_report_figures(store=store, date=DAY)
    start, end = local_day_bounds(tz=NEW_YORK, date=DAY)
    line_nets = OrderLine.objects.filter(
        order__store=store, order__created_at__gte=start, order__created_at__lt=end
    ).aggregate(net=Sum("net"))["net"]
    assert Decimal(figures["net_sales"]) == line_nets
    paid = sum(Decimal(amount) for amount in figures["by_tender"].values())
    assert Decimal(figures["net_sales"]) + Decimal(figures["tax_total"]) == paid


def test_an_empty_day_has_zeros_in_every_figure(store) -> None:
    figures = daily_report_figures(store=store, date=DAY)
    assert figures["orders_count"] == 0
    assert figures["gross_sales"] == figures["net_sales"] == figures["refunds_total"] == "0.00"
    assert figures["by_tender"] == {
        "cash": "0.00",
        "card": "0.00",
        "other": "0.00",
        "gift_card": "0.00",
        "store_credit": "0.00",
        "points": "0.00",
    }
    assert len(figures["by_hour"]) == 24
    assert figures["top_products"] == figures["by_cashier"] == []


def test_autumn_daylight_saving_day_has_25_hours_and_sums_the_repeated_hour(
    store, shift, cashier, coffee
) -> None:
    fall_back = dt.date(2026, 11, 1)  # 01:00–02:00 happens twice in New York
    start, end = local_day_bounds(tz=NEW_YORK, date=fall_back)
    assert end - start == dt.timedelta(hours=25)
    first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK)  # EDT
    second = dt.datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=NEW_YORK)  # EST, an hour later
    assert second.astimezone(dt.UTC) - first.astimezone(dt.UTC) == dt.timedelta(hours=1)
    for at in (first, second):
        record_sale(shift=shift, cashier=cashier, at=at, lines=[(coffee, "1")])

    figures = daily_report_figures(store=store, date=fall_back)
    assert figures["orders_count"] == 2
    assert [(r["hour"], r["orders"]) for r in figures["by_hour"] if r["orders"]] == [(1, 2)]


def test_tax_inclusive_store_gross_includes_tax_and_net_excludes_it(tax10, coffee) -> None:
    store = StoreFactory(timezone="Europe/Berlin", prices_include_tax=True)
    cashier = CashierFactory(stores=[store])
    shift = open_shift(store=store, register=RegisterFactory(store=store), cashier=cashier)
    at = dt.datetime(2026, 3, 10, 10, 0, tzinfo=store.tzinfo)
    record_sale(shift=shift, cashier=cashier, at=at, lines=[(coffee, "1")])  # 10.00 incl. tax

    figures = daily_report_figures(store=store, date=DAY)
    assert figures["gross_sales"] == "10.00"
    assert figures["tax_total"] == "0.91"  # 10.00 − 10.00 / 1.1
    assert figures["net_sales"] == "9.09"
    assert figures["by_tender"]["cash"] == "10.00"


def test_half_hour_zone_counts_local_hours(tax10, coffee) -> None:
    """India is UTC+5:30: UTC hours do not line up with local ones there."""
    store = StoreFactory(timezone="Asia/Kolkata")
    cashier = CashierFactory(stores=[store])
    shift = open_shift(store=store, register=RegisterFactory(store=store), cashier=cashier)
    for hour, minute in ((0, 10), (9, 20), (9, 50), (23, 45)):
        at = dt.datetime(2026, 3, 10, hour, minute, tzinfo=store.tzinfo)
        record_sale(shift=shift, cashier=cashier, at=at, lines=[(coffee, "1")])
    # The next local day's first minutes, and the last ones of the day before.
    for at in (
        dt.datetime(2026, 3, 11, 0, 5, tzinfo=store.tzinfo),
        dt.datetime(2026, 3, 9, 23, 55, tzinfo=store.tzinfo),
    ):
        record_sale(shift=shift, cashier=cashier, at=at, lines=[(coffee, "1")])

    figures = daily_report_figures(store=store, date=DAY)
    assert figures["orders_count"] == 4
    busy = {row["hour"]: row["orders"] for row in figures["by_hour"] if row["orders"]}
    assert busy == {0: 1, 9: 2, 23: 1}
