from celery import shared_task


@shared_task(name="crm.ping")
def ping(value: str = "pong") -> str:
    """Trivial task: proves a worker consumes from the broker."""
    return value
