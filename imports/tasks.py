from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(job_id: int) -> str:
    """Runs or resumes an import job. Redelivery is safe: the job's lease
    turns a second concurrent delivery into a no-op ("busy"), and a run
    after a crash continues from the last committed chunk."""
    return services.import_job_run(job_id=job_id)
