"""Sales spending one customer's store credit at once on PostgreSQL (real threads, one connection
each): the customer's row lock makes them queue, so the credit is never overspent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from customers.models import Customer
from ledger.selectors import account_balances
from orders.models import Order
from storedvalue.models import StoreCreditMovement
from tests.factories import CashierFactory, RegisterFactory
from tests.orders.factories import open_shift_on
from tests.orders.test_refunds_concurrency import race
from tests.storedvalue.conftest import give_credit, sale

D = Decimal
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_sales_never_overspend_store_credit(
    client_for, manager, store, register, product, open_shift, customer
) -> None:
    give_credit(client_for(manager), register, product, customer, "2")  # 10.80
    tills = []
    for index in range(4):
        till = RegisterFactory(store=store, code=f"SC{index}")
        seller = CashierFactory(stores=[store])
        open_shift_on(till, seller)
        tills.append((client_for(seller), till))

    results = race(
        [
            (
                lambda c=c, r=r: sale(
                    c,
                    r,
                    product,
                    "1",
                    [{"method": "store_credit", "amount": "5.40"}],
                    customer=customer.pk,
                )
            )
            for c, r in tills
        ]
    )

    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [201, 201, 409, 409], [getattr(r, "content", r) for r in results]
    person = Customer.objects.get(pk=customer.pk)
    assert person.store_credit == D("0.00")
    assert Order.objects.count() == 2
    assert sum((m.amount for m in StoreCreditMovement.objects.all()), D("0")) == D("0.00")
    assert account_balances(store_id=store.pk, codes=["2310"])["2310"] == D("0.00")


def test_concurrent_sales_never_overspend_points(
    client_for, cashier, store, register, product, open_shift, customer
) -> None:
    from accounts.models import Store

    Store.objects.filter(pk=store.pk).update(
        loyalty_points_per_unit=D("100"), loyalty_point_value=D("0.01")
    )
    earned = sale(
        client_for(cashier),
        register,
        product,
        "2",
        [{"method": "cash", "amount": "10.80"}],
        customer=customer.pk,
    )
    assert earned.json()["points_earned"] == 1080
    tills = []
    for index in range(4):
        till = RegisterFactory(store=store, code=f"LP{index}")
        seller = CashierFactory(stores=[store])
        open_shift_on(till, seller)
        tills.append((client_for(seller), till))

    results = race(
        [
            (
                lambda c=c, r=r: sale(
                    c,
                    r,
                    product,
                    "1",
                    [{"method": "points", "points": 540}],
                    customer=customer.pk,
                )
            )
            for c, r in tills
        ]
    )

    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [201, 201, 409, 409], [getattr(r, "content", r) for r in results]
    assert Customer.objects.get(pk=customer.pk).loyalty_points == 0
    assert account_balances(store_id=store.pk, codes=["2320"])["2320"] == D("0.00")
