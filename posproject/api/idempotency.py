"""Exactly-once POSTs with an `Idempotency-Key` header: the API-layer piece."""

from __future__ import annotations

from domain.errors import Conflict, DomainError, InvalidInput


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed."


class IdempotencyKeyReused(DomainError):
    """Answers 422 (the exception handler's status table)."""

    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request body."


class IdempotencyKeyMissing(InvalidInput):
    default_detail = "The Idempotency-Key header is required (1-255 printable characters)."
