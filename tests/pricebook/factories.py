"""Pricebook factories: rows written directly (no version, no audit); exercise the services to
test behaviour."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from pricebook import rules
from pricebook.models import PriceList, PriceListItem, Promotion
from tests.catalog.factories import ProductFactory


class PriceListFactory(DjangoModelFactory):
    class Meta:
        model = PriceList
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Price list {n}")
    priority = 0
    is_active = True

    @factory.post_generation
    def stores(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.stores.set(extracted)


class PriceListItemFactory(DjangoModelFactory):
    class Meta:
        model = PriceListItem

    price_list = factory.SubFactory(PriceListFactory)
    product = factory.SubFactory(ProductFactory)
    price = Decimal("3.99")


class PromotionFactory(DjangoModelFactory):
    class Meta:
        model = Promotion
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Promotion {n}")
    kind = rules.PERCENT_OFF
    value = Decimal("10")
    is_active = True

    @factory.post_generation
    def stores(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.stores.set(extracted)

    @factory.post_generation
    def products(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.products.set(extracted)

    @factory.post_generation
    def categories(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            self.categories.set(extracted)
