"""Seed the beat task `partitions-ensure` (daily, 02:15 UTC): creates the monthly partitions of
the history tables `PARTITION_MONTHS_AHEAD` months ahead and drops the idempotency-key
partitions past their retention. The hourly `idempotency-keys-cleanup` now drops partitions too
(it never deletes rows any more)."""

from django.db import migrations

NAME = "partitions-ensure"


def seed(apps, schema_editor):
    from django.utils import timezone

    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="15",
        hour="2",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "orders.tasks.partitions_ensure",
            "crontab": crontab,
            "interval": None,
            "solar": None,
            "clocked": None,
            "args": "[]",
            "kwargs": "{}",
            "enabled": True,
            "one_off": False,
            "description": (
                "Create the history tables' monthly partitions ahead; drop expired "
                "idempotency-key partitions."
            ),
            "expire_seconds": 6 * 3600,
        },
    )
    PeriodicTask.objects.filter(name="idempotency-keys-cleanup").update(
        description="Drop the Idempotency-Key partitions past their retention."
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0020_partition_idempotency_keys"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
