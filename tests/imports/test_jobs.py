"""Import jobs: create/update by external id, both skip_errors modes,
resume, lease, cancel, errors.csv, tenancy. The task runs eagerly here
(tests/imports/test_worker.py runs it on a real worker)."""
import csv
import io

import pytest
from django.utils import timezone

from contacts.models import Contact, ContactTag
from imports import services
from imports.models import ImportFile, ImportJob, ImportJobError
from imports.tasks import import_job_run_task
from labels.models import ContactLabel
from tags.models import Tag
from tests.factories import SYSTEM, MembershipFactory, UserFactory
from tests.tenancy import assert_tenant_isolated

from .conftest import store, upload


def start(client, file_name, **body):
    response = client.post("/v1/crm/imports", {"file_name": file_name, **body}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    assert response["Location"] == f"/v1/crm/imports/{job_id}"
    return job_id


def run(job_id):
    return import_job_run_task.apply(args=[job_id]).get()


def job_of(client, job_id):
    response = client.get(f"/v1/crm/imports/{job_id}")
    assert response.status_code == 200
    return response.json()


def test_enqueued_on_commit_and_run(api_client, settings, django_capture_on_commit_callbacks):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    file_name = upload(api_client, "externalClientId,name\ne1,Ann\n")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_id = start(api_client, file_name)
    assert job_of(api_client, job_id)["status"] == "queued"  # nothing ran before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    job = job_of(api_client, job_id)
    assert job["status"] == "succeeded" and job["created"] == 1 and job["progress"] == 100


def test_creates_and_updates_by_external_id(api_client, workspace):
    user = api_client.user
    stage = Tag.objects.create(workspace=workspace, tag="Won", type=Tag.Type.CLIENT_STAGE)
    hot = ContactLabel.objects.get(workspace=workspace, name="Hot lead")
    owner = UserFactory(email="owner@example.com")
    MembershipFactory(workspace=workspace, user=owner)
    existing = Contact.objects.create(
        workspace=workspace, name="Old", surname="Keep", city="Lyon", external_client_id="e1", version=3,
        label=hot,
    )
    ContactTag.objects.create(contact=existing, tag=Tag.objects.create(workspace=workspace, tag="old", type="client"))
    content = (
        "externalClientId,name,surname,city,phone,tags,label,stage,owner_email\n"
        "e1,New,,Paris,+14155552671,vip;Fresh,,won,owner@example.com\n"
        "e2,Bea,Lee,,,vip,Cold lead,,\n"
        ",NoId,,,,,,,\n"
    )
    job_id = start(api_client, upload(api_client, content))
    assert run(job_id) == "succeeded"
    job = job_of(api_client, job_id)
    assert (job["created"], job["updated"], job["skipped"], job["processed_rows"], job["total_rows"]) == (2, 1, 0, 3, 3)

    existing.refresh_from_db()
    assert (existing.name, existing.surname, existing.city, existing.phone) == ("New", "Keep", "Paris", "+14155552671")
    assert existing.version == 4 and existing.updated_by == user
    assert existing.label == hot, "an empty label cell keeps the label"
    assert existing.stage == stage and existing.owner == owner
    assert sorted(existing.tags.values_list("tag", flat=True)) == ["Fresh", "vip"]

    bea = Contact.objects.get(external_client_id="e2")
    assert bea.label.name == "Cold lead" and bea.owner == user and bea.created_by == user and bea.version == 1
    assert list(bea.tags.values_list("tag", flat=True)) == ["vip"]
    no_id = Contact.objects.get(name="NoId")
    assert no_id.label.is_default and no_id.external_client_id is None and no_id.created_at and no_id.updated_at
    assert Tag.objects.filter(workspace=workspace, tag__iexact="vip").count() == 1

    # The same file again: the two rows with ids update, the one without creates again.
    job_id = start(api_client, upload(api_client, content))
    run(job_id)
    assert (job_of(api_client, job_id)["created"], job_of(api_client, job_id)["updated"]) == (1, 2)
    assert Contact.objects.filter(external_client_id="e1").count() == 1
    existing.refresh_from_db()
    assert existing.version == 5


def test_skip_errors_false_writes_nothing_when_a_row_is_invalid(api_client):
    content = "externalClientId,name,email\ne1,Ann,a@b.co\ne2,Bob,bad\ne3,Cy,c@d.co\ne4,Di,d@e.co\n"
    job_id = start(api_client, upload(api_client, content), skip_errors=False)
    assert run(job_id) == "failed"
    job = job_of(api_client, job_id)
    assert job["status"] == "failed" and job["created"] == 0 and job["skipped"] == 1 and job["total_rows"] == 4
    assert job["processed_rows"] == 4 and job["progress"] == 100  # the whole file was read
    assert job["errors"] == [{"row": 3, "column": "email", "code": "invalid", "message": "Enter a valid email address."}]
    assert "nothing was imported" in job["message"]
    assert not Contact.objects.exists() and not Tag.objects.filter(type="client").exists()


def test_skip_errors_false_valid_file_imports_everything(api_client):
    content = "externalClientId,name,tags\n" + "".join(f"e{i},N{i},t{i % 2}\n" for i in range(10))
    job_id = start(api_client, upload(api_client, content))
    assert run(job_id) == "succeeded"
    assert Contact.objects.count() == 10 and ContactTag.objects.count() == 10


def test_skip_errors_true_writes_valid_rows_and_reports_invalid(api_client):
    content = "externalClientId,name,email\ne1,Ann,a@b.co\ne2,Bob,bad\ne3,Cy,\ne1,Dup,\n"
    job_id = start(api_client, upload(api_client, content), skip_errors=True)
    run(job_id)
    job = job_of(api_client, job_id)
    assert job["status"] == "succeeded" and (job["created"], job["skipped"], job["error_count"]) == (2, 2, 2)
    assert [e["row"] for e in job["errors"]] == [3, 5]
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Ann", "Cy"]


def test_mapping_applies_to_the_import(api_client):
    file_name = upload(api_client, "Id,Given,Mail\nx1,Ann,a@b.co\n")
    job_id = start(api_client, file_name, mapping={"Id": "external_client_id", "Given": "name", "Mail": "email"})
    run(job_id)
    assert Contact.objects.filter(external_client_id="x1", name="Ann", email="a@b.co").exists()


def test_errors_csv_has_rows_as_they_were_and_neutralises_formulas(api_client):
    content = 'name,email,city\nAnn,a@b.co,Paris\n=HYPERLINK("x"),bad,+cmd\n@SUM(1),bad,"-1\nx"\n'
    job_id = start(api_client, upload(api_client, content), skip_errors=True)
    run(job_id)
    response = api_client.get(f"/v1/crm/imports/{job_id}/errors.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["row", "error", "name", "email", "city"]
    assert rows[1] == ["3", "email: Enter a valid email address.", "'=HYPERLINK(\"x\")", "bad", "'+cmd"]
    assert rows[2] == ["4", "email: Enter a valid email address.", "'@SUM(1)", "bad", "'-1\nx"]
    assert len(rows) == 3


def test_resume_continues_after_the_last_committed_chunk(api_client, workspace, settings):
    """A run that stopped after a chunk (crash) leaves checkpoint+counters
    committed with that chunk's rows; the next run writes only the rest."""
    settings.IMPORT_CHUNK_ROWS = 2
    content = "externalClientId,name\n" + "".join(f"e{i},N{i}\n" for i in range(7)) + ",NoId\n"
    job_id = start(api_client, upload(api_client, content), skip_errors=True)
    seen = []

    def crash_after_second_chunk(job):
        seen.append(job.checkpoint)
        if len(seen) == 2:
            raise KeyboardInterrupt  # like a killed process: nothing after this point runs

    with pytest.raises(KeyboardInterrupt):
        services.import_job_run(job_id=job_id, on_progress=crash_after_second_chunk)
    job = ImportJob.objects.get(pk=job_id)
    assert job.checkpoint == 4 and job.created == 4 and Contact.objects.count() == 4
    assert job.status == "running"
    # The dead run's lease must lapse before another run may take the job.
    assert services.import_job_run(job_id=job_id) == "busy"
    ImportJob.objects.filter(pk=job_id).update(lease_expires_at=timezone.now())
    assert services.import_job_run(job_id=job_id) == "succeeded"
    job.refresh_from_db()
    assert (job.created, job.processed_rows, job.total_rows) == (8, 8, 8)
    assert Contact.objects.count() == 8 and Contact.objects.filter(name="NoId").count() == 1


def test_resume_still_rejects_duplicates_of_rows_before_the_checkpoint(api_client, settings):
    settings.IMPORT_CHUNK_ROWS = 2
    job_id = start(api_client, upload(api_client, "externalClientId,name\ne1,A\ne2,B\ne1,C\n"), skip_errors=True)
    ImportJob.objects.filter(pk=job_id).update(checkpoint=2)  # as if rows 2-3 were committed by an earlier run
    services.import_job_run(job_id=job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert job.skipped == 1 and job.errors[0]["code"] == "duplicate" and not Contact.objects.exists()


def test_a_task_delivered_twice_runs_once(api_client):
    job_id = start(api_client, upload(api_client, "name\nAnn\nBob\n"), skip_errors=True)
    # Second delivery while the first run holds the lease: it exits, touching nothing.
    ImportJob.objects.filter(pk=job_id).update(
        status="running", lease_owner="another-run", lease_expires_at=timezone.now() + timezone.timedelta(minutes=5)
    )
    assert run(job_id) == "busy"
    assert not Contact.objects.exists()
    ImportJob.objects.filter(pk=job_id).update(status="queued", lease_owner="", lease_expires_at=None)
    assert run(job_id) == "succeeded"
    # Delivered again after it finished: nothing happens either.
    assert run(job_id) == "succeeded"
    assert Contact.objects.count() == 2
    assert job_of(api_client, job_id)["created"] == 2


def test_cancel(api_client):
    job_id = start(api_client, upload(api_client, "name\nAnn\n"))
    response = api_client.post(f"/v1/crm/imports/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert run(job_id) == "cancelled" and not Contact.objects.exists()
    response = api_client.post(f"/v1/crm/imports/{job_id}/cancel")
    assert response.status_code == 409


def test_cancel_stops_a_running_job_between_chunks(api_client, settings):
    settings.IMPORT_CHUNK_ROWS = 2
    job_id = start(api_client, upload(api_client, "name\n" + "x\n" * 10), skip_errors=True)
    chunks = []

    def cancel_after_first(job):
        chunks.append(job.checkpoint)
        if len(chunks) == 1:
            services.import_job_cancel(workspace=job.workspace, actor=SYSTEM, job=job)

    assert services.import_job_run(job_id=job_id, on_progress=cancel_after_first) == "stopped"
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == "cancelled" and job.created == 2 and Contact.objects.count() == 2


def test_a_file_in_use_cannot_be_deleted_and_a_missing_file_fails_the_job(api_client, workspace):
    file_name = upload(api_client, "name\nAnn\n")
    job_id = start(api_client, file_name)
    response = api_client.delete(f"/v1/crm/imports/files/{file_name}")
    assert response.status_code == 409 and response.json()["code"] == "file_in_use"
    ImportFile.objects.filter(file_name=file_name).delete()  # gone from under the job anyway
    assert run(job_id) == "failed"
    assert "no longer exists" in job_of(api_client, job_id)["message"]


def test_bad_encoding_fails_the_job_with_a_clear_message(api_client):
    job_id = start(api_client, upload(api_client, "name\nMontréal\n".encode("latin-1")), skip_errors=True)
    assert run(job_id) == "failed"
    job = job_of(api_client, job_id)
    assert "not valid UTF-8" in job["message"] and job["errors"][0]["code"] == "invalid_encoding"


def test_list_and_retrieve(api_client, django_assert_num_queries):
    file_name = upload(api_client, "name\nAnn\n")
    ids = [start(api_client, file_name) for _ in range(3)]
    with django_assert_num_queries(3):  # auth, count, page
        body = api_client.get("/v1/crm/imports").json()
    assert [j["job_id"] for j in body["data"]] == ids[::-1]
    assert body["data"][0]["status"] == "queued"


def test_create_rejects_bad_input(api_client):
    assert api_client.post("/v1/crm/imports", {}, format="json").status_code == 400
    response = api_client.post("/v1/crm/imports", {"file_name": "nope.csv"}, format="json")
    assert response.status_code == 404
    file_name = upload(api_client, "name\nAnn\n")
    response = api_client.post(
        "/v1/crm/imports", {"file_name": file_name, "skip_errors": "maybe"}, format="json"
    )
    assert response.status_code == 400


@pytest.mark.parametrize("skip_errors", ["true", "yes", 1, 0])
def test_skip_errors_must_be_a_json_boolean(api_client, skip_errors):
    file_name = upload(api_client, "name\nAnn\n")
    response = api_client.post("/v1/crm/imports", {"file_name": file_name, "skip_errors": skip_errors}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "skip_errors"
    assert not ImportJob.objects.exists()


def test_jobs_are_tenant_isolated(api_client, other_client):
    job_id = start(api_client, upload(api_client, "name\nAnn\n"))
    ImportJobError.objects.create(job_id=job_id, row=2, cells=["x"], message="m")
    assert_tenant_isolated(
        other_client,
        list_url="/v1/crm/imports",
        detail_urls=[f"/v1/crm/imports/{job_id}"],
        methods=["get"],
        hidden_ids=[job_id],
        actions=[("post", f"/v1/crm/imports/{job_id}/cancel"), ("get", f"/v1/crm/imports/{job_id}/errors.csv")],
    )
    assert ImportJob.objects.get(pk=job_id).status == "queued"


def test_service_store_helper_and_member_can_import(member_client):
    file_name = store(member_client.workspace, "name\nAnn\n", member_client.user)
    job_id = start(member_client, file_name)
    assert run(job_id) == "succeeded"
    assert Contact.objects.get().owner == member_client.user


def test_admin_pages(client, api_client, django_user_model):
    start(api_client, upload(api_client, "name\nAnn\n"))
    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    for url in ("/admin/imports/importjob/", "/admin/imports/importjob/?q=csv&status__exact=queued",
                "/admin/imports/importfile/", f"/admin/imports/importjob/{ImportJob.objects.get().pk}/change/"):
        assert client.get(url).status_code == 200, url


def test_import_rows_are_counted(api_client):
    from prometheus_client import REGISTRY

    def count(outcome):
        return REGISTRY.get_sample_value("crm_import_rows_total", {"outcome": outcome}) or 0

    before = {outcome: count(outcome) for outcome in ("created", "updated", "skipped")}
    run(start(api_client, upload(api_client, "externalClientId,name\ne1,Ann\ne2,Bob\n")))
    run(start(api_client, upload(api_client, "externalClientId,name,email\ne1,Ann,x@example.com\ne3,,bad\n"),
              skip_errors=True))
    after = {outcome: count(outcome) - before[outcome] for outcome in before}
    assert after == {"created": 2, "updated": 1, "skipped": 1}


def test_match_on_email_and_phone_updates_instead_of_creating(api_client, workspace):
    """A file without external ids updates the contacts its emails or phones
    name (match_on, in order); a row matching two contacts is a row error."""
    from contacts.services import contact_create

    def make_contact(**values):
        return contact_create(workspace=workspace, actor=SYSTEM, **values)

    by_email = make_contact(name="Ann", email="ann@example.com", city="Lyon")
    by_phone = make_contact(name="Bob", phone="+14155552671")
    make_contact(name="Twin 1", email="twin@example.com")
    make_contact(name="Twin 2", email="twin@example.com")
    before = Contact.objects.filter(workspace=workspace).count()
    file_name = upload(api_client, "email,phone,title\nANN@example.com,,CEO\n,(415) 555-2671,CTO\n"
                                   "twin@example.com,,Which\nnew@example.com,,New\n")
    job_id = start(api_client, file_name, skip_errors=True, match_on=["email", "phone"])
    assert run(job_id) == "succeeded"
    job = job_of(api_client, job_id)
    assert (job["created"], job["updated"], job["skipped"], job["match_on"]) == (1, 2, 1, ["email", "phone"])
    assert job["errors"][0]["code"] == "ambiguous_match" and job["errors"][0]["row"] == 4
    assert job["errors"][0]["column"] == "email"
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    assert (by_email.title, by_email.city, by_email.version) == ("CEO", "Lyon", 2)
    assert by_phone.title == "CTO"
    assert Contact.objects.filter(workspace=workspace).count() == before + 1
    assert not Contact.objects.filter(title="Which").exists()


def test_match_on_is_checked(api_client):
    file_name = upload(api_client, "email\na@example.com\n")
    for bad in (["name"], ["email", "email"], [], "email"):
        response = api_client.post("/v1/crm/imports", {"file_name": file_name, "match_on": bad}, format="json")
        assert response.status_code == 400, (bad, response.content)
