"""What goes into `changes`: JSON-native values only, and never a secret.

Values under keys that name a secret (password, token, secret, authorization, API key, card
number, CVV …) are replaced by `[REDACTED]`; every other string goes through the same
`redact` the log formatter uses (card numbers, bearer tokens, `password=…` pairs). Product
identifiers (`barcode`, `sku`, …) are exempt from the digit-run rule, since an EAN-13 barcode
looks like a card number to a regex.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from posproject.logging import redact

REDACTED = "[REDACTED]"

_SECRET_KEY = re.compile(
    r"(?i)(password|passwd|secret|token|authorization|api[_-]?key|cvv|cvc|"
    r"card[_-]?number|^pan$|^access$|^refresh$)"
)
_IDENTIFIER_KEYS = frozenset({"barcode", "sku", "gtin", "ean", "upc"})


def _is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def to_json(value: Any, *, key: str = "", exempt: bool = False) -> Any:
    """A JSON-native, secret-free copy of `value` (`key` is the enclosing mapping key)."""
    if key and _is_secret_key(key):
        return REDACTED if value not in (None, "") else value
    exempt = exempt or key.lower() in _IDENTIFIER_KEYS
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.replace("\x00", "")
        return text if exempt else redact(text)
    if isinstance(value, (Decimal, float)):
        # Never a JSON float: amounts stay exact strings ("12.50").
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_json(v, key=str(k), exempt=exempt) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [to_json(v, key=key, exempt=exempt) for v in items]
    pk = getattr(value, "pk", None)
    if pk is not None:  # a model instance: its id is what an auditor needs
        return to_json(pk)
    return to_json(str(value), key=key, exempt=exempt)
