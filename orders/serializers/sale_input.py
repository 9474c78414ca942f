"""The body of `POST /api/v1/orders/`, parsed: `OrderCreateInputSerializer` defines a valid sale
(its declared fields are every rule, limit and default, and the OpenAPI schema), and the plain
bodies registers send are read by a parser compiled once from those same fields
(`apitools.plain_input`), which leaves everything else — every invalid body and every
lenient form the serializer accepts — to the serializer itself.

Running the serializer costs a sale about a millisecond of Python (bench/RESULTS.md); the
compiled parser a few tens of microseconds. tests/orders/test_sale_input.py checks the two
against each other over generated bodies, valid and not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from apitools.plain_input import NotPlain, plain_parser
from orders.serializers.sales import (
    OrderCreateInputSerializer,
    exchange_return_requests,
    payment_requests,
    sale_line_requests,
)
from orders.services.refunds import ExchangeReturnRequest
from orders.services.sales import PaymentRequest, SaleLineRequest

_plain_body = plain_parser(OrderCreateInputSerializer)


@dataclass(frozen=True, slots=True)
class SaleInput:
    register: int
    lines: list[SaleLineRequest] | None  # None: the held order's
    payments: list[PaymentRequest]
    discount: Decimal | None  # None: 0, or the held order's
    client_created_at: datetime | None
    offline: bool
    held_order: int | None
    returns: list[ExchangeReturnRequest]  # an exchange: lines of earlier orders given back
    customer: int | None  # None: none, or the held order's


def parse_sale_input(data: Any) -> SaleInput:
    """The validated sale body; raises the serializer's `ValidationError` when it is invalid."""
    try:
        return _plain(data)
    except NotPlain:
        return _validated(data)


def _validated(data: Any) -> SaleInput:
    """The serializer's path (every error is its own)."""
    serializer = OrderCreateInputSerializer(data=data)
    serializer.is_valid(raise_exception=True)
    return _sale_input(serializer.validated_data)


def _plain(data: Any) -> SaleInput:
    """The compiled path; `NotPlain` when the serializer must decide."""
    return _sale_input(_plain_body(data))


def _sale_input(validated: dict[str, Any]) -> SaleInput:
    return SaleInput(
        register=validated["register"],
        lines=sale_line_requests(validated["lines"]) if "lines" in validated else None,
        payments=payment_requests(validated["payments"]),
        discount=validated.get("discount"),
        client_created_at=validated["client_created_at"],
        offline=validated["offline"],
        held_order=validated["held_order"],
        returns=exchange_return_requests(validated.get("returns", [])),
        customer=validated["customer"],
    )
