"""What a job says about itself: why and how far a failed job got, progress
100 on every finished job, the file read at most twice, the lifecycle log
lines, and the sweep that hands a job whose lease lapsed to a worker again.
Tasks run eagerly here; tests/imports/test_worker.py kills a real worker."""
import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.models import Contact
from imports import services
from imports.models import ImportJob
from imports.tasks import import_job_run_task, sweep_import_jobs

from .conftest import upload
from .test_jobs import job_of, run, start


def test_a_job_failing_mid_file_says_why_and_how_far_it_got(api_client, settings):
    settings.IMPORT_CHUNK_ROWS = 100
    good = "".join(f"e{i},Name {i}\n" for i in range(2_000))  # ~25 kB: several decoder blocks
    content = ("externalClientId,name\n" + good).encode() + "x,Montréal\n".encode("latin-1")
    job_id = start(api_client, upload(api_client, content), skip_errors=True)
    assert run(job_id) == "failed"

    job = job_of(api_client, job_id)
    assert job["status"] == "failed" and job["progress"] == 100
    assert 0 < job["created"] < 2_000 and job["created"] == Contact.objects.count() == job["processed_rows"]
    assert "not valid UTF-8" in job["message"]
    assert f"It stopped after {job['processed_rows']:,} rows of the file: {job['created']:,} created" in job["message"]


def test_a_job_failing_before_any_row_says_nothing_was_imported(api_client):
    job_id = start(api_client, upload(api_client, "name\nMontréal\n".encode("latin-1")), skip_errors=True)
    assert run(job_id) == "failed"
    job = job_of(api_client, job_id)
    assert job["progress"] == 100 and job["message"].endswith("Nothing was imported.")


def test_a_cancelled_job_is_at_100(api_client):
    job_id = start(api_client, upload(api_client, "name\nAnn\n"))
    response = api_client.post(f"/v1/crm/imports/{job_id}/cancel")
    assert response.status_code == 200, response.content
    assert job_of(api_client, job_id)["progress"] == 100


@pytest.mark.parametrize("valid", [True, False])
def test_skip_errors_false_reads_the_file_at_most_twice(api_client, monkeypatch, valid):
    opened = []
    real = services.open_stream

    def counting(*args, **kwargs):
        opened.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "open_stream", counting)
    content = "externalClientId,name,email\n" + "".join(f"e{i},N{i},n{i}@x.co\n" for i in range(20)) + (
        "" if valid else "e99,Bad,bad\n")
    job_id = start(api_client, upload(api_client, content), skip_errors=False)
    assert run(job_id) == ("succeeded" if valid else "failed")
    assert len(opened) == (2 if valid else 1)
    assert Contact.objects.count() == (20 if valid else 0)
    assert job_of(api_client, job_id)["progress"] == 100


def test_the_job_logs_its_lifecycle(api_client, caplog):
    job_id = start(api_client, upload(api_client, "externalClientId,name\n" + "".join(f"e{i},N{i}\n" for i in range(7))))
    with caplog.at_level(logging.INFO, logger="imports"):
        run(job_id)
    lines = [r.getMessage() for r in caplog.records if r.name == "imports"]
    assert lines[0].startswith("import job started: status=running")
    assert sum(line.startswith("import chunk done") for line in lines) == 3  # 7 rows, 3 a chunk
    assert lines[-1].startswith("import job succeeded: status=succeeded processed_rows=7 total_rows=7 created=7")


def test_the_sweep_hands_a_job_whose_lease_lapsed_to_a_worker_again(
    api_client, settings, django_capture_on_commit_callbacks
):
    content = "externalClientId,name\n" + "".join(f"e{i},N{i}\n" for i in range(10))
    job_id = start(api_client, upload(api_client, content), skip_errors=True)
    # A run died after its first chunk: the job is running, its lease held by the dead run.
    ImportJob.objects.filter(pk=job_id).update(
        status="running", lease_owner="dead-run", lease_expires_at=timezone.now() + timedelta(seconds=30))
    assert sweep_import_jobs.apply().get() == 0  # the lease still runs: nothing to do
    assert run(job_id) == "busy"  # and a redelivery leaves the job to its holder

    ImportJob.objects.filter(pk=job_id).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    with django_capture_on_commit_callbacks() as callbacks:
        assert sweep_import_jobs.apply().get() == 1
    assert sweep_import_jobs.apply().get() == 0  # handed out once a lease, not at every sweep
    swept = ImportJob.objects.get(pk=job_id)
    assert swept.lease_owner == "" and swept.lease_expires_at > timezone.now()

    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert len(callbacks) == 1
    callbacks[0]()  # the re-enqueued task runs
    job = job_of(api_client, job_id)
    assert (job["status"], job["created"], job["progress"]) == ("succeeded", 10, 100)
    assert Contact.objects.count() == 10


def test_the_sweep_hands_out_a_queued_job_no_worker_took(api_client, settings, django_capture_on_commit_callbacks):
    job_id = start(api_client, upload(api_client, "name\nAnn\n"))
    assert services.import_jobs_sweep() == []  # just queued
    ImportJob.objects.filter(pk=job_id).update(created_at=timezone.now() - timedelta(seconds=settings.IMPORT_LEASE_SECONDS + 1))
    assert services.import_jobs_sweep() == [job_id]
    assert import_job_run_task.apply(args=[job_id]).get() == "succeeded"


def test_the_beat_schedule_runs_the_sweep():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["imports-sweep"]
    assert entry["task"] == sweep_import_jobs.name and entry["schedule"] == settings.IMPORT_SWEEP_SECONDS
    assert "webhooks-sweep" in settings.CELERY_BEAT_SCHEDULE  # added to, not replaced
