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

from cryptography.fernet import Fernet, InvalidToken

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
# database. So the stored answer holds the code *sealed* — a Fernet token (`cryptography`: AES-CBC
# with a random IV, then HMAC-SHA256) under a key derived from `SECRET_KEY` — and the view
# unseals it on the way out, first answer and replay alike. A database reader without the secret
# key cannot spend the card; a tampered token unseals to nothing.

_SEAL_PREFIX = "gcs2."


def _sealer() -> Fernet:
    from django.conf import settings

    key = hmac.new(settings.SECRET_KEY.encode(), b"giftcards.replay-seal", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def code_seal(code: str) -> str:
    """`code` encrypted and authenticated, as text."""
    return _SEAL_PREFIX + _sealer().encrypt(code.encode("ascii")).decode("ascii")


def code_unseal(token: str) -> str | None:
    """The code `code_seal` sealed, or None for a token that is not one of ours (tampered,
    sealed under another secret key, or not a token at all)."""
    if not token.startswith(_SEAL_PREFIX):
        return None
    try:
        return _sealer().decrypt(token[len(_SEAL_PREFIX) :].encode("ascii")).decode("ascii")
    except (InvalidToken, UnicodeError):
        return None


SEALED_CODE = re.compile(re.escape(_SEAL_PREFIX) + r"[A-Za-z0-9_=-]+")
