"""The one definition of the money, quantity and rate fields: model fields for the columns and
serializer fields for the API, both from the precisions in `money`.

Money in the API has its currency's minor units (`"100"` JPY, `"12.50"` USD, `"1.250"` KWD). An
`AmountField` renders with the currency of the nearest enclosing serializer that is
`CurrencyScoped` (an order its `currency`, a shift its store's …), read when that serializer
renders an instance; catalog prices, which belong to no store, render with two decimals, or
three when they have a third (`CatalogPriceField`). On input every money field takes up to
`MONEY_DECIMAL_PLACES` decimals; the services refuse more than the store's currency allows
(`money.currencies.fits_currency`).

The model fields are classes (migrations refer to them by path); the serializer fields are
factories that take DRF's keyword arguments (`read_only`, `min_value`, `help_text` …).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

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
from money.currencies import quantum

__all__ = [
    "AmountField",
    "CatalogPriceField",
    "CurrencyScoped",
    "MoneyField",
    "QuantityField",
    "RateField",
    "amount_text",
    "catalog_price_field",
    "catalog_price_text",
    "money_field",
    "quantity_field",
    "rate_field",
]


class MoneyField(models.DecimalField):
    """A `DecimalField` with the project's money precision (three decimals: every accepted
    currency's minor units fit)."""

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


TWO_PLACES = Decimal("0.01")
THREE_PLACES = Decimal("0.001")


class CurrencyScoped(serializers.Serializer):
    # Mix into a serializer whose instances carry a currency (first in the bases): its
    # `AmountField`s, and those of the serializers nested in it, render with that currency's
    # minor units. `currency_source` is the attribute path (or mapping key) of the currency
    # code; an instance without one leaves the enclosing serializer's currency in force. (No
    # docstring: the OpenAPI schema would take it as every subclass's description.)

    currency_source: ClassVar[str] = "currency"

    def to_representation(self, instance: Any) -> Any:
        code = currency_of(instance, self.currency_source)
        if code is not None:
            self._amount_quantum = quantum(code)
        return super().to_representation(instance)


def currency_of(instance: Any, source: str) -> str | None:
    """The currency code at `source` (`"currency"`, `"store.currency"`) of an instance or a
    mapping, or None."""
    value: Any = instance
    for part in source.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
    return value if isinstance(value, str) else None


def enclosing_quantum(field: serializers.Field) -> Decimal | None:
    """The quantum set by the nearest `CurrencyScoped` serializer around `field` (or the
    serializer context's `currency`), None when there is none."""
    node: Any = field.parent
    while node is not None:
        found = node.__dict__.get("_amount_quantum")
        if found is not None:
            return found  # type: ignore[no-any-return]
        node = node.parent
    code = field.context.get("currency")
    return quantum(code) if isinstance(code, str) else None


class AmountField(serializers.DecimalField):
    """Money of one currency: up to `MONEY_DECIMAL_PLACES` decimals in, the currency's minor
    units out (see the module docstring). Without an enclosing currency it renders with two
    decimals (the v1.0 contract's shape)."""

    def to_representation(self, value: Any) -> str:
        return amount_text(value, enclosing_quantum(self) or TWO_PLACES)


def amount_text(value: Any, places: Decimal) -> str:
    """An amount as the API writes it: rounded half-up to `places`, no exponent."""
    if not isinstance(value, Decimal):
        value = Decimal(str(value).strip())
    return f"{value.quantize(places, rounding=ROUND_HALF_UP):f}"


class CatalogPriceField(serializers.DecimalField):
    """A catalog price or cost (no store, so no currency): two decimals, three when the third is
    significant (a price meant for a three-decimal currency)."""

    def to_representation(self, value: Any) -> str:
        return catalog_price_text(value)


def catalog_price_text(value: Any) -> str:
    """A catalog price as the API and the admin write it: two decimals, or three when the third
    is significant."""
    if not isinstance(value, Decimal):
        value = Decimal(str(value).strip())
    value = value.quantize(THREE_PLACES, rounding=ROUND_HALF_UP)
    two = value.quantize(TWO_PLACES)
    return f"{two if two == value else value:f}"


def money_field(**kwargs: Any) -> AmountField:
    """Money in the API (`AmountField`). Sums wider than one column (the ledger's balances)
    pass their own `max_digits`."""
    kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
    return AmountField(decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


def catalog_price_field(**kwargs: Any) -> CatalogPriceField:
    """A catalog price or cost in the API (`CatalogPriceField`)."""
    kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
    return CatalogPriceField(decimal_places=MONEY_DECIMAL_PLACES, **kwargs)


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
