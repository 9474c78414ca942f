"""Query filters of the audit events list (django-filter; documented in the schema)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.selectors import can_see_store
from audit.models import AuditEvent
from domain.errors import ObjectNotFound


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """An integer id (`NumberFilter` alone would accept and document a decimal)."""

    field_class = forms.IntegerField


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(
        method="filter_action",
        label="An action (`order.created`), or a prefix ending in a dot (`auth.`).",
    )
    actor = IdFilter(field_name="actor_id", label="A user id.")
    store = IdFilter(
        method="filter_store",
        label="A store id. A store you cannot see answers 404, like one that does not exist.",
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", label="Events at or after this ISO 8601 instant."
    )

    class Meta:
        model = AuditEvent
        fields = ("action", "actor", "store", "since")

    def filter_action(
        self, queryset: QuerySet[AuditEvent], name: str, value: str
    ) -> QuerySet[AuditEvent]:
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        return queryset.filter(action=value)

    def filter_store(
        self, queryset: QuerySet[AuditEvent], name: str, value: int
    ) -> QuerySet[AuditEvent]:
        if not can_see_store(self.request.user, value):
            raise ObjectNotFound("No such store.")
        return queryset.filter(store_id=value)
