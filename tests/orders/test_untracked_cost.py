"""Cost of goods moves only for stock-tracked products: an untracked product (a service, a gift
card) never entered inventory, so selling or refunding it must not touch 1200/5000."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import JournalEntry
from tests.catalog.factories import ProductFactory
from tests.orders.selling import entry_lines, refund_via_api, sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(tax_rate):
    return ProductFactory(
        price=Decimal("10.00"), cost=Decimal("4.00"), tax_rate=tax_rate, track_stock=False
    )


def test_sale_of_mixed_lines_costs_only_the_tracked_one(
    open_shift, register, cashier, product, service
) -> None:
    # 4.99 + 10.00 = 14.99 net, tax round(4.99 × 8.25 %) + round(10.00 × 8.25 %) = 0.41 + 0.83
    order = sell(cashier, register, [(product, "1"), (service, "1")], [("card", "16.23")])

    entry = JournalEntry.objects.get(source="sale", source_id=order.pk)
    lines = entry_lines(entry)
    assert lines["5000"] == (Decimal("2.00"), Decimal("0.00"))  # the tracked product's cost only
    assert lines["1200"] == (Decimal("0.00"), Decimal("2.00"))


def test_refund_of_untracked_line_does_not_restock_into_inventory(
    open_shift, register, cashier, manager_client, service
) -> None:
    order = sell(cashier, register, [(service, "1")], [("card", "10.83")])
    assert "5000" not in entry_lines(JournalEntry.objects.get(source="sale", source_id=order.pk))

    line = order.lines.get()
    response = refund_via_api(manager_client, order, [(line, "1")], key="untracked-refund")

    assert response.status_code == 201, response.content
    entry = JournalEntry.objects.get(source="refund", source_id=response.json()["id"])
    lines = entry_lines(entry)
    assert "1200" not in lines
    assert "5000" not in lines
    assert lines["4900"] == (Decimal("10.00"), Decimal("0.00"))
