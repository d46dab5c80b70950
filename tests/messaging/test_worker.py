"""Delivery through a real Celery worker process on the Redis broker, to a
real HTTP receiver, with the data committed (the worker is another process)."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings

from messaging import services
from messaging.models import Message
from messaging.tasks import deliver_message
from tests.factories import SYSTEM
from tests.processes import forget_queue, queue_drained
from tests.receivers import worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def delivery_worker(transactional_db, settings):
    """`celery -A config worker` on a private queue, pointed at the test database."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the worker tests need CELERY_BROKER_URL=redis://... (scripts/test.sh sets it)")
    queue = f"test-messaging-{uuid.uuid4().hex[:8]}"
    settings.MESSAGING_DELIVERY_QUEUE = queue
    database_url = worker_database_url()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--loglevel=WARNING",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
        ],
        env={**os.environ, "DATABASE_URL": database_url, "CONN_MAX_AGE": "0"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        forget_queue(queue)


def wait_for(predicate, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_delivers_once_even_when_the_task_is_sent_twice(
    delivery_worker, receiver, make_contact_factory
):
    workspace, contact = make_contact_factory()
    integration = services.integration_create(
        workspace=workspace,
        actor=SYSTEM,
        name="hook",
        provider="webhook",
        config={"url": receiver.url},
        secret="k" * 20,
    )
    conversation = services.conversation_create(
        workspace=workspace, actor=SYSTEM, contact_id=contact.pk, integration=integration
    )
    # committed: the service enqueues on commit onto the worker's queue
    message = services.message_add(
        workspace=workspace, conversation=conversation, actor=SYSTEM, content="hi", type="text"
    )
    # a duplicate delivery of the same task (as after a broker redelivery)
    deliver_message.apply_async(args=[message.pk], queue=delivery_worker)

    assert wait_for(lambda: Message.objects.get(pk=message.pk).status == "sent"), (
        "the worker did not deliver"
    )
    # of this queue only: a SIGKILLed worker of another test may leave its own unacked messages
    assert wait_for(lambda: queue_drained(delivery_worker)), "duplicate not consumed"
    time.sleep(0.5)
    message.refresh_from_db()
    assert message.external_message_id == "ext-1" and message.sent_at is not None
    assert len(receiver.requests) == 1
    assert message.delivery_attempts == 1


@pytest.fixture
def make_contact_factory(transactional_db):
    def make():
        from contacts.services import contact_create
        from tests.factories import WorkspaceFactory

        workspace = WorkspaceFactory()
        return workspace, contact_create(
            workspace=workspace, actor=SYSTEM, name="Ada", phone="+12025550123")

    return make
