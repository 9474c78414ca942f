"""Cells for the CSV and TSV files the project writes (the daily report, the product export).

Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or a carriage
return before one) as a formula: "CSV injection". Product names, SKUs and barcodes come from
people, so every text cell goes through `safe_cell`, which prefixes such a cell with `'` (shown as
text, the quote hidden). Numbers are left alone: `-1.50` is a refund, not a formula.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> str:
    """`value` as the text of one cell, neutralised if a spreadsheet would run it."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True
