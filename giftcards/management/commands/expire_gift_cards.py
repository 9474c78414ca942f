"""`manage.py expire_gift_cards`: expire the gift cards past their `expires_at` (balance → 0,
breakage posted to 4010). Safe to run at any time and any number of times; the Celery task
`giftcards.tasks.expire_gift_cards` runs the same service (schedule it daily with beat)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from giftcards.services import gift_cards_expire


class Command(BaseCommand):
    help = "Expire the gift cards past their expiry date (breakage to account 4010)."

    def handle(self, *args: Any, **options: Any) -> None:
        count = gift_cards_expire()
        self.stdout.write(f"{count} gift card(s) expired.")
