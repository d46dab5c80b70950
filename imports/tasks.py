from celery import shared_task

from . import services


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def import_job_run_task(self, job_id: int) -> str:
    """Runs or resumes an import job. Redelivery is safe: a delivery that
    finds another run holding the job's lease changes nothing ("busy"). A
    job whose run died is handed out again by sweep_import_jobs once its
    lease lapses, and continues from its last committed chunk."""
    return services.import_job_run(job_id=job_id)


@shared_task(name="imports.sweep_import_jobs", acks_late=True)
def sweep_import_jobs() -> int:
    """Periodic (Celery beat, IMPORT_SWEEP_SECONDS): re-enqueues the jobs
    whose lease lapsed."""
    ids = services.import_jobs_sweep()
    for job_id in ids:
        services.import_job_enqueue(job_id)
    return len(ids)
