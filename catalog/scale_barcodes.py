"""Scale labels: EAN-13 barcodes starting with `2` whose digits carry an item code and a price
or a weight, laid out as the store configures (`Store.scale_barcode_layout`, e.g.
`"20IIIIIPPPPPC"`). Pure functions: no database, no settings."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import SCALE_BARCODE_LAYOUT
from domain.errors import InvalidInput
from money.currencies import minor_units

__all__ = [
    "ScaleBarcode",
    "ScaleLayout",
    "ean13_check_digit",
    "scale_barcode_parse",
    "scale_layout",
]

_WEIGHT_PLACES = 3  # grams → kilograms


@dataclass(frozen=True, slots=True)
class ScaleLayout:
    """Where a layout's parts sit: `prefix` is the literal start; the others are slices."""

    prefix: str
    item: slice
    value: slice
    kind: str  # "P" price, "W" weight


@dataclass(frozen=True, slots=True)
class ScaleBarcode:
    """What a scale label says: its item code and either the price or the quantity (kg)."""

    item_code: str
    price: Decimal | None = None
    quantity: Decimal | None = None


def ean13_check_digit(first12: str) -> str:
    """The EAN-13 check digit of 12 digits: weights 1, 3, 1, 3 … from the left."""
    if len(first12) != 12 or not first12.isdigit():
        raise ValueError("twelve digits expected")
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(first12))
    return str(-total % 10)


def scale_layout(layout: str) -> ScaleLayout | None:
    """The parts of a valid layout (`accounts.models.validate_scale_barcode_layout`), else
    `None`."""
    match = SCALE_BARCODE_LAYOUT.match(layout) if len(layout) == 13 else None
    if match is None:
        return None
    prefix = match.group(1)
    kind = "P" if "P" in layout else "W"
    item_start, value_start = layout.find("I"), layout.find(kind)
    item = slice(item_start, item_start + layout.count("I"))
    value = slice(value_start, value_start + layout.count(kind))
    return ScaleLayout(prefix=prefix, item=item, value=value, kind=kind)


def scale_barcode_parse(barcode: str, layout: str, *, currency: str = "USD") -> ScaleBarcode | None:
    """The scale label `barcode` read with `layout`; `None` when it is not one (not 13 digits,
    no layout, another prefix). A label whose check digit is wrong is refused (`InvalidInput`
    on `barcode`): a misread must not sell the wrong item or price. A price is in `currency`'s
    minor units; a weight in grams becomes kilograms with three decimals."""
    parts = scale_layout(layout) if layout else None
    if parts is None or len(barcode) != 13 or not barcode.isdigit():
        return None
    if not barcode.startswith(parts.prefix):
        return None
    if ean13_check_digit(barcode[:12]) != barcode[12]:
        raise InvalidInput(errors={"barcode": ["The scale barcode's check digit is wrong."]})
    item_code = barcode[parts.item]
    digits = int(barcode[parts.value])
    if parts.kind == "P":
        return ScaleBarcode(
            item_code=item_code, price=Decimal(digits).scaleb(-minor_units(currency))
        )
    return ScaleBarcode(item_code=item_code, quantity=Decimal(digits).scaleb(-_WEIGHT_PLACES))
