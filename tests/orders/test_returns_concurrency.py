"""Returns without a receipt racing their shift's close on PostgreSQL (real threads, one
connection each): a return is either counted by the close or refused, never paid out of a
drawer that has already been counted."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from orders.models import Return, Shift
from orders.reconciliation import reconcile_store_day, store_today
from tests.orders.test_refunds_concurrency import race

D = Decimal
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.concurrency,
    pytest.mark.django_db(transaction=True),
]


def test_a_return_racing_the_close_is_counted_or_refused(
    client_for, manager, cashier, store, register, product, open_shift
) -> None:
    takers = [client_for(manager) for _ in range(4)]
    closer = client_for(cashier)

    def close() -> object:
        return closer.post(
            f"/api/v1/shifts/{open_shift.pk}/close/", {"counted_cash": "0.00"}, format="json"
        )

    def take_back(client) -> object:  # type: ignore[no-untyped-def]
        return client.post(
            "/api/v1/returns/",
            {"register": register.pk, "lines": [{"product": product.pk, "quantity": "1"}]},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )

    results = race([close, *[(lambda c=c: take_back(c)) for c in takers]])

    assert results[0].status_code == 200  # type: ignore[union-attr]
    statuses = [r.status_code for r in results[1:]]  # type: ignore[union-attr]
    assert set(statuses) <= {201, 409}
    taken = Return.objects.filter(shift=open_shift).count()
    assert taken == statuses.count(201)
    assert Return.objects.count() == taken
    shift = Shift.objects.get(pk=open_shift.pk)
    # 100.00 float − 5.40 per return that got in before the close
    assert shift.expected_cash == D("100.00") - D("5.40") * taken
    assert next(
        c
        for c in reconcile_store_day(store=store, date=store_today(store)).comparisons
        if c.name == "cash"
    ).ok
