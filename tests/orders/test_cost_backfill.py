"""The data migrations of issue 14, item 9 on rows written before the fields existed: a line's
cost from its snapshotted unit cost, its refund lines' costs pro rata (the pieces of a fully
refunded line add up to its cost), movements valued at round(delta × unit cost) and levels at
the sum of their movements."""

from __future__ import annotations

import importlib
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from catalog.models import StockLevel, StockMovement
from catalog.services import stock_adjust
from orders.models import OrderLine, RefundLine
from orders.services.refunds import RefundLineRequest, refund_create
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db

D = Decimal


def run_backfill(module: str) -> None:
    importlib.import_module(module).backfill(apps, SimpleNamespace(connection=connection))


def test_backfill_of_line_costs_refund_pieces_and_stock_values(
    store, manager, sell_as, zero_rate
) -> None:
    weighed = ProductFactory(price=D("1.00"), cost=D("0.33"), tax_rate=zero_rate)
    service = ProductFactory(price=D("5.00"), cost=D("3.00"), tax_rate=zero_rate, track_stock=False)
    stock_adjust(store=store, product=weighed, quantity_delta=D(10), reason="receive", user=manager)
    order = sell_as(lines=[(weighed, "0.5"), (service, "1")])
    line = OrderLine.objects.get(order=order, product=weighed)
    for restock in (True, False):
        refund_create(
            order=order,
            lines=[RefundLineRequest(line_id=line.pk, quantity=D("0.25"))],
            restock=restock,
            reason="",
            user=manager,
        )
    # as if written before the fields existed
    OrderLine.objects.update(refunded_cost=0)
    OrderLine.objects.update(cost=0)
    RefundLine.objects.update(cost=0)
    StockMovement.objects.update(value=0)
    StockLevel.objects.update(value=0)

    run_backfill("catalog.migrations.0004_stock_value")
    run_backfill("orders.migrations.0006_line_cost_of_goods")

    costs = dict(OrderLine.objects.filter(order=order).values_list("product_id", "cost"))
    assert costs == {weighed.pk: D("0.17"), service.pk: D("0.00")}
    assert list(RefundLine.objects.order_by("id").values_list("cost", flat=True)) == [
        D("0.09"),  # round(0.17 × 0.25 / 0.5)
        D("0.08"),  # round(0.17 × 0.5 / 0.5) − 0.09: the pieces add up to the line's cost
    ]
    line.refresh_from_db()
    assert line.refunded_cost == line.cost
    values = list(
        StockMovement.objects.filter(store=store, product=weighed)
        .order_by("id")
        .values_list("value", flat=True)
    )
    # receive 10 × 0.33, sale −0.5 × 0.33 → −0.17, restock 0.25 × 0.33 → 0.08
    assert values == [D("3.30"), D("-0.17"), D("0.08")]
    assert StockLevel.objects.get(store=store, product=weighed).value == D("3.21")
