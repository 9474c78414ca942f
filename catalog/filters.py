"""Query filters of the catalog endpoints (django-filter; documented in the OpenAPI schema)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from apitools.fields import StrictBooleanFilter
from catalog.models import ADJUSTMENT_REASONS, Product, StockLevel, StockMovement, StockReason


class IdFilter(django_filters.NumberFilter):
    """An integer (an id or a version), not the decimal `NumberFilter` accepts."""

    field_class = forms.IntegerField


class ProductFilter(django_filters.FilterSet):
    barcode = django_filters.CharFilter(field_name="barcode", lookup_expr="exact")
    search = django_filters.CharFilter(
        method="filter_search", label="Name or sku contains (case-insensitive)."
    )
    category = IdFilter(field_name="category_id")
    is_active = StrictBooleanFilter(field_name="is_active")
    variant_of = IdFilter(field_name="variant_of_id", label="Variants of this template.")
    is_template = StrictBooleanFilter(
        field_name="is_template", label="Templates (products with variants) or not."
    )
    store = IdFilter(
        method="filter_store",
        label="With a scale `barcode`: the store whose `scale_barcode_layout` reads it "
        "(optional for a user of one store).",
    )
    since_version = IdFilter(
        method="filter_since_version",
        min_value=0,
        label=(
            "Delta sync: products changed after this catalog version (deactivated ones too), "
            "ordered by version; store the `X-Catalog-Version` response header for the next call."
        ),
    )

    class Meta:
        model = Product
        fields = (
            "barcode",
            "search",
            "category",
            "is_active",
            "variant_of",
            "is_template",
            "store",
            "since_version",
        )

    def filter_search(
        self, queryset: QuerySet[Product], name: str, value: str
    ) -> QuerySet[Product]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(sku__icontains=value))

    def filter_store(
        self, queryset: QuerySet[Product], name: str, value: object
    ) -> QuerySet[Product]:
        # Read by the view's barcode lookup (a scale barcode needs its store's layout).
        return queryset

    def filter_since_version(
        self, queryset: QuerySet[Product], name: str, value: object
    ) -> QuerySet[Product]:
        # Applied by the view's sync path (`catalog.selectors.product_sync_page`), which needs
        # the version bound itself; declared here for validation and the schema.
        return queryset


class StockLevelFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    product = IdFilter(field_name="product_id")

    class Meta:
        model = StockLevel
        fields = ("store", "product")


class StockMovementFilter(django_filters.FilterSet):
    store = IdFilter(field_name="store_id")
    product = IdFilter(field_name="product_id")
    reason = django_filters.ChoiceFilter(choices=StockReason.choices)
    flagged = StrictBooleanFilter()

    class Meta:
        model = StockMovement
        fields = ("store", "product", "reason", "flagged")


class StockAdjustmentFilter(StockMovementFilter):
    reason = django_filters.ChoiceFilter(choices=[(r.value, r.label) for r in ADJUSTMENT_REASONS])
