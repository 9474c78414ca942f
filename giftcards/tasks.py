"""Celery task of gift cards: expire the cards past their expiry (run it daily with beat)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="giftcards.tasks.expire_gift_cards", soft_time_limit=240, time_limit=300)
def expire_gift_cards() -> int:
    """Expire the gift cards past their `expires_at`; how many. Running it twice is harmless."""
    from giftcards.services import gift_cards_expire

    return gift_cards_expire()
