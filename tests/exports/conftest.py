import csv
import io

import pytest
from django.core.files.storage import default_storage

from exports.tasks import export_job_run_task


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def start(client, **body):
    response = client.post("/v1/crm/exports", body, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    assert response["Location"] == f"/v1/crm/exports/{job_id}"
    return job_id


def run(job_id):
    return export_job_run_task.apply(args=[job_id]).get()


def job_of(client, job_id):
    response = client.get(f"/v1/crm/exports/{job_id}")
    assert response.status_code == 200, response.content
    return response.json()


def download(client, job_id) -> bytes:
    response = client.get(f"/v1/crm/exports/{job_id}/download")
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def csv_rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def stored_exports(workspace) -> list[str]:
    prefix = f"exports/{workspace.pk}"
    return default_storage.listdir(prefix)[1] if default_storage.exists(prefix) else []
