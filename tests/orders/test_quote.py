"""`POST /api/v1/orders/quote/`: the sale's pricing without the sale."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Register, Store
from catalog.models import Product, StockLevel
from orders.models import IdempotencyKey, Order, RegisterSequence, Shift
from tests.catalog.factories import ProductFactory
from tests.factories import RegisterFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL

pytestmark = pytest.mark.django_db

QUOTE_KEYS = {
    "store", "register", "currency", "prices_include_tax", "lines", "subtotal", "promotion_total",
    "promotions", "discount_total",
    "tax_total", "total", "rounding", "total_due", "customer", "tax_exempt_id",
}  # fmt: skip


def example(register: Register, product: Product, loose: Product) -> dict[str, Any]:
    return {
        "register": register.pk,
        "lines": [
            {"product": product.pk, "quantity": "3", "discount": "0.50"},
            {"product": loose.pk, "quantity": "1.250"},
        ],
        "discount": "1.00",
    }


def test_quote_of_the_contract_example(
    cashier_client: APIClient,
    register: Register,
    store: Store,
    product: Product,
    loose_product: Product,
) -> None:
    response = cashier_client.post(
        QUOTE_URL, example(register, product, loose_product), format="json"
    )

    assert response.status_code == 200, response.content
    quote = response.json()
    assert set(quote) == QUOTE_KEYS
    assert (quote["store"], quote["register"], quote["currency"]) == (store.pk, register.pk, "USD")
    assert [(ln["discount"], ln["tax"], ln["total"]) for ln in quote["lines"]] == [
        ("1.32", "1.13", "14.78"),
        ("0.18", "0.00", "2.95"),
    ]
    assert (quote["subtotal"], quote["discount_total"], quote["tax_total"], quote["total"]) == (
        "18.10", "1.50", "1.13", "17.73",
    )  # fmt: skip


def test_quote_writes_nothing_and_needs_no_key_or_shift(
    cashier_client: APIClient, register: Register, product: Product, loose_product: Product
) -> None:
    body = example(register, product, loose_product) | {
        "payments": [{"method": "cash", "amount": "1.00"}]  # ignored by a quote
    }
    assert cashier_client.post(QUOTE_URL, body, format="json").status_code == 200
    assert not Order.objects.exists()
    assert not IdempotencyKey.objects.exists()
    assert not RegisterSequence.objects.exists()
    assert StockLevel.objects.get(product=product).quantity == 100


def test_quote_then_sale_agree(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    loose_product: Product,
) -> None:
    body = example(register, product, loose_product)
    quote = cashier_client.post(QUOTE_URL, body, format="json").json()
    sale = cashier_client.post(
        ORDERS_URL,
        body | {"payments": [{"method": "cash", "amount": quote["total"]}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="q-then-s",
    ).json()
    only_sold = {"id", "refunded_quantity", "refunded_total"}  # what a sold line has, a quote not
    for quoted, sold in zip(quote["lines"], sale["lines"], strict=True):
        assert quoted == {k: v for k, v in sold.items() if k not in only_sold}
    for field in (
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "currency",
        "prices_include_tax",
    ):
        assert quote[field] == sale[field]


def test_quote_refusals(
    cashier_client: APIClient, register: Register, product: Product, other_store: Store
) -> None:
    def quote(body: dict[str, Any]) -> Any:
        return cashier_client.post(QUOTE_URL, body, format="json")

    foreign = RegisterFactory(store=other_store)
    response = quote({"register": foreign.pk, "lines": [{"product": product.pk, "quantity": 1}]})
    assert (response.status_code, response.json()["code"]) == (404, "not_found")

    retired = ProductFactory(is_active=False)
    response = quote({"register": register.pk, "lines": [{"product": retired.pk, "quantity": 1}]})
    assert response.status_code == 400
    assert "lines.0.product" in response.json()["errors"]

    response = quote(
        {
            "register": register.pk,
            "lines": [{"product": product.pk, "quantity": 1, "discount": "9"}],
        }
    )
    assert "lines.0.discount" in response.json()["errors"]

    response = quote(
        {"register": register.pk, "lines": [{"product": product.pk, "quantity": 1}],
         "note": "4111111111111111"}
    )  # fmt: skip
    assert response.status_code == 400
    assert "4111" not in response.content.decode()


def test_quote_query_count_is_constant(
    cashier_client: APIClient, register: Register, product: Product
) -> None:
    many = ProductFactory.create_batch(50, tax_rate=product.tax_rate)

    def count(products: list[Product]) -> int:
        body = {
            "register": register.pk,
            "lines": [{"product": p.pk, "quantity": 1} for p in products],
        }
        with CaptureQueriesContext(connection) as ctx:
            assert cashier_client.post(QUOTE_URL, body, format="json").status_code == 200
        return len(ctx.captured_queries)

    count([product])  # the first request also loads the token's user into the auth cache
    assert count([product]) == count(many) <= 4  # (auth, user's stores,) register, products


def test_inclusive_store_quote(
    cashier_client: APIClient, register: Register, store: Store, product: Product
) -> None:
    store.prices_include_tax = True
    store.save()
    quote = cashier_client.post(
        QUOTE_URL,
        {"register": register.pk, "lines": [{"product": product.pk, "quantity": 1}]},
        format="json",
    ).json()
    assert quote["prices_include_tax"] is True
    assert (quote["total"], quote["tax_total"]) == ("4.99", "0.38")
    assert Decimal(quote["lines"][0]["net"]) + Decimal(quote["lines"][0]["tax"]) == Decimal("4.99")


def test_quote_on_an_inactive_register_is_refused_like_the_sale(
    cashier_client: APIClient, register: Register, product: Product, loose_product: Product
) -> None:
    Register.objects.filter(pk=register.pk).update(is_active=False)
    response = cashier_client.post(
        QUOTE_URL, example(register, product, loose_product), format="json"
    )
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"]["register"] == ["This register is not active."]
