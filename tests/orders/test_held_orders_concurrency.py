"""Two registers completing one held order at once on PostgreSQL: exactly one sale. The held
order's row is locked (`SELECT … FOR UPDATE`) inside the sale's transaction; the loser waits,
sees it completed and answers `409 held_order_gone` having written nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Store, User
from accounts.tokens import tokens_for
from catalog.models import StockLevel
from ledger.models import JournalEntry
from orders.models import HeldOrder, HeldOrderStatus, IdempotencyKey, Order
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import RegisterFactory
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


@pytest.fixture(autouse=True)
def _middleware_loaded(api_client: APIClient) -> None:
    """Load the middleware once before the threads start (see test_sales_concurrency.py)."""
    api_client.get("/health/live")


@pytest.mark.parametrize("rounds", [3])
def test_two_completions_of_one_held_order_make_exactly_one_sale(
    store: Store, cashier: User, rounds: int
) -> None:
    registers = [RegisterFactory(store=store, code=f"C{n}") for n in (1, 2)]
    for register in registers:
        open_shift_on(register, cashier)
    product = ProductFactory(price=Decimal("4.99"), tax_rate__rate=Decimal("8.250"))
    set_stock(store, product, 100)

    for round_ in range(rounds):
        held = _client(cashier).post(
            "/api/v1/held-orders/",
            {"register": registers[0].pk, "lines": [{"product": product.pk, "quantity": "2"}]},
            format="json",
        )
        assert held.status_code == 201, held.content
        held_id, total = held.json()["id"], held.json()["total"]
        barrier = threading.Barrier(2)

        def complete(
            index: int,
            held_id: int = held_id,
            total: str = total,
            barrier: threading.Barrier = barrier,
            round_: int = round_,
        ) -> Any:
            try:
                client = _client(cashier)
                barrier.wait(timeout=30)
                return client.post(
                    ORDERS_URL,
                    {
                        "register": registers[index].pk,
                        "held_order": held_id,
                        "payments": [{"method": "cash", "amount": total}],
                    },
                    format="json",
                    HTTP_IDEMPOTENCY_KEY=f"race-{round_}-{index}",
                )
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=2) as pool:
            responses = list(pool.map(complete, range(2)))

        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201, 409], [r.content for r in responses]
        [loser] = [r for r in responses if r.status_code == 409]
        assert loser.json()["code"] == "held_order_gone"
        [winner] = [r for r in responses if r.status_code == 201]
        row = HeldOrder.objects.get(pk=held_id)
        assert row.status == HeldOrderStatus.COMPLETED
        assert row.order_id == winner.json()["id"]

    # every round sold once: one order, one journal entry, two units each; the losers' keys
    # stored nothing
    assert Order.objects.count() == rounds
    assert JournalEntry.objects.filter(source="sale").count() == rounds
    assert StockLevel.objects.get(store=store, product=product).quantity == 100 - 2 * rounds
    assert IdempotencyKey.objects.count() == rounds
