"""The body of `POST /api/v1/orders/`, parsed: a plain fast path for the usual well-formed body,
and `OrderCreateInputSerializer` for everything else.

The DRF serializer stays the definition of a valid sale (and the OpenAPI schema): it owns every
error message, every lenient form it accepts (numbers for decimals, surrounding whitespace,
`"true"` for a boolean, timestamps) and the defaults. Running it costs a sale about a millisecond
of Python (it deep-copies its declared fields per request and walks them through validators),
which is worth saving on the path every register takes hundreds of times an hour. So a body in
the canonical shape registers send — integers for ids, decimals as plain digit strings within
their places, known payment methods, trimmed short texts — is read directly here, and anything
else, including every invalid body, goes to the serializer. `parse_sale_input` therefore returns
exactly what the serializer would (tests/orders/test_sale_input.py checks the two against each
other over generated bodies, valid and not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from orders.models import PaymentMethod
from orders.serializers.sales import MAX_PAYMENTS, MAX_QUANTITY, OrderCreateInputSerializer
from orders.services.sales import MAX_ORDER_AMOUNT, PaymentRequest, SaleLineRequest
from posproject.money import (
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    QUANTITY_DECIMAL_PLACES,
    QUANTITY_MAX_DIGITS,
    ZERO,
)

_MAX_ID = 2**63 - 1
_MIN_QUANTITY = Decimal("0.001")
_METHODS = frozenset(PaymentMethod.values)
_CARD_LAST4 = re.compile(r"[0-9]{4}")
#: Characters the serializer's CharField refuses (NUL, surrogates); such text takes its path.
_REFUSED_CHARS = re.compile("[\x00\ud800-\udfff]")
_REFERENCE_MAX = 64


def _decimal_re(max_digits: int, places: int) -> re.Pattern[str]:
    whole = max_digits - places
    return re.compile(rf"(?:0|[1-9][0-9]{{0,{whole - 1}}})(?:\.[0-9]{{1,{places}}})?")


_MONEY_RE = _decimal_re(MONEY_MAX_DIGITS, MONEY_DECIMAL_PLACES)
_QUANTITY_RE = _decimal_re(QUANTITY_MAX_DIGITS, QUANTITY_DECIMAL_PLACES)
_CENT = Decimal(1).scaleb(-MONEY_DECIMAL_PLACES)
_MILLI = Decimal(1).scaleb(-QUANTITY_DECIMAL_PLACES)


class _NotPlain(Exception):
    """The body is not in the plain shape: let the serializer decide."""


@dataclass(frozen=True, slots=True)
class SaleInput:
    register: int
    lines: list[SaleLineRequest]
    payments: list[PaymentRequest]
    discount: Decimal
    client_created_at: datetime | None
    offline: bool


def parse_sale_input(data: Any) -> SaleInput:
    """The validated sale body; raises the serializer's `ValidationError` when it is invalid."""
    try:
        return _plain(data)
    except _NotPlain:
        return _validated(data)


def _validated(data: Any) -> SaleInput:
    """The serializer's path (every error is its own)."""
    serializer = OrderCreateInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    validated = serializer.validated_data
    return SaleInput(
        register=validated["register"],
        lines=serializer.line_requests(),
        payments=serializer.payment_requests(),
        discount=validated["discount"],
        client_created_at=validated["client_created_at"],
        offline=validated["offline"],
    )


def _plain(data: Any) -> SaleInput:
    if type(data) is not dict:
        raise _NotPlain
    lines = data.get("lines")
    payments = data.get("payments")
    if type(lines) is not list or not 0 < len(lines) <= settings.API_MAX_ORDER_LINES:
        raise _NotPlain
    if type(payments) is not list or len(payments) > MAX_PAYMENTS:
        raise _NotPlain
    if data.get("client_created_at") is not None:
        raise _NotPlain
    offline = data.get("offline", False)
    if type(offline) is not bool:
        raise _NotPlain
    return SaleInput(
        register=_id(data.get("register")),
        lines=[_line(line) for line in lines],
        payments=[_payment(payment) for payment in payments],
        discount=_money(data["discount"]) if "discount" in data else ZERO,
        client_created_at=None,
        offline=offline,
    )


def _line(line: Any) -> SaleLineRequest:
    if type(line) is not dict:
        raise _NotPlain
    quantity = line.get("quantity")
    if type(quantity) is not str or not _QUANTITY_RE.fullmatch(quantity):
        raise _NotPlain
    value = Decimal(quantity).quantize(_MILLI)
    if not _MIN_QUANTITY <= value <= MAX_QUANTITY:
        raise _NotPlain
    return SaleLineRequest(
        product_id=_id(line.get("product")),
        quantity=value,
        discount=_money(line["discount"]) if "discount" in line else ZERO,
    )


def _payment(payment: Any) -> PaymentRequest:
    if type(payment) is not dict:
        raise _NotPlain
    method = payment.get("method")
    if type(method) is not str or method not in _METHODS:
        raise _NotPlain
    tendered = payment.get("tendered")
    reference = payment.get("reference", "")
    card_last4 = payment.get("card_last4", "")
    if (
        type(reference) is not str
        or len(reference) > _REFERENCE_MAX
        or reference != reference.strip()
        or _REFUSED_CHARS.search(reference)
    ):
        raise _NotPlain
    if type(card_last4) is not str or (card_last4 and not _CARD_LAST4.fullmatch(card_last4)):
        raise _NotPlain
    return PaymentRequest(
        method=method,
        amount=_money(payment.get("amount")),
        tendered=None if tendered is None else _money(tendered),
        reference=reference,
        card_last4=card_last4,
    )


def _id(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= _MAX_ID:
        raise _NotPlain
    return value


def _money(value: Any) -> Decimal:
    if type(value) is not str or not _MONEY_RE.fullmatch(value):
        raise _NotPlain
    amount = Decimal(value).quantize(_CENT)
    if amount > MAX_ORDER_AMOUNT:
        raise _NotPlain
    return amount
