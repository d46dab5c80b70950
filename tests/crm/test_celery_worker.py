"""A task through a real worker process on the Redis broker.

The worker runs in a subprocess on a private queue with a Redis result
backend (the broker's database), so the test reads back what the task
returned: proof that it ran, not only that the message left the queue.
"""
import uuid

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError

from config.celery import app

pytestmark = pytest.mark.worker


def test_task_runs_on_real_worker(celery_worker_process):
    from crm.tasks import ping

    queue, backend, process = celery_worker_process
    marker = uuid.uuid4().hex
    sent = ping.apply_async(args=[marker], queue=queue)
    try:
        value = app.AsyncResult(sent.id, backend=backend).get(timeout=60, interval=0.2)
    except CeleryTimeoutError:
        with open(process.log_path) as f:
            pytest.fail(f"no result from the worker within 60 s; worker log:\n{f.read()[-3000:]}")
    assert value == marker
