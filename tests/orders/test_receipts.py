"""`GET /api/v1/orders/{id}/receipt/`: 48-column text for an 80 mm printer, and HTML."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Product
from orders.models import Order, OrderStatus, Shift
from orders.services.receipts import RECEIPT_WIDTH, receipt_text
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import CashierFactory, RegisterFactory
from tests.orders.factories import ORDERS_URL, open_shift_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    loose_product: Product,
) -> dict[str, Any]:
    body = {
        "register": register.pk,
        "lines": [
            {"product": product.pk, "quantity": "3", "discount": "0.50"},
            {"product": loose_product.pk, "quantity": "1.250"},
        ],
        "discount": "1.00",
        "payments": [
            {"method": "cash", "amount": "10.00", "tendered": "20.00"},
            {"method": "card", "amount": "7.73", "reference": "AUTH123", "card_last4": "4242"},
        ],
    }
    response = cashier_client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="rcpt")
    assert response.status_code == 201, response.content
    # 2026-11-21 22:05 UTC is 17:05 in New York (the store's zone)
    Order.objects.filter(pk=response.json()["id"]).update(
        created_at=dt.datetime(2026, 11, 21, 22, 5, tzinfo=dt.UTC)
    )
    return response.json()


def test_text_receipt_fits_48_columns_and_says_everything(
    cashier_client: APIClient,
    order: dict[str, Any],
    store: Store,
    cashier: User,
    product: Product,
) -> None:
    response = cashier_client.get(f"{ORDERS_URL}{order['id']}/receipt/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= RECEIPT_WIDTH
    for needle in (
        store.name, "Register R1", order["number"], "2026-11-21 17:05", cashier.username,
        product.name, "3 x 4.99", "14.97", "-1.32", "1.250 x 2.50", "Subtotal", "18.10",
        "Discounts", "-1.50", "Tax 8.25% on 13.65", "1.13", "Tax 0% on 2.95", "TOTAL USD",
        "17.73", "Cash", "Tendered", "20.00", "Card ****4242", "AUTH123", "Change", "10.00",
    ):  # fmt: skip
        assert needle in text, needle
    total_line = next(line for line in lines if line.startswith("TOTAL USD"))
    assert len(total_line) == RECEIPT_WIDTH
    assert total_line.endswith("17.73")


def test_html_receipt(cashier_client: APIClient, order: dict[str, Any], store: Store) -> None:
    response = cashier_client.get(f"{ORDERS_URL}{order['id']}/receipt/?format=html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert html.startswith("<!DOCTYPE html>")
    for needle in (store.name, order["number"], "17.73", "****4242", "Tax 8.25% on 13.65", "@page"):
        assert needle in html


def test_receipt_ignores_accept_and_keeps_errors_as_problems(
    cashier_client: APIClient, order: dict[str, Any], other_store: Store
) -> None:
    response = cashier_client.get(
        f"{ORDERS_URL}{order['id']}/receipt/", HTTP_ACCEPT="application/json"
    )
    assert response["Content-Type"].startswith("text/plain")
    bad = cashier_client.get(f"{ORDERS_URL}{order['id']}/receipt/?format=pdf")
    assert bad.status_code == 400
    assert bad["Content-Type"].startswith("application/problem+json")
    missing = cashier_client.get(f"{ORDERS_URL}999999/receipt/?format=html")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


def test_long_names_and_big_amounts_still_fit(client_for: Any, store: Store, tax_rate: Any) -> None:
    register = RegisterFactory(store=store, code="REGISTER-LONG-1")
    cashier = CashierFactory(stores=[store], username="a-cashier-with-a-very-long-username-indeed")
    open_shift_on(register, cashier)
    store.name = "The Extraordinarily Long Named Corner Shop & Delicatessen of Main Street"
    store.save()
    pricey = ProductFactory(
        name="Hand-made artisanal sourdough loaf with seeds, olives and rosemary — family size",
        price="123456.78",
        tax_rate=tax_rate,
    )
    set_stock(store, pricey, 1000)
    client = client_for(cashier)
    quote = client.post(
        "/api/v1/orders/quote/",
        {"register": register.pk, "lines": [{"product": pricey.pk, "quantity": "999.999"}]},
        format="json",
    ).json()
    response = client.post(
        ORDERS_URL,
        {
            "register": register.pk,
            "lines": [{"product": pricey.pk, "quantity": "999.999"}],
            "payments": [{"method": "other", "amount": quote["total"], "reference": "V" * 64}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="big",
    )
    assert response.status_code == 201, response.content

    text = client.get(f"{ORDERS_URL}{response.json()['id']}/receipt/").content.decode()

    assert max(len(line) for line in text.splitlines()) <= RECEIPT_WIDTH
    assert "123,456,656.54" in text  # 123456.78 × 999.999, half-up


def test_refunded_status_is_printed(order: dict[str, Any]) -> None:
    Order.objects.filter(pk=order["id"]).update(status=OrderStatus.PARTIALLY_REFUNDED)
    saved = Order.objects.select_related("store", "register", "cashier").get(pk=order["id"])
    assert "Partially refunded" in receipt_text(saved)
