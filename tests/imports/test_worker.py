"""Imports through real workers started as docs/operations.md runs them in
production (`celery -A config worker`, Celery's default prefork pool) on the
Redis broker, pointed at the (committed) test database: the whole flow end
to end, a file above the parallel-validation threshold, and a worker
SIGKILLed mid-job whose job another worker finishes with exactly the file's
rows."""
import time
import uuid
from contextlib import ExitStack

import pytest
from django.db import connection

from contacts.models import Contact
from imports.models import ImportJob
from imports.tasks import import_job_run_task
from tests.processes import PRODUCTION_POOL, celery_beat, celery_worker, kill_group, worker_log

from .conftest import upload

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def import_workers(settings, media_root):
    """A factory of production workers on one private queue; every one is
    stopped, with its children, at the end."""
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the worker tests need CELERY_BROKER_URL=redis://... (scripts/test.sh sets it)")
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    queue = settings.IMPORT_QUEUE = f"test-imports-{uuid.uuid4().hex[:8]}"
    base_env = {"DATABASE_URL": database_url, "CONN_MAX_AGE": "0", "MEDIA_ROOT": str(media_root),
                "IMPORT_QUEUE": queue}

    def start(**env):
        _, process = stack.enter_context(
            celery_worker(env={**base_env, **env}, pool_args=PRODUCTION_POOL, queue=queue))
        return process

    start.queue = queue
    start.env = base_env
    with ExitStack() as stack:
        yield start


def wait_for(predicate, timeout, what, process=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    processes = process if isinstance(process, list) else [process] if process is not None else []
    log = "\n".join(worker_log(p)[-4000:] for p in processes)
    pytest.fail(f"timed out waiting for {what}\n{log}")


def job(job_id):
    return ImportJob.objects.get(pk=job_id)


def test_end_to_end_on_a_real_worker(import_workers, api_client):
    worker = import_workers()
    content = "externalClientId,name,email,phone,tags\n" + "".join(
        f"e{i},N{i},n{i}@example.com,+1415555{2600 + i:04d},vip\n" for i in range(50)
    ) + "e3,Dup,,,\nx,Bad,bad,,\n"
    file_name = upload(api_client, content)
    checked = api_client.post("/v1/crm/imports/validate", {"file_name": file_name}, format="json").json()
    assert (checked["total_rows"], checked["valid_rows"], checked["invalid_rows"]) == (52, 50, 2)

    response = api_client.post("/v1/crm/imports", {"file_name": file_name, "skip_errors": True}, format="json")
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    # The same task delivered a second time: it must not import anything twice.
    import_job_run_task.apply_async(args=[job_id], queue=import_workers.queue)
    wait_for(lambda: job(job_id).status == "succeeded", 60, "the job to succeed", worker)

    body = api_client.get(response["Location"]).json()
    assert (body["created"], body["updated"], body["skipped"], body["progress"]) == (50, 0, 2, 100)
    assert [e["row"] for e in body["errors"]] == [52, 53]
    assert Contact.objects.count() == 50
    assert Contact.objects.get(external_client_id="e7").tags.get().tag == "vip"
    errors_csv = b"".join(api_client.get(f"{response['Location']}/errors.csv").streaming_content).decode()
    assert errors_csv.splitlines()[1].startswith("52,") and "Bad" in errors_csv
    time.sleep(0.5)  # the duplicate delivery has run too by now (one solo worker, in order)
    assert Contact.objects.count() == 50 and job(job_id).created == 50


ROWS = 200_000
LEASE, SWEEP = 3, 1


def test_a_worker_sigkilled_mid_job_another_finishes_it_after_lease_and_sweep(import_workers, api_client, settings):
    # Every 10th row has no external id: a row imported twice would show as an extra contact.
    content = "externalClientId,name,city\n" + "".join(
        f"{'' if i % 10 == 0 else f'k{i}'},Name {i},City {i % 7}\n" for i in range(ROWS)
    )
    file_name = upload(api_client, content)
    # A short lease and sweep; the broker's visibility timeout stays at its
    # 2 hours: only the sweep can bring the job back in time.
    env = {"IMPORT_CHUNK_ROWS": 2_000, "IMPORT_LEASE_SECONDS": LEASE, "IMPORT_SWEEP_SECONDS": SWEEP}
    workers = [import_workers(**env), import_workers(**env)]
    with celery_beat(env={**import_workers.env, **env}):
        response = api_client.post("/v1/crm/imports", {"file_name": file_name, "skip_errors": True}, format="json")
        job_id = response.json()["job_id"]
        wait_for(lambda: job(job_id).processed_rows >= 20_000, 90, "the first chunks", workers)
        (running,) = [w for w in workers if "import job started" in worker_log(w)]
        kill_group(running)  # the worker's main process and its pool, at once
        killed_at = time.monotonic()
        (other,) = [w for w in workers if w is not running]

        killed = job(job_id)
        assert killed.status == "running" and 0 < killed.processed_rows < ROWS, "killed mid-job"
        # What the dead worker committed is exactly its checkpoint's rows.
        assert Contact.objects.count() == killed.created == killed.checkpoint

        wait_for(lambda: job(job_id).processed_rows > killed.processed_rows, LEASE + SWEEP + 15,
                 "the other worker to resume the job", other)
        resumed_after = time.monotonic() - killed_at
        wait_for(lambda: job(job_id).status == "succeeded", 300, "the other worker to finish the job", other)

    # lease + one sweep interval, and the time to commit a chunk on a loaded machine
    assert resumed_after < LEASE + SWEEP + 10, resumed_after
    assert "import job resumed" in worker_log(other)
    done = job(job_id)
    assert (done.created, done.processed_rows, done.total_rows, done.skipped, done.progress) == (ROWS, ROWS, ROWS, 0, 100)
    assert Contact.objects.count() == ROWS
    assert Contact.objects.filter(external_client_id__isnull=True).count() == ROWS // 10
    assert Contact.objects.filter(name__in=["Name 0", f"Name {ROWS - 1}", f"Name {killed.checkpoint}"]).count() == 3


def test_a_file_above_the_parallel_threshold_imports_on_a_prefork_worker(import_workers, api_client):
    # 3,000 rows (~100 kB) over a threshold lowered to 20 kB: validation runs
    # in processes started inside a prefork child, where multiprocessing refuses to.
    rows = 3_000
    content = "externalClientId,name,email,phone\n" + "".join(
        f"p{i},Name {i},p{i}@example.com,+1415555{i:04d}\n" for i in range(rows)
    ) + "bad,Bad,not-an-email,\n"
    assert len(content) > 20_000
    worker = import_workers(IMPORT_PARALLEL_MIN_BYTES=20_000, IMPORT_VALIDATE_PROCESSES=2, IMPORT_CHUNK_ROWS=500)
    file_name = upload(api_client, content)
    response = api_client.post("/v1/crm/imports", {"file_name": file_name, "skip_errors": True}, format="json")
    job_id = response.json()["job_id"]
    wait_for(lambda: job(job_id).status not in ImportJob.ACTIVE, 60, "the job to finish", worker)

    done = job(job_id)
    assert done.status == "succeeded", (done.message, worker_log(worker)[-3000:])
    assert (done.created, done.skipped, done.processed_rows, done.progress) == (rows, 1, rows + 1, 100)
    assert Contact.objects.count() == rows
    assert "import validation in 2 processes" in worker_log(worker)
