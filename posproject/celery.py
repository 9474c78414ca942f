"""The Celery application. Tasks live in each app's `tasks.py`; the beat schedule is stored in the
database (django-celery-beat) and seeded by a data migration."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")

app = Celery("posproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
