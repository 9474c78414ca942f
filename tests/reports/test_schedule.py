"""The beat schedule seeded by the data migration: every entry names a registered task, and
seeding again updates rather than duplicates."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django_celery_beat.models import PeriodicTask

from posproject.celery import app as celery_app

pytestmark = pytest.mark.django_db

seed_migration = importlib.import_module("orders.migrations.0004_seed_beat_schedule")


def test_seeded_schedule_names_registered_tasks_and_is_idempotent() -> None:
    seed_migration.seed(apps, None)
    seed_migration.seed(apps, None)

    names = [name for name, *_ in seed_migration.SCHEDULE]
    entries = PeriodicTask.objects.filter(name__in=names).select_related("crontab")
    assert entries.count() == len(names) == 3
    celery_app.loader.import_default_modules()
    for entry in entries:
        assert entry.task in celery_app.tasks, entry.task
        assert entry.enabled
        assert entry.crontab.hour == "*"  # hourly; each task decides per store's time zone
        assert str(entry.crontab.timezone) == "UTC"


def test_every_scheduled_task_runs_eagerly_without_a_broker() -> None:
    seed_migration.seed(apps, None)
    celery_app.loader.import_default_modules()
    for entry in PeriodicTask.objects.filter(
        name__in=["daily-reports", "idempotency-keys-cleanup"]
    ):
        result = celery_app.tasks[entry.task].delay()
        assert result.successful(), result.traceback
        assert isinstance(result.get(), int)


def test_expired_refresh_tokens_are_flushed_on_a_daily_schedule(cashier) -> None:
    import datetime as dt

    from django.utils import timezone
    from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

    from accounts.tokens import tokens_for

    token_migration = importlib.import_module("accounts.migrations.0003_seed_token_flush_schedule")
    token_migration.seed(apps, None)
    token_migration.seed(apps, None)
    (entry,) = PeriodicTask.objects.filter(task="accounts.tasks.flush_expired_tokens")
    assert entry.enabled
    assert (entry.crontab.minute, entry.crontab.hour) == ("15", "4")
    celery_app.loader.import_default_modules()
    assert entry.task in celery_app.tasks

    tokens_for(cashier)  # a live refresh token
    tokens_for(cashier)
    expired = OutstandingToken.objects.order_by("pk").first()
    assert expired is not None
    OutstandingToken.objects.filter(pk=expired.pk).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    BlacklistedToken.objects.create(token=expired)

    result = celery_app.tasks[entry.task].delay()
    assert result.successful(), result.traceback
    assert result.get() == 1
    assert not OutstandingToken.objects.filter(pk=expired.pk).exists()
    assert not BlacklistedToken.objects.exists()
    assert OutstandingToken.objects.count() == 1
    assert celery_app.tasks[entry.task].delay().get() == 0


def test_gift_cards_expire_on_an_hourly_schedule() -> None:
    expiry_migration = importlib.import_module("giftcards.migrations.0003_seed_expiry_schedule")
    expiry_migration.seed(apps, None)
    expiry_migration.seed(apps, None)
    (entry,) = PeriodicTask.objects.filter(task="giftcards.tasks.expire_gift_cards")
    assert entry.enabled
    assert (entry.crontab.minute, entry.crontab.hour) == ("50", "*")
    celery_app.loader.import_default_modules()
    assert entry.task in celery_app.tasks
    result = celery_app.tasks[entry.task].delay()
    assert result.successful(), result.traceback
    assert result.get() == 0  # nothing to expire
