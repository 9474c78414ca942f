"""Publishing Celery tasks from request code without ever failing or stalling the request.

    from monitoring.tasks import enqueue_after_commit
    enqueue_after_commit(report_refresh, order.store_id, business_date.isoformat())

The task is sent only after the surrounding transaction commits (a rolled-back sale queues
nothing), and sending it can neither raise into the response nor hold it for long:

* the publish uses the project's short connect timeout and retry policy
  (`CELERY_BROKER_CONNECTION_TIMEOUT`, `CELERY_TASK_PUBLISH_RETRY_POLICY`): a refused broker costs
  well under a second, a broker that accepts and never answers about two;
* a failure is logged at ERROR with the task name and its arguments (tasks take ids, so the line
  is enough to re-run it by hand) and counted as `pos_celery_tasks_total{outcome="publish_failed"}`;
* after a failure this process stops trying for `CELERY_PUBLISH_BACKOFF_SECONDS` (a circuit
  breaker): during a broker outage only the first sale of each window pays the timeout; the
  others record the task as not queued straight away.

Lost tasks must therefore be ones that can be recomputed (reports, notifications), which is what
this project queues; anything that must never be lost belongs in the database transaction itself.
With no broker configured (`CELERY_TASK_ALWAYS_EAGER`) the task simply runs in-process after
commit, and its exceptions are contained the same way.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.conf import settings
from django.db import transaction

from monitoring.metrics import CELERY_TASKS

logger = logging.getLogger("monitoring.tasks")

PUBLISHED = "published"
PUBLISH_FAILED = "publish_failed"


class _Breaker:
    """Process-local circuit breaker for the broker."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_until = 0.0

    def is_open(self) -> bool:
        with self._lock:
            return time.monotonic() < self._open_until

    def trip(self, seconds: float) -> None:
        with self._lock:
            self._open_until = time.monotonic() + seconds

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


breaker = _Breaker()


def _task_name(task: Any) -> str:
    return str(getattr(task, "name", None) or getattr(task, "__name__", None) or repr(task))


def enqueue(task: Any, *args: Any, **kwargs: Any) -> bool:
    """Send `task(*args, **kwargs)` now. True when handed to the broker (or run eagerly), False
    when it could not be (logged and counted); never raises."""
    name = _task_name(task)
    if breaker.is_open():
        logger.error(
            "task not queued: broker marked unavailable",
            extra={"task": name, "task_args": list(args), "task_kwargs": kwargs},
        )
        CELERY_TASKS.labels(task=name, outcome=PUBLISH_FAILED).inc()
        return False
    try:
        task.apply_async(args=args, kwargs=kwargs)
    except Exception as exc:  # noqa: BLE001 - a broker outage must never reach the response
        breaker.trip(float(getattr(settings, "CELERY_PUBLISH_BACKOFF_SECONDS", 10)))
        logger.error(
            "task not queued: %s",
            type(exc).__name__,
            extra={"task": name, "task_args": list(args), "task_kwargs": kwargs},
        )
        CELERY_TASKS.labels(task=name, outcome=PUBLISH_FAILED).inc()
        return False
    CELERY_TASKS.labels(task=name, outcome=PUBLISHED).inc()
    return True


def enqueue_after_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send the task once the current transaction (on the default database) commits; right away
    outside a transaction. See the module docstring for what happens when the broker is down."""
    transaction.on_commit(lambda: enqueue(task, *args, **kwargs))
