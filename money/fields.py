"""The one definition of the money, quantity and rate fields: model fields for the columns and
serializer fields for the API, both from the precisions in `money`.

The model fields are classes (migrations refer to them by path); the serializer fields are
factories that take DRF's keyword arguments (`read_only`, `min_value`, `help_text` …).
"""

from __future__ import annotations

from typing import Any

from django.db import models
from rest_framework import serializers

from money import (
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    QUANTITY_DECIMAL_PLACES,
    QUANTITY_MAX_DIGITS,
    RATE_DECIMAL_PLACES,
    RATE_MAX_DIGITS,
)

__all__ = [
    "MoneyField",
    "QuantityField",
    "RateField",
    "money_field",
    "quantity_field",
    "rate_field",
]


class MoneyField(models.DecimalField):
    """A `DecimalField` with the project's money precision (cents)."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


class QuantityField(models.DecimalField):
    """A `DecimalField` for quantities: up to three decimals (`1.250` kg)."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max_digits", QUANTITY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", QUANTITY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


class RateField(models.DecimalField):
    """A tax rate in per cent with three decimals (`8.250` is 8.25 %)."""

    def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max_digits", RATE_MAX_DIGITS)
        kwargs.setdefault("decimal_places", RATE_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)


def money_field(**kwargs: Any) -> serializers.DecimalField:
    """Money in the API: a string with exactly two decimals (`"12.50"`). Sums wider than one
    column (the ledger's balances) pass their own `max_digits`."""
    kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
    return serializers.DecimalField(decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


def quantity_field(**kwargs: Any) -> serializers.DecimalField:
    """A quantity in the API: a string with three decimals (`"1.250"`)."""
    return serializers.DecimalField(
        max_digits=QUANTITY_MAX_DIGITS, decimal_places=QUANTITY_DECIMAL_PLACES, **kwargs
    )


def rate_field(**kwargs: Any) -> serializers.DecimalField:
    """A tax rate in per cent in the API: a string with three decimals (`"8.250"`)."""
    return serializers.DecimalField(
        max_digits=RATE_MAX_DIGITS, decimal_places=RATE_DECIMAL_PLACES, **kwargs
    )
