"""The hand-written statements of the hot paths insert every column of their models.

Their column lists come from the models (`dbtools`), but a statement could still be written
with a column missing; this parses the statements as they are sent and compares each
`INSERT INTO <table> (<columns>)` with the model's concrete fields. A model that gains a column
fails here until the statement writes it (or the column is listed below, with the reason).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection

from audit.models import AuditChainAnchor, AuditChainHead, AuditEvent
from audit.services import _append_sql
from catalog.models import Product, StockMovement
from catalog.services.products import BULK_UPDATE_KEEPS, _bulk_update_sql
from catalog.services.stock import _write_statement
from dbtools.unnest import UnnestInsert, array_type, insert_fields
from ledger.models import JournalEntry, JournalLine
from ledger.services import _entry_statement
from orders.models import Order, OrderLine, Payment, RegisterSequence
from orders.services.numbering import number_cte
from orders.services.sales import _order_statement

#: (table, column) → why a statement may leave it out. Empty: every statement writes every column.
NOT_INSERTED: dict[tuple[str, str], str] = {}

_INSERT = re.compile(r'INSERT INTO "(\w+)" \(([^)]*)\)')


def _inserted_columns(sql: str) -> dict[str, set[str]]:
    inserted: dict[str, set[str]] = {}
    for table, columns in _INSERT.findall(sql):
        inserted[table] = {name.strip().strip('"') for name in columns.split(",")}
    return inserted


def _model_columns(table: str) -> set[str]:
    [model] = [m for m in apps.get_models() if m._meta.db_table == table]
    meta = model._meta
    return {
        field.column
        for field in meta.concrete_fields
        if field is not meta.auto_field and (table, field.column) not in NOT_INSERTED
    }


STATEMENTS = {
    "sale (number, order, lines, payments)": (
        lambda: _order_statement()[0],
        {RegisterSequence, Order, OrderLine, Payment},
    ),
    "refund number": (lambda: f"WITH {number_cte('refund')} SELECT 1", {RegisterSequence}),
    "stock write (movements)": (lambda: _write_statement()[0], {StockMovement}),
    "journal entry with lines": (lambda: _entry_statement()[0], {JournalEntry, JournalLine}),
    "audit append": (_append_sql, {AuditEvent, AuditChainAnchor}),
}


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_every_insert_writes_every_column_of_its_model(name: str) -> None:
    build, models = STATEMENTS[name]
    inserted = _inserted_columns(build())
    assert set(inserted) == {model._meta.db_table for model in models}
    for table, columns in inserted.items():
        assert columns == _model_columns(table), table


def test_the_product_import_updates_every_column_but_its_key_and_creation_time() -> None:
    sql, attnames = _bulk_update_sql(2)
    set_clause = sql[sql.index(" SET ") : sql.index(" FROM ")]
    assigned = set(re.findall(r'"(\w+)" = v\.', set_clause))
    every = {f.column for f in Product._meta.concrete_fields if f is not Product._meta.auto_field}
    assert (
        assigned
        == every - set(BULK_UPDATE_KEEPS)
        == {
            Product._meta.get_field(name).column
            for name in attnames  # type: ignore[union-attr]
        }
    )
    assert set(BULK_UPDATE_KEEPS) == {"sku", "created_at"}


def test_the_check_notices_a_forgotten_column() -> None:
    sql = _entry_statement()[0].replace(', "memo"', "", 1)
    inserted = _inserted_columns(sql)
    assert inserted["ledger_journalentry"] != _model_columns("ledger_journalentry")


def test_unnest_insert_takes_its_columns_and_types_from_the_model() -> None:
    lines = UnnestInsert(JournalLine, prefix="line", from_statement=("entry", "created_at"))
    assert lines.table == '"ledger_journalline"'
    assert lines.columns == '"entry_id", "created_at", "account_id", "debit", "credit"'
    assert lines.unnest == (
        "unnest(%(line_account_id)s::bigint[], %(line_debit)s::numeric[], "
        "%(line_credit)s::numeric[])"
    )
    assert [f.attname for f in insert_fields(AuditChainHead)] == [
        "chain",
        "last_hash",
        "last_event_id",
        "length",
    ]
    assert array_type(Order._meta.get_field("number")) == "varchar[]"  # type: ignore[arg-type]


def test_unnest_insert_fills_defaults_and_builds_saved_instances() -> None:
    payments = UnnestInsert(Payment, prefix="payment", from_statement=("order",))
    rows = [
        {
            "method": "cash",
            "amount": Decimal("1.00"),
            "tendered": None,
            "change": Decimal("0"),
            "reference": "",
            "card_last4": "",
        }
    ]
    params = payments.params(rows)
    default = Payment._meta.get_field("refunded_amount").get_default()
    assert params["payment_refunded_amount"] == f"{{{default}}}"  # the field's default
    [payment] = payments.saved(rows, [7], order_id=3)
    assert (payment.pk, payment.order_id, payment.refunded_amount) == (7, 3, default)
    assert not payment._state.adding
    assert payment._state.db == connection.alias
