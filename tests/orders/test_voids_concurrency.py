"""Voids racing refunds and shift closes on PostgreSQL (real threads, one connection each): a
void and a refund of one order → exactly one wins; a void racing the close is either counted by
the close or refused."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from orders.models import Order, OrderStatus, Refund, Shift
from tests.factories import ManagerFactory
from tests.orders.selling import idem, refund_via_api, sell
from tests.orders.test_refunds_concurrency import race

D = Decimal
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def void_via_api(client, order: Order, *, key: str):
    return client.post(
        f"/api/v1/orders/{order.pk}/void/", {"reason": "race"}, format="json", **idem(key)
    )


@pytest.mark.parametrize("rounds", [4])
def test_a_void_and_a_refund_of_one_order_exactly_one_wins(
    client_for, store, cashier, register, product, open_shift, rounds
) -> None:
    for _ in range(rounds):
        order = sell(cashier, register, [(product, "2")], [("cash", "10.80")])
        line = order.lines.get()
        voider = client_for(ManagerFactory(stores=[store]))
        refunder = client_for(ManagerFactory(stores=[store]))

        void, refund = race(
            [
                lambda o=order, c=voider: void_via_api(c, o, key=str(uuid.uuid4())),
                lambda o=order, c=refunder, ln=line: refund_via_api(
                    c, o, [(ln, "1")], key=str(uuid.uuid4())
                ),
            ]
        )

        codes = (void.status_code, refund.status_code)  # type: ignore[union-attr]
        assert codes in {(200, 409), (409, 201)}, (void.content, refund.content)  # type: ignore[union-attr]
        order.refresh_from_db()
        voided = JournalEntry.objects.filter(source="void", source_id=order.pk).count()
        refunds = Refund.objects.filter(order=order).count()
        if codes == (200, 409):
            assert refund.json()["code"] == "refund_exceeds_sold"  # type: ignore[union-attr]
            assert (order.status, voided, refunds) == (OrderStatus.VOIDED, 1, 0)
        else:
            assert void.json()["code"] == "void_not_allowed"  # type: ignore[union-attr]
            assert (order.status, voided, refunds) == (OrderStatus.PARTIALLY_REFUNDED, 0, 1)


def test_a_void_racing_the_close_is_counted_or_refused(
    client_for, manager, cashier, register, product, open_shift
) -> None:
    orders = [sell(cashier, register, [(product, "1")], [("cash", "5.40")]) for _ in range(4)]
    voiders = [client_for(manager) for _ in orders]
    closer = client_for(cashier)

    def close() -> object:
        return closer.post(
            f"/api/v1/shifts/{open_shift.pk}/close/", {"counted_cash": "0.00"}, format="json"
        )

    results = race(
        [
            close,
            *[
                (lambda c=c, o=o: void_via_api(c, o, key=str(o.pk)))
                for c, o in zip(voiders, orders, strict=True)
            ],
        ]
    )

    assert results[0].status_code == 200  # type: ignore[union-attr]
    statuses = [r.status_code for r in results[1:]]  # type: ignore[union-attr]
    assert set(statuses) <= {200, 409}
    voided = Order.objects.filter(shift=open_shift, status=OrderStatus.VOIDED).count()
    assert voided == statuses.count(200)
    shift = Shift.objects.get(pk=open_shift.pk)
    # 100.00 float + 4 × 5.40 sold − 5.40 per void that got in before the close
    assert shift.expected_cash == D("121.60") - D("5.40") * voided
