"""Rendering compiled once per serializer class, for the hot serializers (a sale's response, the
order list, the catalog's sync and list pages).

DRF's generic `to_representation` deep-copies every declared field for each serializer instance
and walks them one by one, calling `get_attribute` and `to_representation` on each; on a sale or
a page of 200 products that costs more Python than the work behind it. A serializer that mixes
in `CompiledRepresentation` keeps its declared fields as the only definition of its output (and
of the OpenAPI schema), and renders through one function generated from them the first time the
class renders: a dict literal reading each attribute once, with the common value types (an `int`
for an integer field, a `str` for a text or choice field, a `Decimal` for a decimal field, an
aware `datetime`) formatted inline, exactly as the DRF field would, and every other value (a
`None`, an enum member, a number in a text field) handed to the declared field's own
`to_representation`. tests/test_compiled_rendering.py compares the two for every such class.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.manager import BaseManager
from django.utils import timezone
from rest_framework import ISO_8601, relations, serializers
from rest_framework import fields as drf_fields
from rest_framework.settings import api_settings

from money.currencies import quantum
from money.fields import (
    TWO_PLACES,
    AmountField,
    CatalogPriceField,
    CurrencyScoped,
    amount_text,
    currency_of,
    enclosing_quantum,
)

__all__ = [
    "CompiledRepresentation",
    "FilteredListSerializer",
    "Renderer",
    "compiled_renderer",
    "datetime_text",
]

#: `render(instance, time_zone, quantum)` → the serializer's representation of `instance`;
#: `quantum` is the enclosing currency's minor unit (`money.fields.AmountField`).
Renderer = Callable[[Any, dt.tzinfo, Decimal], dict[str, Any]]


class FilteredListSerializer(serializers.ListSerializer):
    """A nested list that leaves out the rows `keep` refuses (set it on a subclass, as a
    `staticmethod`); compiled as the filter of the list's comprehension."""

    @staticmethod
    def keep(row: Any) -> bool:
        return True

    def to_representation(self, data: Any) -> list[Any]:
        rows = data.all() if isinstance(data, BaseManager) else data
        return super().to_representation([row for row in rows if self.keep(row)])


class CompiledRepresentation(serializers.Serializer):
    # Mix into a `ModelSerializer` (first) to render through `compiled_renderer`. The time zone
    # and the fields left out are decided once per serializer instance: a page of rows shares
    # one child serializer. (No docstring: the OpenAPI schema would take it as the description
    # of every serializer without its own.)

    def hidden_fields(self) -> frozenset[str]:
        """Declared fields this instance leaves out (must match what `get_fields` drops)."""
        return frozenset()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        state = self.__dict__.get("_compiled_state")
        if state is None:
            state = self._compiled_state = (
                compiled_renderer(type(self), self.hidden_fields()),
                timezone.get_current_timezone(),
            )
        render, zone = state
        return render(instance, zone, enclosing_quantum(self) or TWO_PLACES)


@functools.cache
def compiled_renderer(
    serializer_class: type[serializers.ModelSerializer], hidden: frozenset[str] = frozenset()
) -> Renderer:
    """The `to_representation` of `serializer_class`'s readable fields (less `hidden`) as one
    generated function. Refuses (`TypeError`) a field it cannot render exactly as DRF does."""
    prototype = serializer_class()
    model = serializer_class.Meta.model
    namespace: dict[str, Any] = {
        "BaseManager": BaseManager,
        "Decimal": Decimal,
        "datetime": dt.datetime,
        "datetime_text": datetime_text,
        "currency_of": currency_of,
        "amount_text": amount_text,
        "quantum_of": quantum,
        "ROUND_HALF_UP": decimal.ROUND_HALF_UP,
    }
    reads: list[str] = []
    items: list[str] = []
    for index, (name, field) in enumerate(prototype.fields.items()):
        if field.write_only or name in hidden:
            continue
        where = f"{serializer_class.__name__}.{name}"
        reads.append(f"    v{index} = instance.{_source(where, model, field)}")
        namespace[f"field{index}"] = field.to_representation
        items.append(f"        {name!r}: {_expression(where, field, index, namespace)},")
    if issubclass(serializer_class, CurrencyScoped):
        # Its instances name their currency: it replaces the enclosing one for every amount.
        namespace["currency_source"] = serializer_class.currency_source
        reads.insert(0, "    code = currency_of(instance, currency_source)")
        reads.insert(1, "    quantum = quantum if code is None else quantum_of(code)")
    source = "\n".join(
        [
            "def render(instance, zone, quantum):",
            *reads,
            "    return {",
            *items,
            "    }",
        ]
    )
    # The source holds only declared field names (`repr`-quoted) and attribute names checked
    # to be identifiers; every value comes in through `namespace`.
    code = compile(source, f"<renderer of {serializer_class.__qualname__}>", "exec")
    # The source is generated here from the serializer class's declared fields (never from a
    # request), at import time, once per class.
    exec(code, namespace)  # noqa: S102  # nosec B102
    render: Renderer = namespace["render"]
    render.__doc__ = source
    return render


def _source(where: str, model: type[models.Model], field: drf_fields.Field) -> str:
    """The attribute DRF's `get_attribute` reads: a column (by name or attname), `pk`, or a
    reverse relation for a nested list. A related field with the pk-only optimisation reads the
    foreign key's column, as `Model.serializable_value` does."""
    if len(field.source_attrs) != 1:
        raise TypeError(f"{where}: dotted sources are not compiled")
    [attr] = field.source_attrs
    if not attr.isidentifier():
        raise TypeError(f"{where}: source {attr!r}")
    if isinstance(field, relations.PrimaryKeyRelatedField):
        return model._meta.get_field(attr).attname  # type: ignore[union-attr]
    if isinstance(field, relations.ManyRelatedField):
        if model._meta.get_field(attr).many_to_many:
            return attr
        raise TypeError(f"{where}: {attr!r} is not a many-to-many field of {model}")
    columns = {"pk"}
    for column in model._meta.concrete_fields:
        columns.update((column.name, column.attname))
    if attr in columns:
        return attr
    if isinstance(field, serializers.ListSerializer):
        related = model._meta.get_field(attr)
        if related.is_relation and related.one_to_many:
            return attr
    raise TypeError(f"{where}: {attr!r} is not a column of {model}")


def _expression(where: str, field: drf_fields.Field, index: int, namespace: dict[str, Any]) -> str:
    """The value DRF's `Serializer.to_representation` puts under `name`: `None` for `None`,
    else the field's rendering — inline for the usual type, through the field otherwise."""
    v, through = f"v{index}", f"(None if v{index} is None else field{index}(v{index}))"
    if type(field) is AmountField:
        return (
            f"f'{{{v}.quantize(quantum, rounding=ROUND_HALF_UP):f}}' if type({v}) is Decimal "
            f"else None if {v} is None else amount_text({v}, quantum)"
        )
    if type(field) is CatalogPriceField:
        return through
    for kind in _KINDS:
        if isinstance(field, kind):
            # A subclass that renders its own way is not the kind it extends.
            for method in ("to_representation", "enforce_timezone", "get_attribute"):
                if getattr(type(field), method, None) is not getattr(kind, method, None):
                    raise TypeError(f"{where}: overrides {method}")
            break
    if isinstance(field, relations.PrimaryKeyRelatedField):
        if field.pk_field is not None:
            raise TypeError(f"{where}: pk_field is not compiled")
        return v  # DRF renders the PKOnlyObject's pk as is
    if isinstance(field, serializers.JSONField):
        if field.binary:
            raise TypeError(f"{where}: a binary JSONField is not compiled")
        return v  # DRF renders the value as it is
    if isinstance(field, serializers.BooleanField):
        return f"{v} if {v} is True or {v} is False else {through}"
    if isinstance(field, serializers.ChoiceField):
        namespace[f"choices{index}"] = field.choice_strings_to_values
        return f"choices{index}.get({v}, {v}) if type({v}) is str else {through}"
    if isinstance(field, serializers.CharField):
        return f"{v} if type({v}) is str else {through}"
    # drf-stubs 3.16 (the line that goes with django-stubs 5.2) predate BigIntegerField.
    if isinstance(field, serializers.BigIntegerField) and getattr(  # type: ignore[attr-defined]
        field, "coerce_to_string", api_settings.COERCE_BIGINT_TO_STRING
    ):
        raise TypeError(f"{where}: a big integer as a string is not compiled")
    if isinstance(field, serializers.IntegerField):
        return f"{v} if type({v}) is int else {through}"
    if isinstance(field, serializers.DecimalField):
        if (
            not getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)
            or field.localize
            or field.normalize_output
            or field.decimal_places is None
            or field.max_digits is None
            or field.rounding is not None
        ):
            raise TypeError(f"{where}: this DecimalField is not compiled")
        namespace[f"quantum{index}"] = Decimal(1).scaleb(-field.decimal_places)
        namespace[f"context{index}"] = _context(field.max_digits)
        return (
            f"f'{{{v}.quantize(quantum{index}, context=context{index}):f}}' "
            f"if type({v}) is Decimal else {through}"
        )
    if isinstance(field, serializers.DateTimeField):
        output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
        if output_format is None or output_format.lower() != ISO_8601:
            raise TypeError(f"{where}: only ISO 8601 is compiled")
        if "timezone" in field.__dict__:
            raise TypeError(f"{where}: an own time zone")
        return f"datetime_text({v}, zone) if type({v}) is datetime else {through}"
    if isinstance(field, serializers.ListSerializer) and isinstance(
        field.child, CompiledRepresentation
    ):
        namespace[f"child{index}"] = compiled_renderer(type(field.child))
        keep = ""
        if isinstance(field, FilteredListSerializer):
            namespace[f"keep{index}"] = type(field).keep
            keep = f" if keep{index}(row)"
        return (
            f"None if {v} is None else [child{index}(row, zone, quantum) for row in "
            f"({v}.all() if isinstance({v}, BaseManager) else {v}){keep}]"
        )
    if isinstance(field, relations.ManyRelatedField):
        child = field.child_relation
        if type(child) is not relations.PrimaryKeyRelatedField or child.pk_field is not None:
            raise TypeError(f"{where}: only a list of primary keys is compiled")
        # A manager (a model instance; prefetch it) or the ids themselves (a row read as
        # values, such as `catalog.selectors.ProductRow`).
        return (
            f"[row.pk for row in {v}.all()] if isinstance({v}, BaseManager) "
            f"else None if {v} is None else list({v})"
        )
    if type(field) is serializers.DictField:
        return through
    raise TypeError(f"{where}: {type(field).__name__} is not compiled")


_KINDS = (
    relations.PrimaryKeyRelatedField,
    serializers.JSONField,
    serializers.BooleanField,
    serializers.ChoiceField,
    serializers.CharField,
    serializers.BigIntegerField,  # type: ignore[attr-defined]
    serializers.IntegerField,
    serializers.DecimalField,
    serializers.DateTimeField,
)


@functools.cache
def _context(max_digits: int) -> decimal.Context:
    """DRF's `DecimalField.quantize` context: the current one with `max_digits` of precision."""
    context = decimal.getcontext().copy()
    context.prec = max_digits
    return context


def datetime_text(value: dt.datetime | None, current: dt.tzinfo | None = None) -> str | None:
    """DRF's `DateTimeField.to_representation` (ISO 8601 in the current time zone, `Z` for
    UTC). Pass `current` (`timezone.get_current_timezone()`) when rendering many values."""
    if value is None:
        return None
    if current is None:
        current = timezone.get_current_timezone()
    # A UTC value (as the database returns them) rendered in UTC needs no conversion.
    if value.tzinfo is not dt.UTC or not _is_utc(current):
        if timezone.is_aware(value):
            value = value.astimezone(current)
        else:
            value = timezone.make_aware(value, current)
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _is_utc(zone: dt.tzinfo) -> bool:
    return zone is dt.UTC or getattr(zone, "key", None) == "UTC"
