"""Money follows the store currency's ISO 4217 minor units (JPY 0, USD 2, KWD 3) in validation,
pricing, ledger and rendering (API.md, Version 1.1, "Money per currency, rounding and tips").

Each test runs a real sale, shift or report over HTTP in a store of that currency (PostgreSQL:
the columns hold three decimals, the API renders the currency's)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Product
from ledger.models import JournalLine
from orders.models import Order
from tests.catalog.factories import ProductFactory, TaxRateFactory
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL, open_shift_on, post_sale, sale_body

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = Decimal


def _store(currency: str) -> tuple[Store, Register, User]:
    store = StoreFactory(currency=currency, allow_negative_stock=True)
    register = RegisterFactory(store=store, code="R1")
    cashier = CashierFactory(stores=[store])
    return store, register, cashier


def test_a_jpy_sale_has_no_decimals_anywhere(client_for) -> None:
    _, register, cashier = _store("JPY")
    open_shift_on(register, cashier, opening_float="10000")
    tax = TaxRateFactory(name="JP consumption", rate=D("10.000"))
    product = ProductFactory(price=D("333"), cost=D("120"), tax_rate=tax)
    client = client_for(cashier)

    body = sale_body(register, [(product, "1.5")], discount="10")
    quote = client.post(QUOTE_URL, body, format="json")
    assert quote.status_code == 200, quote.content
    # gross round(333 × 1.5) = 500 (499.5 half-up), net 490, tax round(49.0) = 49.
    assert (quote.json()["subtotal"], quote.json()["tax_total"], quote.json()["total"]) == (
        "500",
        "49",
        "539",
    )
    response = post_sale(
        client, {**body, "payments": [{"method": "cash", "amount": "539", "tendered": "1000"}]}
    )

    assert response.status_code == 201, response.content
    order = response.json()
    assert order["currency"] == "JPY"
    line = order["lines"][0]
    assert (line["unit_price"], line["gross"], line["discount"], line["net"], line["tax"]) == (
        "333",
        "500",
        "10",
        "490",
        "49",
    )
    [payment] = order["payments"]
    assert (payment["amount"], payment["tendered"], payment["change"]) == ("539", "1000", "461")
    assert (order["total"], order["paid_total"], order["change_due"]) == ("539", "539", "461")
    detail = client.get(f"{ORDERS_URL}{order['id']}/").json()
    assert (detail["total"], detail["lines"][0]["net"]) == ("539", "490")
    listed = client.get(ORDERS_URL).json()["results"][0]
    assert (listed["total"], listed["payments"][0]["change"]) == ("539", "461")
    # The ledger holds whole yen.
    amounts = JournalLine.objects.filter(entry__source_id=order["id"]).values_list(
        "debit", "credit"
    )
    assert all(value == value.to_integral_value() for pair in amounts for value in pair)


@pytest.mark.parametrize(
    ("field", "body_change"),
    [
        ("payments.0.amount", {"payments": [{"method": "card", "amount": "100.50"}]}),
        (
            "payments.0.tendered",
            {"payments": [{"method": "cash", "amount": "100", "tendered": "200.5"}]},
        ),
        ("discount", {"discount": "0.5"}),
        ("lines.0.discount", {"lines": "discounted"}),
    ],
)
def test_a_jpy_store_refuses_decimals_naming_the_field(
    client_for, field: str, body_change: dict[str, Any]
) -> None:
    _, register, cashier = _store("JPY")
    open_shift_on(register, cashier, opening_float="0")
    product = ProductFactory(price=D("100"), tax_rate=TaxRateFactory(name="zero", rate=D("0")))
    body = sale_body(register, [(product, 1)], payments=[{"method": "card", "amount": "100"}])
    if body_change.get("lines") == "discounted":
        body["lines"][0]["discount"] = "0.01"
    else:
        body.update(body_change)

    response = post_sale(client_for(cashier), body)

    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert field in problem["errors"], problem
    assert not Order.objects.exists()


def test_a_jpy_store_accepts_zero_decimals_written_out(client_for) -> None:
    """`"100.00"` is 100 and accepted."""
    _, register, cashier = _store("JPY")
    open_shift_on(register, cashier, opening_float="0")
    product = ProductFactory(price=D("100.00"), tax_rate=TaxRateFactory(name="zero", rate=D("0")))
    response = post_sale(
        client_for(cashier),
        sale_body(register, [(product, 1)], payments=[{"method": "card", "amount": "100.00"}]),
    )
    assert response.status_code == 201, response.content
    assert response.json()["payments"][0]["amount"] == "100"


def test_a_product_priced_finer_than_the_store_currency_is_refused_naming_the_line(
    client_for,
) -> None:
    _, register, cashier = _store("JPY")
    open_shift_on(register, cashier, opening_float="0")
    whole = ProductFactory(price=D("100"))
    fine = ProductFactory(price=D("4.99"))
    body = sale_body(register, [(whole, 1), (fine, 1)])

    response = client_for(cashier).post(QUOTE_URL, body, format="json")

    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert list(errors) == ["lines.1.product"]
    assert "JPY" in errors["lines.1.product"][0]


def test_a_kwd_sale_has_three_decimals(client_for) -> None:
    store, register, cashier = _store("KWD")
    open_shift_on(register, cashier, opening_float="50.000")
    tax = TaxRateFactory(name="KW", rate=D("5.000"))
    product = ProductFactory(price=D("1.255"), cost=D("0.333"), tax_rate=tax)
    client = client_for(cashier)

    response = post_sale(client, sale_body(register, [(product, 3)]))

    assert response.status_code == 201, response.content
    order = response.json()
    # gross 3.765, tax round(0.18825) = 0.188, total 3.953.
    line = order["lines"][0]
    assert (line["unit_price"], line["gross"], line["tax"], line["total"]) == (
        "1.255",
        "3.765",
        "0.188",
        "3.953",
    )
    assert order["total"] == "3.953"
    entries = client_for(ManagerFactory(stores=[store])).get("/api/v1/ledger/entries/").json()
    [entry] = [e for e in entries["results"] if e["source"] == "sale"]
    lines = {line["account"]: line for line in entry["lines"]}
    assert lines["4000"]["credit"] == "3.765"
    assert lines["2100"]["credit"] == "0.188"
    assert lines["5000"]["debit"] == "0.999"


def test_a_usd_sale_still_renders_two_decimals(
    client_for, store: Store, register: Register, loose_product: Product
) -> None:
    cashier = CashierFactory(stores=[store])
    open_shift_on(register, cashier)
    response = post_sale(client_for(cashier), sale_body(register, [(loose_product, "1.5")]))
    assert response.status_code == 201, response.content
    line = response.json()["lines"][0]
    assert (line["unit_price"], line["gross"]) == (f"{loose_product.price:.2f}", line["total"])
    assert len(response.json()["total"].split(".")[1]) == 2


def test_shift_amounts_follow_the_store_currency(client_for) -> None:
    _, register, cashier = _store("JPY")
    client = client_for(cashier)

    refused = client.post(
        "/api/v1/shifts/", {"register": register.pk, "opening_float": "100.5"}, format="json"
    )
    assert refused.status_code == 400, refused.content
    assert "opening_float" in refused.json()["errors"]

    opened = client.post(
        "/api/v1/shifts/", {"register": register.pk, "opening_float": "10000"}, format="json"
    )
    assert opened.status_code == 201, opened.content
    shift = opened.json()
    assert shift["opening_float"] == "10000"
    moved = client.post(
        f"/api/v1/shifts/{shift['id']}/cash-movements/",
        {"kind": "in", "amount": "500.50"},
        format="json",
    )
    assert moved.status_code == 400
    assert "amount" in moved.json()["errors"]
    moved = client.post(
        f"/api/v1/shifts/{shift['id']}/cash-movements/",
        {"kind": "in", "amount": "500"},
        format="json",
    )
    assert moved.status_code == 201
    assert moved.json()["amount"] == "500"
    report = client.get(f"/api/v1/shifts/{shift['id']}/report/").json()
    assert report["expected_cash"] == "10500"
    assert report["cash"]["cash_in"] == "500"
    closed = client.post(
        f"/api/v1/shifts/{shift['id']}/close/", {"counted_cash": "10499"}, format="json"
    )
    assert closed.status_code == 200, closed.content
    assert (closed.json()["expected_cash"], closed.json()["difference"]) == ("10500", "-1")


def test_the_daily_report_of_a_jpy_store_has_no_decimals(client_for) -> None:
    store, register, cashier = _store("JPY")
    open_shift_on(register, cashier, opening_float="0")
    product = ProductFactory(price=D("250"), tax_rate=TaxRateFactory(name="zero", rate=D("0")))
    assert post_sale(client_for(cashier), sale_body(register, [(product, 2)])).status_code == 201
    manager = client_for(ManagerFactory(stores=[store]))

    today = timezone.localdate(timezone=store.tzinfo)
    response = manager.get("/api/v1/reports/daily/", {"store": store.pk, "date": today})
    assert response.status_code == 200, response.content
    report = response.json()

    assert report["gross_sales"] == "500"
    assert report["by_tender"]["cash"] == "500"
    assert report["by_hour"][0]["total"] in {"0", "500"}


@pytest.mark.parametrize("code", ["XYZ", "usd", "CLF", "US"])
def test_a_store_currency_must_be_an_accepted_iso_4217_code(admin_client: APIClient, code: str):
    response = admin_client.post(
        "/api/v1/stores/",
        {"code": "NEW", "name": "New", "currency": code, "timezone": "UTC"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "currency" in response.json()["errors"]


def test_a_store_that_booked_money_keeps_its_currency(
    admin_client: APIClient, client_for, store: Store, register: Register, product: Product
) -> None:
    assert (
        admin_client.patch(f"/api/v1/stores/{store.pk}/", {"currency": "EUR"}, format="json")
    ).status_code == 200
    cashier = CashierFactory(stores=[store])
    open_shift_on(register, cashier)
    assert post_sale(client_for(cashier), sale_body(register, [(product, 1)])).status_code == 201

    response = admin_client.patch(f"/api/v1/stores/{store.pk}/", {"currency": "USD"}, format="json")

    assert response.status_code == 400, response.content
    assert "currency" in response.json()["errors"]
    store.refresh_from_db()
    assert store.currency == "EUR"


def test_the_catalog_renders_prices_with_two_decimals_or_a_significant_third(
    admin_client: APIClient,
) -> None:
    tax = TaxRateFactory()
    two = ProductFactory(price=D("100"), cost=D("1.5"), tax_rate=tax)
    three = ProductFactory(price=D("1.255"), tax_rate=tax)
    assert admin_client.get(f"/api/v1/products/{two.pk}/").json()["price"] == "100.00"
    assert admin_client.get(f"/api/v1/products/{two.pk}/").json()["cost"] == "1.50"
    assert admin_client.get(f"/api/v1/products/{three.pk}/").json()["price"] == "1.255"
