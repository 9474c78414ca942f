"""The hand-written `to_representation` of the order serializers renders exactly what DRF's
generic path renders from the declared fields (money with 2 decimals, quantities and rates with
3, UTC times with `Z`, nulls), fresh from the sale service and reloaded from the database."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework import serializers

from accounts.models import Store
from catalog.models import Product
from orders.models import Order
from orders.selectors.sales import order_detail_queryset
from orders.serializers.sales import OrderLineSerializer, OrderSerializer, PaymentSerializer
from orders.services.sales import PaymentRequest

pytestmark = pytest.mark.django_db


def generic(serializer_class: type[serializers.ModelSerializer], instance: Any) -> Any:
    """What DRF renders from the declared fields, bypassing the hand-written method."""
    serializer = serializer_class(instance)
    data = serializers.ModelSerializer.to_representation(serializer, instance)
    if serializer_class is OrderSerializer:
        data["lines"] = [generic(OrderLineSerializer, line) for line in instance.lines.all()]
        data["payments"] = [generic(PaymentSerializer, p) for p in instance.payments.all()]
    return data


def assert_same(order: Order) -> None:
    fast = OrderSerializer(order).data
    assert fast == generic(OrderSerializer, order)
    assert list(fast) == list(OrderSerializer.Meta.fields)
    # … and the same types (strings for money, None for nulls), not only equal values.
    assert {k: type(v) for k, v in fast.items()} == {
        k: type(v) for k, v in generic(OrderSerializer, order).items()
    }


def test_a_plain_cash_sale(sell_as: Callable[..., Order], product: Product) -> None:
    order = sell_as(lines=[(product, 3)])
    assert_same(order)
    assert_same(order_detail_queryset().get(pk=order.pk))


def test_discounts_weights_tenders_and_client_time(
    sell_as: Callable[..., Order], product: Product, loose_product: Product
) -> None:
    order = sell_as(
        lines=[(product, 2, "0.50"), (loose_product, "1.250")],
        discount="1.00",
        payments=[
            PaymentRequest(method="card", amount=Decimal("5.00"), reference="AUTH1"),
            PaymentRequest(method="cash", amount=Decimal("7.33"), tendered=Decimal("20.00")),
        ],
        client_created_at=dt.datetime(2026, 11, 21, 17, 2, 11, 5, tzinfo=dt.UTC).astimezone(
            zoneinfo.ZoneInfo("Europe/Paris")
        ),
    )
    reloaded = order_detail_queryset().get(pk=order.pk)
    for instance in (order, reloaded):
        assert_same(instance)
    data = OrderSerializer(reloaded).data
    assert data["client_created_at"] == "2026-11-21T17:02:11.000005Z"
    assert data["lines"][1]["quantity"] == "1.250"
    assert data["lines"][0]["tax_rate"] == "8.250"
    assert data["payments"][0]["tendered"] is None


def test_tax_inclusive_store_and_another_current_time_zone(
    sell_as: Callable[..., Order], product: Product, store: Store
) -> None:
    store.prices_include_tax = True
    store.save()
    order = sell_as(lines=[(product, 7)])
    with timezone.override(zoneinfo.ZoneInfo("America/New_York")):
        assert_same(order_detail_queryset().get(pk=order.pk))


def test_odd_decimals_are_quantized_the_same_way(
    sell_as: Callable[..., Order], product: Product
) -> None:
    order = order_detail_queryset().get(pk=sell_as(lines=[(product, 1)]).pk)
    order.subtotal = Decimal("4.5")  # fewer places than the field
    order.total = Decimal("7")
    order.change_due = Decimal("0.005")  # more places: rounded like DRF does
    line = order.lines.all()[0]
    line.quantity = Decimal("2")
    line.tax_rate = Decimal("8.25")
    assert_same(order)


def test_the_list_renders_each_order_the_same(
    sell_as: Callable[..., Order], product: Product, loose_product: Product
) -> None:
    for quantity in (1, 2, 3):
        sell_as(lines=[(product, quantity), (loose_product, "0.5")])
    orders = list(order_detail_queryset().order_by("id"))
    many = OrderSerializer(orders, many=True).data
    assert many == [generic(OrderSerializer, order) for order in orders]
