"""PostgreSQL array literals, rendered in one pass for the hot paths' hand-written statements.

A list passed as a query parameter is adapted by psycopg element by element (find the element
type, pick a dumper, dump and quote each value). A sale passes about fifty short arrays (its
lines, payments, stock changes and journal lines as `unnest()` columns), and that adaptation
was the largest single piece of Python in a sale. Here the whole array becomes one text
parameter, `'{…}'`, cast in SQL (`%s::numeric[]`), which psycopg quotes as one string.

Every element is written inside double quotes with `\\` and `"` escaped, so no value can end
the element or the array early; `None` is `NULL`. The text is still a bound parameter: psycopg
quotes it as a literal (client-side binding) or sends it apart from the statement (server-side).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

__all__ = ["pg_array"]


def _element(value: object) -> str:
    if value is None:
        return "NULL"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return f'"{value.isoformat()}"'
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | dict):
        # A `jsonb[]` element: its JSON text (strings and numbers only, no Decimal).
        return _element(json.dumps(value, separators=(",", ":")))
    raise TypeError(f"pg_array: unsupported element type {type(value).__name__}")


def pg_array(values: Iterable[object]) -> str:
    """The array literal of `values` (None, bool, int, Decimal, date, datetime, str, or a list
    or dict as its JSON text), e.g.
    `{"a",NULL,"b \\"c\\""}`; cast it in SQL to the column's array type."""
    return "{" + ",".join(map(_element, values)) + "}"
