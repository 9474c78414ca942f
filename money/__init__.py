"""Money and quantity primitives. Money is `Decimal`, never a float. An amount belongs to a
currency and is rounded half-up to that currency's minor unit (`money.currencies.round_money`:
USD 0.01, JPY 1, KWD 0.001); columns keep `MONEY_DECIMAL_PLACES` (3) decimals so that every
accepted currency fits. `round_cents` is the two-decimal case (USD, EUR …). The model and
serializer fields built on these precisions are in `money.fields`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
MILLI = Decimal("0.001")
ZERO = Decimal("0.00")

MONEY_MAX_DIGITS = 15
MONEY_DECIMAL_PLACES = 3
QUANTITY_MAX_DIGITS = 12
QUANTITY_DECIMAL_PLACES = 3
RATE_MAX_DIGITS = 6
RATE_DECIMAL_PLACES = 3


def round_cents(value: Decimal) -> Decimal:
    """Round half-up to the cent (the contract's `round`)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def rate_fraction(rate_percent: Decimal) -> Decimal:
    """`"8.250"` (per cent) → `Decimal("0.0825")`."""
    return rate_percent / Decimal(100)
