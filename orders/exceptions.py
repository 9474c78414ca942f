"""Domain errors of selling; one DRF exception handler maps them to problem+json."""

from __future__ import annotations

from domain.errors import Conflict, Forbidden, InvalidInput


class ShiftNotOpen(Conflict):
    code = "shift_not_open"
    default_detail = "The register has no open shift."


class ShiftAlreadyOpen(Conflict):
    code = "shift_already_open"
    default_detail = "The register already has an open shift."


class RefundExceedsSold(Conflict):
    code = "refund_exceeds_sold"
    default_detail = "The refund asks for more than is left to refund on a line."


class PaymentMismatch(InvalidInput):
    default_detail = "Payment amounts must add up to the order total exactly."


class CardNumberRefused(InvalidInput):
    default_detail = "A full card number was sent. Send only the reference and the last 4 digits."


class TenderedOutOfRange(InvalidInput):
    code = "tendered_out_of_range"
    default_detail = "The cash tendered is above the configured bound (CASH_TENDERED_MAX)."


class ChangeWithoutPayment(InvalidInput):
    code = "change_without_payment"
    default_detail = "A cash payment of 0.00 cannot give change."


class ApprovalRequired(Forbidden):
    code = "approval_required"
    default_detail = (
        "This needs a manager's approval: send the token of POST /api/v1/approvals/ in the "
        "X-Approval header."
    )


class HeldOrderGone(Conflict):
    code = "held_order_gone"
    default_detail = "The held order has already been completed or deleted."


class VoidNotAllowed(Conflict):
    code = "void_not_allowed"
    default_detail = (
        "Only a completed order with nothing refunded may be voided, while its shift is open."
    )
