"""Gift card errors; the API's exception handler maps them to problem+json."""

from __future__ import annotations

from domain.errors import Conflict, InvalidInput


class GiftCardInvalid(InvalidInput):
    """Unknown, expired or of another store: one answer for all, so it tells nothing."""

    code = "gift_card_invalid"
    default_detail = "No active gift card of this store has this code."


class InsufficientBalance(Conflict):
    code = "insufficient_balance"
    default_detail = "The gift card's balance is less than the amount."
