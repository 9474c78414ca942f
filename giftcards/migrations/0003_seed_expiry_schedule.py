"""Schedule `giftcards.tasks.expire_gift_cards` hourly at minute 50 UTC (django-celery-beat,
editable in the admin): cards past `expires_at` are expired (breakage posted) within the hour, and
money a refund put back on an expired card is taken the same way. Idempotent: a card already
expired with nothing on it is left alone."""

from django.db import migrations

NAME = "gift-cards-expiry"


def seed(apps, schema_editor):
    from django.utils import timezone

    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="50",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "giftcards.tasks.expire_gift_cards",
            "crontab": crontab,
            "interval": None,
            "solar": None,
            "clocked": None,
            "args": "[]",
            "kwargs": "{}",
            "enabled": True,
            "one_off": False,
            "description": "Expire gift cards past their expiry (breakage to 4010).",
            "expire_seconds": 1800,
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("giftcards", "0002_movement_immutable"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed, unseed)]
