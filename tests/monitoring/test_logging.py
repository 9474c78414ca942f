"""Structured logs: one JSON access line per request with the request context, slow-request
warnings, and no password, token or card number anywhere in what the process writes."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import path
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.views import APIView

from apitools.permissions import ALL_ROLES
from monitoring.context import bind_store
from posproject.logging import RedactSecretsFilter
from tests.factories import DEFAULT_PASSWORD

TEST_PAN = "4111111111111111"
NEW_PASSWORD = "an-entirely-new-passphrase-77"


class LogCapture:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def access(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["logger"] == "monitoring.access"]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    """What the configured console handler (JSON formatter, context and redaction filters)
    writes, captured instead of going to stderr."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield LogCapture(buffer)
    finally:
        handler.setStream(previous)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Access log ---------------------------------------------------------------------------------


def test_one_json_line_per_request_with_context(logs, client_for, cashier, store, settings) -> None:
    settings.SLOW_REQUEST_MS = 60_000  # the first request of a run loads the URLconf
    response = client_for(cashier).get(f"/api/v1/auth/me/?store={store.pk}&q=secret-ish")
    assert response.status_code == 200
    [line] = logs.access()
    assert line["level"] == "INFO"
    assert line["request_id"] == response["X-Request-ID"]
    assert line["user_id"] == cashier.pk
    assert line["store"] == store.pk
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/auth/me/"  # never the query string
    assert "q=" not in logs.text
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
    assert line["ts"].endswith("+00:00")


def test_slow_requests_are_warnings(logs, client, settings, db) -> None:
    settings.SLOW_REQUEST_MS = 0
    client.get("/api/v1/nothing-here/")
    [line] = logs.access()
    assert line["level"] == "WARNING"
    assert line["slow"] is True
    assert line["status"] == 404
    assert line["message"].startswith("slow request")


def test_fast_probes_are_not_logged_at_info(logs, client) -> None:
    client.get("/health/live")
    assert logs.access() == []


class StoreBindingView(APIView):
    allowed_roles = ALL_ROLES

    def get(self, request: Any) -> Response:
        bind_store(42)
        return Response({"ok": True})


class ExplodingView(APIView):
    allowed_roles = ALL_ROLES

    def post(self, request: Any) -> Response:
        number = request.data["card_number"]
        raise ValueError(f"could not charge card {number} with password={request.data['pw']}")


urlpatterns = [
    path("bind-store/", StoreBindingView.as_view()),
    path("explode/", ExplodingView.as_view()),
]


def test_the_view_can_name_the_store(logs, client_for, cashier, settings) -> None:
    settings.ROOT_URLCONF = __name__
    client_for(cashier).get("/bind-store/")
    [line] = logs.access()
    assert line["store"] == 42


def test_an_unhandled_error_logs_no_card_number_or_password(
    logs, client_for, cashier, settings
) -> None:
    settings.ROOT_URLCONF = __name__
    client = client_for(cashier)
    client.raise_request_exception = False
    response = client.post(
        "/explode/", {"card_number": TEST_PAN, "pw": "hunter2-secret"}, format="json"
    )
    assert response.status_code == 500
    text = logs.text
    assert "Unhandled error" in text
    assert "ValueError" in text  # the traceback is there …
    assert TEST_PAN not in text  # … without the card number
    assert "hunter2-secret" not in text
    access = logs.access()[0]
    assert access["status"] == 500
    assert access["level"] == "WARNING"


# --- Nothing secret in the logs of the auth flows -------------------------------------------------


@pytest.mark.django_db
def test_auth_flows_log_no_password_or_token(logs, cashier, settings) -> None:
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        anonymous = APIClient()
        wrong = anonymous.post(
            "/api/v1/auth/token/",
            {"username": cashier.username, "password": "wrong-" + DEFAULT_PASSWORD},
            format="json",
        )
        assert wrong.status_code == 401
        pair = anonymous.post(
            "/api/v1/auth/token/",
            {"username": cashier.username, "password": DEFAULT_PASSWORD},
            format="json",
        ).json()
        refreshed = anonymous.post(
            "/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]}, format="json"
        ).json()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
        assert client.get("/api/v1/auth/me/").status_code == 200
        changed = client.post(
            "/api/v1/auth/password/",
            {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
            format="json",
        )
        assert changed.status_code == 204
        # A revoked token, and a request carrying secrets where they do not belong.
        assert client.get("/api/v1/auth/me/").status_code == 401
        anonymous.get(f"/api/v1/auth/me/?access={pair['access']}&card={TEST_PAN}")
    finally:
        root.setLevel(previous_level)

    text = logs.text
    assert len(logs.access()) >= 7
    secrets = [
        DEFAULT_PASSWORD,
        "wrong-" + DEFAULT_PASSWORD,
        NEW_PASSWORD,
        pair["access"],
        pair["refresh"],
        refreshed["access"],
        refreshed["refresh"],
        TEST_PAN,
    ]
    for secret in secrets:
        assert secret not in text
    # Token signatures alone are secrets too (the header and claims are only base64).
    for token in (pair["access"], pair["refresh"], refreshed["access"]):
        assert token.rsplit(".", 1)[1] not in text


# --- Nothing secret in the logs of a full sale and refund -----------------------------------------


@pytest.mark.django_db
def test_sale_and_refund_log_no_password_token_or_card_number(
    logs, store, register, cashier, manager, settings
) -> None:
    from decimal import Decimal

    from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
    from tests.orders.factories import open_shift_on

    product = ProductFactory(price=Decimal("4.99"), tax_rate=TaxRateFactory(rate=Decimal("0")))
    set_stock(store, product, 10)
    open_shift_on(register, cashier)
    root = logging.getLogger()
    previous_level = root.level
    root.setLevel(logging.DEBUG)
    tokens: list[str] = []
    try:

        def signed_in(username: str) -> APIClient:
            pair = (
                APIClient()
                .post(
                    "/api/v1/auth/token/",
                    {"username": username, "password": DEFAULT_PASSWORD},
                    format="json",
                )
                .json()
            )
            tokens.extend([pair["access"], pair["refresh"]])
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair['access']}")
            return client

        till = signed_in(cashier.username)
        body = {
            "register": register.pk,
            "lines": [{"product": product.pk, "quantity": "1"}],
            "payments": [{"method": "card", "amount": "4.99", "reference": TEST_PAN}],
        }
        refused = till.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert refused.status_code == 400  # a full card number is refused …
        body["payments"][0].update(reference="AUTH123", card_last4="1111")
        sold = till.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
        assert sold.status_code == 201, sold.content
        order = sold.json()
        receipt = till.get(f"/api/v1/orders/{order['id']}/receipt/")
        assert receipt.status_code == 200

        office = signed_in(manager.username)
        refunded = office.post(
            f"/api/v1/orders/{order['id']}/refunds/",
            {"lines": [{"line": order["lines"][0]["id"], "quantity": "1"}], "restock": True},
            format="json",
            HTTP_IDEMPOTENCY_KEY="r-1",
        )
        assert refunded.status_code == 201, refunded.content
    finally:
        root.setLevel(previous_level)

    text = logs.text
    paths = [line["path"] for line in logs.access()]
    assert "/api/v1/orders/" in paths
    assert f"/api/v1/orders/{order['id']}/refunds/" in paths
    assert TEST_PAN not in text  # … and never logged
    assert DEFAULT_PASSWORD not in text
    for token in tokens:
        assert token not in text
        assert token.rsplit(".", 1)[1] not in text


def test_float_arguments_are_logged_short_and_never_taken_for_a_card_number(logs) -> None:
    """Celery logs a task's runtime with `%s` of a float: `0.015445515000010346` carries 19
    digits that pass the Luhn check and were masked as `[REDACTED-PAN]`."""
    runtime = 0.015445515000010346
    logger = logging.getLogger("celery.app.trace")
    logger.info("Task %(name)s succeeded in %(runtime)ss", {"name": "t", "runtime": runtime})
    logger.info("took %s s", runtime)
    messages = [line["message"] for line in logs.lines()]
    assert messages == ["Task t succeeded in 0.0154455s", "took 0.0154455 s"]
    # A card number in the same line is still masked.
    logger.info("card %s took %s", TEST_PAN, runtime)
    assert logs.lines()[-1]["message"] == "card [REDACTED-PAN] took 0.0154455"
