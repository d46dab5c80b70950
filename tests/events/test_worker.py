"""Webhook delivery by the production worker command (`celery -A config
worker`, prefork) on the Redis broker: a worker SIGKILLed mid-delivery
loses nothing; another delivers every event, each with its webhook-id."""
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from contacts import services as contacts
from events import webhooks
from events.models import Event, WebhookDelivery
from tests.factories import actor_of
from tests.processes import forget_queue
from tests.receivers import worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
N = 40


@pytest.fixture
def webhook_workers(settings):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the worker tests need CELERY_BROKER_URL=redis://... (scripts/test.sh sets it)")
    queue = f"test-webhooks-{uuid.uuid4().hex[:8]}"
    settings.WEBHOOK_QUEUE = queue
    database_url = worker_database_url()
    started = []

    def start():
        log = tempfile.NamedTemporaryFile(prefix="webhook-worker-", suffix=".log", delete=False)
        # the production command: prefork pool, default settings, on a private queue
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--concurrency", "2",
             "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            env={**os.environ, "DATABASE_URL": database_url, "CONN_MAX_AGE": "0", "WEBHOOK_CLAIM_SECONDS": "3",
                 "CELERY_VISIBILITY_TIMEOUT": "2", "OUTBOUND_ALLOW_PRIVATE_NETWORKS": "true"},
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        process.log_path = log.name
        started.append(process)
        return process

    start.queue = queue
    try:
        yield start
    finally:
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
            os.unlink(process.log_path)
        forget_queue(queue)


def wait_for(predicate, timeout, what, process):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    with open(process.log_path) as f:
        pytest.fail(f"timed out waiting for {what}\n{f.read()[-3000:]}")


def test_sigkill_of_a_delivering_worker_loses_nothing(api_client, hook_receiver, webhook_workers, settings):
    workspace = api_client.workspace
    actor = actor_of(workspace, api_client.user)
    webhooks.webhook_create(workspace=workspace, actor=actor, url=hook_receiver.url)
    hook_receiver.delay = 0.1  # slow enough to kill the worker mid-batch
    first = webhook_workers()
    for i in range(N):
        contacts.contact_create(workspace=workspace, actor=actor, name=f"Contact {i}")
    wait_for(lambda: len(hook_receiver.requests) >= 5, 60, "the first deliveries", first)
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool processes, mid-batch
    first.wait(timeout=10)
    received_before = len(hook_receiver.requests)
    assert received_before < N, "killed mid-delivery"

    second = webhook_workers()
    from events.tasks import sweep_webhooks

    def all_delivered():
        sweep_webhooks.apply()  # what beat runs every WEBHOOK_SWEEP_SECONDS
        return not WebhookDelivery.objects.exclude(status="succeeded").exists()

    wait_for(all_delivered, 90, "every delivery to succeed", second)
    expected = {f"evt_{pk}" for pk in Event.objects.filter(workspace=workspace, type="contact.created")
                .values_list("pk", flat=True)}
    received = {r["headers"]["webhook-id"] for r in hook_receiver.requests}
    assert len(expected) == N and received == expected, "every event, at least once, with its webhook-id"
