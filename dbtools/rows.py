"""Reading rows of a model with a hand-written `SELECT`: the column list from the model, and
instances built from the row the way a queryset builds them (`Model.from_db`, through the
fields' database converters)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Field, Model

__all__ = [
    "cache_related",
    "column",
    "field_column",
    "instance_from_row",
    "qn",
    "select_columns",
    "table",
]

M = TypeVar("M", bound=Model)


def qn(name: str) -> str:
    """A quoted identifier (`"name"`)."""
    return connection.ops.quote_name(name)


def column(field: Field[Any, Any]) -> str:
    """The field's quoted column name."""
    return qn(field.column or field.attname)


def field_column(model: type[Model], name: str) -> str:
    """The quoted column of the model's field `name` (`"store_id"` for `store`)."""
    field = model._meta.get_field(name)
    assert isinstance(field, Field)  # a concrete field, not a reverse relation  # nosec B101
    return column(field)


def table(model: type[Model]) -> str:
    """The model's quoted table name."""
    return qn(model._meta.db_table)


def select_columns(model: type[Model], alias: str) -> tuple[list[str], str]:
    """(attnames, `alias."col", …`): every concrete column of the model, in field order — the
    order `instance_from_row` expects."""
    fields = model._meta.concrete_fields
    return [field.attname for field in fields], ", ".join(
        f"{alias}.{column(field)}" for field in fields
    )


def instance_from_row(model: type[M], names: Sequence[str], values: Iterable[Any]) -> M:
    """A model instance from raw column values (in `select_columns` order), through the fields'
    own database converters, as a queryset would build it."""
    converted = []
    for field, value in zip(model._meta.concrete_fields, values, strict=True):
        for converter in field.get_db_converters(connection):  # type: ignore[attr-defined]  # stubs
            value = converter(value, field, connection)
        converted.append(value)
    return model.from_db(connection.alias, names, converted)


def cache_related(instance: Model, **objects: Model) -> None:
    """Remember already-loaded related objects on `instance` (as `select_related` would), so
    reading `instance.<name>` costs no query."""
    meta = instance._meta
    for name, obj in objects.items():
        meta.get_field(name).set_cached_value(instance, obj)  # type: ignore[union-attr]
