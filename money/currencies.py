"""ISO 4217 minor units: how many decimals a currency's money carries (USD 2, JPY 0, KWD 3).

A store's currency decides the precision of every amount that belongs to it — prices that apply
there, totals, payments, ledger lines — and the number of decimals the API renders. Columns hold
`MONEY_DECIMAL_PLACES` (3) so that every supported currency fits; `quantum(code)` is what an
amount of that currency is rounded (half-up) to.

The table lists the ISO 4217 currencies whose minor unit is not 2 (list one, as published by the
maintenance agency, SIX); every other three-letter code in `CURRENCY_CODES` has 2. Currencies
with 4 decimals (CLF, UYW) are units of account, not cash a register takes, and are not
accepted as a store currency.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError

#: ISO 4217 minor units other than 2, for the active codes.
_MINOR_UNITS_NOT_TWO: dict[str, int] = {
    # 0 decimals
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # 3 decimals
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
}

#: The active ISO 4217 codes a store may use (funds codes and precious metals left out).
CURRENCY_CODES: frozenset[str] = frozenset(
    [
        "AED",
        "AFN",
        "ALL",
        "AMD",
        "ANG",
        "AOA",
        "ARS",
        "AUD",
        "AWG",
        "AZN",
        "BAM",
        "BBD",
        "BDT",
        "BGN",
        "BHD",
        "BIF",
        "BMD",
        "BND",
        "BOB",
        "BRL",
        "BSD",
        "BTN",
        "BWP",
        "BYN",
        "BZD",
        "CAD",
        "CDF",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CRC",
        "CUP",
        "CVE",
        "CZK",
        "DJF",
        "DKK",
        "DOP",
        "DZD",
        "EGP",
        "ERN",
        "ETB",
        "EUR",
        "FJD",
        "FKP",
        "GBP",
        "GEL",
        "GHS",
        "GIP",
        "GMD",
        "GNF",
        "GTQ",
        "GYD",
        "HKD",
        "HNL",
        "HTG",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "IQD",
        "IRR",
        "ISK",
        "JMD",
        "JOD",
        "JPY",
        "KES",
        "KGS",
        "KHR",
        "KMF",
        "KPW",
        "KRW",
        "KWD",
        "KYD",
        "KZT",
        "LAK",
        "LBP",
        "LKR",
        "LRD",
        "LSL",
        "LYD",
        "MAD",
        "MDL",
        "MGA",
        "MKD",
        "MMK",
        "MNT",
        "MOP",
        "MRU",
        "MUR",
        "MVR",
        "MWK",
        "MXN",
        "MYR",
        "MZN",
        "NAD",
        "NGN",
        "NIO",
        "NOK",
        "NPR",
        "NZD",
        "OMR",
        "PAB",
        "PEN",
        "PGK",
        "PHP",
        "PKR",
        "PLN",
        "PYG",
        "QAR",
        "RON",
        "RSD",
        "RUB",
        "RWF",
        "SAR",
        "SBD",
        "SCR",
        "SDG",
        "SEK",
        "SGD",
        "SHP",
        "SLE",
        "SOS",
        "SRD",
        "SSP",
        "STN",
        "SVC",
        "SYP",
        "SZL",
        "THB",
        "TJS",
        "TMT",
        "TND",
        "TOP",
        "TRY",
        "TTD",
        "TWD",
        "TZS",
        "UAH",
        "UGX",
        "USD",
        "UYU",
        "UZS",
        "VES",
        "VND",
        "VUV",
        "WST",
        "XAF",
        "XCD",
        "XCG",
        "XOF",
        "XPF",
        "YER",
        "ZAR",
        "ZMW",
        "ZWG",
    ]
)

#: The largest number of decimals any accepted currency has: the columns' scale.
MAX_MINOR_UNITS = 3


def validate_currency(code: str) -> None:
    """Django validator: a store currency must be an accepted ISO 4217 code."""
    if code not in CURRENCY_CODES:
        raise ValidationError(
            f"{code!r} is not an ISO 4217 currency code accepted here (such as USD, EUR, JPY).",
            code="invalid_currency",
        )


def minor_units(code: str) -> int:
    """The currency's number of decimals (`"JPY"` → 0, `"KWD"` → 3, `"USD"` → 2). A code that
    is not accepted (a store saved before codes were checked) has ISO 4217's usual 2: reading
    its records must not fail; `validate_currency` keeps new ones out."""
    return _MINOR_UNITS_NOT_TWO.get(code, 2)


@functools.cache
def quantum(code: str) -> Decimal:
    """The smallest amount of the currency: `Decimal("1")`, `"0.01"`, `"0.001"`."""
    return Decimal(1).scaleb(-minor_units(code))


def round_money(value: Decimal, code: str) -> Decimal:
    """Round half-up to the currency's minor unit (the contract's `round`)."""
    return value.quantize(quantum(code), rounding=ROUND_HALF_UP)


def fits_currency(value: Decimal, code: str) -> bool:
    """True when `value` has no significant decimals beyond the currency's minor unit
    (`"100.00"` fits JPY, `"100.50"` does not)."""
    return value == value.quantize(quantum(code), rounding=ROUND_HALF_UP)
