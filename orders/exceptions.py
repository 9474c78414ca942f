"""Domain errors of selling; one DRF exception handler maps them to problem+json."""

from __future__ import annotations

from posproject.api.errors import DomainError, InvalidInput


class ShiftNotOpen(DomainError):
    status_code = 409
    code = "shift_not_open"
    default_detail = "The register has no open shift."


class ShiftAlreadyOpen(DomainError):
    status_code = 409
    code = "shift_already_open"
    default_detail = "The register already has an open shift."


class RefundExceedsSold(DomainError):
    status_code = 409
    code = "refund_exceeds_sold"
    default_detail = "The refund asks for more than is left to refund on a line."


class IdempotencyKeyInUse(DomainError):
    status_code = 409
    code = "idempotency_key_in_use"
    default_detail = "A request with this Idempotency-Key is still being processed."


class IdempotencyKeyReused(DomainError):
    status_code = 422
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was used with a different request body."


class IdempotencyKeyMissing(InvalidInput):
    default_detail = "The Idempotency-Key header is required (1-255 printable characters)."


class PaymentMismatch(InvalidInput):
    default_detail = "Payment amounts must add up to the order total exactly."


class CardNumberRefused(InvalidInput):
    default_detail = "A full card number was sent. Send only the reference and the last 4 digits."
