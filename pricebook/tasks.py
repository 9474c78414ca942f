"""Celery task of the price book: follow price lists coming into and going out of force."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="pricebook.tasks.price_lists_follow_clock", soft_time_limit=50, time_limit=55)
def price_lists_follow_clock() -> int:
    """Re-version the products of the price lists whose validity began or ended since the last
    run (`pricebook.services.price_lists_follow_clock`); how many. Harmless to run twice."""
    from pricebook.services import price_lists_follow_clock as follow

    return follow()
