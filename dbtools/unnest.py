"""Many rows of one model in one `INSERT`: one array parameter per column, `unnest()`ed.

    INSERT INTO <table> (<columns>) SELECT … FROM unnest(%(p_a)s::numeric[], …) AS p

`UnnestInsert(Model, prefix=…)` takes the table, the columns (every concrete field but the
auto id) and each column's array type from the model, so a column added to the model is
inserted — with its default when the caller does not give it — without touching the
statement. Columns the statement fills itself (an id returned by an earlier CTE) are named in
`from_statement` and come first. The arrays are `dbtools.pgarray` literals: one text parameter
each, not a list psycopg adapts element by element.

The rows are plain mappings `attname → value`; `saved()` builds the inserted instances through
`Model.from_db`, as if they had been read back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Field, Model

from dbtools.pgarray import pg_array
from dbtools.rows import column, table

__all__ = [
    "UnnestInsert",
    "array_type",
    "fill_defaults",
    "insert_fields",
    "saved_one",
    "scalar_type",
]

M = TypeVar("M", bound=Model)

_TYPE_MODIFIER = re.compile(r"\(.*\)")


def scalar_type(field: Field[Any, Any]) -> str:
    """The column's SQL type without its modifier: `numeric(14, 2)` → `numeric`, `varchar(64)`
    → `varchar`. Without the modifier a cast cannot round or cut a value: the column's own type
    checks it on insert, as for any other write."""
    return _TYPE_MODIFIER.sub("", field.db_type(connection) or "")


def array_type(field: Field[Any, Any]) -> str:
    """`scalar_type` as an array: `numeric[]`."""
    return scalar_type(field) + "[]"


def insert_fields(model: type[Model], *, exclude: Sequence[str] = ()) -> list[Field[Any, Any]]:
    """The model's concrete fields an insert writes: all but the auto id and `exclude`."""
    meta = model._meta
    return [
        field
        for field in meta.concrete_fields
        if field is not meta.auto_field and field.name not in exclude
    ]


def fill_defaults(fields: Sequence[Field[Any, Any]], row: MutableMapping[str, Any]) -> None:
    """Give each field `row` leaves out its default, as `Model()` would."""
    for field in fields:
        if field.attname not in row:
            row[field.attname] = field.get_default()


class UnnestInsert(Generic[M]):
    def __init__(self, model: type[M], *, prefix: str, from_statement: Sequence[str] = ()) -> None:
        meta = model._meta
        self.model = model
        self.prefix = prefix
        self.table = table(model)
        self.statement_fields = [meta.get_field(name) for name in from_statement]
        self.fields = insert_fields(model, exclude=from_statement)
        self._names = [field.attname for field in meta.concrete_fields]
        self._pk = meta.pk.attname  # type: ignore[union-attr]

    @property
    def columns(self) -> str:
        """`"order_id", "position", …`: the statement's columns first, then the arrays'."""
        return ", ".join(column(f) for f in (*self.statement_fields, *self.fields))  # type: ignore[arg-type]

    @property
    def unnest(self) -> str:
        """`unnest(%(p_a)s::numeric[], …)`, one array per column of `fields`."""
        arrays = ", ".join(
            f"%({self.prefix}_{field.attname})s::{array_type(field)}" for field in self.fields
        )
        return f"unnest({arrays})"

    def params(self, rows: Sequence[MutableMapping[str, Any]]) -> dict[str, str]:
        """One array literal per column; a column a row leaves out gets the field's default
        (written into the row, so `saved()` sees it too)."""
        if rows:
            # The rows of one statement are built alike: the first tells which columns are left.
            missing = [field for field in self.fields if field.attname not in rows[0]]
            for row in rows:
                fill_defaults(missing, row)
        return {
            f"{self.prefix}_{field.attname}": pg_array(row[field.attname] for row in rows)
            for field in self.fields
        }

    def saved(
        self, rows: Sequence[MutableMapping[str, Any]], ids: Sequence[int], **values: Any
    ) -> list[M]:
        """The inserted rows as instances (`Model.from_db`), with their ids and the
        statement-filled `values` (e.g. `order_id=…`)."""
        instances = []
        for row, row_id in zip(rows, ids, strict=True):
            row[self._pk] = row_id
            row.update(values)
            instances.append(
                self.model.from_db(connection.alias, self._names, [row[n] for n in self._names])
            )
        return instances


def saved_one(model: type[M], row: Mapping[str, Any]) -> M:
    """One inserted row (every concrete attname in `row`) as an instance (`Model.from_db`)."""
    names = [field.attname for field in model._meta.concrete_fields]
    return model.from_db(connection.alias, names, [row[name] for name in names])
