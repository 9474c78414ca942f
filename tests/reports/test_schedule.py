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
