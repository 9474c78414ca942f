"""A customer's email and phone never reach the logs or Sentry: not through the SQL log, not
through an `extra` field, not through an exception's text — and not through the audit trail,
which is append-only and so could never be erased (tests/customers/test_api.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from django.db import connection

from customers import services
from posproject.logging import RedactSecretsFilter, redact_log_text, scrub
from posproject.sentry import before_breadcrumb, before_send, init_sentry
from tests.monitoring.test_sentry import CapturingTransport

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"
EMAIL = "jane.roe+shop@example.org"
PHONE_TYPED = "+1 (555) 010-0199"
PHONE = "+15550100199"
PERSONAL = (EMAIL, "jane.roe", PHONE, "555) 010-0199", "5550100199")


def _leaks(text: str) -> list[str]:
    return [value for value in PERSONAL if value in text]


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler (JSON, context and redaction filters) writes."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    )
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        logging.getLogger().setLevel(root_level)
        handler.setStream(previous)


@pytest.fixture
def sql_logging_on() -> Iterator[None]:
    """Django's SQL logging as with `DEBUG=True`: every statement, values interpolated."""
    connection.force_debug_cursor = True
    try:
        yield
    finally:
        connection.force_debug_cursor = False


def test_creating_a_customer_logs_neither_email_nor_phone(
    cashier_client, console, sql_logging_on, caplog
) -> None:
    caplog.set_level(logging.DEBUG)

    response = cashier_client.post(
        URL, {"name": "Jane Roe", "email": EMAIL, "phone": PHONE_TYPED}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["email"] == EMAIL  # the caller sees it; nothing else does
    records = caplog.records
    assert any(r.name == "monitoring.access" for r in records)  # the request was logged
    assert not any(r.name.startswith("django.db.backends") for r in records)
    assert _leaks("\n".join(r.getMessage() + repr(vars(r)) for r in records)) == []
    assert console.getvalue()
    assert _leaks(console.getvalue()) == []


def test_a_search_by_email_or_phone_is_not_logged(cashier_client, console, caplog) -> None:
    caplog.set_level(logging.DEBUG)

    for text in (EMAIL, PHONE_TYPED):
        assert cashier_client.get(URL, {"search": text}).status_code == 200

    assert _leaks("\n".join(r.getMessage() + repr(vars(r)) for r in caplog.records)) == []
    assert _leaks(console.getvalue()) == []


def _failing_create(**kwargs: Any) -> Any:
    """A service that logs what it must not and then fails quoting its input: what the logs
    and Sentry scrub when code gets it wrong."""
    logging.getLogger("customers.services").warning(
        "saving customer %s (%s)",
        kwargs["email"],
        kwargs["phone"],
        extra={"customer_email": kwargs["email"], "phone": kwargs["phone"]},
    )
    raise RuntimeError(f"could not save {kwargs['email']} / {kwargs['phone']}")


def test_an_error_quoting_them_is_scrubbed_in_the_logs(
    cashier_client, console, monkeypatch
) -> None:
    monkeypatch.setattr(services, "customer_create", _failing_create)
    cashier_client.raise_request_exception = False

    response = cashier_client.post(
        URL, {"name": "Jane Roe", "email": EMAIL, "phone": PHONE_TYPED}, format="json"
    )

    assert response.status_code == 500
    written = console.getvalue()
    assert "could not save [REDACTED-EMAIL] / [REDACTED-PHONE]" in written  # the traceback
    assert "saving customer [REDACTED-EMAIL] ([REDACTED-PHONE])" in written
    lines = [json.loads(line) for line in written.splitlines() if "saving customer" in line]
    assert lines[0]["customer_email"] == lines[0]["phone"] == "[REDACTED]"
    assert _leaks(written) == []
    assert _leaks(response.content.decode()) == []


@pytest.fixture
def sentry() -> Iterator[CapturingTransport]:
    init_sentry(dsn="https://public@sentry.invalid/1", environment="test", release="r1")
    transport = CapturingTransport()
    sentry_sdk.get_client().transport = transport
    yield transport
    sentry_sdk.init()  # no DSN: a disabled client


def test_an_error_quoting_them_reaches_sentry_scrubbed(cashier_client, sentry, monkeypatch) -> None:
    monkeypatch.setattr(services, "customer_create", _failing_create)
    cashier_client.raise_request_exception = False

    response = cashier_client.post(
        f"{URL}?search={EMAIL}",
        {"name": "Jane Roe", "email": EMAIL, "phone": PHONE_TYPED},
        format="json",
    )

    assert response.status_code == 500
    sentry_sdk.flush()
    events = [event for event in sentry.events() if "exception" in event]
    assert events, "the error reached Sentry"
    values = events[-1]["exception"]["values"]
    assert values[-1]["value"] == "could not save [REDACTED-EMAIL] / [REDACTED-PHONE]"
    assert _leaks(json.dumps(sentry.events())) == []


def test_the_scrubber_masks_them_under_their_keys_and_in_any_text() -> None:
    event = before_send(
        {
            "message": f"customer {EMAIL} called from {PHONE_TYPED}",
            "request": {"data": {"email": EMAIL}, "query_string": f"search={EMAIL}"},
            "extra": {
                "customer": {"email": EMAIL, "phone": "5550100199", "name": "kept: not a key"},
                "phone_number": PHONE,
                "note": f"reach me at {EMAIL}",
            },
            "breadcrumbs": {"values": [{"message": f"lookup {PHONE}", "data": {"email": EMAIL}}]},
        },
        {},
    )

    assert _leaks(json.dumps(event)) == []
    assert event["extra"]["customer"]["phone"] == "[REDACTED]"
    assert event["extra"]["customer"]["email"] == "[REDACTED]"
    assert event["message"] == "customer [REDACTED-EMAIL] called from [REDACTED-PHONE]"
    assert _leaks(json.dumps(before_breadcrumb({"message": f"to {EMAIL}"}, {}))) == []


@pytest.mark.parametrize(
    "text",
    [
        "total +12.50",  # a signed amount is not a phone number
        "order R1-000042 at 2026-12-03 10:15",
        "store 7, register 3, 250 orders",
        "refund of +1234.50 approved",
    ],
)
def test_ordinary_log_text_is_left_alone(text: str) -> None:
    assert redact_log_text(text) == text
    assert scrub({"message": text}) == {"message": text}
