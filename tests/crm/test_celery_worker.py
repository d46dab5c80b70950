"""A task through a real worker process on the Redis broker.

The worker runs in a subprocess on a private queue with a Redis result
backend (the broker's database), so the test reads back what the task
returned: proof that it ran, not only that the message left the queue.
"""
import os
import subprocess
import sys
import tempfile
import uuid

import pytest
import redis
from celery.app import backends
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.conf import settings

from config.celery import app

pytestmark = pytest.mark.worker


@pytest.fixture
def celery_worker_process():
    """Starts `celery -A config worker` on a private queue; yields (queue, result backend)."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the worker tests need CELERY_BROKER_URL=redis://... (scripts/test.sh sets it)")
    queue = f"test-{uuid.uuid4().hex[:8]}"
    result_url = settings.CELERY_BROKER_URL
    backend_cls, url = backends.by_url(result_url, app.loader)
    backend = backend_cls(app=app, url=url)
    log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue,
         "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
        env={**os.environ, "CELERY_RESULT_BACKEND": result_url}, stdout=log, stderr=subprocess.STDOUT,
    )
    process.log_path = log.name
    try:
        yield queue, backend, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        os.unlink(log.name)
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(queue)


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
