"""Seed the Celery beat schedule (django-celery-beat, stored in the database and editable by
admins in the Django admin).

All three run every hour, in UTC; each decides per store, in the store's own time zone:

* `daily-reports` (minute 10): stores each store's previous local day once it is over (and any
  of the two days before that lack a report). Idempotent: days already stored are skipped.
* `reconciliation` (minute 40): reconciles the previous local day of the stores whose local
  clock is in the 03:00 hour (once a day per store) and records the result in the audit trail.
* `idempotency-keys-cleanup` (minute 25): deletes expired idempotency keys.

Existing entries of the same name are updated, not duplicated; schedules an admin has edited
since are put back only by rerunning this migration.
"""

from django.db import migrations

SCHEDULE = (
    # name, task, crontab minute, description
    (
        "daily-reports",
        "orders.tasks.daily_reports_generate_due",
        "10",
        "Store each store's previous local day's report once the day is over.",
    ),
    (
        "reconciliation",
        "orders.tasks.reconciliations_run_due",
        "40",
        "Reconcile the ledger with the sales of each store's previous day at 03:xx local time.",
    ),
    (
        "idempotency-keys-cleanup",
        "orders.tasks.purge_expired_idempotency_keys",
        "25",
        "Delete expired Idempotency-Key records.",
    ),
)


def seed(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    for name, task, minute, description in SCHEDULE:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour="*",
            day_of_week="*",
            day_of_month="*",
            month_of_year="*",
            timezone="UTC",
        )
        PeriodicTask.objects.update_or_create(
            name=name,
            defaults={
                "task": task,
                "crontab": crontab,
                "interval": None,
                "solar": None,
                "clocked": None,
                "args": "[]",
                "kwargs": "{}",
                "enabled": True,
                "one_off": False,
                "description": description,
                # A run missed by more than half an hour is skipped: the next hour catches up.
                "expire_seconds": 1800,
            },
        )
    # Tell a running beat (DatabaseScheduler) that the schedule changed.
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": _now()})


def unseed(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[name for name, *_ in SCHEDULE]).delete()


def _now():
    from django.utils import timezone

    return timezone.now()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_refund_shift"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
