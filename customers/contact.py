"""A customer's contact details and code, normalised one way for the API, the admin and the
services: what is stored is what search compares against.

Each function returns the normalised value or raises `ValueError` with a message that never
repeats the value (it is personal data, and messages end up in responses and logs).
"""

from __future__ import annotations

import re
import secrets

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

__all__ = [
    "CODE_ALPHABET",
    "CODE_MAX_LENGTH",
    "EMAIL_MAX_LENGTH",
    "PHONE_MAX_DIGITS",
    "PHONE_MIN_DIGITS",
    "generate_code",
    "normalize_code",
    "normalize_email",
    "normalize_phone",
    "phone_digits",
]

EMAIL_MAX_LENGTH = 254
#: E.164: at most 15 digits. Below 5 is no reachable number anywhere.
PHONE_MIN_DIGITS = 5
PHONE_MAX_DIGITS = 15
CODE_MAX_LENGTH = 32
#: Generated codes: digits and capitals without the look-alikes 0/O, 1/I/L, so a code read out
#: over the counter or typed from a card is not mistaken.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_PREFIX = "C"
CODE_RANDOM_LENGTH = 8

# What people type between the digits of a phone number: spaces, dashes, dots, slashes and
# parentheses, and one leading `+`.
_PHONE_TEXT = re.compile(r"\+?[0-9 ()./\-]+")
_PHONE_SEPARATORS = re.compile(r"[ ()./\-]")
_CODE_TEXT = re.compile(r"[A-Z0-9][A-Z0-9_-]*")


def normalize_email(value: str) -> str:
    """Trimmed, the domain lowercased (the local part is the mailbox's own business); "" stays
    "". A malformed address → `ValueError`."""
    value = (value or "").strip()
    if not value:
        return ""
    if len(value) > EMAIL_MAX_LENGTH:
        raise ValueError(f"At most {EMAIL_MAX_LENGTH} characters.")
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError("Enter a valid email address.") from None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def normalize_phone(value: str) -> str:
    """`+` (when given) and the digits only: `"+1 (555) 010-0199"` → `"+15550100199"`; "" stays
    "". Letters or other characters, or fewer than 5 or more than 15 digits → `ValueError`."""
    value = (value or "").strip()
    if not value:
        return ""
    if not _PHONE_TEXT.fullmatch(value):
        raise ValueError("Digits, with spaces, ( ) . / - between them and an optional leading +.")
    digits = _PHONE_SEPARATORS.sub("", value).removeprefix("+")
    if not PHONE_MIN_DIGITS <= len(digits) <= PHONE_MAX_DIGITS:
        raise ValueError(f"{PHONE_MIN_DIGITS} to {PHONE_MAX_DIGITS} digits.")
    return ("+" if value.startswith("+") else "") + digits


def phone_digits(text: str) -> str:
    """The digits of a search text that looks like (part of) a phone number, else "": what a
    phone `contains` search compares against the stored, normalised numbers."""
    text = text.strip()
    if not text or not _PHONE_TEXT.fullmatch(text):
        return ""
    return "".join(ch for ch in text if ch.isdigit())


def normalize_code(value: str) -> str:
    """A code given by the merchant (a loyalty card's number, say): trimmed and upper-cased so
    that codes are unique whatever the case they are typed in. Letters, digits, `-` and `_`,
    starting with a letter or digit, up to 32 characters → else `ValueError`."""
    value = (value or "").strip().upper()
    if not value:
        raise ValueError("This field may not be blank.")
    if len(value) > CODE_MAX_LENGTH:
        raise ValueError(f"At most {CODE_MAX_LENGTH} characters.")
    if not _CODE_TEXT.fullmatch(value):
        raise ValueError("Letters, digits, - and _ only, starting with a letter or digit.")
    return value


def generate_code() -> str:
    """A new random code, `C` and 8 characters of `CODE_ALPHABET` (`C7KQ3M9XH`): about 8.5 × 10¹¹
    codes, from `secrets` so that one customer's code says nothing about another's."""
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_RANDOM_LENGTH))
