"""Catalog factories, shared with every app's tests (`from tests.catalog.factories import …`).

Factories write rows directly (they bypass the services, so no version is taken and no audit
event is written): use them to arrange a test, and the services to exercise behaviour.
"""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from accounts.models import Store
from catalog.models import Category, Product, StockLevel, TaxRate
from tests.factories import StoreFactory


class TaxRateFactory(DjangoModelFactory):
    class Meta:
        model = TaxRate
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Tax {n}")
    rate = Decimal("8.250")


class CategoryFactory(DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    parent = None


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    barcode = factory.Sequence(lambda n: f"400{n:010d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    category = None
    price = Decimal("4.99")
    cost = Decimal("2.00")
    tax_rate = factory.SubFactory(TaxRateFactory)
    track_stock = True
    is_active = True
    version = 0


def set_stock(
    store: Store, product: Product, quantity: Decimal | int | str, **fields: object
) -> StockLevel:
    """Arrange a stock level directly (no movement row): `set_stock(store, product, 10)`.

    `allow_negative` defaults to the store's policy, as the services keep it.
    """
    fields.setdefault("allow_negative", store.allow_negative_stock)
    level, _ = StockLevel.objects.update_or_create(
        store=store,
        product=product,
        defaults={"quantity": Decimal(str(quantity)), **fields},
    )
    return level


class StockLevelFactory(DjangoModelFactory):
    """A fresh level row; for "the product has N in this store" prefer `set_stock`."""

    class Meta:
        model = StockLevel

    store = factory.SubFactory(StoreFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = Decimal("0.000")
    allow_negative = factory.LazyAttribute(lambda o: o.store.allow_negative_stock)
