from celery import shared_task

from .idempotency import idempotency_keys_purge


@shared_task(name="crm.ping")
def ping(value: str = "pong") -> str:
    """Trivial task: proves a worker consumes from the broker."""
    return value


@shared_task(name="crm.purge_idempotency_keys", acks_late=True)
def purge_idempotency_keys() -> int:
    """Deletes Idempotency-Keys past IDEMPOTENCY_KEY_TTL_SECONDS (Celery beat, hourly)."""
    return idempotency_keys_purge()
