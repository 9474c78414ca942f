"""Reads about gift cards, scoped to the user's stores."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from giftcards.models import GiftCard


def gift_card_list(*, user: User) -> QuerySet[GiftCard]:
    """The gift cards of the user's stores, newest first (ties by id)."""
    return scope_to_user_stores(GiftCard.objects.all(), user).order_by("-issued_at", "-id")
