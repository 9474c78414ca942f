"""Refunds racing each other on PostgreSQL (real threads, one connection each): never more than
was sold, never two refunds for one Idempotency-Key."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import Order, OrderLine, OrderStatus, Payment, Refund
from tests.factories import ManagerFactory
from tests.orders.selling import refund_via_api, sell

D = Decimal
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def race(workers: list[Callable[[], object]]) -> list[object]:
    """Start every worker at the same moment; their results in order."""
    barrier = threading.Barrier(len(workers))
    results: list[object] = [None] * len(workers)

    def run(index: int, work: Callable[[], object]) -> None:
        try:
            barrier.wait()
            results[index] = work()
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_concurrent_refunds_never_exceed_what_was_sold(
    client_for, store, cashier, register, product, open_shift
) -> None:
    order = sell(cashier, register, [(product, "5")], [("card", "27.01")])
    line = order.lines.get()
    managers = [ManagerFactory(stores=[store]) for _ in range(8)]
    clients = [client_for(m) for m in managers]

    results = race(
        [
            (lambda c=c: refund_via_api(c, order, [(line, "1")], key=str(uuid.uuid4())))
            for c in clients
        ]
    )

    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [201] * 5 + [409] * 3, [getattr(r, "content", r) for r in results]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"refund_exceeds_sold"}
    line = OrderLine.objects.get(pk=line.pk)
    assert line.refunded_quantity == line.quantity == D("5")
    assert line.refunded_total == line.total
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_total == order.total
    assert sum(r.total for r in Refund.objects.filter(order=order)) == order.total
    assert Payment.objects.get(order=order).refunded_amount == order.total
    numbers = sorted(Refund.objects.filter(order=order).values_list("number", flat=True))
    assert numbers == [f"R1-R{n:06d}" for n in range(1, 6)]


def test_concurrent_multi_unit_refunds_refuse_the_overflow(
    client_for, store, cashier, register, product, open_shift
) -> None:
    order = sell(cashier, register, [(product, "5")], [("cash", "27.01")])
    line = order.lines.get()
    clients = [client_for(ManagerFactory(stores=[store])) for _ in range(6)]

    results = race(
        [
            (lambda c=c: refund_via_api(c, order, [(line, "2")], key=str(uuid.uuid4())))
            for c in clients
        ]
    )

    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [201, 201] + [409] * 4
    line = OrderLine.objects.get(pk=line.pk)
    assert line.refunded_quantity == D("4")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PARTIALLY_REFUNDED


def test_concurrent_retries_of_one_refund_refund_once(
    client_for, manager, cashier, register, product, open_shift
) -> None:
    order = sell(cashier, register, [(product, "5")], [("card", "27.01")])
    line = order.lines.get()
    clients = [client_for(manager) for _ in range(6)]

    results = race(
        [(lambda c=c: refund_via_api(c, order, [(line, "1")], key="one-refund")) for c in clients]
    )

    statuses = [r.status_code for r in results]  # type: ignore[union-attr]
    assert set(statuses) <= {201, 409}
    assert statuses.count(201) >= 1
    created = {r.json()["id"] for r in results if r.status_code == 201}
    assert len(created) == 1
    assert Refund.objects.filter(order=order).count() == 1
    assert OrderLine.objects.get(pk=line.pk).refunded_quantity == D("1")


def test_a_cash_refund_racing_the_close_is_counted_or_refused_never_lost(
    client_for, manager, cashier, register, product, open_shift
) -> None:
    orders = [sell(cashier, register, [(product, "1")], [("cash", "5.40")]) for _ in range(4)]
    refund_clients = [client_for(manager) for _ in orders]
    closer = client_for(cashier)

    def close() -> object:
        return closer.post(
            f"/api/v1/shifts/{open_shift.pk}/close/", {"counted_cash": "0.00"}, format="json"
        )

    results = race(
        [
            close,
            *[
                (lambda c=c, o=o: refund_via_api(c, o, [(o.lines.get(), "1")], key=str(o.pk)))
                for c, o in zip(refund_clients, orders, strict=True)
            ],
        ]
    )

    assert results[0].status_code == 200  # type: ignore[union-attr]
    refund_statuses = [r.status_code for r in results[1:]]  # type: ignore[union-attr]
    assert set(refund_statuses) <= {201, 409}
    refunded = Refund.objects.filter(shift=open_shift).count()
    assert refunded == refund_statuses.count(201)
    open_shift.refresh_from_db()
    # 100.00 float + 4 × 5.40 sold − 5.40 per refund that got in before the close
    assert open_shift.expected_cash == D("121.60") - D("5.40") * refunded


def test_concurrent_refunds_to_the_same_card_never_exceed_what_it_paid(
    client_for, store, cashier, register, product, open_shift
) -> None:
    # 4 × 4.99 + tax = 21.61: card 8.00, cash 13.61. Two refunds of one unit (5.40 each) both
    # choose the card: together 10.80 > 8.00, so one must be refused.
    order = sell(cashier, register, [(product, "4")], [("card", "8.00"), ("cash", "13.61")])
    line = order.lines.get()
    clients = [client_for(ManagerFactory(stores=[store])) for _ in range(2)]

    def refund_to_card(client) -> object:
        return client.post(
            f"/api/v1/orders/{order.pk}/refunds/",
            {
                "lines": [{"line": line.pk, "quantity": "1"}],
                "tenders": [{"method": "card", "amount": "5.40"}],
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )

    results = race([(lambda c=c: refund_to_card(c)) for c in clients])

    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [201, 409], [getattr(r, "content", r) for r in results]
    refused = next(r for r in results if r.status_code == 409)  # type: ignore[union-attr]
    assert refused.json()["code"] == "refund_exceeds_sold"  # type: ignore[union-attr]
    card = Payment.objects.get(order=order, method="card")
    assert card.refunded_amount == D("5.40")
    assert Refund.objects.filter(order=order).count() == 1
