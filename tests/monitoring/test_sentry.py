"""Sentry: initialised only with a DSN, and nothing secret or personal ever leaves in an event."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sentry_sdk
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView
from sentry_sdk.transport import Transport

from apitools.permissions import ALL_ROLES
from posproject.sentry import before_breadcrumb, before_send, init_sentry
from tests.django_process import run_django

TEST_PAN = "4111111111111111"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJlLXNlY3JldA"


def _event() -> dict[str, Any]:
    return {
        "message": f"charge failed for {TEST_PAN}",
        "request": {
            "url": "https://pos.example/api/v1/orders/",
            "method": "POST",
            "query_string": f"card={TEST_PAN}",
            "data": {"payments": [{"card_number": TEST_PAN}], "password": "hunter2"},
            "cookies": {"sessionid": "abc", "csrftoken": "def"},
            "headers": {
                "Authorization": f"Bearer {JWT}",
                "Cookie": "sessionid=abc",
                "Content-Type": "application/json",
                "X-Request-ID": "req-1",
                "X-Forwarded-For": "203.0.113.9",
            },
            "env": {"REMOTE_ADDR": "203.0.113.9"},
        },
        "user": {"id": 7, "email": "cashier@example.com", "ip_address": "203.0.113.9"},
        "extra": {"password": "hunter2", "note": "password=hunter2 and card 4111 1111 1111 1111"},
        "exception": {
            "values": [
                {
                    "type": "ValueError",
                    "value": f"bad card {TEST_PAN}",
                    "stacktrace": {"frames": [{"vars": {"pan": TEST_PAN, "token": "t0k3n"}}]},
                }
            ]
        },
        "breadcrumbs": {"values": [{"message": f"Authorization: Bearer abc.def.ghi {TEST_PAN}"}]},
        "tags": {"release": "r1"},
    }


def test_scrubber_removes_body_cookies_authorization_pan_and_password() -> None:
    event = before_send(_event(), {})
    text = json.dumps(event)
    assert TEST_PAN not in text
    assert "4111 1111 1111 1111" not in text
    assert "hunter2" not in text
    assert "t0k3n" not in text
    assert "c2lnbmF0dXJlLXNlY3JldA" not in text
    assert "sessionid" not in text
    assert "203.0.113.9" not in text
    assert "cashier@example.com" not in text
    request = event["request"]
    assert "data" not in request
    assert "cookies" not in request
    assert "env" not in request
    assert request["headers"]["Authorization"] == "[REDACTED]"
    assert request["headers"]["Cookie"] == "[REDACTED]"
    assert "X-Forwarded-For" not in request["headers"]
    # What triage needs survives.
    assert request["headers"]["X-Request-ID"] == "req-1"
    assert request["url"] == "https://pos.example/api/v1/orders/"
    assert event["exception"]["values"][0]["type"] == "ValueError"
    assert event["tags"] == {"release": "r1"}


def test_user_id_alone_is_kept() -> None:
    assert before_send({"user": {"id": 7}}, {})["user"] == {"id": 7}


def test_breadcrumbs_are_scrubbed() -> None:
    crumb = before_breadcrumb({"message": f"token=abc {TEST_PAN}", "data": {"password": "x"}}, {})
    assert TEST_PAN not in json.dumps(crumb)
    assert crumb["data"]["password"] == "[REDACTED]"
    assert "abc" not in crumb["message"]


def test_not_initialised_without_a_dsn() -> None:
    code = "import django, sentry_sdk; django.setup(); print(sentry_sdk.get_client().is_active())"
    secret_key = os.environ.get("DJANGO_SECRET_KEY", "k" * 50)
    result = run_django(code, env={"SENTRY_DSN": "", "DJANGO_SECRET_KEY": secret_key})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


class CapturingTransport(Transport):
    def __init__(self) -> None:
        super().__init__({})
        self.envelopes: list[Any] = []

    def capture_envelope(self, envelope: Any) -> None:
        self.envelopes.append(envelope)

    def events(self) -> list[dict[str, Any]]:
        found = []
        for envelope in self.envelopes:
            for item in envelope.items:
                if item.type == "event":
                    found.append(item.payload.json)
        return found


@pytest.fixture
def sentry() -> Iterator[CapturingTransport]:
    init_sentry(dsn="https://public@sentry.invalid/1", environment="test", release="2026.11.22-abc")
    transport = CapturingTransport()
    sentry_sdk.get_client().transport = transport
    yield transport
    sentry_sdk.init()  # no DSN: a disabled client


class ChargeView(APIView):
    allowed_roles = ALL_ROLES

    def post(self, request: Any) -> Response:
        card_number = request.data["card_number"]  # a local variable Sentry must not send
        raise RuntimeError(f"gateway refused {card_number}")


urlpatterns = [path("charge/", ChargeView.as_view())]


def test_a_real_error_event_carries_tags_and_nothing_secret(
    sentry, client_for, cashier, settings
) -> None:
    settings.ROOT_URLCONF = __name__
    client = client_for(cashier)
    client.raise_request_exception = False
    access_token = client._credentials["HTTP_AUTHORIZATION"].split()[1]
    client.cookies["sessionid"] = "session-cookie-value"
    response = client.post(
        "/charge/?card=" + TEST_PAN,
        {"card_number": TEST_PAN, "password": "hunter2-secret"},
        format="json",
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    events = [event for event in sentry.events() if "exception" in event]
    assert events, "the error reached Sentry"
    event = events[-1]
    assert event["release"] == "2026.11.22-abc"
    assert event["environment"] == "test"
    assert event["tags"]["release"] == "2026.11.22-abc"
    text = json.dumps(sentry.events())
    for secret in (TEST_PAN, "hunter2-secret", access_token, "session-cookie-value"):
        assert secret not in text
    assert "data" not in event.get("request", {})
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames
    assert all("vars" not in frame for frame in frames)
