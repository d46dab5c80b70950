"""Import files and jobs through the shared resource tests
(tests/resources.py). Jobs are only queued here (the task runs on commit,
which a test transaction never reaches); tests/imports/test_jobs.py runs them."""
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from imports import services
from imports.models import ImportFile, ImportJob
from tests.factories import SYSTEM
from tests.resources import Action, APIResourceTests

CSV = b"externalClientId,name\ne1,Ann\n"


def stored_file(workspace) -> ImportFile:
    return services.import_file_upload(
        workspace=workspace, actor=SYSTEM, uploaded=SimpleUploadedFile("c.csv", CSV), original_name="c.csv"
    )


class TestImportFileResource(APIResourceTests):
    model = ImportFile
    list_url = "/v1/crm/imports/files"
    detail_url = "/v1/crm/imports/files/{obj.file_name}"
    retrieve = False
    multipart = True

    def make(self, workspace):
        return stored_file(workspace)

    def create_payload(self, workspace):
        upload = io.BytesIO(CSV)
        upload.name = "contacts.csv"
        return {"file": upload}


class TestImportJobResource(APIResourceTests):
    model = ImportJob
    list_url = "/v1/crm/imports"
    detail_url = "/v1/crm/imports/{obj.pk}"
    create_status = 202
    delete_status = None  # a job is cancelled, not deleted
    actions = (
        Action("post", "/v1/crm/imports/validate", 200, lambda job: {"file_name": job.file_name}),
        Action("post", "/v1/crm/imports/{obj.pk}/cancel", 200),
        Action("get", "/v1/crm/imports/{obj.pk}/errors.csv", 200),
    )

    def make(self, workspace):
        return services.import_job_create(
            workspace=workspace, actor=SYSTEM, file_name=stored_file(workspace).file_name, enqueue=False
        )

    def create_payload(self, workspace):
        return {"file_name": stored_file(workspace).file_name}

    def created_id(self, body):
        return body["job_id"]
