"""Publishing tasks after commit never fails or stalls the request; task outcomes are counted."""

from __future__ import annotations

import time

import pytest
from django.db import transaction

from monitoring.tasks import breaker, enqueue, enqueue_after_commit
from posproject.celery import app
from tests.monitoring.helpers import broker_at, sample

RUNS: list[tuple] = []


@app.task(name="tests.monitoring.record")
def record(*args, **kwargs):
    RUNS.append((args, kwargs))
    return len(RUNS)


@app.task(name="tests.monitoring.explode")
def explode():
    raise ValueError("boom")


@app.task(name="tests.monitoring.flaky", bind=True, max_retries=1)
def flaky(self):
    raise self.retry(countdown=0, exc=ValueError("again"))


def outcome(task: str, result: str) -> float:
    return sample("pos_celery_tasks_total", task=task, outcome=result)


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    RUNS.clear()


@pytest.mark.django_db(transaction=True)
def test_sent_only_after_commit() -> None:
    with transaction.atomic():
        enqueue_after_commit(record, 7, store=3)
        assert RUNS == []
    assert RUNS == [((7,), {"store": 3})]


@pytest.mark.django_db(transaction=True)
def test_nothing_sent_when_the_transaction_rolls_back() -> None:
    def failing_sale() -> None:
        with transaction.atomic():
            enqueue_after_commit(record, 8)
            raise RuntimeError("sale failed")

    with pytest.raises(RuntimeError):
        failing_sale()
    assert RUNS == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_eager_task_never_reaches_the_caller() -> None:
    before = outcome("tests.monitoring.explode", "failure")
    with transaction.atomic():
        enqueue_after_commit(explode)
    assert outcome("tests.monitoring.explode", "failure") == before + 1


def test_task_outcomes_are_counted() -> None:
    success = outcome("tests.monitoring.record", "success")
    retry = outcome("tests.monitoring.flaky", "retry")
    published = outcome("tests.monitoring.record", "published")
    assert enqueue(record, 1)
    enqueue(flaky)
    assert outcome("tests.monitoring.record", "success") == success + 1
    assert outcome("tests.monitoring.record", "published") == published + 1
    assert outcome("tests.monitoring.flaky", "retry") >= retry + 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("listener", ["dead_port", "hung_port"])
def test_broker_down_or_hung_never_raises_and_costs_seconds_at_most(request, listener) -> None:
    port = request.getfixturevalue(listener)
    failed = outcome("tests.monitoring.record", "publish_failed")
    with broker_at(f"amqp://guest:guest@127.0.0.1:{port}//"):
        started = time.monotonic()
        with transaction.atomic():
            enqueue_after_commit(record, 1)
        first = time.monotonic() - started
        assert first < 4.0, first
        # The breaker is now open: the next publishes do not wait on the broker at all.
        assert breaker.is_open()
        started = time.monotonic()
        for _ in range(5):
            with transaction.atomic():
                enqueue_after_commit(record, 2)
        assert time.monotonic() - started < 0.5
    assert RUNS == []
    assert outcome("tests.monitoring.record", "publish_failed") == failed + 6


def test_breaker_closes_again(settings, dead_port) -> None:
    settings.CELERY_PUBLISH_BACKOFF_SECONDS = 0.2
    with broker_at(f"amqp://guest:guest@127.0.0.1:{dead_port}//"):
        assert enqueue(record, 1) is False
        assert breaker.is_open()
        time.sleep(0.25)
        assert not breaker.is_open()


@pytest.mark.broker
def test_publishes_to_a_real_broker() -> None:
    import os

    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("amqp"):
        pytest.skip("needs CELERY_BROKER_URL=amqp://… (CI sets it)")
    published = outcome("tests.monitoring.record", "published")
    with broker_at(url):
        assert enqueue(record, 99, _queue_probe=True) is True
        # Take our message back off the queue so no worker ever sees a test task.
        with app.connection_for_read() as conn:
            queue = conn.SimpleQueue("celery")
            drained = 0
            while True:
                try:
                    message = queue.get(timeout=1)
                except queue.Empty:
                    break
                if message.headers.get("task") == "tests.monitoring.record":
                    message.ack()
                    drained += 1
                else:
                    message.requeue()
                    break
            queue.close()
    assert outcome("tests.monitoring.record", "published") == published + 1
    assert drained >= 1
