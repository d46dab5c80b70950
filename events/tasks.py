"""Webhook delivery and the events' periodic tasks (Celery beat:
config/settings.py CELERY_BEAT_SCHEDULE)."""
from celery import shared_task
from django.conf import settings

from crm.actors import Actor

from . import services, webhooks

WEBHOOKS = Actor.system("webhook delivery")
RETENTION = Actor.system("events retention")


@shared_task(name="events.deliver_webhooks", acks_late=True, reject_on_worker_lost=True)
def deliver_webhooks(endpoint_id: int) -> int:
    """Delivers an endpoint's due deliveries. Safe to run twice or at once:
    deliveries are claimed (SKIP LOCKED) before they are sent."""
    return webhooks.webhook_deliver_due(endpoint_id=endpoint_id, actor=WEBHOOKS)


@shared_task(name="events.sweep_webhooks", acks_late=True)
def sweep_webhooks() -> int:
    """Hands the endpoints with due, unclaimed deliveries to delivery tasks:
    retries whose time has come, claims of a killed worker that lapsed,
    kicks lost on the way to the broker."""
    queue = getattr(settings, "WEBHOOK_QUEUE", None)
    due = webhooks.webhooks_due()
    for endpoint_id in due:
        deliver_webhooks.apply_async(args=[endpoint_id], **({"queue": queue} if queue else {}))
    return len(due)


@shared_task(name="events.purge_events", acks_late=True)
def purge_events() -> int:
    """Deletes events older than EVENTS_RETENTION_DAYS."""
    return services.events_purge(actor=RETENTION)
