"""Sales spending one gift card at once on PostgreSQL (real threads, one connection each): the
card's row lock makes them queue, so the card is never overspent."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from giftcards.models import GiftCard
from ledger.selectors import account_balances
from orders.models import Order
from tests.factories import CashierFactory, RegisterFactory
from tests.giftcards.conftest import issue, sell_with_card
from tests.orders.factories import open_shift_on
from tests.orders.test_refunds_concurrency import race

D = Decimal
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def test_concurrent_sales_never_overspend_a_card(
    client_for, store, cashier, register, product, open_shift
) -> None:
    code = issue(client_for(cashier), register, "12.00").json()["code"]
    tills = []
    for index in range(4):
        till = RegisterFactory(store=store, code=f"GC{index}")
        seller = CashierFactory(stores=[store])
        open_shift_on(till, seller)
        tills.append((client_for(seller), till))

    results = race(
        [
            (
                lambda c=c, r=r: sell_with_card(
                    c,
                    r,
                    product,
                    "1",
                    [{"method": "gift_card", "code": code, "amount": "5.40"}],
                    key=str(uuid.uuid4()),
                )
            )
            for c, r in tills
        ]
    )

    statuses = sorted(r.status_code for r in results)  # type: ignore[union-attr]
    assert statuses == [201, 201, 409, 409], [getattr(r, "content", r) for r in results]
    card = GiftCard.objects.get()
    assert card.balance == D("1.20")
    assert Order.objects.count() == 2
    assert sum((m.amount for m in card.movements.all()), D("0")) == D("1.20")
    assert -account_balances(store_id=store.pk, codes=["2300"])["2300"] == D("1.20")
