"""An export through a real `celery -A config worker` (the production
command: Celery's default prefork pool) on the Redis broker, pointed at the
committed test database: enqueued by the API, written by the worker, read
back through the download route."""
import time

import pytest

from crm.models import Membership
from tests.contacts.factories import ContactFactory
from tests.factories import WorkspaceFactory
from tests import processes
from tests.processes import celery_worker, worker_log

from .conftest import csv_rows, download, job_of, start

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_export_runs_on_a_prefork_worker(client_for, settings, media_root):
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the worker tests need CELERY_BROKER_URL=redis://... (scripts/test.sh sets it)")
    workspace = WorkspaceFactory()
    api_client = client_for(workspace, Membership.Role.ADMIN)
    contacts = [ContactFactory(workspace=workspace, name=f"=n{i}", external_client_id=f"w{i}") for i in range(25)]
    env = {"DATABASE_URL": processes.test_database_url(), "MEDIA_ROOT": str(media_root), "CONN_MAX_AGE": "0",
           "EXPORT_PAGE_ROWS": "10"}
    with celery_worker(env=env, pool_args=()) as (queue, process):
        settings.EXPORT_QUEUE = queue
        job_id = start(api_client, format="csv", columns=["id", "name", "external_client_id"])
        deadline = time.monotonic() + 60
        while job_of(api_client, job_id)["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(0.1)
        job = job_of(api_client, job_id)
        assert job["status"] == "succeeded", (job, worker_log(process)[-3000:])
        assert "prefork" in worker_log(process)
    assert (job["rows"], job["total_rows"], job["progress"]) == (25, 25, 100)
    rows = csv_rows(download(api_client, job_id))
    assert [(int(r["id"]), r["name"]) for r in rows] == [(c.pk, f"'{c.name}") for c in contacts]
