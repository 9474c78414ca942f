"""Helpers shared by operations tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import REGISTRY

from posproject.celery import app as celery_app


def sample(name: str, **labels: str) -> float:
    """The current value of a metric sample in this process (0 when never incremented)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _reset_pools() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_at(url: str) -> Iterator[None]:
    """Point the project's Celery app at `url` with the production publish settings (not eager)
    for the duration of the block."""
    # Celery reads CELERY_BROKER_URL from the environment in preference to its configuration.
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    conf = celery_app.conf
    keys = (
        "broker_url",
        "broker_write_url",
        "broker_read_url",
        "task_always_eager",
        "broker_transport_options",
    )
    saved = {key: conf.get(key) for key in keys}
    conf.broker_url = url
    conf.broker_write_url = None
    conf.broker_read_url = None
    conf.task_always_eager = False
    conf.broker_transport_options = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
    _reset_pools()
    try:
        yield
    finally:
        for key, value in saved.items():
            conf[key] = value
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        _reset_pools()
