"""Field rendering written out once, for the hot serializers that render by hand.

DRF's generic `to_representation` deep-copies every declared field for each serializer instance
and walks them one by one; on a sale or a page of 200 products that costs more Python than the
work behind it. The serializers on those paths keep their declared fields (the contract and the
OpenAPI schema) and render through these functions instead, which return exactly what DRF's
fields return (each such serializer has a test comparing the two over every field).
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from decimal import Decimal

from django.utils import timezone

from posproject.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS

__all__ = ["datetime_text", "decimal_text", "money_text"]

_QUANTUM = {places: Decimal(1).scaleb(-places) for places in (2, 3)}


@functools.cache
def _context(max_digits: int) -> decimal.Context:
    context = decimal.getcontext().copy()
    context.prec = max_digits
    return context


def decimal_text(value: Decimal | None, places: int, max_digits: int) -> str | None:
    """DRF's `DecimalField.to_representation` with `COERCE_DECIMAL_TO_STRING` (quantized to
    `places` in a context of `max_digits`, formatted without exponent)."""
    if value is None:
        return None
    if not isinstance(value, Decimal):
        value = Decimal(str(value).strip())
    return f"{value.quantize(_QUANTUM[places], context=_context(max_digits)):f}"


def money_text(value: Decimal | None) -> str | None:
    return decimal_text(value, MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS)


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
