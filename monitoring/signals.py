"""Celery task outcomes as metrics (`pos_celery_tasks_total{task, outcome}`), and the worker's
own `/metrics` listener.

Signals are right for this: counting is observation, not business logic. The handlers run in
the process that ran the task (a worker, or the web process when tasks run eagerly).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery.signals import (
    task_failure,
    task_retry,
    task_success,
    worker_process_shutdown,
    worker_ready,
)

from monitoring.metrics import CELERY_TASKS

logger = logging.getLogger("monitoring.celery")


def _name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


@task_success.connect(weak=False)
def count_task_success(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(task=_name(sender), outcome="success").inc()


@task_failure.connect(weak=False)
def count_task_failure(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(task=_name(sender), outcome="failure").inc()


@task_retry.connect(weak=False)
def count_task_retry(sender: Any = None, **kwargs: Any) -> None:
    CELERY_TASKS.labels(task=_name(sender), outcome="retry").inc()


@worker_ready.connect(weak=False)
def serve_worker_metrics(sender: Any = None, **kwargs: Any) -> None:
    """With `CELERY_METRICS_PORT` set, the worker serves its metrics (all pool processes merged
    when `PROMETHEUS_MULTIPROC_DIR` is set) on that port for Prometheus to scrape."""
    port = os.environ.get("CELERY_METRICS_PORT")
    if not port:
        return
    from prometheus_client import start_http_server

    from monitoring.exposition import metrics_registry

    address = os.environ.get("CELERY_METRICS_ADDRESS", "0.0.0.0")  # noqa: S104 - a pod port # nosec B104
    start_http_server(int(port), addr=address, registry=metrics_registry())
    logger.info("worker metrics on %s:%s", address, port)


@worker_process_shutdown.connect(weak=False)
def mark_worker_process_dead(pid: int | None = None, **kwargs: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())
