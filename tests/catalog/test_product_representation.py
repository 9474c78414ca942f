"""`ProductSerializer.to_representation`, written out by hand for the sync and list pages,
renders exactly what DRF's generic path renders from the declared fields: for every role (cost
hidden from cashiers), for one product and a page of them, nulls and odd decimals included."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from catalog.models import Product
from catalog.serializers import ProductSerializer
from tests.catalog.factories import CategoryFactory, ProductFactory, TaxRateFactory

pytestmark = pytest.mark.django_db


def generic(serializer: ProductSerializer, instance: Product) -> Any:
    return serializers.ModelSerializer.to_representation(serializer, instance)


def context_for(user: Any | None) -> dict[str, Any]:
    if user is None:
        return {}
    request = APIRequestFactory().get("/api/v1/products/")
    request.user = user
    return {"request": request}


@pytest.fixture
def products() -> list[Product]:
    rate = TaxRateFactory(name="Repr 8.25", rate=Decimal("8.250"))
    category = CategoryFactory(name="Repr")
    return [
        ProductFactory(tax_rate=rate, category=category, price=Decimal("19.9"), barcode="400123"),
        ProductFactory(tax_rate=rate, category=None, barcode=None, cost=Decimal("0"),
                       price=Decimal("123456789012.00"), track_stock=False, is_active=False),
    ]  # fmt: skip


@pytest.mark.parametrize("who", ["cashier", "manager", "admin_user", None])
def test_hand_written_rendering_equals_drfs(who, products, request) -> None:
    user = request.getfixturevalue(who) if who else None
    # A timestamp with microseconds, and one exactly on the second.
    Product.objects.filter(pk=products[0].pk).update(
        updated_at=dt.datetime(2026, 11, 21, 17, 2, 11, 5, tzinfo=dt.UTC)
    )
    Product.objects.filter(pk=products[1].pk).update(
        updated_at=dt.datetime(2026, 11, 21, 17, 2, 11, tzinfo=dt.UTC)
    )
    reloaded = list(Product.objects.filter(pk__in=[p.pk for p in products]).order_by("pk"))
    context = context_for(user)

    for product in [*products, *reloaded]:
        serializer = ProductSerializer(product, context=context)
        fast = serializer.data
        assert fast == generic(ProductSerializer(product, context=context), product)
        assert list(fast) == list(ProductSerializer(product, context=context).fields)
    page = ProductSerializer(reloaded, many=True, context=context).data
    assert page == [generic(ProductSerializer(p, context=context), p) for p in reloaded]
    assert ("cost" in page[0]) is (who != "cashier")
