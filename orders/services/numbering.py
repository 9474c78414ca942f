"""Order and refund numbers: one counter row per register (`RegisterSequence`), one column per
kind of document, and one statement shape for both.

`<register code>-<letter><6 digits>`: `R01-000042` for the 42nd sale of register `R01`,
`R01-R000007` for its 7th refund; past 999999 the number simply grows a digit. The counter row
is taken with `INSERT … ON CONFLICT DO UPDATE … RETURNING`, which creates it on the register's
first document and otherwise increments it under its row lock, held until the caller's
transaction ends: numbers are gapless (a rolled-back sale or refund gives its number back) and
two documents of one register can never share one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from django.db import connection

from dbtools.rows import column, qn, table
from orders.models import RegisterSequence

__all__ = ["DocumentKind", "counters_lock", "next_number", "number_cte"]

DocumentKind = Literal["order", "refund"]

#: kind → (counter column, letter before the digits)
_COUNTERS: dict[DocumentKind, tuple[str, str]] = {
    "order": ("last_order_number", ""),
    "refund": ("last_refund_number", "R"),
}


def number_cte(kind: DocumentKind) -> str:
    """`number AS (…)`, a CTE yielding the register's next `sequence` and `number` of `kind`.
    Parameters: `%(register_id)s`, `%(register_code)s`."""
    counter_column, letter = _COUNTERS[kind]
    counters = [f for f in RegisterSequence._meta.concrete_fields if not f.primary_key]
    register = column(RegisterSequence._meta.pk)  # type: ignore[arg-type]
    counter = qn(counter_column)
    first = ", ".join("1" if f.column == counter_column else "0" for f in counters)
    return f"""number AS (
    INSERT INTO {table(RegisterSequence)} ({register}, {", ".join(column(f) for f in counters)})
    VALUES (%(register_id)s, {first})
    ON CONFLICT ({register}) DO UPDATE SET {counter} = {table(RegisterSequence)}.{counter} + 1
    RETURNING {counter} AS sequence,
        %(register_code)s || '-{letter}' || CASE WHEN {counter} < 1000000
            THEN lpad({counter}::text, 6, '0') ELSE {counter}::text END AS number
)"""  # noqa: S608  # nosec B608


def next_number(*, kind: DocumentKind, register_id: int, register_code: str) -> tuple[int, str]:
    """Take the register's next (sequence, number) of `kind` (see the module docstring). The
    sale takes its number inside its one insert statement instead, through the same
    `number_cte`."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {number_cte(kind)} SELECT sequence, number FROM number",  # noqa: S608  # nosec B608
            {"register_id": register_id, "register_code": register_code},
        )
        sequence, number = cursor.fetchone()
    return int(sequence), number


def counters_lock(register_ids: Iterable[int]) -> None:
    """Lock the existing counter rows of these registers in register-id order (one query). For
    a transaction that numbers documents of several registers (an exchange: the sale on its own
    register, a refund on each returned order's register), so that two such transactions take
    the rows in the same order instead of deadlocking."""
    list(
        RegisterSequence.objects.select_for_update()
        .filter(pk__in=sorted(set(register_ids)))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
