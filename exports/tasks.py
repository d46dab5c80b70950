from celery import shared_task
from django.conf import settings

from crm.actors import Actor

from . import services

BUSY_RETRIES = 3


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, name="exports.run")
def export_job_run_task(self, job_id: int) -> str:
    """Runs an export job. Redelivery is safe: a delivery that finds another
    run holding the job's lease changes nothing ("busy") and looks again once
    the lease could have lapsed; a crashed run's job is started over."""
    outcome = services.export_job_run(job_id=job_id)
    if outcome == "busy" and not self.request.is_eager and self.request.retries < BUSY_RETRIES:
        raise self.retry(countdown=settings.EXPORT_LEASE_SECONDS + 1, max_retries=BUSY_RETRIES)
    return outcome


@shared_task(name="exports.purge")
def export_jobs_purge_task() -> int:
    """Deletes finished export jobs older than EXPORT_RETENTION_HOURS and their files (beat)."""
    return services.export_jobs_purge(actor=Actor.system("exports-purge"))
