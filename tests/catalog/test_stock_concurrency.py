"""Stock under real concurrency (PostgreSQL, one connection per thread): no lost update, no
deadlock, no oversell."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, transaction

from catalog.exceptions import InsufficientStock
from catalog.models import StockLevel, StockMovement, StockReason
from catalog.services import StockChange, stock_apply
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import StoreFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def run_threads(count: int, work: Callable[[int], None]) -> list[Exception]:
    barrier = threading.Barrier(count)
    errors: list[Exception] = []

    def target(i: int) -> None:
        try:
            barrier.wait()
            work(i)
        except Exception as exc:  # noqa: BLE001 — collected and asserted on by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_concurrent_sales_never_lose_an_update() -> None:
    store = StoreFactory()
    product = ProductFactory()
    set_stock(store, product, 100)

    def sale(i: int) -> None:
        with transaction.atomic():
            stock_apply(
                store=store,
                changes=[StockChange(product=product, quantity_delta=Decimal("-3"))],
                reason=StockReason.SALE,
                source_type="order",
                source_id=i,
                user=None,
            )

    assert run_threads(12, sale) == []
    assert StockLevel.objects.get(store=store, product=product).quantity == Decimal("64.000")
    afters = sorted(StockMovement.objects.values_list("quantity_after", flat=True))
    assert afters == [Decimal(100 - 3 * k) for k in range(12, 0, -1)]


def test_concurrent_sales_in_opposite_orders_do_not_deadlock() -> None:
    store = StoreFactory()
    products = ProductFactory.create_batch(4)
    for product in products:
        set_stock(store, product, 50)

    def sale(i: int) -> None:
        ordered = products if i % 2 else list(reversed(products))
        with transaction.atomic():
            stock_apply(
                store=store,
                changes=[StockChange(product=p, quantity_delta=Decimal("-1")) for p in ordered],
                reason=StockReason.SALE,
                source_type="order",
                source_id=i,
                user=None,
            )

    assert run_threads(10, sale) == []
    assert set(StockLevel.objects.filter(store=store).values_list("quantity", flat=True)) == {
        Decimal("40.000")
    }


def test_concurrent_first_sales_of_a_product_without_a_level_row() -> None:
    store = StoreFactory(allow_negative_stock=True)
    product = ProductFactory()

    def sale(i: int) -> None:
        with transaction.atomic():
            stock_apply(
                store=store,
                changes=[StockChange(product=product, quantity_delta=Decimal("-1"))],
                reason=StockReason.SALE,
                source_type="order",
                source_id=i,
                user=None,
            )

    assert run_threads(8, sale) == []
    assert StockLevel.objects.get(store=store, product=product).quantity == Decimal("-8.000")


def test_concurrent_sales_never_oversell() -> None:
    store = StoreFactory()
    product = ProductFactory()
    set_stock(store, product, 5)
    refused: list[int] = []

    def sale(i: int) -> None:
        try:
            with transaction.atomic():
                stock_apply(
                    store=store,
                    changes=[StockChange(product=product, quantity_delta=Decimal("-1"))],
                    reason=StockReason.SALE,
                    source_type="order",
                    source_id=i,
                    user=None,
                )
        except InsufficientStock:
            refused.append(i)

    assert run_threads(9, sale) == []
    assert len(refused) == 4
    assert StockLevel.objects.get(store=store, product=product).quantity == Decimal("0.000")
    assert StockMovement.objects.count() == 5
