"""Gift card fixtures: the selling fixtures (a taxed product with stock, an open shift) and
helpers that issue a card and sell with one through the API."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Register
from tests.orders.conftest import open_shift, product, tax_rate, zero_rate  # noqa: F401

GIFT_CARDS_URL = "/api/v1/gift-cards/"
LOOKUP_URL = "/api/v1/gift-cards/lookup/"


def issue(
    client: APIClient,
    register: Register,
    amount: str = "50.00",
    payments: list[dict[str, Any]] | None = None,
    key: str | None = None,
) -> Any:
    return client.post(
        GIFT_CARDS_URL,
        {
            "register": register.pk,
            "amount": amount,
            "payments": payments
            if payments is not None
            else [{"method": "cash", "amount": amount}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def sell_with_card(
    client: APIClient,
    register: Register,
    item: Any,
    quantity: str,
    payments: list[dict[str, Any]],
    key: str | None = None,
) -> Any:
    return client.post(
        "/api/v1/orders/",
        {
            "register": register.pk,
            "lines": [{"product": item.pk, "quantity": quantity}],
            "payments": payments,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()),
    )


def money(value: str) -> Decimal:
    return Decimal(value)


@pytest.fixture
def gift_card_rates(settings: Any) -> Any:
    settings.GIFT_CARD_CODE_RATE_PER_USER = "3/5m"
    settings.GIFT_CARD_CODE_RATE_PER_IP = "100/5m"
    return settings
