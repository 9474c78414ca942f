"""Cash rounding and tips (API.md, Version 1.1, "Money per currency, rounding and tips").

* `cash_rounding` on the store: the cash part due is rounded half-up to the step, the order
  carries `rounding` and `total_due = total + rounding`, the payments add up to `total_due`, the
  difference goes to 6910; card and other tenders are never rounded.
* `tip` on a cash or card payment: outside the order total, the tender takes `amount + tip`,
  2150 is credited, shift reports carry `tips_total` and `tips_by_cashier`, a refund never
  returns a tip.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Product
from ledger.models import JournalLine
from orders.models import Order
from tests.catalog.factories import ProductFactory, TaxRateFactory
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL, open_shift_on, sale_body

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = Decimal


@pytest.fixture
def rounding_store() -> Store:
    return StoreFactory(currency="CHF", cash_rounding=D("0.05"), allow_negative_stock=True)


@pytest.fixture
def till(rounding_store: Store) -> Register:
    return RegisterFactory(store=rounding_store, code="R1")


@pytest.fixture
def seller(rounding_store: Store, till: Register) -> User:
    user = CashierFactory(stores=[rounding_store])
    open_shift_on(till, user, opening_float="100.00")
    return user


@pytest.fixture
def client(client_for, seller: User) -> APIClient:
    return client_for(seller)


def _product(price: str) -> Product:
    return ProductFactory(price=D(price), cost=D("0"), tax_rate=TaxRateFactory(name="0", rate=0))


def _sell(client: APIClient, till: Register, product: Product, payments: list[dict[str, Any]]):
    return client.post(
        ORDERS_URL,
        sale_body(till, [(product, 1)], payments=payments),
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


def _entry(order_id: int) -> dict[str, tuple[Decimal, Decimal]]:
    return {
        code: (debit, credit)
        for code, debit, credit in JournalLine.objects.filter(
            entry__source="sale", entry__source_id=order_id
        ).values_list("account__code", "debit", "credit")
    }


def _trial_balance_is_zero(store: Store) -> bool:
    sums = JournalLine.objects.filter(entry__store=store).aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    return sums["debit"] == sums["credit"]


def test_an_all_cash_sale_is_rounded_up_to_the_step_and_the_difference_booked_to_6910(
    client: APIClient, till: Register, rounding_store: Store
) -> None:
    product = _product("9.98")
    quote = client.post(QUOTE_URL, sale_body(till, [(product, 1)]), format="json").json()
    assert (quote["total"], quote["rounding"], quote["total_due"]) == ("9.98", "0.02", "10.00")

    response = _sell(client, till, product, [{"method": "cash", "amount": "10.00"}])

    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["total"], order["rounding"], order["total_due"], order["paid_total"]) == (
        "9.98",
        "0.02",
        "10.00",
        "10.00",
    )
    lines = _entry(order["id"])
    assert lines["1000"] == (D("10.00"), D("0"))
    assert lines["4000"] == (D("0"), D("9.98"))
    assert lines["6910"] == (D("0"), D("0.02"))
    assert _trial_balance_is_zero(rounding_store)


def test_rounding_down_debits_6910(client: APIClient, till: Register) -> None:
    response = _sell(client, till, _product("9.97"), [{"method": "cash", "amount": "9.95"}])

    assert response.status_code == 201, response.content
    assert response.json()["rounding"] == "-0.02"
    assert _entry(response.json()["id"])["6910"] == (D("0.02"), D("0"))


def test_cash_paying_the_unrounded_total_is_a_mismatch(client: APIClient, till: Register) -> None:
    response = _sell(client, till, _product("9.98"), [{"method": "cash", "amount": "9.98"}])

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert "10.00" in response.json()["detail"]
    assert not Order.objects.exists()


def test_only_the_cash_part_is_rounded_in_a_split_payment(
    client: APIClient, till: Register
) -> None:
    # Card 5.00, cash due 4.98 → 5.00.
    response = _sell(
        client,
        till,
        _product("9.98"),
        [{"method": "card", "amount": "5.00"}, {"method": "cash", "amount": "5.00"}],
    )
    assert response.status_code == 201, response.content
    assert (response.json()["rounding"], response.json()["total_due"]) == ("0.02", "10.00")


def test_card_alone_is_never_rounded(client: APIClient, till: Register) -> None:
    response = _sell(client, till, _product("9.98"), [{"method": "card", "amount": "9.98"}])
    assert response.status_code == 201, response.content
    assert (response.json()["rounding"], response.json()["total_due"]) == ("0.00", "9.98")
    assert "6910" not in _entry(response.json()["id"])


def test_a_store_without_rounding_takes_cash_to_the_cent(
    cashier_client: APIClient, cashier: User, register: Register, loose_product: Product
) -> None:
    open_shift_on(register, cashier)
    body = sale_body(register, [(loose_product, "3.992")], payments=[])
    body["payments"] = [{"method": "cash", "amount": "9.98"}]
    response = cashier_client.post(
        ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert response.status_code == 201, response.content
    assert (response.json()["rounding"], response.json()["total_due"]) == ("0.00", "9.98")


def test_a_card_tip_is_outside_the_total_and_owed_to_staff(
    client: APIClient, till: Register, rounding_store: Store, seller: User, client_for
) -> None:
    response = _sell(
        client, till, _product("9.98"), [{"method": "card", "amount": "9.98", "tip": "2.00"}]
    )

    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["total"], order["tips_total"]) == ("9.98", "2.00")
    assert order["payments"][0]["tip"] == "2.00"
    lines = _entry(order["id"])
    assert lines["1010"] == (D("11.98"), D("0"))
    assert lines["2150"] == (D("0"), D("2.00"))
    assert _trial_balance_is_zero(rounding_store)

    manager = client_for(ManagerFactory(stores=[rounding_store]))
    report = manager.get(f"/api/v1/shifts/{order['shift']}/report/").json()
    assert report["tips_total"] == "2.00"
    assert report["tips_by_cashier"] == [{"cashier": seller.pk, "tips": "2.00"}]


def test_a_cash_tip_stays_in_the_drawer(client: APIClient, till: Register) -> None:
    response = _sell(
        client,
        till,
        _product("9.98"),
        [{"method": "cash", "amount": "10.00", "tip": "1.00", "tendered": "20.00"}],
    )

    assert response.status_code == 201, response.content
    order = response.json()
    assert order["payments"][0]["change"] == "9.00"
    assert order["change_due"] == "9.00"
    assert _entry(order["id"])["1000"] == (D("11.00"), D("0"))
    report = client.get(f"/api/v1/shifts/{order['shift']}/report/").json()
    assert report["cash"]["cash_tips"] == "1.00"
    # 100.00 float + 10.00 sale + 1.00 tip
    assert report["expected_cash"] == "111.00"


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        ({"method": "other", "amount": "9.98", "tip": "1.00"}, "payments.0.tip"),
        ({"method": "card", "amount": "9.98", "tip": "-1.00"}, "payments.0.tip"),
        ({"method": "card", "amount": "9.98", "tip": "1.001"}, "payments.0.tip"),
        (
            {"method": "cash", "amount": "10.00", "tip": "1.00", "tendered": "10.50"},
            "payments.0.tendered",
        ),
    ],
)
def test_bad_tips_are_refused_naming_the_field(
    client: APIClient, till: Register, payment: dict[str, Any], field: str
) -> None:
    response = _sell(client, till, _product("9.98"), [payment])
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"], response.json()
    assert not Order.objects.exists()


def test_a_refund_never_returns_a_tip(
    client: APIClient, till: Register, rounding_store: Store, client_for
) -> None:
    response = _sell(
        client, till, _product("9.98"), [{"method": "card", "amount": "9.98", "tip": "2.00"}]
    )
    order = response.json()
    manager = client_for(ManagerFactory(stores=[rounding_store]))

    refund = manager.post(
        f"{ORDERS_URL}{order['id']}/refunds/",
        {"lines": [{"line": order["lines"][0]["id"], "quantity": "1"}], "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert refund.status_code == 201, refund.content
    assert refund.json()["total"] == "9.98"
    assert refund.json()["payments"] == [{"method": "card", "amount": "9.98"}]
    tips_payable = JournalLine.objects.filter(
        entry__store=rounding_store, account__code="2150"
    ).aggregate(credit=Sum("credit"), debit=Sum("debit"))
    assert (tips_payable["credit"], tips_payable["debit"]) == (D("2.00"), D("0"))


@pytest.mark.parametrize(
    ("currency", "step", "ok"),
    [("USD", "0.05", True), ("USD", "0.001", False), ("JPY", "5", True), ("JPY", "0.5", False)],
)
def test_the_rounding_step_is_in_whole_minor_units(
    admin_client: APIClient, currency: str, step: str, ok: bool
) -> None:
    response = admin_client.post(
        "/api/v1/stores/",
        {"code": "R", "name": "R", "currency": currency, "timezone": "UTC", "cash_rounding": step},
        format="json",
    )
    assert response.status_code == (201 if ok else 400), response.content
    if ok:
        assert response.json()["cash_rounding"] == step
    else:
        assert "cash_rounding" in response.json()["errors"]


def test_a_sale_with_rounding_and_a_tip_costs_the_queries_of_a_plain_sale(
    client: APIClient, till: Register
) -> None:
    product = _product("9.98")
    _sell(client, till, product, [{"method": "card", "amount": "9.98"}])  # caches warm

    def count(payments: list[dict[str, Any]]) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert _sell(client, till, product, payments).status_code == 201
        return len(ctx.captured_queries)

    plain = count([{"method": "card", "amount": "9.98"}])
    rounded_and_tipped = count([{"method": "cash", "amount": "10.00", "tip": "1.00"}])
    assert rounded_and_tipped == plain


def test_the_z_report_page_shows_rounding_and_tips_in_the_currency(
    client: APIClient, till: Register, rounding_store: Store
) -> None:
    from tests.reports.test_admin import browser_for  # the admin session helper

    _sell(client, till, _product("9.98"), [{"method": "cash", "amount": "10.00", "tip": "1.50"}])
    manager = ManagerFactory(stores=[rounding_store])
    shift = Order.objects.get().shift_id

    page = browser_for(manager).get(reverse("admin:orders_dailyreport_zreport", args=[shift]))

    assert page.status_code == 200
    html = page.content.decode()
    assert 'Cash rounding</span><span class="value">CHF 0.02' in html
    assert 'Tips</span><span class="value">CHF 1.50' in html
    assert "10.000" not in html  # amounts in the currency's minor units, not the column's


def test_the_daily_report_its_csv_and_the_dashboard_carry_rounding_tips_and_voids(
    client: APIClient, till: Register, rounding_store: Store
) -> None:
    from tests.reports.test_admin import browser_for  # the admin session helper

    _sell(client, till, _product("9.98"), [{"method": "cash", "amount": "10.00", "tip": "1.50"}])
    _sell(client, till, _product("4.97"), [{"method": "cash", "amount": "4.95"}])
    manager = ManagerFactory(stores=[rounding_store])
    today = timezone.localdate(timezone=rounding_store.tzinfo)
    api = APIClient()
    api.force_authenticate(manager)

    report = api.get("/api/v1/reports/daily/", {"store": rounding_store.pk, "date": today})
    assert report.status_code == 200, report.content
    body = report.json()
    assert (body["rounding_total"], body["tips_total"], body["voids_count"]) == ("0.00", "1.50", 0)

    csv_text = api.get(
        "/api/v1/reports/daily/", {"store": rounding_store.pk, "date": today, "format": "csv"}
    ).content.decode()
    header, row = csv_text.splitlines()[:2]
    summary = dict(zip(header.split(","), row.split(","), strict=True))
    assert (summary["rounding_total"], summary["tips_total"], summary["voids_count"]) == (
        "0.00",
        "1.50",
        "0",
    )

    page = browser_for(manager).get(
        reverse("admin:orders_dailyreport_dashboard"), {"store": rounding_store.pk}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Tips" in html
    assert "Cash rounding" in html
