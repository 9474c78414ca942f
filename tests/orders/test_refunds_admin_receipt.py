"""The refund's admin page links its receipt, printed as the API prints it, for the user's
stores only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from orders.services.refunds import RefundLineRequest, refund_create
from tests.catalog.factories import set_stock
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory
from tests.orders.factories import open_shift_on
from tests.orders.selling import sell

pytestmark = pytest.mark.django_db


@pytest.fixture
def refunds(store, other_store, cashier, product):
    """A refund in each store."""
    set_stock(other_store, product, 100)
    rows = {}
    for shop, seller in ((store, cashier), (other_store, CashierFactory(stores=[other_store]))):
        register = RegisterFactory(store=shop, code=f"T{shop.pk}")
        open_shift_on(register, seller)
        order = sell(seller, register, [(product, "2")], [("cash", "10.80")])
        rows[shop.pk] = refund_create(
            order=order,
            lines=[RefundLineRequest(line_id=order.lines.get().pk, quantity=Decimal("1"))],
            restock=True,
            reason="torn label",
            user=ManagerFactory(stores=[shop]),
        )
    return rows


def test_the_refund_page_links_its_receipt(client, manager, store, other_store, refunds) -> None:
    manager.groups.set([Group.objects.get(name=manager.role)])
    client.force_login(manager)
    refund = refunds[store.pk]

    page = client.get(reverse("admin:orders_refund_change", args=[refund.pk])).content.decode()

    receipt_url = reverse("admin:orders_refund_receipt", args=[refund.pk])
    assert receipt_url in page
    text = client.get(receipt_url)
    assert text.status_code == 200
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert refund.number in text.content.decode()
    assert "torn label" in text.content.decode()
    html = client.get(receipt_url, {"format": "html"})
    assert html["Content-Type"] == "text/html; charset=utf-8"
    assert refund.order.number in html.content.decode()
    foreign = reverse("admin:orders_refund_receipt", args=[refunds[other_store.pk].pk])
    assert client.get(foreign).status_code == 404
