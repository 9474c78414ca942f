"""No full card number (PAN) is accepted, stored, logged or sent to Sentry (PCI DSS 3.2-3.4;
API.md: a card payment keeps only `reference` and `card_last4`)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import User
from posproject.logging import RedactSecretsFilter, redact
from posproject.sentry import before_send
from tests.security.builders import StoreWorld, build_store_world, new_key, quote_total

# Luhn-valid test numbers (Visa 16, Mastercard 16, Amex 15, Visa 13, 19-digit) as a thief or a
# confused cashier would type them.
PANS = [
    "4242424242424242",
    "5555 5555 5555 4444",
    "3782-822463-10005",
    "4222222222222",
    "6011000990139424123",
]


def digits(pan: str) -> str:
    return "".join(ch for ch in pan if ch.isdigit())


def pan_fragments(pan: str) -> set[str]:
    """What must appear nowhere: the number as sent, and its digits run together. (The last four
    alone may be kept; the first six plus last four, a 'truncated PAN', never together.)"""
    return {pan, digits(pan), digits(pan)[:12]}


def assert_no_pan(text: str, pans: list[str] = PANS) -> None:
    for pan in pans:
        for fragment in pan_fragments(pan):
            assert fragment not in text, f"card number fragment {fragment!r} found"


# --- Sentry ------------------------------------------------------------------------------------


def test_sentry_before_send_strips_card_numbers_everywhere() -> None:
    pan = PANS[0]
    event = {
        "message": f"payment failed for card {pan}",
        "logentry": {"message": "card %s declined", "params": [pan]},
        "exception": {
            "values": [
                {
                    "type": "ValidationError",
                    "value": f"reference {PANS[1]} looks like a card number",
                    "stacktrace": {
                        "frames": [{"vars": {"card": PANS[2], "body": {"reference": PANS[3]}}}]
                    },
                }
            ]
        },
        "request": {
            "url": f"https://pos.example/api/v1/orders/?q={digits(PANS[4])}",
            "query_string": f"reference={pan}",
            "data": {"payments": [{"method": "card", "reference": pan, "card_last4": "4242"}]},
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig"},
            "cookies": {"sessionid": "abc"},
        },
        "extra": {"card_number": pan, "note": f"customer read {PANS[1]} aloud"},
        "breadcrumbs": {"values": [{"message": f"POST body had {pan}", "data": {"pan": pan}}]},
        "contexts": {"payment": {"card_last4": "4242", "reference": PANS[2]}},
    }
    scrubbed = before_send(event, {})
    assert scrubbed is not None
    text = json.dumps(scrubbed)
    assert_no_pan(text)
    assert "eyJhbGciOiJIUzI1NiJ9" not in text
    assert "sessionid" not in text or '"abc"' not in text
    # What is useful and harmless survives.
    assert scrubbed["contexts"]["payment"]["card_last4"] == "4242"


# --- Logging ------------------------------------------------------------------------------------


@pytest.mark.parametrize("pan", PANS)
def test_redact_masks_every_card_number_format(pan: str) -> None:
    assert_no_pan(redact(f"card={pan} declined"), [pan])
    assert_no_pan(redact(f'{{"reference": "{pan}"}}'), [pan])


def test_log_filter_masks_pan_in_message_and_args() -> None:
    record = logging.LogRecord(
        "orders", logging.ERROR, __file__, 1, "sale refused for %s", (PANS[0],), None
    )
    RedactSecretsFilter().filter(record)
    assert_no_pan(record.getMessage(), PANS[:1])


def _configured_console_handlers() -> list[logging.StreamHandler]:
    handlers = [
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RedactSecretsFilter) for f in h.filters)
    ]
    assert handlers, "the root logger has no redacting handler"
    assert all(isinstance(h, logging.StreamHandler) for h in handlers)
    return handlers  # type: ignore[return-value]


def test_the_configured_console_handler_redacts_messages_extras_and_tracebacks() -> None:
    """The real LOGGING config, end to end (its filters and its formatter): a careless log call
    — a PAN in the message, in an `extra` field, in an exception's text — leaves no PAN in what
    the console handler writes."""
    for handler in _configured_console_handlers():
        buffer = io.StringIO()
        previous = handler.setStream(buffer)
        try:
            logger = logging.getLogger("orders.careless")
            logger.warning("customer card %s", PANS[0], extra={"reference": PANS[1]})
            try:
                raise ValueError(f"bad reference {PANS[2]}")
            except ValueError:
                logger.exception("sale failed for card %s", PANS[3])
        finally:
            handler.setStream(previous)
        written = buffer.getvalue()
        assert "customer card" in written
        assert "ValueError" in written  # the traceback is there, redacted
        assert_no_pan(written, PANS[:4])


# --- The API ------------------------------------------------------------------------------------


@pytest.fixture
def world(db: None, client_for: Callable[[User], APIClient]) -> StoreWorld:
    return build_store_world(client_for, code="PCI")


def _card_sale(world: StoreWorld, **payment_fields: str):
    total = quote_total(world.cashier_client, world.register.pk, world.product.pk)
    payment = {"method": "card", "amount": total, **payment_fields}
    return world.cashier_client.post(
        "/api/v1/orders/",
        {
            "register": world.register.pk,
            "lines": [{"product": world.product.pk, "quantity": "1"}],
            "payments": [payment],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )


def _all_text_in_database() -> str:
    """Every value of every column of every table, cast to text: where a PAN could hide."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            columns = [
                col.name for col in connection.introspection.get_table_description(cursor, table)
            ]
            qn = connection.ops.quote_name
            select = ", ".join(f"CAST({qn(c)} AS TEXT)" for c in columns)
            cursor.execute(f"SELECT {select} FROM {qn(table)}")  # noqa: S608 - introspected names
            for row in cursor.fetchall():
                chunks.extend(str(value) for value in row if value is not None)
    return "\n".join(chunks)


@pytest.mark.parametrize("pan", PANS)
@pytest.mark.parametrize("field", ["reference", "card_last4"])
def test_full_card_number_in_a_payment_field_is_refused(
    world: StoreWorld, field: str, pan: str, caplog
) -> None:
    before = world.cashier_client.get("/api/v1/orders/").json()["count"]
    with caplog.at_level(logging.DEBUG):
        response = _card_sale(world, **{field: pan})
    assert response.status_code == 400, response.content
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert_no_pan(response.content.decode(), [pan])
    assert_no_pan(caplog.text, [pan])
    assert world.cashier_client.get("/api/v1/orders/").json()["count"] == before


def test_no_card_number_is_stored_anywhere_after_attempts(world: StoreWorld, caplog) -> None:
    """Send card numbers everywhere a client could put one — documented fields, unknown fields,
    line fields, the idempotency key, headers — then read the whole database as text."""
    with caplog.at_level(logging.DEBUG):
        for pan in PANS:
            _card_sale(world, reference=pan)
            _card_sale(world, card_last4=pan)
            _card_sale(world, reference="AUTH1", card_last4="4242", card_number=pan, pan=pan)
            total = quote_total(world.cashier_client, world.register.pk, world.product.pk)
            world.cashier_client.post(
                "/api/v1/orders/",
                {
                    "register": world.register.pk,
                    "lines": [{"product": world.product.pk, "quantity": "1", "note": pan}],
                    "payments": [{"method": "card", "amount": total, "reference": "OK1"}],
                    "note": pan,
                    "customer": {"card": pan},
                },
                format="json",
                HTTP_IDEMPOTENCY_KEY=new_key(),
            )
            world.cashier_client.post(
                "/api/v1/orders/quote/",
                {
                    "register": world.register.pk,
                    "lines": [{"product": world.product.pk, "quantity": "1"}],
                    "payments": [{"method": "card", "amount": "1.00", "reference": pan}],
                },
                format="json",
            )
            world.cashier_client.get(f"/api/v1/orders/?number={digits(pan)}")
    assert_no_pan(_all_text_in_database())
    assert_no_pan(caplog.text)


def test_card_sale_keeps_only_reference_and_last4(world: StoreWorld) -> None:
    response = _card_sale(world, reference="AUTH123", card_last4="4242")
    assert response.status_code == 201, response.content
    payment = response.json()["payments"][0]
    assert payment["card_last4"] == "4242"
    assert payment["reference"] == "AUTH123"
    assert set(payment) <= {
        "id",
        "method",
        "amount",
        "tendered",
        "change",
        "tip",
        "reference",
        "card_last4",
        "points",  # a loyalty points payment's points (null here)
    }
    assert payment["points"] is None
    receipt = world.cashier_client.get(f"/api/v1/orders/{response.json()['id']}/receipt/")
    assert receipt.status_code == 200
    assert "4242" in receipt.content.decode()
    assert Decimal(payment["amount"]) > 0
