"""`order_create` and `refund_create` take the clock as `now`: the order's and the refund's
time, and the day their journal entries are posted on (the store's local calendar day)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from ledger.models import EntrySource, JournalEntry
from orders.models import Order, OrderLine, Refund
from orders.services.refunds import RefundLineRequest, refund_create
from orders.services.sales import PaymentRequest, SaleLineRequest, order_create

pytestmark = pytest.mark.django_db


def test_a_sale_and_its_refund_happen_when_the_clock_says(
    store, register, cashier, manager, product, open_shift
) -> None:
    tz = zoneinfo.ZoneInfo(store.timezone)
    sold_at = dt.datetime(2026, 3, 10, 23, 30, tzinfo=tz)  # late evening, local
    refunded_at = dt.datetime(2026, 3, 12, 0, 15, tzinfo=tz)  # just after midnight, local

    order = order_create(
        user=cashier,
        register_id=register.pk,
        lines=[SaleLineRequest(product_id=product.pk, quantity=Decimal("1"))],
        payments=[PaymentRequest(method="cash", amount=Decimal("5.40"))],
        now=sold_at,
    )
    refund = refund_create(
        order=order,
        lines=[
            RefundLineRequest(line_id=OrderLine.objects.get(order=order).pk, quantity=Decimal("1"))
        ],
        restock=True,
        reason="",
        user=manager,
        now=refunded_at,
    )

    assert Order.objects.get(pk=order.pk).created_at == sold_at
    assert Refund.objects.get(pk=refund.pk).created_at == refunded_at
    sale_entry = JournalEntry.objects.get(source=EntrySource.SALE, source_id=order.pk)
    refund_entry = JournalEntry.objects.get(source=EntrySource.REFUND, source_id=refund.pk)
    assert (sale_entry.date, refund_entry.date) == (dt.date(2026, 3, 10), dt.date(2026, 3, 12))
