"""Gift card codes: made with `secrets`, kept only as a SHA-256.

A code is 16 letters of an alphabet without look-alikes (no I, L or O): about 72 bits, so a code
cannot be guessed, and no digits at all, so a code is never taken for a card number by
`orders.serializers.sales.refuse_card_numbers` or the log redaction. Typed codes are read
leniently: case, spaces and dashes do not matter (`ABCD-EFGH-JKMN-PQRS`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
_SEPARATORS = re.compile(r"[\s-]+")
_CODE = re.compile(rf"[{ALPHABET}]{{{CODE_LENGTH}}}")


def code_generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def code_normalise(code: str) -> str | None:
    """The code as issued, or None when it cannot be one (wrong length or letters)."""
    normal = _SEPARATORS.sub("", code).upper()
    return normal if _CODE.fullmatch(normal) else None


def code_hash(code: str) -> str:
    """SHA-256 hex of the normalised code: what the database keeps and looks codes up by.
    Unsalted on purpose (a lookup must find the card from the code alone); 72 bits of
    randomness make a dictionary of codes out of reach."""
    return hashlib.sha256(code.encode("ascii")).hexdigest()


# --- The idempotent replay ----------------------------------------------------------------------
#
# `POST /gift-cards/` is exactly-once: its answer is stored (`orders.IdempotencyKey`) and replayed
# to the same user. Stored as is, that answer would hold the code, readable by whoever reads the
# database. So the stored answer holds the code *sealed* — encrypted and authenticated with a key
# derived from `SECRET_KEY` (HMAC-SHA256 as the keystream and the tag, a random nonce per card) —
# and the view unseals it on the way out, first answer and replay alike. A database reader
# without the secret key cannot spend the card; a tampered token unseals to nothing.

_SEAL_PREFIX = "gcs1."


def _seal_key() -> bytes:
    from django.conf import settings

    return hmac.new(settings.SECRET_KEY.encode(), b"giftcards.replay-seal", hashlib.sha256).digest()


def code_seal(code: str) -> str:
    """`code` (ASCII, at most 32 characters) encrypted and authenticated, as text."""
    key = _seal_key()
    nonce = secrets.token_bytes(16)
    plain = code.encode("ascii")
    stream = hmac.new(key, b"stream" + nonce, hashlib.sha256).digest()
    cipher = bytes(a ^ b for a, b in zip(plain, stream, strict=False))
    tag = hmac.new(key, b"tag" + nonce + cipher, hashlib.sha256).digest()[:16]
    return _SEAL_PREFIX + base64.urlsafe_b64encode(nonce + tag + cipher).decode("ascii")


def code_unseal(token: str) -> str | None:
    """The code `code_seal` sealed, or None for a token that is not one of ours."""
    if not token.startswith(_SEAL_PREFIX):
        return None
    try:
        raw = base64.urlsafe_b64decode(token[len(_SEAL_PREFIX) :].encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        return None
    nonce, tag, cipher = raw[:16], raw[16:32], raw[32:]
    key = _seal_key()
    expected = hmac.new(key, b"tag" + nonce + cipher, hashlib.sha256).digest()[:16]
    if len(nonce) != 16 or not hmac.compare_digest(tag, expected):
        return None
    stream = hmac.new(key, b"stream" + nonce, hashlib.sha256).digest()
    return bytes(a ^ b for a, b in zip(cipher, stream, strict=False)).decode("ascii")


SEALED_CODE = re.compile(re.escape(_SEAL_PREFIX) + r"[A-Za-z0-9_=-]+")
