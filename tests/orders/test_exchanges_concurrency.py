"""Exchanges racing refunds, voids and each other on PostgreSQL (real threads, one connection
each): the returned line is given back exactly once, and two exchanges crossing each other's
registers and products finish without a deadlock."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from ledger.selectors import account_balances, trial_balance
from orders.models import Order, OrderStatus, Refund
from tests.factories import ManagerFactory, RegisterFactory
from tests.orders.factories import open_shift_on
from tests.orders.selling import refund_via_api, sell
from tests.orders.test_exchanges import exchange
from tests.orders.test_refunds_concurrency import race
from tests.orders.test_voids_concurrency import void_via_api

D = Decimal
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def assert_books_balance(store) -> None:
    balance = trial_balance(store_id=store.pk, date_to=None)
    assert balance is not None
    assert balance.total_debit == balance.total_credit
    assert account_balances(store_id=store.pk, codes=["1090"])["1090"] == 0


@pytest.mark.parametrize("rounds", [4])
def test_an_exchange_and_a_refund_of_one_line_give_it_back_once(
    client_for, store, cashier, register, product, open_shift, rounds
) -> None:
    for _ in range(rounds):
        order = sell(cashier, register, [(product, "1")], [("cash", "5.40")])
        line = order.lines.get()
        exchanger = client_for(ManagerFactory(stores=[store]))
        refunder = client_for(ManagerFactory(stores=[store]))

        made, refunded = race(
            [
                lambda c=exchanger, ln=line: exchange(
                    c, register, [(product, "1")], [{"line": ln.pk, "quantity": "1"}], []
                ),
                lambda c=refunder, o=order, ln=line: refund_via_api(
                    c, o, [(ln, "1")], key=str(uuid.uuid4())
                ),
            ]
        )

        codes = (made.status_code, refunded.status_code)  # type: ignore[union-attr]
        assert codes in {(201, 409), (409, 201)}, (made.content, refunded.content)  # type: ignore[union-attr]
        line.refresh_from_db()
        assert line.refunded_quantity == 1
        assert Refund.objects.filter(order=order).count() == 1
    assert_books_balance(store)


def test_an_exchange_and_a_void_of_one_order_exactly_one_wins(
    client_for, store, cashier, register, product, open_shift
) -> None:
    for _ in range(4):
        order = sell(cashier, register, [(product, "1")], [("cash", "5.40")])
        line = order.lines.get()
        one, two = (client_for(ManagerFactory(stores=[store])) for _ in range(2))
        made, voided = race(
            [
                lambda c=one, ln=line: exchange(
                    c, register, [(product, "1")], [{"line": ln.pk, "quantity": "1"}], []
                ),
                lambda c=two, o=order: void_via_api(c, o, key=str(uuid.uuid4())),
            ]
        )
        codes = (made.status_code, voided.status_code)  # type: ignore[union-attr]
        assert codes in {(201, 409), (409, 200)}, (made.content, voided.content)  # type: ignore[union-attr]
        order.refresh_from_db()
        expected = OrderStatus.REFUNDED if codes[0] == 201 else OrderStatus.VOIDED
        assert order.status == expected
    assert_books_balance(store)


def test_crossing_exchanges_on_two_registers_do_not_deadlock(
    client_for, store, cashier, register, product, loose_product, open_shift
) -> None:
    """Exchange A on register 1 returns a sale of register 2 and sells product X; exchange B on
    register 2 returns a sale of register 1 and sells product Y, each restocking the other's
    product: the counters and stock rows are taken in one order, so both commit."""
    till2 = RegisterFactory(store=store)
    open_shift_on(till2, cashier)
    for _ in range(4):
        on_1 = sell(cashier, register, [(loose_product, "1")], [("cash", "2.50")])
        on_2 = sell(cashier, till2, [(product, "1")], [("cash", "5.40")])
        one, two = (client_for(ManagerFactory(stores=[store])) for _ in range(2))
        a, b = race(
            [
                lambda c=one, o=on_2: exchange(
                    c,
                    register,
                    [(loose_product, "1")],
                    [{"line": o.lines.get().pk, "quantity": "1"}],
                    [{"method": "cash", "amount": "-2.90"}],
                ),
                lambda c=two, o=on_1: exchange(
                    c,
                    till2,
                    [(product, "1")],
                    [{"line": o.lines.get().pk, "quantity": "1"}],
                    [{"method": "cash", "amount": "2.90"}],
                ),
            ]
        )
        assert (a.status_code, b.status_code) == (201, 201), (a.content, b.content)  # type: ignore[union-attr]
    assert Order.objects.filter(returned_total__gt=0).count() == 8
    assert_books_balance(store)
