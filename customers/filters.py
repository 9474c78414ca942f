"""Query filters of `/api/v1/customers/` (django-filter; documented in the OpenAPI schema)."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from customers.models import Customer
from customers.selectors import customer_search


class CustomerFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        max_length=100,
        label="Name, code or email contains the text (case-insensitive); a text of digits "
        "(with spaces, ( ) . / - or a leading +) is looked for in phone numbers (`555-0199` "
        "finds `+1555019…`) and codes.",
    )
    code = django_filters.CharFilter(
        method="filter_code", max_length=32, label="Exact code, any case (a scanned card)."
    )

    class Meta:
        model = Customer
        fields = ("search", "code")

    def filter_search(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        return customer_search(queryset, value)

    def filter_code(
        self, queryset: QuerySet[Customer], name: str, value: str
    ) -> QuerySet[Customer]:
        value = value.strip()
        return queryset.filter(code=value.upper()) if value else queryset
