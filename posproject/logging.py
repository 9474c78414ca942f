"""Log formatting: one JSON object per line carrying the request context, with secrets and
personal data redacted.

Redaction is the last line of defence, not the first: code should never log a body, a password,
a token, a card number or a customer's email or phone. Whatever slips through anyway — in the
message, in an `extra` field, or in an exception's text — is masked here before it leaves the
process (`redact_log_text`, `scrub`; Sentry events go through `scrub` too): values under keys
that name a secret or contact details (`email`, `phone` …), and in any text card numbers, bearer
tokens, JWTs, `password=…` pairs, email addresses and phone numbers written internationally
(`+44 20 7946 0958`). A phone number written without its `+` is indistinguishable from any other
number in free text: it is masked under its key only.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from domain.card_numbers import redact_card_numbers
from request_context import get_context

_SECRET_KV = re.compile(
    r"(?i)(\"?(?:password|passwd|secret|token|access|refresh|authorization|api[_-]?key)\"?\s*[:=]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s,;&}]+)"
)
_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._\-]+")
# A JWT on its own (three base64url segments, the first one a JSON header `{"...` → `eyJ`).
_JWT = re.compile(r"eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}")
# Personal data (customers): an email address, and a phone number in international form (a `+`
# and 7–15 digits, spaces, dashes, slashes or parentheses between them; not dots, so that a
# signed amount such as `+12.50` is never taken for one).
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\w+])\+\d(?:[ ()/\-]{0,2}\d){6,14}(?!\d)")

REDACTED = "[REDACTED]"
# A key is sensitive when it contains one of these words …
_SENSITIVE_WORDS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "cardnumber",
    "card_number",
    "apikey",
    "api_key",
    "csrf",
    "sessionid",
    # A customer's contact details (`email`, `customer_email`, `phone_number`, `telephone` …).
    "email",
    "phone",
)
# … or when one of its `_`/`-`-separated parts is one of these (`pan` masks `card_pan` but not
# `span_id`) …
_SENSITIVE_PARTS = frozenset({"pan", "cvv", "cvc", "pin", "session", "jwt"})
# … or when it is exactly one of these (a token pair's `access` and `refresh`).
_SENSITIVE_EXACT = frozenset({"access", "refresh"})
# Keys that contain a sensitive word but are safe and useful.
_SAFE_KEYS = frozenset({"card_last4", "card_brand", "token_version", "token_type"})

# Attributes every LogRecord has; everything else on a record came from `extra=`.
_STANDARD_RECORD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "request_id", "user_id"}


def redact(text: str) -> str:
    text = redact_card_numbers(text)  # the API's detector (domain.card_numbers)
    text = _BEARER.sub("Bearer [REDACTED]", text)
    text = _JWT.sub("[REDACTED-JWT]", text)
    return _SECRET_KV.sub(r"\1[REDACTED]", text)


def redact_log_text(text: str) -> str:
    """`redact`, and personal data besides: what a log line or a Sentry event may say. (The
    audit trail uses `redact` alone: it records staff accounts' email addresses on purpose, and
    never a customer's — `customers.services`.)"""
    return _PHONE.sub("[REDACTED-PHONE]", _EMAIL.sub("[REDACTED-EMAIL]", redact(text)))


def sensitive_key(key: Any) -> bool:
    k = str(key).lower().replace("-", "_")
    if k in _SAFE_KEYS:
        return False
    if k in _SENSITIVE_EXACT:
        return True
    if any(word in k for word in _SENSITIVE_WORDS):
        return True
    return any(part in _SENSITIVE_PARTS for part in re.split(r"[^a-z0-9]+", k))


def scrub(value: Any, _depth: int = 0) -> Any:
    """Redact strings, mask values under sensitive keys, recursively (dicts, lists, tuples)."""
    if _depth > 20:
        return REDACTED
    if isinstance(value, str):
        return redact_log_text(value)
    if isinstance(value, dict):
        return {
            k: (REDACTED if sensitive_key(k) else scrub(v, _depth + 1)) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [scrub(v, _depth + 1) for v in value]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    # Anything else (a request object, a model instance) would be rendered with str() by the
    # formatter — which for a request includes the query string. Render and redact it here.
    return redact_log_text(str(value))


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = get_context()
        if not hasattr(record, "request_id"):
            record.request_id = ctx.request_id or "-"
        if not hasattr(record, "user_id"):
            record.user_id = ctx.user_id
        return True


def _short_float(value: Any) -> Any:
    return float(f"{value:.6g}") if isinstance(value, float) else value


def _short_floats(args: Any) -> Any:
    """Float arguments at 6 significant digits. A duration such as Celery's task runtime
    `0.015445515000010346` prints 19 digits, which pass the Luhn check one time in ten and would
    be masked as a card number; no float is a card number, and none needs more digits in a log."""
    if isinstance(args, dict):
        return {key: _short_float(value) for key, value in args.items()}
    if isinstance(args, tuple):
        return tuple(_short_float(value) for value in args)
    return args


class RedactSecretsFilter(logging.Filter):
    """Last line of defence: whatever a message or an `extra` field says, no PAN, password or
    token leaves the process in a log line. (Exception text is redacted by the formatters below:
    the live exception must stay on the record for Sentry, which reads records after handlers.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        record.args = _short_floats(record.args)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string must not drop the log line
            message = str(record.msg)
        cleaned = redact_log_text(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        for key, value in list(vars(record).items()):
            if key in _STANDARD_RECORD_ATTRS or key.startswith("_"):
                continue
            setattr(record, key, REDACTED if sensitive_key(key) else scrub(value))
        if record.stack_info:
            record.stack_info = redact_log_text(record.stack_info)
        return True


class _RedactingFormatterMixin:
    """Tracebacks quote exception messages, and those can quote input."""

    def formatException(self, ei: Any) -> str:
        return redact_log_text(super().formatException(ei))  # type: ignore[misc]

    def formatStack(self, stack_info: str) -> str:
        return redact_log_text(super().formatStack(stack_info))  # type: ignore[misc]


class PlainFormatter(_RedactingFormatterMixin, logging.Formatter):
    """Human-readable lines (DEBUG / LOG_JSON=false), with tracebacks redacted."""


class JsonFormatter(_RedactingFormatterMixin, _BaseJsonFormatter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "fmt", "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s"
        )
        kwargs.setdefault(
            "rename_fields", {"asctime": "ts", "levelname": "level", "name": "logger"}
        )
        super().__init__(*args, **kwargs)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """ISO 8601 in UTC with milliseconds: sortable and unambiguous across hosts."""
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")
