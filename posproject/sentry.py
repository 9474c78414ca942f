"""Sentry, only when `SENTRY_DSN` is set: no PII, no request bodies, no local variables, and a
scrubber that runs over every event before it leaves the process.

A point-of-sale process handles card numbers, passwords and bearer tokens. Sentry's own defaults
(`send_default_pii=False`, its denylist) already drop most of them; `before_send` is the belt to
those braces: it removes the request body and cookies outright, masks every value under a
sensitive key (Authorization, Cookie, password, token, card, email, phone …) and redacts PAN-,
JWT-, `password=`-, email- and international-phone-shaped text anywhere in the event (messages,
breadcrumbs, exception values, URLs) — `posproject.logging.scrub`, the same as the logs'.
"""

from __future__ import annotations

from typing import Any, cast

from posproject.logging import REDACTED, scrub, sensitive_key

# Request headers worth keeping for triage; every other header is dropped, not just masked.
_KEPT_HEADERS = frozenset(
    {"content-type", "content-length", "user-agent", "x-request-id", "host", "accept"}
)


def _scrub_request(request: dict[str, Any]) -> None:
    request.pop("data", None)  # the body: never sent
    request.pop("cookies", None)
    request.pop("env", None)  # REMOTE_ADDR and friends: PII
    headers = request.get("headers")
    if isinstance(headers, dict):
        request["headers"] = {
            name: (REDACTED if sensitive_key(name) else value)
            for name, value in headers.items()
            if str(name).lower() in _KEPT_HEADERS or sensitive_key(name)
        }
    # Query strings may carry anything a client chose to put there.
    if request.get("query_string"):
        request["query_string"] = REDACTED


def before_send(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    request = event.get("request")
    if isinstance(request, dict):
        _scrub_request(request)
    if "user" in event and not _only_id(event["user"]):
        del event["user"]
    return cast(dict[str, Any], scrub(event))


def _only_id(user: Any) -> bool:
    """Keep `user: {"id": …}` (useful, not personal); drop anything richer."""
    return isinstance(user, dict) and set(user) <= {"id"}


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    return cast(dict[str, Any], scrub(crumb))


def init_sentry(
    *, dsn: str, environment: str, release: str, traces_sample_rate: float = 0.0
) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        send_default_pii=False,
        max_request_body_size="never",
        # Frame locals can hold a card number or a password in any variable name.
        include_local_variables=False,
        traces_sample_rate=traces_sample_rate,
        before_send=before_send,  # type: ignore[arg-type]
        before_send_transaction=before_send,  # type: ignore[arg-type]
        before_breadcrumb=before_breadcrumb,  # type: ignore[arg-type]
        event_scrubber=EventScrubber(
            denylist=[
                *DEFAULT_DENYLIST,
                *("pan", "card_number", "cvv", "cvc", "access", "refresh"),
                *("email", "phone"),  # a customer's contact details
            ],
            recursive=True,
        ),
        integrations=[DjangoIntegration(), CeleryIntegration()],
    )
    sentry_sdk.set_tag("release", release)
    sentry_sdk.set_tag("environment", environment)
