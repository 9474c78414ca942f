"""Selling goes on when the cache/rate-limit store or the broker is down or hung: a sale is still
`201` within a few seconds, logins still work (the rate limiter fails open), and nothing the
request queues after commit can block or fail it."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.test import RequestFactory
from django_ratelimit.core import is_ratelimited
from rest_framework.test import APIClient

from accounts.models import Register, User
from catalog.models import Product
from orders.models import Order
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.factories import DEFAULT_PASSWORD
from tests.monitoring.conftest import redis_caches
from tests.monitoring.helpers import broker_at
from tests.orders.factories import open_shift_on

# A request may cost "a few seconds at most" (contract); a sale normally takes milliseconds.
BUDGET_S = 4.0


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sellable(store, register: Register, cashier: User) -> Product:
    """A 4.99 product at 0 % tax with stock, and an open shift on `register`."""
    product = ProductFactory(price=Decimal("4.99"), tax_rate=TaxRateFactory(rate=Decimal("0")))
    set_stock(store, product, 50)
    open_shift_on(register, cashier)
    return product


def sell_once(client: APIClient, register: Register, product: Product) -> tuple[Any, float]:
    body = {
        "register": register.pk,
        "lines": [{"product": product.pk, "quantity": "1"}],
        "payments": [{"method": "cash", "amount": "4.99", "tendered": "5.00"}],
    }
    started = time.monotonic()
    response = client.post(
        "/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    return response, time.monotonic() - started


@pytest.mark.parametrize("listener", ["dead_port", "hung_port"])
def test_sale_succeeds_with_redis_down_or_hung(
    request, settings, listener, cashier_client, register, sellable
) -> None:
    settings.CACHES = redis_caches(request.getfixturevalue(listener))
    for _ in range(2):  # the second sale too: nothing stays stuck after the first timeout
        response, elapsed = sell_once(cashier_client, register, sellable)
        assert response.status_code == 201, response.content
        assert elapsed < BUDGET_S, elapsed
    assert Order.objects.filter(register=register).count() == 2


@pytest.mark.parametrize("listener", ["dead_port", "hung_port"])
def test_sale_succeeds_with_the_broker_down_or_hung(
    request, listener, cashier_client, register, sellable
) -> None:
    port = request.getfixturevalue(listener)
    with broker_at(f"amqp://guest:guest@127.0.0.1:{port}//"):
        response, elapsed = sell_once(cashier_client, register, sellable)
    assert response.status_code == 201, response.content
    assert elapsed < BUDGET_S, elapsed


@pytest.mark.parametrize("listener", ["dead_port", "hung_port"])
def test_login_fails_open_when_the_rate_limit_store_is_down(
    request, settings, listener, cashier
) -> None:
    settings.CACHES = redis_caches(request.getfixturevalue(listener))
    started = time.monotonic()
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": cashier.username, "password": DEFAULT_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert time.monotonic() - started < BUDGET_S


def test_django_ratelimit_itself_fails_open(settings, dead_port) -> None:
    settings.CACHES = redis_caches(dead_port)
    http_request = RequestFactory().post("/api/v1/auth/token/")
    limited = [
        is_ratelimited(http_request, group="ops-test", key="ip", rate="1/m", increment=True)
        for _ in range(3)
    ]
    assert limited == [False, False, False]


def test_with_redis_back_the_limit_applies_again(settings) -> None:
    """The fail-open above is an outage mode, not a hole: with the cache answering, the same
    limiter refuses."""
    http_request = RequestFactory().post("/api/v1/auth/token/")
    limited = [
        is_ratelimited(http_request, group="ops-test-up", key="ip", rate="1/m", increment=True)
        for _ in range(3)
    ]
    assert limited == [False, True, True]
