"""Admin pieces shared by the apps."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import admin
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apitools.validators import refuse_card_number
from domain.errors import DomainError
from money.currencies import quantum
from money.fields import TWO_PLACES, MoneyField, amount_text


class FreeTextAdminMixin:
    """The admin's forms refuse a card number in free text, like the API (`refuse_card_number`):
    `free_text_fields` names the model fields a person types prose into."""

    free_text_fields: tuple[str, ...] = ("name",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None and db_field.name in self.free_text_fields:
            formfield.validators.append(refuse_card_number)
        return formfield


class ReadOnlyAdminMixin:
    """No add, change or delete (so no bulk delete action either): the change form renders
    read-only. For records that are never edited once written — posted journal entries, audit
    events, orders and their lines."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def domain_error_text(exc: DomainError) -> str:
    """A service's refusal as one admin message: its detail, then what was wrong with which
    field."""
    if exc.errors:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        return f"{exc.detail} {details}"
    return exc.detail


# --- Times in the store's time zone -----------------------------------------------------------


def local_time_text(value: dt.datetime, tz: dt.tzinfo) -> str:
    """`2026-12-03 07:34:12 EST (America/New_York)`: `value` on the wall clock of `tz`, with the
    zone named (its abbreviation alone is ambiguous: CST is three zones). A zone whose name is
    its abbreviation (UTC) is named once."""
    local = value.astimezone(tz)
    abbreviation = local.strftime("%Z")
    name = getattr(tz, "key", abbreviation)
    text = f"{local:%Y-%m-%d %H:%M:%S} {abbreviation}"
    return text if name == abbreviation else f"{text} ({name})"


def row_timezone(row: Any, path: str) -> dt.tzinfo:
    """The time zone of a row's store: `path` leads from the row to its store (`shift__store`) or
    to a time-zone name (an annotation); a row without a store has the project's default zone."""
    value = row
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return timezone.get_default_timezone()
    if isinstance(value, str):
        return timezone.get_default_timezone() if not value else zoneinfo.ZoneInfo(value)
    zone = getattr(value, "tzinfo", None)
    return zone if isinstance(zone, dt.tzinfo) else timezone.get_default_timezone()


def row_currency(row: Any, path: str) -> str | None:
    """The currency of a row's store (`path` leads from the row to its store), or None."""
    value = row
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    currency = getattr(value, "currency", None)
    return currency if isinstance(currency, str) else None


class StoreLocalTimesMixin:
    """Every date-time field of a store's record is shown — in the list, on the change page and
    in inlines — on its store's wall clock with the zone named (`local_time_text`), not in the
    server's zone; every money field with the store currency's minor units (`"100"` JPY,
    `"12.50"` USD, not the column's three decimals). `store_field` is the path from a row to its
    store (`"shift__store"`), or to a time-zone name; it is followed with `select_related`, so a
    list costs no extra query.

    Works by replacing each date-time or money field name in `list_display`, the fields and the
    read-only fields with a display function of the same label that sorts by the field. Only
    read-only fields are replaced: a form field stays a form field."""

    store_field = "store"
    model: type[models.Model]

    def _local_time_displays(self) -> dict[str, Callable[[Any], str]]:
        # One function per field, made once: the admin matches read-only fields by identity.
        displays: dict[str, Callable[[Any], str]] | None = self.__dict__.get("_local_times")
        if displays is None:
            displays = {
                field.name: self._local_time_display(field)
                for field in self.model._meta.concrete_fields
                if isinstance(field, models.DateTimeField)
            }
            displays.update(
                (field.name, self._amount_display(field))
                for field in self.model._meta.concrete_fields
                if isinstance(field, MoneyField)
            )
            self.__dict__["_local_times"] = displays
        return displays

    def _local_time_display(self, field: models.DateTimeField) -> Callable[[Any], str]:
        path = self.store_field

        @admin.display(description=field.verbose_name, ordering=field.name)
        def display(row: Any) -> str:
            value = getattr(row, field.name)
            if value is None:
                return self.get_empty_value_display()  # type: ignore[attr-defined,no-any-return]
            return local_time_text(value, row_timezone(row, path))

        display.__name__ = field.name  # the column's CSS class and the field's help text
        return display

    def _amount_display(self, field: models.DecimalField) -> Callable[[Any], str]:
        path = self.store_field

        @admin.display(description=field.verbose_name, ordering=field.name)
        def display(row: Any) -> str:
            value = getattr(row, field.name)
            if value is None:
                return self.get_empty_value_display()  # type: ignore[attr-defined,no-any-return]
            currency = row_currency(row, path)
            return amount_text(value, quantum(currency) if currency else TWO_PLACES)

        display.__name__ = field.name
        return display

    def local_times(self, names: Sequence[Any]) -> list[Any]:
        """`names` with each date-time field replaced by its store-local display."""
        displays = self._local_time_displays()
        return [displays.get(name, name) if isinstance(name, str) else name for name in names]

    def get_list_display(self, request: HttpRequest) -> Any:
        return self.local_times(super().get_list_display(request))  # type: ignore[misc]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.local_times(super().get_readonly_fields(request, obj))  # type: ignore[misc]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = super().get_fields(request, obj)  # type: ignore[misc]
        if obj is None:  # an add form: nothing stored yet, and every field is an input
            return fields
        if not self.has_change_permission(request, obj):  # type: ignore[attr-defined]
            return self.local_times(fields)  # a view-only page: every field is read-only
        readonly = set(super().get_readonly_fields(request, obj))  # type: ignore[misc]
        return [self.local_times([name])[0] if name in readonly else name for name in fields]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        relation = self._store_relation()
        return queryset.select_related(relation) if relation else queryset

    def _store_relation(self) -> str | None:
        model: Any = self.model
        for part in self.store_field.split("__"):
            try:
                field = model._meta.get_field(part)
            except FieldDoesNotExist:
                return None
            if not field.is_relation:
                return None
            model = field.related_model
        return self.store_field
