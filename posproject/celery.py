"""The Celery application. Tasks live in each app's `tasks.py`; the beat schedule is stored in the
database (django-celery-beat) and seeded by a data migration."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")

app = Celery("posproject")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _refuse_per_process_services(**kwargs: object) -> None:
    """With DEBUG off, no worker starts on a per-process cache or the file broker unless allowed
    (DJANGO_ALLOW_LOCAL_SERVICES)."""
    from monitoring.checks import require_shared_services

    require_shared_services()
