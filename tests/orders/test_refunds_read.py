"""Readable refunds (API.md, Version 1.1, "Refunds, readable and flexible"): an order's refunds,
the store-scoped refund list with its filters, one refund, its receipt (text and HTML, in the
store currency's minor units), the refunded amounts on order lines, and constant query counts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Product
from orders.models import Order, Refund
from orders.services.receipts import RECEIPT_WIDTH
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory
from tests.orders.factories import ORDERS_URL, open_shift_on
from tests.orders.selling import refund_via_api, sell

D = Decimal
pytestmark = pytest.mark.django_db

REFUNDS_URL = "/api/v1/refunds/"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


def refund(client: APIClient, order: Order, quantity: str = "1", **kwargs: Any) -> dict[str, Any]:
    line = order.lines.order_by("position")[0]
    key = kwargs.pop("key", f"refund-{order.pk}-{Refund.objects.count()}")
    response = refund_via_api(client, order, [(line, quantity)], key=key, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def three_sold(open_shift, cashier: User, register: Register, product: Product) -> Order:
    """3 × 4.99 at 8.25 %: total 16.21, paid in cash."""
    return sell(cashier, register, [(product, "3")], [("cash", "16.21", "20.00")])


@pytest.fixture
def foreign(other_store: Store, product: Product, client_for: Any) -> dict[str, Any]:
    """A sale and a refund in `other_store`, by its own staff."""
    set_stock(other_store, product, 10)
    register = RegisterFactory(store=other_store, code="F1")
    seller = CashierFactory(stores=[other_store])
    open_shift_on(register, seller)
    order = sell(seller, register, [(product, "2")], [("card", "10.80")])
    client = client_for(ManagerFactory(stores=[other_store]))
    return {"order": order, "refund": refund(client, order, key="foreign")}


# --- GET /orders/{id}/refunds/ ---------------------------------------------------------------


def test_an_orders_refunds_oldest_first_for_its_cashier(
    manager_client: APIClient, cashier_client: APIClient, three_sold: Order
) -> None:
    first = refund(manager_client, three_sold, "1", reason="dented")
    second = refund(manager_client, three_sold, "2", reason="changed mind")

    response = cashier_client.get(f"{ORDERS_URL}{three_sold.pk}/refunds/")

    assert response.status_code == 200, response.content
    assert response.json() == [first, second]
    assert [row["number"] for row in response.json()] == ["R1-R000001", "R1-R000002"]


def test_an_order_without_refunds_has_an_empty_list(
    cashier_client: APIClient, three_sold: Order
) -> None:
    response = cashier_client.get(f"{ORDERS_URL}{three_sold.pk}/refunds/")
    assert response.status_code == 200
    assert response.json() == []


def test_another_stores_order_refunds_are_404(
    cashier_client: APIClient, foreign: dict[str, Any]
) -> None:
    assert_problem(
        cashier_client.get(f"{ORDERS_URL}{foreign['order'].pk}/refunds/"), 404, "not_found"
    )
    assert_problem(cashier_client.get(f"{ORDERS_URL}999999/refunds/"), 404, "not_found")


def test_a_cashier_still_may_not_refund_without_approval(
    cashier_client: APIClient, three_sold: Order
) -> None:
    line = three_sold.lines.get()
    response = refund_via_api(cashier_client, three_sold, [(line, "1")], key="cashier")
    assert_problem(response, 403, "approval_required")


# --- GET /refunds/{id}/ ----------------------------------------------------------------------


def test_one_refund_reads_as_it_was_created(
    manager_client: APIClient,
    cashier_client: APIClient,
    three_sold: Order,
    foreign: dict[str, Any],
) -> None:
    created = refund(manager_client, three_sold, "1", reason="dented")

    response = cashier_client.get(f"{REFUNDS_URL}{created['id']}/")

    assert response.status_code == 200, response.content
    assert response.json() == created
    assert response.json()["total"] == "5.40"
    assert_problem(cashier_client.get(f"{REFUNDS_URL}{foreign['refund']['id']}/"), 404, "not_found")


# --- GET /refunds/ ---------------------------------------------------------------------------


def test_the_refund_list_is_scoped_paginated_and_filtered(
    manager_client: APIClient,
    admin_client: APIClient,
    cashier: User,
    register: Register,
    product: Product,
    store: Store,
    other_store: Store,
    three_sold: Order,
    foreign: dict[str, Any],
) -> None:
    other_order = sell(cashier, register, [(product, "1")], [("cash", "5.40")])
    a = refund(manager_client, three_sold, "1")
    b = refund(manager_client, other_order, "1")
    c = refund(manager_client, three_sold, "1")

    def ids(query: str = "", client: APIClient = manager_client) -> list[int]:
        response = client.get(f"{REFUNDS_URL}{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [c["id"], b["id"], a["id"]]  # newest first; another store's never listed
    assert ids(f"?order={three_sold.pk}") == [c["id"], a["id"]]
    assert ids(f"?order={other_order.pk}") == [b["id"]]
    assert ids(f"?store={store.pk}") == [c["id"], b["id"], a["id"]]
    assert ids(f"?store={other_store.pk}") == []
    assert ids(f"?order={foreign['order'].pk}") == []
    assert foreign["refund"]["id"] in ids(client=admin_client)
    page = manager_client.get(f"{REFUNDS_URL}?page_size=2").json()
    assert (page["count"], len(page["results"]), bool(page["next"])) == (3, 2, True)
    assert page["results"][0] == c
    assert_problem(manager_client.get(f"{REFUNDS_URL}?store=abc"), 400, "validation_error")


def test_refund_date_filters_use_the_store_time_zone_and_extreme_dates_are_safe(
    manager_client: APIClient, three_sold: Order
) -> None:
    # store is America/New_York: 2026-11-21 23:30 local is 2026-11-22 04:30 UTC
    late = refund(manager_client, three_sold, "1")
    early = refund(manager_client, three_sold, "1")
    Refund.objects.filter(pk=late["id"]).update(
        created_at=dt.datetime(2026, 11, 22, 4, 30, tzinfo=dt.UTC)
    )
    Refund.objects.filter(pk=early["id"]).update(
        created_at=dt.datetime(2026, 11, 22, 5, 30, tzinfo=dt.UTC)
    )

    def ids(query: str) -> list[int]:
        response = manager_client.get(f"{REFUNDS_URL}{query}")
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids("?date_from=2026-11-21&date_to=2026-11-21") == [late["id"]]
    assert ids("?date_from=2026-11-22") == [early["id"]]
    assert ids("?date_to=2026-11-22") == [early["id"], late["id"]]
    assert ids("?date_from=2026-11-23") == []
    # the extremes of the calendar bound nothing (or everything), never a 500
    assert ids("?date_from=0001-01-01&date_to=9999-12-31") == [early["id"], late["id"]]
    assert ids("?date_from=9999-12-31") == []
    assert ids("?date_to=0001-01-01") == []
    for bad in ("date_from=21-11-2026", "date_to=10000-01-01", "date_from=0000-12-31"):
        assert_problem(manager_client.get(f"{REFUNDS_URL}?{bad}"), 400, "validation_error")


def test_extreme_dates_in_a_store_east_of_utc_are_not_a_500(client_for) -> None:
    store = StoreFactory(timezone="Pacific/Kiritimati")  # UTC+14
    register = RegisterFactory(store=store, code="K1")
    cashier = CashierFactory(stores=[store])
    open_shift_on(register, cashier)
    product = ProductFactory(price=D("4.99"), tax_rate=TaxRateFactory(rate=D("0")))
    set_stock(store, product, 10)
    order = sell(cashier, register, [(product, "1")], [("card", "4.99")])
    client = client_for(ManagerFactory(stores=[store]))
    created = refund(client, order, "1")

    for query in ("date_from=0001-01-01", "date_to=0001-01-01", "date_to=9999-12-30"):
        response = client.get(f"{REFUNDS_URL}?{query}")
        assert response.status_code == 200, (query, response.content)
    assert [
        r["id"] for r in client.get(f"{REFUNDS_URL}?date_from=0001-01-01").json()["results"]
    ] == [created["id"]]


# --- receipts -------------------------------------------------------------------------------


def test_the_refund_receipt_in_text_and_html(
    manager_client: APIClient,
    cashier_client: APIClient,
    store: Store,
    register: Register,
    product: Product,
    three_sold: Order,
    foreign: dict[str, Any],
) -> None:
    created = refund(manager_client, three_sold, "2", reason="dented box")
    # 2026-11-21 22:05 UTC is 17:05 in New York (the store's zone)
    Refund.objects.filter(pk=created["id"]).update(
        created_at=dt.datetime(2026, 11, 21, 22, 5, tzinfo=dt.UTC)
    )

    response = cashier_client.get(f"{REFUNDS_URL}{created['id']}/receipt/")

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    assert all(len(line) <= RECEIPT_WIDTH for line in text.splitlines())
    for expected in (
        store.name,
        f"Register {register.code}",
        "R1-R000001",
        three_sold.number,
        "2026-11-21 17:05",
        product.name,
        "2 x 4.99",
        created["lines"][0]["total"],  # 10.81: 2 × 4.99 = 9.98 + tax 0.83
        "Cash",
        "dented box",
    ):
        assert expected in text, (expected, text)
    assert re.search(rf"TOTAL REFUNDED USD\s+{re.escape(created['total'])}$", text, re.M), text

    html = cashier_client.get(f"{REFUNDS_URL}{created['id']}/receipt/", {"format": "html"})
    assert html.status_code == 200
    assert html["Content-Type"] == "text/html; charset=utf-8"
    page = html.content.decode()
    for expected in ("R1-R000001", three_sold.number, "2026-11-21 17:05", "dented box", "10.81"):
        assert expected in page, expected

    assert_problem(
        cashier_client.get(f"{REFUNDS_URL}{created['id']}/receipt/", {"format": "pdf"}),
        400,
        "validation_error",
    )
    assert_problem(
        cashier_client.get(f"{REFUNDS_URL}{foreign['refund']['id']}/receipt/"), 404, "not_found"
    )


def test_a_jpy_refund_receipt_has_no_decimals(client_for) -> None:
    store = StoreFactory(currency="JPY", allow_negative_stock=True)
    register = RegisterFactory(store=store, code="J1")
    cashier = CashierFactory(stores=[store])
    open_shift_on(register, cashier, opening_float="10000")
    # 2 × 300 + tax 60 = 660; half of it back is 330. The pro rata split is exact on purpose:
    # today a partial refund's tax is rounded to cents, which a JPY ledger refuses (reported).
    product = ProductFactory(price=D("300"), cost=D("120"), tax_rate=TaxRateFactory(rate=D("10")))
    order = sell(cashier, register, [(product, "2")], [("cash", "660", "1000")])
    manager_client = client_for(ManagerFactory(stores=[store]))
    created = refund(manager_client, order, "1", reason="scratched")
    assert "." not in created["total"]

    text = manager_client.get(f"{REFUNDS_URL}{created['id']}/receipt/").content.decode()
    html = manager_client.get(
        f"{REFUNDS_URL}{created['id']}/receipt/", {"format": "html"}
    ).content.decode()

    assert "1 x 300" in text
    assert created["total"] == "330"
    assert re.search(rf"TOTAL REFUNDED JPY\s+{created['total']}$", text, re.M), text
    assert not re.search(r"\d\.\d", text), text
    body = html.split("<body>", 1)[1]
    assert created["total"] in body
    assert not re.search(r"\d\.\d", body), body


# --- refunded amounts on order lines ----------------------------------------------------------


def test_order_lines_carry_what_was_refunded(
    manager_client: APIClient, cashier_client: APIClient, three_sold: Order
) -> None:
    before = cashier_client.get(f"{ORDERS_URL}{three_sold.pk}/").json()
    assert before["refunded_total"] == "0.00"
    assert (before["lines"][0]["refunded_quantity"], before["lines"][0]["refunded_total"]) == (
        "0.000",
        "0.00",
    )

    refund(manager_client, three_sold, "1")

    after = cashier_client.get(f"{ORDERS_URL}{three_sold.pk}/").json()
    line = after["lines"][0]
    assert (line["refunded_quantity"], line["refunded_total"]) == ("1.000", "5.40")
    assert after["refunded_total"] == "5.40"
    listed = cashier_client.get(ORDERS_URL).json()["results"][0]
    assert listed["lines"][0]["refunded_quantity"] == "1.000"
    assert listed["refunded_total"] == "5.40"


def test_a_new_sale_answers_nothing_refunded(
    cashier_client: APIClient, open_shift, register: Register, product: Product
) -> None:
    from tests.orders.factories import post_sale, sale_body

    response = post_sale(cashier_client, sale_body(register, [(product, 1)]))
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["refunded_total"] == "0.00"
    assert (order["lines"][0]["refunded_quantity"], order["lines"][0]["refunded_total"]) == (
        "0.000",
        "0.00",
    )


# --- query counts ---------------------------------------------------------------------------


def _count_queries(client: APIClient, url: str) -> tuple[Any, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return response, len(queries)


def test_refund_lists_cost_the_same_queries_for_1_and_20_refunds(
    manager_client: APIClient,
    cashier: User,
    register: Register,
    product: Product,
    three_sold: Order,
) -> None:
    refund(manager_client, three_sold, "1")
    _count_queries(manager_client, REFUNDS_URL)  # warm per-process caches
    _, one = _count_queries(manager_client, REFUNDS_URL)
    _, one_of_order = _count_queries(manager_client, f"{ORDERS_URL}{three_sold.pk}/refunds/")

    big = sell(cashier, register, [(product, "25")], [("cash", "135.04")])
    for _ in range(19):
        refund(manager_client, big, "1")
    response, twenty = _count_queries(manager_client, REFUNDS_URL)
    _, twenty_of_order = _count_queries(manager_client, f"{ORDERS_URL}{big.pk}/refunds/")

    assert response.json()["count"] == 20
    assert one == twenty
    assert one_of_order == twenty_of_order
    assert len(manager_client.get(f"{ORDERS_URL}{big.pk}/refunds/").json()) == 19


# --- OpenAPI --------------------------------------------------------------------------------


def test_the_schema_documents_the_refund_reads() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    paths, components = schema["paths"], schema["components"]["schemas"]

    order_refunds = paths["/api/v1/orders/{id}/refunds/"]["get"]["responses"]["200"]
    assert order_refunds["content"]["application/json"]["schema"]["type"] == "array"
    listed = paths["/api/v1/refunds/"]["get"]
    assert {p["name"] for p in listed["parameters"]} >= {"store", "order", "date_from", "date_to"}
    assert "get" in paths["/api/v1/refunds/{id}/"]
    receipt = paths["/api/v1/refunds/{id}/receipt/"]["get"]["responses"]["200"]["content"]
    assert set(receipt) == {"text/plain", "text/html"}
    assert "refunded_total" in components["Order"]["properties"]
    assert {"refunded_quantity", "refunded_total"} <= set(components["OrderLine"]["properties"])
