"""Validation as a job: POST /imports {file_name, validate_only: true}
reports what POST /imports/validate reports, for a file of any size; the
synchronous endpoint refuses files over IMPORT_VALIDATE_SYNC_MAX_BYTES."""
from contacts.models import Contact

from .conftest import upload, validate
from .test_jobs import job_of, run, start

CONTENT = (
    "externalClientId,name,email,label,Unknown\n"
    "e1,Ann,ann@example.com,Hot lead,x\n"
    "e2,Bob,not-an-email,No such label,x\n"
    "e1,Dup,,,x\n"
    "e4,Di,di@example.com,,x\n"
    "ragged\n"
)


def test_a_validate_only_job_reports_what_the_validate_endpoint_reports(api_client):
    file_name = upload(api_client, CONTENT)
    expected = validate(api_client, file_name)
    assert (expected["total_rows"], expected["invalid_rows"]) == (5, 3)

    job_id = start(api_client, file_name, validate_only=True)
    assert run(job_id) == "succeeded"
    job = job_of(api_client, job_id)
    assert job["validate_only"] is True and job["result"] == expected
    assert (job["status"], job["progress"], job["total_rows"], job["processed_rows"], job["skipped"]) == (
        "succeeded", 100, 5, 5, 3)
    assert job["errors"] == expected["errors"] and job["error_count"] == expected["error_count"]
    assert (job["created"], job["updated"]) == (0, 0) and not Contact.objects.exists()


def test_a_validate_only_job_accepts_the_seed_alias_and_a_mapping(api_client):
    file_name = upload(api_client, "Given,email\nAnn,ann@example.com\n")
    response = api_client.post("/v1/crm/imports", {"fileName": file_name, "validateOnly": True,
                                                   "mapping": {"Given": "name"}}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    run(job_id)
    assert job_of(api_client, job_id)["result"]["columns"] == {"Given": "name", "email": "email"}


def test_an_ordinary_job_has_no_result(api_client):
    job_id = start(api_client, upload(api_client, "name\nAnn\n"))
    run(job_id)
    job = job_of(api_client, job_id)
    assert job["validate_only"] is False and job["result"] is None and Contact.objects.count() == 1


def test_validate_only_must_be_a_boolean(api_client):
    file_name = upload(api_client, "name\nAnn\n")
    response = api_client.post("/v1/crm/imports", {"file_name": file_name, "validate_only": "maybe"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "validate_only"


def test_the_sync_endpoint_refuses_a_file_over_its_size_and_points_to_the_job(api_client, settings):
    file_name = upload(api_client, CONTENT)
    settings.IMPORT_VALIDATE_SYNC_MAX_BYTES = len(CONTENT) - 1
    response = api_client.post("/v1/crm/imports/validate", {"file_name": file_name}, format="json")
    assert response.status_code == 413
    body = response.json()
    assert body["code"] == "validate_in_a_job" and '"validate_only": true' in body["message"]
    # the job form takes it
    job_id = start(api_client, file_name, validate_only=True)
    assert run(job_id) == "succeeded" and job_of(api_client, job_id)["result"]["total_rows"] == 5
