"""Query filters of the journal entries list (django-filter; documented in the schema)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.selectors import can_see_store
from domain.errors import ObjectNotFound
from ledger.models import EntrySource, JournalEntry


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An integer id (`NumberFilter` alone would accept and document a decimal)."""

    field_class = forms.IntegerField


class JournalEntryFilter(django_filters.FilterSet):
    store = IdFilter(
        method="filter_store",
        label="A store id. A store you cannot see answers 404, like one that does not exist.",
    )
    order = IdFilter(
        method="filter_order",
        label=(
            "An order id: the sale entry of that order (`source=sale`, `source_id=order`). The "
            "ledger knows its sources only by type and id, so refunds of the order are found "
            "with `source=refund&source_id=<refund id>` (the refund ids are on the order)."
        ),
    )
    source = django_filters.ChoiceFilter(choices=EntrySource.choices)
    source_id = IdFilter(field_name="source_id")
    date_from = django_filters.DateFilter(
        field_name="date", lookup_expr="gte", label="Business date ≥ (YYYY-MM-DD, inclusive)."
    )
    date_to = django_filters.DateFilter(
        field_name="date", lookup_expr="lte", label="Business date ≤ (YYYY-MM-DD, inclusive)."
    )

    class Meta:
        model = JournalEntry
        fields = ("store", "order", "source", "source_id", "date_from", "date_to")

    def filter_store(
        self, queryset: QuerySet[JournalEntry], name: str, value: int
    ) -> QuerySet[JournalEntry]:
        if not can_see_store(self.request.user, value):
            raise ObjectNotFound("No such store.")
        return queryset.filter(store_id=value)

    def filter_order(
        self, queryset: QuerySet[JournalEntry], name: str, value: int
    ) -> QuerySet[JournalEntry]:
        return queryset.filter(source=EntrySource.SALE, source_id=value)
