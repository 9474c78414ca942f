"""The manager's dashboard and the daily report admin: scoping to the user's stores, read-only
reports, the chart, the Z report page."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockLevel
from orders.admin_dashboard import hourly_sales_svg
from orders.models import DailyReport, Shift
from orders.services.reports import daily_report_generate
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import (
    AdminFactory,
    CashierFactory,
    ManagerFactory,
    RegisterFactory,
    StoreFactory,
)
from tests.reports.conftest import ny
from tests.reports.factories import open_shift, record_sale

pytestmark = pytest.mark.django_db

DASHBOARD = "admin:orders_dailyreport_dashboard"
DAY = dt.date(2026, 3, 10)


def browser_for(user) -> Client:
    """A logged-in admin session. The admin authorises by model permissions, which users get
    through their role's group (`accounts.services` keeps it; factories do not)."""
    user.groups.set([Group.objects.get(name=user.role)])
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager_browser(manager) -> Client:
    return browser_for(manager)


@pytest.fixture
def elsewhere(other_store):
    """A sale and a stored report in a store the manager does not see."""
    cashier = CashierFactory(stores=[other_store])
    shift = open_shift(
        store=other_store, register=RegisterFactory(store=other_store), cashier=cashier
    )
    product = ProductFactory(name="Secret Widget")
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 10, 0), lines=[(product, "1")])
    record_sale(shift=shift, cashier=cashier, at=timezone.now(), lines=[(product, "1")])
    set_stock(other_store, product, 0)
    return daily_report_generate(store=other_store, date=DAY)


def test_dashboard_shows_todays_sales_chart_and_only_the_managers_stores(
    manager_browser, store, other_store, shift, cashier, coffee, elsewhere
) -> None:
    record_sale(shift=shift, cashier=cashier, at=timezone.now(), lines=[(coffee, "2")])

    response = manager_browser.get(reverse(DASHBOARD))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="sales-chart"' in html
    assert html.count('class="chart-bar"') == 24
    assert "Coffee beans" in html  # top products
    assert str(store) in html
    assert str(other_store) not in html
    assert "Secret Widget" not in html
    assert not DailyReport.objects.filter(store=store).exists()  # today is live, not stored


def test_dashboard_refuses_another_store(manager_browser, other_store) -> None:
    response = manager_browser.get(reverse(DASHBOARD), {"store": other_store.pk})
    assert response.status_code == 404


def test_dashboard_past_day_links_its_stored_report_and_z_reports(
    manager_browser, store, shift, cashier, coffee
) -> None:
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    Shift.objects.filter(pk=shift.pk).update(
        status="closed",
        closed_at=ny(2026, 3, 10, 18, 0),
        closed_by=cashier,
        expected_cash=Decimal("11.00"),
        counted_cash=Decimal("11.00"),
        difference=Decimal("0.00"),
    )

    response = manager_browser.get(reverse(DASHBOARD), {"store": store.pk, "date": "2026-03-10"})

    html = response.content.decode()
    report = DailyReport.objects.get(store=store, date=DAY)  # a day over: stored on first view
    assert reverse("admin:orders_dailyreport_change", args=[report.pk]) in html
    z_url = reverse("admin:orders_dailyreport_zreport", args=[shift.pk])
    assert z_url in html

    z_page = manager_browser.get(z_url)
    assert z_page.status_code == 200
    assert "Z report" in z_page.content.decode()


def test_z_report_of_another_store_is_404(manager_browser, other_store) -> None:
    cashier = CashierFactory(stores=[other_store])
    shift = open_shift(
        store=other_store, register=RegisterFactory(store=other_store), cashier=cashier
    )
    response = manager_browser.get(reverse("admin:orders_dailyreport_zreport", args=[shift.pk]))
    assert response.status_code == 404


def test_low_stock_lists_tracked_products_at_or_below_the_threshold(
    manager_browser, store, other_store, tax10
) -> None:
    low = ProductFactory(name="Almost gone", tax_rate=tax10)
    plenty = ProductFactory(name="Plenty left", tax_rate=tax10)
    untracked = ProductFactory(name="Service fee", tax_rate=tax10, track_stock=False)
    set_stock(store, low, 2)
    set_stock(store, plenty, 50)
    StockLevel.objects.create(store=store, product=untracked, quantity=0)
    set_stock(other_store, ProductFactory(name="Their low item", tax_rate=tax10), 0)

    html = manager_browser.get(reverse(DASHBOARD)).content.decode()
    section = html[html.index('id="low-stock"') :]
    assert "Almost gone" in section
    assert "Plenty left" not in section
    assert "Service fee" not in section
    assert "Their low item" not in section


def test_report_admin_lists_only_the_managers_stores(
    manager_browser, store, elsewhere, shift, cashier, coffee
) -> None:
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    mine = daily_report_generate(store=store, date=DAY)

    changelist = manager_browser.get(reverse("admin:orders_dailyreport_changelist"))
    assert changelist.status_code == 200
    assert reverse("admin:orders_dailyreport_change", args=[mine.pk]) in changelist.content.decode()
    assert reverse("admin:orders_dailyreport_change", args=[elsewhere.pk]) not in (
        changelist.content.decode()
    )
    # The store filter offers only their stores.
    assert str(elsewhere.store) not in changelist.content.decode()

    theirs = manager_browser.get(reverse("admin:orders_dailyreport_change", args=[elsewhere.pk]))
    assert theirs.status_code == 302  # the admin's "does not exist" redirect
    assert "Secret Widget" not in manager_browser.get(theirs["Location"]).content.decode()


def test_report_page_is_read_only_with_the_chart(manager_browser, store, shift, cashier, coffee):
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    report = daily_report_generate(store=store, date=DAY)
    url = reverse("admin:orders_dailyreport_change", args=[report.pk])

    page = manager_browser.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert 'class="sales-chart"' in html
    assert 'name="_save"' not in html
    assert manager_browser.post(url, {"date": "2026-01-01"}).status_code == 403
    assert manager_browser.get(reverse("admin:orders_dailyreport_add")).status_code == 403
    assert (
        manager_browser.get(
            reverse("admin:orders_dailyreport_delete", args=[report.pk])
        ).status_code
        == 403
    )


def test_regenerate_action_replaces_the_stored_report(
    manager_browser, store, shift, cashier, coffee
) -> None:
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    report = daily_report_generate(store=store, date=DAY)
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 30), lines=[(coffee, "1")])

    response = manager_browser.post(
        reverse("admin:orders_dailyreport_changelist"),
        {"action": "regenerate", "_selected_action": [report.pk]},
        follow=True,
    )
    assert response.status_code == 200
    report.refresh_from_db()
    assert report.data["orders_count"] == 2
    assert DailyReport.objects.count() == 1


def test_admin_index_links_the_dashboard(manager_browser) -> None:
    html = manager_browser.get(reverse("admin:index")).content.decode()
    assert reverse(DASHBOARD) in html


def test_admins_see_every_store_and_cashiers_never_get_in(store, other_store) -> None:
    admin_browser = browser_for(AdminFactory())
    html = admin_browser.get(reverse(DASHBOARD)).content.decode()
    assert str(store) in html
    assert str(other_store) in html

    cashier_browser = browser_for(CashierFactory(stores=[store]))
    response = cashier_browser.get(reverse(DASHBOARD))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_manager_without_stores_sees_an_empty_dashboard() -> None:
    client = browser_for(ManagerFactory())
    response = client.get(reverse(DASHBOARD))
    assert response.status_code == 200
    assert "not assigned to any store" in response.content.decode()


def test_chart_bars_are_proportional_and_escaped() -> None:
    by_hour = [{"hour": h, "orders": 0, "total": "0.00"} for h in range(24)]
    by_hour[9] = {"hour": 9, "orders": 3, "total": "50.00"}
    by_hour[18] = {"hour": 18, "orders": 5, "total": "100.00"}
    svg = str(hourly_sales_svg(by_hour, currency="<b>"))
    heights = {
        int(hour): int(height)
        for hour, height in re.findall(r'data-hour="(\d+)"[^>]*height="(\d+)"', svg)
    }
    assert heights[18] == 2 * heights[9] > 0
    assert heights[0] == 0
    assert "<b>" not in svg
    assert "&lt;b&gt;" in svg


def test_report_csv_download_is_scoped(manager_browser, store, elsewhere, shift, cashier, coffee):
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    mine = daily_report_generate(store=store, date=DAY)
    page = manager_browser.get(reverse("admin:orders_dailyreport_change", args=[mine.pk]))
    csv_url = reverse("admin:orders_dailyreport_csv", args=[mine.pk])
    assert csv_url in page.content.decode()

    response = manager_browser.get(csv_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = response.content.decode()
    assert body.startswith("section,store,date,orders_count")
    assert "top_products," in body
    assert "Coffee beans" in body

    theirs = reverse("admin:orders_dailyreport_csv", args=[elsewhere.pk])
    assert manager_browser.get(theirs).status_code == 404


# --- Local times, today's CSV (issue 14, item 14) -----------------------------------------------


def _without_generated_at(body: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(body)))
    header = rows[0]
    at = header.index("generated_at")
    return [
        row[:at] + row[at + 1 :] if row and row[0] in ("section", "summary") else row
        for row in rows
    ]


def test_dashboard_downloads_todays_live_figures_as_the_apis_csv(
    manager_browser, manager_client, store, shift, cashier, coffee
) -> None:
    record_sale(shift=shift, cashier=cashier, at=timezone.now(), lines=[(coffee, "2")])
    today = timezone.localdate(timezone=ny(2026, 1, 1).tzinfo)
    page = manager_browser.get(reverse(DASHBOARD), {"store": store.pk}).content.decode()
    csv_url = reverse("admin:orders_dailyreport_dashboard_csv")
    assert f"{csv_url}?store={store.pk}&amp;date={today.isoformat()}" in page

    response = manager_browser.get(csv_url, {"store": store.pk, "date": today.isoformat()})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"daily-report-{store.code}-{today.isoformat()}.csv" in response["Content-Disposition"]
    body = response.content.decode()
    assert "Coffee beans" in body
    api = manager_client.get(
        "/api/v1/reports/daily/", {"store": store.pk, "date": today.isoformat(), "format": "csv"}
    )
    assert _without_generated_at(body) == _without_generated_at(api.content.decode())
    assert not DailyReport.objects.filter(store=store).exists()  # live, not stored


def test_dashboard_csv_is_scoped(manager_browser, other_store) -> None:
    csv_url = reverse("admin:orders_dailyreport_dashboard_csv")
    assert manager_browser.get(csv_url, {"store": other_store.pk}).status_code == 404


def test_z_report_and_dashboard_show_store_local_times_named(
    manager_browser, store, shift, cashier
) -> None:
    Shift.objects.filter(pk=shift.pk).update(
        opened_at=ny(2026, 3, 10, 8, 5),
        status="closed",
        closed_at=ny(2026, 3, 10, 18, 30),
        closed_by=cashier,
        expected_cash=Decimal("0.00"),
        counted_cash=Decimal("0.00"),
        difference=Decimal("0.00"),
    )

    z_page = manager_browser.get(reverse("admin:orders_dailyreport_zreport", args=[shift.pk]))
    html = z_page.content.decode()
    assert "2026-03-10 08:05:00 EDT (America/New_York)" in html
    assert "2026-03-10 18:30:00 EDT (America/New_York)" in html

    dashboard = manager_browser.get(reverse(DASHBOARD), {"store": store.pk, "date": "2026-03-10"})
    html = dashboard.content.decode()
    assert "18:30 EDT" in html
    assert "22:30" not in html  # not UTC
    assert "America/New_York" in html


def test_daily_report_generated_at_is_store_local(manager_browser, store, shift, cashier, coffee):
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    report = daily_report_generate(store=store, date=DAY, now=ny(2026, 3, 11, 2, 15, 7))
    shown = "2026-03-11 02:15:07 EDT (America/New_York)"

    assert (
        shown
        in manager_browser.get(reverse("admin:orders_dailyreport_changelist")).content.decode()
    )
    page = manager_browser.get(reverse("admin:orders_dailyreport_change", args=[report.pk]))
    assert shown in page.content.decode()


def test_api_docs_point_at_the_contract(client) -> None:
    from django.conf import settings

    assert "docs/API.md" in settings.SPECTACULAR_SETTINGS["DESCRIPTION"]
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert "docs/API.md" in schema["info"]["description"]
    assert "shared/API.md" not in schema["info"]["description"]


def test_dashboard_totals_stores_of_different_currencies_per_currency(
    store, shift, cashier, coffee, tax10
) -> None:
    # Given a manager of a USD store and a JPY store, each with a sale today
    yen_store = StoreFactory(currency="JPY", timezone="Asia/Tokyo", name="Ginza")
    yen_cashier = CashierFactory(stores=[yen_store])
    yen_shift = open_shift(
        store=yen_store, register=RegisterFactory(store=yen_store), cashier=yen_cashier
    )
    matcha = ProductFactory(name="Matcha", price=Decimal("1000.00"), tax_rate=tax10)
    record_sale(shift=shift, cashier=cashier, at=timezone.now(), lines=[(coffee, "2")])
    record_sale(shift=yen_shift, cashier=yen_cashier, at=timezone.now(), lines=[(matcha, "1")])
    browser = browser_for(ManagerFactory(stores=[store, yen_store]))

    # When the manager opens the dashboard
    response = browser.get(reverse(DASHBOARD))

    # Then today's figures are totalled once per currency, never added across them
    assert response.context["currency_totals"] == [
        {
            "currency": "JPY",
            "stores": 1,
            "orders": 1,
            "net": Decimal("1000"),
            "tax": Decimal("100"),
            "total": Decimal("1100"),
            "refunds": Decimal("0"),
        },
        {
            "currency": "USD",
            "stores": 1,
            "orders": 1,
            "net": Decimal("20.00"),
            "tax": Decimal("2.00"),
            "total": Decimal("22.00"),
            "refunds": Decimal("0.00"),
        },
    ]
    html = response.content.decode()
    jpy_row = re.search(r'<tr id="today-total-JPY">(.*?)</tr>', html, re.S)
    usd_row = re.search(r'<tr id="today-total-USD">(.*?)</tr>', html, re.S)
    assert jpy_row
    assert "JPY 1100<" in jpy_row.group(1)
    assert usd_row
    assert "USD 22.00<" in usd_row.group(1)
    assert "1122" not in html
