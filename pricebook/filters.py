"""Query filters of the price-list and promotion endpoints."""

from __future__ import annotations

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from apitools.fields import StrictBooleanFilter
from catalog.filters import IdFilter
from pricebook.models import PriceList, PriceListItem, Promotion
from pricebook.selectors import covering_store


class _CoveringStoreFilterSet(django_filters.FilterSet):
    store = IdFilter(
        method="filter_store", label="Those that apply in this store (also those for every store)."
    )
    is_active = StrictBooleanFilter(field_name="is_active")

    def filter_store(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return covering_store(queryset, value)


class PriceListFilter(_CoveringStoreFilterSet):
    product = IdFilter(
        method="filter_product", label="The lists that have a price for this product."
    )

    class Meta:
        model = PriceList
        fields = ("store", "is_active", "product")

    def filter_product(self, queryset: QuerySet, name: str, value: int) -> QuerySet:
        return queryset.filter(
            Exists(PriceListItem.objects.filter(price_list=OuterRef("pk"), product_id=value))
        )


class PromotionFilter(_CoveringStoreFilterSet):
    class Meta:
        model = Promotion
        fields = ("store", "is_active")
