"""A manager in the Django admin, in a real (headless) browser: log in, open the sales
dashboard and see the chart, create a product, adjust its stock, open a daily report.
Screenshots go to the test's tmp dir."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from catalog.models import Product, StockLevel
from orders.models import DailyReport
from orders.services.reports import daily_report_generate
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.factories import (
    DEFAULT_PASSWORD,
    CashierFactory,
    ManagerFactory,
    RegisterFactory,
    StoreFactory,
)
from tests.reports.factories import open_shift, record_sale

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop():
    """A store with a manager, sales today and yesterday (stored report) and a low-stock item."""
    store = StoreFactory(name="Harbour Street", timezone="America/New_York")
    manager = ManagerFactory(username="maria", stores=[store])
    manager.groups.set([Group.objects.get(name="manager")])
    cashier = CashierFactory(username="carl", stores=[store])
    shift = open_shift(
        store=store, register=RegisterFactory(store=store, code="T1"), cashier=cashier
    )
    tax = TaxRateFactory(name="Sales tax 8.25", rate=Decimal("8.250"))
    coffee = ProductFactory(name="Colombian coffee 250 g", price=Decimal("8.90"), tax_rate=tax)
    mug = ProductFactory(name="Harbour mug", price=Decimal("12.00"), tax_rate=tax)
    scarf = ProductFactory(name="Knitted scarf", price=Decimal("24.00"), tax_rate=tax)
    set_stock(store, coffee, 40)
    set_stock(store, mug, 3)
    set_stock(store, scarf, 1)

    now = timezone.now()
    local_now = now.astimezone(store.tzinfo)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    for index, minutes in enumerate((5, 40, 95, 150, 170, 260, 300, 420)):
        at = max(now - dt.timedelta(minutes=minutes), midnight + dt.timedelta(minutes=index))
        record_sale(
            shift=shift,
            cashier=cashier,
            at=at,
            lines=[(coffee, str(1 + index % 3)), (mug, "1")] if index % 2 else [(scarf, "1")],
        )
    yesterday = local_now.date() - dt.timedelta(days=1)
    for hour in (8, 9, 9, 12, 13, 13, 13, 17, 18):
        at = dt.datetime.combine(yesterday, dt.time(hour, 15), tzinfo=store.tzinfo)
        record_sale(shift=shift, cashier=cashier, at=at, lines=[(coffee, "2"), (mug, "1")])
    report = daily_report_generate(store=store, date=yesterday)
    return {"store": store, "manager": manager, "tax": tax, "report": report}


def test_manager_uses_the_admin_dashboard(live_server, shop, tmp_path, chromium) -> None:
    from playwright.sync_api import expect

    store, report = shop["store"], shop["report"]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        page.set_default_timeout(15_000)

        # Log in.
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "maria")
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        expect(page.locator("#sales-dashboard-entry")).to_be_visible()

        # The dashboard: today's figures, the chart, top products, low stock.
        page.click("#sales-dashboard-entry a")
        expect(page.locator("svg.sales-chart")).to_be_visible()
        expect(page.locator("svg.sales-chart rect.chart-bar")).to_have_count(24)
        expect(page.locator("#stores-today")).to_contain_text("Harbour Street")
        expect(page.locator("#top-products")).to_contain_text("Knitted scarf")
        expect(page.locator("#low-stock")).to_contain_text("Knitted scarf")
        expect(page.locator("#low-stock")).not_to_contain_text("Colombian coffee")
        page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

        # Create a product (the catalog admin saves through the catalog services) …
        page.goto(f"{live_server.url}/admin/catalog/product/add/")
        page.fill("#id_sku", "LANTERN-1")
        page.fill("#id_name", "Storm lantern")
        page.fill("#id_price", "19.90")
        page.fill("#id_cost", "7.50")
        page.select_option("#id_tax_rate", value=str(shop["tax"].pk))
        page.click("input[name=_save]")
        expect(page.locator("ul.messagelist li.success")).to_be_visible()
        # … it starts with no stock, so the dashboard lists it as low …
        page.goto(f"{live_server.url}/admin/orders/dailyreport/dashboard/?store={store.pk}")
        expect(page.locator("#low-stock")).to_contain_text("Storm lantern")

        # … receive 12 of it through the stock adjustment form (product is an autocomplete) …
        page.goto(f"{live_server.url}/admin/catalog/stockmovement/add/")
        page.select_option("#id_store", value=str(store.pk))
        page.click(".field-product .select2-selection")
        page.fill(".select2-search__field", "LANTERN")
        page.click(".select2-results__option:has-text('Storm lantern')")
        page.fill("#id_quantity_delta", "12")
        page.select_option("#id_reason", value="receive")
        page.fill("#id_note", "First delivery")
        page.screenshot(path=str(tmp_path / "stock-adjustment.png"), full_page=True)
        page.click("input[name=_save]")
        expect(page.locator("ul.messagelist li.success")).to_be_visible()
        # … and it is low no more.
        page.goto(f"{live_server.url}/admin/orders/dailyreport/dashboard/?store={store.pk}")
        expect(page.locator("#low-stock")).not_to_contain_text("Storm lantern")

        # Yesterday's stored daily report, through the report admin.
        page.goto(f"{live_server.url}/admin/orders/dailyreport/")
        page.click(f"a[href$='/admin/orders/dailyreport/{report.pk}/change/']")
        expect(page.locator("svg.sales-chart")).to_be_visible()
        expect(page.locator("#report-summary")).to_contain_text("9")  # nine orders
        expect(page.locator("input[name=_save]")).to_have_count(0)  # read-only
        page.screenshot(path=str(tmp_path / "daily-report.png"), full_page=True)
        page.close()

    lantern = Product.objects.get(sku="LANTERN-1")
    assert StockLevel.objects.get(store=store, product=lantern).quantity == Decimal("12.000")
    assert DailyReport.objects.filter(store=store).count() == 1
    print(f"screenshots: {tmp_path}")
