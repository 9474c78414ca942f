"""Celery tasks of accounts. The beat schedule (django-celery-beat) is seeded by
`accounts/migrations/0003_seed_token_flush_schedule.py`."""

from __future__ import annotations

from celery import shared_task
from django.db import DatabaseError


@shared_task(
    name="accounts.tasks.flush_expired_tokens",
    soft_time_limit=240,
    time_limit=300,
    autoretry_for=(DatabaseError,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
    acks_late=True,
)
def flush_expired_tokens() -> int:
    """Daily: delete the refresh tokens (and their blacklist rows) whose expiry has passed, as
    simplejwt's `flushexpiredtokens` does; an expired token is refused by its own `exp` claim, so
    its rows are only weight. Returns how many outstanding tokens went."""
    from accounts.services import expired_tokens_flush

    return expired_tokens_flush()
