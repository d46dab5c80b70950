"""Delivery of outbound messages, one task per message id."""

from celery import shared_task
from django.conf import settings

from crm.actors import Actor

from . import services

DELIVERY = Actor.system("message delivery")

BACKOFF_BASE_SECONDS = 5
BACKOFF_MAX_SECONDS = 10 * 60


def max_retries() -> int:
    return settings.CELERY_TASK_MAX_RETRIES


def backoff_seconds(retries: int) -> int:
    """Exponential backoff: 5, 10, 20, 40... seconds, capped."""
    return min(BACKOFF_BASE_SECONDS * 2**retries, BACKOFF_MAX_SECONDS)


@shared_task(bind=True, name="messaging.deliver_message", max_retries=None, acks_late=True)
def deliver_message(self, message_id: int) -> str:
    retries = self.request.retries or 0
    outcome = services.message_deliver(
        message_id=message_id, final_attempt=retries >= max_retries(), actor=DELIVERY
    )
    if outcome is services.DeliveryOutcome.RETRY:
        raise self.retry(countdown=backoff_seconds(retries))
    return outcome.value


def enqueue_delivery(message_id: int) -> None:
    """Sent once the caller's transaction commits (Celery's apply_async_on_commit,
    as imports do), so the task never runs before its row exists.
    MESSAGING_DELIVERY_QUEUE (optional) routes deliveries to their own queue."""
    queue = getattr(settings, "MESSAGING_DELIVERY_QUEUE", None)
    deliver_message.apply_async_on_commit(args=[message_id], **({"queue": queue} if queue else {}))
