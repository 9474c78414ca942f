"""Real concurrency on PostgreSQL: threads, each with its own database connection, hitting the
sale endpoint at once. Numbering stays gapless, retries stay exactly-once, stock never oversells."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from accounts.tokens import tokens_for
from catalog.models import Product, StockLevel, StockMovement
from ledger.models import JournalEntry
from orders.models import IdempotencyKey, Order
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import CashierFactory, RegisterFactory
from tests.orders.factories import ORDERS_URL, open_shift_on

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user).access_token}")
    return client


def _body(register: Register, product: Product, quantity: int = 1) -> dict[str, Any]:
    total = (product.price * quantity * Decimal("1.0825")).quantize(Decimal("0.01"))
    return {
        "register": register.pk,
        "lines": [{"product": product.pk, "quantity": quantity}],
        "payments": [{"method": "cash", "amount": str(total)}],
    }


def _run_at_once(count: int, work: Callable[[int], Any], workers: int | None = None) -> list[Any]:
    """Run `work(i)` for i in range(count) on threads released together by a barrier; each
    thread closes its own connection when done."""
    workers = workers or count
    barrier = threading.Barrier(min(workers, count))

    def run(index: int) -> Any:
        try:
            if index < workers:
                barrier.wait(timeout=30)
            return work(index)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(count)))


def _post_until_done(client: APIClient, body: dict[str, Any], key: str, tries: int = 30) -> Any:
    """What a register does: resend the same request (same key) while told to retry (429)."""
    for _ in range(tries):
        response = client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        if response.status_code != 429:
            return response
        time.sleep(float(response["Retry-After"]) / 10)
    return response


@pytest.fixture(autouse=True)
def _middleware_loaded(api_client: APIClient) -> None:
    """Load the middleware once before the threads start: django-prometheus creates its metrics
    on first use without a lock, which two threads racing on a fresh process would collide on
    (a real server loads middleware once, before serving)."""
    api_client.get("/health/live")


@pytest.fixture
def selling(store: Store, cashier: User) -> dict[str, Any]:
    register = RegisterFactory(store=store, code="R1")
    open_shift_on(register, cashier)
    product = ProductFactory(price=Decimal("4.99"), tax_rate__rate=Decimal("8.250"))
    set_stock(store, product, 1000)
    return {"register": register, "product": product}


def test_forty_concurrent_sales_on_one_register_get_consecutive_numbers(
    selling: dict[str, Any], cashier: User, store: Store
) -> None:
    register, product = selling["register"], selling["product"]
    body = _body(register, product)

    responses = _run_at_once(
        40, lambda i: _post_until_done(_client(cashier), body, key=f"sale-{i}"), workers=20
    )

    assert [r.status_code for r in responses] == [201] * 40, [r.content for r in responses]
    numbers = sorted(r.json()["number"] for r in responses)
    assert numbers == [f"R1-{n:06d}" for n in range(1, 41)]
    assert Order.objects.filter(register=register).count() == 40
    assert StockLevel.objects.get(store=store, product=product).quantity == Decimal("960")
    assert JournalEntry.objects.filter(source="sale").count() == 40


def test_eight_identical_retries_create_exactly_one_order(
    selling: dict[str, Any], cashier: User, store: Store
) -> None:
    register, product = selling["register"], selling["product"]
    body = _body(register, product, quantity=2)
    key = str(uuid.uuid4())

    responses = _run_at_once(
        8,
        lambda i: _client(cashier).post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key),
    )

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.content for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert created
    assert len({r.content for r in created}) == 1  # every 201 is the same body, byte for byte
    assert sum(1 for r in created if "Idempotent-Replayed" not in r) == 1
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_key_in_use"
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert StockLevel.objects.get(store=store, product=product).quantity == Decimal("998")
    assert StockMovement.objects.count() == 1


def test_oversell_race_sells_exactly_the_stock(store: Store) -> None:
    product = ProductFactory(price=Decimal("4.99"), tax_rate__rate=Decimal("8.250"))
    set_stock(store, product, 5)
    sellers = []
    for index in range(12):
        register = RegisterFactory(store=store, code=f"T{index}")
        cashier = CashierFactory(stores=[store])
        open_shift_on(register, cashier)
        sellers.append((register, cashier))

    responses = _run_at_once(
        12,
        lambda i: _post_until_done(
            _client(sellers[i][1]), _body(sellers[i][0], product), key=f"race-{i}"
        ),
    )

    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 5, [r.content for r in responses]
    assert statuses.count(409) == 7
    for r in responses:
        if r.status_code == 409:
            assert r.json()["code"] == "insufficient_stock"
            assert r.json()["products"] == [product.pk]
    assert StockLevel.objects.get(store=store, product=product).quantity == 0
    assert Order.objects.count() == 5
    assert StockMovement.objects.count() == 5


def test_sales_racing_the_shift_close_are_counted_or_refused(
    selling: dict[str, Any], cashier: User, store: Store, manager: User
) -> None:
    """Every sale either committed before the close summed the drawer (it is in the expected
    cash) or found the shift closed (409 `shift_not_open`): none lands on a closed shift
    unnoticed."""
    register, product = selling["register"], selling["product"]
    shift = register.shifts.get()
    body = _body(register, product)
    close_url = f"/api/v1/shifts/{shift.pk}/close/"

    def work(index: int) -> Any:
        if index == 5:
            time.sleep(0.05)
            return _client(manager).post(close_url, {"counted_cash": "100.00"}, format="json")
        return _post_until_done(_client(cashier), body, key=f"close-race-{index}")

    responses = _run_at_once(12, work)

    close = responses.pop(5)
    assert close.status_code == 200, close.content
    sold = [r for r in responses if r.status_code == 201]
    for r in responses:
        if r.status_code != 201:
            assert (r.status_code, r.json()["code"]) == (409, "shift_not_open"), r.content
    shift.refresh_from_db()
    assert Order.objects.filter(shift=shift).count() == len(sold)
    cash_taken = sum((Decimal(r.json()["total"]) for r in sold), Decimal("0"))
    assert shift.expected_cash == Decimal("100.00") + cash_taken
