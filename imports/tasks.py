from celery import shared_task
from django.conf import settings

from . import services

BUSY_RETRIES = 3


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(self, job_id: int) -> str:
    """Runs or resumes an import job. Redelivery is safe: a delivery that
    finds another run holding the job's lease changes nothing ("busy"). It
    looks again once the lease could have lapsed: a live run renews it and
    this delivery gives up after a few looks; a crashed run's job is taken
    over and continues from its last committed chunk."""
    outcome = services.import_job_run(job_id=job_id)
    if outcome == "busy" and not self.request.is_eager and self.request.retries < BUSY_RETRIES:
        raise self.retry(countdown=settings.IMPORT_LEASE_SECONDS + 1, max_retries=BUSY_RETRIES)
    return outcome
