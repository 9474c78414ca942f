"""`POST /api/v1/sync/sales/`: a register's sales in one batch, each exactly once, each in its
own transaction, one sale's failure never stopping the others (API.md, Version 1.1)."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Register, User
from catalog.models import Product, StockLevel
from ledger.models import JournalEntry
from orders.models import Order
from tests.orders.factories import ORDERS_URL, open_shift_on

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/sync/sales/"
D = Decimal


def _sale(product: Product, quantity: int = 1, amount: str = "5.40", **extra: Any) -> dict:
    return {
        "lines": [{"product": product.pk, "quantity": str(quantity)}],
        "payments": [{"method": "cash", "amount": amount}],
        "offline": True,
        **extra,
    }


def _batch(register: Register, *orders: dict) -> dict:
    return {
        "register": register.pk,
        "sales": [{"idempotency_key": str(uuid.uuid4()), "order": order} for order in orders],
    }


@pytest.fixture
def shift(register: Register, cashier: User):
    return open_shift_on(register, cashier)


def test_every_sale_is_made_and_answered_in_order(
    cashier_client: APIClient, register: Register, product: Product, shift
) -> None:
    batch = _batch(register, _sale(product), _sale(product, 2, "10.80"))

    response = cashier_client.post(URL, batch, format="json")

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["idempotency_key"] for r in results] == [s["idempotency_key"] for s in batch["sales"]]
    assert [r["status"] for r in results] == [201, 201]
    assert [r["order"]["total"] for r in results] == ["5.40", "10.80"]
    assert Order.objects.count() == 2
    assert JournalEntry.objects.filter(source="sale").count() == 2
    assert StockLevel.objects.get(product=product).quantity == 97


def test_one_failure_never_stops_the_others(
    cashier_client: APIClient, register: Register, product: Product, shift
) -> None:
    batch = _batch(
        register,
        _sale(product),
        _sale(product, amount="1.00"),  # does not add up
        {"lines": []},  # not a sale
        _sale(
            product,
            payments=[{"method": "card", "amount": "5.40", "reference": "4111 1111 1111 1111"}],
        ),
        _sale(product),
    )

    results = cashier_client.post(URL, batch, format="json").json()["results"]

    assert [r["status"] for r in results] == [201, 400, 400, 400, 201]
    assert results[1]["problem"]["code"] == "validation_error"
    assert "4111" not in str(results[3])
    assert Order.objects.count() == 2


def test_the_same_batch_sent_again_creates_nothing_and_answers_the_same(
    cashier_client: APIClient, register: Register, product: Product, shift
) -> None:
    batch = _batch(register, _sale(product), _sale(product, amount="1.00"), _sale(product))
    first = cashier_client.post(URL, batch, format="json").json()["results"]

    again = cashier_client.post(URL, batch, format="json").json()["results"]

    assert [r["status"] for r in again] == [r["status"] for r in first]
    assert [r.get("order") for r in again] == [r.get("order") for r in first]
    assert Order.objects.count() == 2


def test_a_sale_sent_alone_then_in_a_batch_is_made_once(
    cashier_client: APIClient, register: Register, product: Product, shift
) -> None:
    key = str(uuid.uuid4())
    body = {"register": register.pk, **_sale(product)}
    alone = cashier_client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert alone.status_code == 201, alone.content

    batch = {"register": register.pk, "sales": [{"idempotency_key": key, "order": _sale(product)}]}
    [result] = cashier_client.post(URL, batch, format="json").json()["results"]

    assert result["status"] == 201
    assert result["order"]["id"] == alone.json()["id"]
    assert Order.objects.count() == 1


def test_a_sale_for_another_register_is_refused_alone(
    cashier_client: APIClient, register: Register, product: Product, shift
) -> None:
    batch = _batch(register, _sale(product, register=register.pk + 999), _sale(product))
    results = cashier_client.post(URL, batch, format="json").json()["results"]
    assert [r["status"] for r in results] == [400, 201]
    assert "order.register" in results[0]["problem"]["errors"]


@pytest.mark.parametrize("sales", [[], [{"idempotency_key": "k", "order": {}}] * 501])
def test_an_empty_or_oversized_batch_is_refused(
    cashier_client: APIClient, register: Register, sales: list
) -> None:
    response = cashier_client.post(URL, {"register": register.pk, "sales": sales}, format="json")
    assert response.status_code == 400, response.content
    assert "sales" in response.json()["errors"]
    assert not Order.objects.exists()


def test_a_batch_costs_a_constant_number_of_queries_per_sale(
    cashier_client: APIClient, register: Register, product: Product, shift
) -> None:
    cashier_client.post(URL, _batch(register, _sale(product)), format="json")  # caches warm

    def queries(size: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = cashier_client.post(URL, _batch(register, *[_sale(product)] * size))
        assert [r["status"] for r in response.json()["results"]] == [201] * size
        return len(ctx.captured_queries)

    one, three, six = queries(1), queries(3), queries(6)
    per_sale = (three - one) // 2
    assert three - one == 2 * per_sale
    assert six - three == 3 * per_sale
    assert per_sale <= 12  # a sale's budget (tests/perf/test_query_budgets.py)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_batch_sent_twice_at_once_makes_each_sale_exactly_once(
    client_for, register: Register, product: Product, cashier: User
) -> None:
    open_shift_on(register, cashier)
    batch = _batch(register, *[_sale(product)] * 5)
    answers: list[list[int]] = []

    def send() -> None:
        try:
            results = client_for(cashier).post(URL, batch, format="json").json()["results"]
            answers.append([(r["status"], r.get("problem")) for r in results])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Order.objects.count() == 5, answers
    assert JournalEntry.objects.filter(source="sale").count() == 5
    assert StockLevel.objects.get(product=product).quantity == 95
    # Each sale is made by one request and replayed (or, if it waited too long on the
    # other's row, answered 409/429 to be sent again) by the other.
    assert len(answers) == 2
    for first, second in zip(*answers, strict=True):
        assert 201 in (first[0], second[0]), answers
