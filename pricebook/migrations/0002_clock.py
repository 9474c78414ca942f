"""The price lists' clock, and `pricebook.tasks.price_lists_follow_clock` scheduled every minute
(django-celery-beat, editable in the admin): a price list coming into or going out of force by
the clock re-versions its products within the minute (delta sync, cached lookups)."""

from django.db import migrations, models

NAME = "price-lists-follow-clock"


def seed(apps, schema_editor):
    from django.utils import timezone

    apps.get_model("pricebook", "PriceBookClock").objects.get_or_create(
        pk=1, defaults={"checked_at": timezone.now()}
    )
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="*",
        hour="*",
        day_of_week="*",
        day_of_month="*",
        month_of_year="*",
        timezone="UTC",
    )
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "pricebook.tasks.price_lists_follow_clock",
            "crontab": crontab,
            "interval": None,
            "solar": None,
            "clocked": None,
            "args": "[]",
            "kwargs": "{}",
            "enabled": True,
            "one_off": False,
            "description": "Re-version the products of price lists whose validity began or "
            "ended (delta sync, cached lookups).",
            "expire_seconds": 55,
        },
    )
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def unseed(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pricebook", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="PriceBookClock",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                ("checked_at", models.DateTimeField()),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("id", 1)), name="pricebookclock_singleton"
                    )
                ],
            },
        ),
        migrations.RunPython(seed, unseed),
    ]
