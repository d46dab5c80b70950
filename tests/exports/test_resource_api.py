"""Export jobs through the shared resource tests (tests/resources.py). A
job made here has run (in the test's transaction): download answers its file,
cancel a 409 (tests/exports/test_exports.py cancels queued and running ones)."""
from exports import services
from exports.models import ExportJob
from tests.contacts.factories import ContactFactory
from tests.factories import SYSTEM
from tests.resources import Action, APIResourceTests


class TestExportJobResource(APIResourceTests):
    model = ExportJob
    list_url = "/v1/crm/exports"
    detail_url = "/v1/crm/exports/{obj.pk}"
    create_status = 202
    delete_status = None  # a job is cancelled, not deleted
    actions = (
        Action("get", "/v1/crm/exports/{obj.pk}/download", 200),
        Action("post", "/v1/crm/exports/{obj.pk}/cancel", 409),
    )

    def make(self, workspace):
        ContactFactory(workspace=workspace)
        job = services.export_job_create(workspace=workspace, actor=SYSTEM, format="csv")
        assert services.export_job_run(job_id=job.pk) == "succeeded"
        return ExportJob.objects.get(pk=job.pk)

    def create_payload(self, workspace):
        return {"format": "csv", "columns": ["id", "name"]}

    def created_id(self, body):
        return body["job_id"]
