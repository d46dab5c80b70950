"""Export jobs: the file's rows and cells, formula neutralisation, the
selection (filters, visibility), JSON Lines, the snapshot, cancel, bad input,
the round trip through an import. The task runs eagerly here;
test_worker.py runs it on a real prefork worker."""
import io
import json
import threading

import orjson
import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Value

from contacts.models import Contact
from crm.models import Membership
from exports import services
from exports.columns import Neutralized
from exports.models import ExportJob
from imports.selectors import neutralize
from tests.contacts.factories import ContactFactory
from tests.factories import SYSTEM

from .conftest import csv_rows, download, job_of, run, start, stored_exports

pytestmark = pytest.mark.django_db


def test_csv_export_runs_on_commit_and_writes_every_contact(api_client, settings, django_capture_on_commit_callbacks):
    workspace = api_client.workspace
    contacts = [ContactFactory(workspace=workspace, external_client_id=f"e{i}", phone=f"+3361234567{i}",
                               tags=["vip"] if i % 2 else []) for i in range(5)]
    ContactFactory(workspace=workspace, name="gone").delete()
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job_id = start(api_client, format="csv")
    assert job_of(api_client, job_id)["status"] == "queued"  # nothing ran before the commit
    assert len(callbacks) == 1
    callbacks[0]()
    job = job_of(api_client, job_id)
    assert (job["status"], job["rows"], job["total_rows"], job["progress"]) == ("succeeded", 5, 5, 100)
    assert job["download_url"] == f"/v1/crm/exports/{job_id}/download"
    rows = csv_rows(download(api_client, job_id))
    assert [int(r["id"]) for r in rows] == sorted(c.pk for c in contacts)  # keyset (id) order
    first = rows[0]
    assert first["external_client_id"] == "e0" and first["phone"] == "+33612345670"  # E.164 keeps its +
    assert first["label"] == "No label" and first["created_at"].endswith("Z")
    assert [r["tags"] for r in rows] == ["", "vip", "", "vip", ""]
    assert len(stored_exports(workspace)) == 1


def test_formula_cells_are_neutralised_but_phones_are_not(api_client):
    workspace = api_client.workspace
    ContactFactory(workspace=workspace, name="=HYPERLINK(\"http://x\")", surname="+1", city="-2", note="@SUM(A1)",
                   phone="+14155550100", tags=["=evil"])
    job_id = start(api_client, format="csv")
    run(job_id)
    [row] = csv_rows(download(api_client, job_id))
    assert row["name"] == "'=HYPERLINK(\"http://x\")"
    assert (row["surname"], row["city"], row["note"]) == ("'+1", "'-2", "'@SUM(A1)")
    assert row["tags"] == "'=evil"
    assert row["phone"] == "+14155550100"


CELLS = ["", "plain", "=1+1", "+33 6", "-5", "@x", "\tt", "\rr", "'quoted", " =space", "é=", None]


def test_sql_neutralisation_gives_the_helpers_answer():
    """COPY builds the cells in SQL; they must be what imports' neutralize() writes."""
    ContactFactory(name="probe")
    for cell in CELLS:
        value = Contact.objects.annotate(x=Neutralized(Value(cell))).values_list("x", flat=True).first()
        assert value == neutralize(cell), (cell, value)


def test_selection_is_a_search_or_a_saved_view(api_client):
    workspace = api_client.workspace
    vip = ContactFactory(workspace=workspace, tags=["vip"], name="Ann")
    bob = ContactFactory(workspace=workspace, name="Bob")
    search = {"filter_groups": [{"filters": [{"field": "tags", "operator": "has_any", "value": ["vip"]}]}]}
    job_id = start(api_client, format="csv", search=search, columns=["id", "name"])
    run(job_id)
    data = download(api_client, job_id)
    assert data.decode().splitlines()[0] == "id,name"
    assert [int(r["id"]) for r in csv_rows(data)] == [vip.pk]
    job_id = start(api_client, format="csv", search={"query": "bo"}, columns=["name"])
    run(job_id)
    assert [r["name"] for r in csv_rows(download(api_client, job_id))] == ["Bob"]
    # a saved view: its search as it was when the export was asked for
    response = api_client.post("/v1/crm/contacts/views", {"name": "Bobs", "search": {"query": "bob"}}, format="json")
    assert response.status_code == 201, response.content
    view_id = response.json()["id"]
    job_id = start(api_client, format="csv", view_id=view_id, columns=["id"])
    assert api_client.patch(f"/v1/crm/contacts/views/{view_id}", {"search": {"query": "ann"}},
                            format="json").status_code == 200
    run(job_id)
    assert [int(r["id"]) for r in csv_rows(download(api_client, job_id))] == [bob.pk]
    assert job_of(api_client, job_id)["view_id"] == view_id


def test_jsonl_export(api_client):
    workspace = api_client.workspace
    contact = ContactFactory(workspace=workspace, name="=Ann", tags=["a", "b"], email="ann@example.com")
    job_id = start(api_client, format="jsonl", columns=["id", "name", "tags", "email", "created_at", "custom_fields"])
    assert run(job_id) == "succeeded"
    response = api_client.get(f"/v1/crm/exports/{job_id}/download")
    assert response["Content-Type"].startswith("application/x-ndjson")
    [line] = b"".join(response.streaming_content).splitlines()
    item = orjson.loads(line)
    # JSON is not a spreadsheet: values as stored
    assert item == {"id": contact.pk, "name": "=Ann", "tags": ["a", "b"], "email": "ann@example.com",
                    "created_at": item["created_at"], "custom_fields": {}}
    assert item["created_at"].endswith("Z")


def test_a_member_exports_only_what_they_see_and_sees_only_their_jobs(api_client, member_client):
    workspace = api_client.workspace
    public = ContactFactory(workspace=workspace, name="Pub")
    ContactFactory(workspace=workspace, name="Secret", visibility_type="private", owner_id=api_client.user.pk)
    job_id = start(member_client, format="csv", columns=["id", "name"])
    run(job_id)
    assert [r["name"] for r in csv_rows(download(member_client, job_id))] == ["Pub"]
    assert public.pk
    admin_job = start(api_client, format="csv", columns=["name"])
    run(admin_job)
    assert member_client.get(f"/v1/crm/exports/{admin_job}").status_code == 404
    assert member_client.get(f"/v1/crm/exports/{admin_job}/download").status_code == 404
    assert {j["id"] for j in member_client.get("/v1/crm/exports").json()["data"]} == {job_id}
    assert {j["id"] for j in api_client.get("/v1/crm/exports").json()["data"]} == {job_id, admin_job}
    assert len(csv_rows(download(api_client, admin_job))) == 2


def test_a_starter_who_left_fails_the_job(api_client, member_client):
    job_id = start(member_client, format="csv")
    Membership.objects.filter(workspace=member_client.workspace, user=member_client.user).delete()
    assert run(job_id) == "failed"
    job = ExportJob.objects.get(pk=job_id)
    assert job.status == "failed" and "no longer" in job.message and not job.file_name


def test_cancel_a_queued_job_and_download_before_it_succeeded(api_client):
    job_id = start(api_client, format="csv")
    response = api_client.get(f"/v1/crm/exports/{job_id}/download")
    assert response.status_code == 409 and response.json()["code"] == "export_not_ready"
    response = api_client.post(f"/v1/crm/exports/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert run(job_id) == "cancelled"  # a late delivery changes nothing
    response = api_client.post(f"/v1/crm/exports/{job_id}/cancel")
    assert response.status_code == 409 and response.json()["code"] == "job_finished"
    assert stored_exports(api_client.workspace) == []


def in_thread(function):
    """Runs `function` on another thread, so on another database connection
    (as the API or another worker would), and returns its result."""
    result = []

    def target():
        try:
            result.append(function())
        finally:
            connection.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    return result[0]


@pytest.mark.django_db(transaction=True)
def test_cancel_while_running_keeps_no_file(client_for, settings):
    from tests.factories import WorkspaceFactory

    workspace = WorkspaceFactory()
    api_client = client_for(workspace, Membership.Role.ADMIN)
    settings.EXPORT_PAGE_ROWS = 1
    for _ in range(3):
        ContactFactory(workspace=workspace)
    job_id = start(api_client, format="csv")

    def cancel_after_first_page(rows):
        if rows == 1:
            response = in_thread(lambda: api_client.post(f"/v1/crm/exports/{job_id}/cancel"))
            assert response.status_code == 200, response.content

    assert services.export_job_run(job_id=job_id, on_page=cancel_after_first_page) == "stopped"
    job = ExportJob.objects.get(pk=job_id)
    assert (job.status, job.rows, job.file_name) == ("cancelled", 1, "")
    assert stored_exports(workspace) == []


@pytest.mark.parametrize("body, field, code", [
    ({"format": "xlsx"}, "format", "invalid_choice"),
    ({"format": "csv", "columns": ["id", "password"]}, "columns.1", "invalid_choice"),
    ({"format": "csv", "columns": []}, "columns", "empty"),
    ({"format": "csv", "columns": "id"}, "columns", "not_a_list"),
    ({"format": "csv", "search": {"filter_groups": [{"filters": [{"field": "label_id", "operator": "eq",
                                                                   "value": "x"}]}]}},
     "search.filter_groups.0.filters.0.value", "invalid_value"),
    ({"format": "csv", "search": {"filter_groups": [{"filters": [{"field": "nope", "operator": "eq", "value": 1}]}]}},
     "search.filter_groups.0.filters.0.field", "unknown_field"),
    ({"format": "csv", "search": {"label_id": 3}}, "search.label_id", "unknown_field"),
    ({"format": "csv", "search": []}, "search", "not_a_dict"),
    ({"format": "csv", "view_id": 0}, "view_id", "min_value"),
    ({"format": "csv", "view_id": 2**63}, "view_id", "max_value"),
    ({"format": "csv", "view_id": 999999}, None, "not_found"),
    ({"format": "csv", "search": {}, "view_id": 1}, "view_id", "invalid"),
    ({"format": "csv", "no_such_field": 1}, "no_such_field", "unknown_field"),
])
def test_bad_input_is_a_400_and_creates_nothing(api_client, body, field, code):
    response = api_client.post("/v1/crm/exports", body, format="json")
    assert response.status_code == (404 if code == "not_found" else 400), response.content
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == (field, code), response.json()
    assert not ExportJob.objects.exists()


def test_malformed_json_and_unknown_ids(api_client, other_client):
    response = api_client.post("/v1/crm/exports", data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    assert api_client.get("/v1/crm/exports/999999999").status_code == 404
    assert api_client.get("/v1/crm/exports/999999999/download").status_code == 404
    job_id = start(api_client, format="csv")
    assert other_client.get(f"/v1/crm/exports/{job_id}").status_code == 404
    assert other_client.post(f"/v1/crm/exports/{job_id}/cancel").status_code == 404
    assert not ExportJob.objects.exclude(pk=job_id).exists()


def test_purge_deletes_old_jobs_and_their_files(api_client):
    ContactFactory(workspace=api_client.workspace)
    job_id = start(api_client, format="csv")
    run(job_id)
    assert len(stored_exports(api_client.workspace)) == 1
    assert services.export_jobs_purge(actor=SYSTEM, older_than_hours=1) == 0
    assert services.export_jobs_purge(actor=SYSTEM, older_than_hours=0) == 1
    assert stored_exports(api_client.workspace) == [] and not ExportJob.objects.exists()


def test_admin_lists_and_cancels_through_the_service(api_client, admin_client_factory=None):
    from django.contrib.auth import get_user_model
    from django.test import Client

    job_id = start(api_client, format="csv")
    staff = get_user_model().objects.create_superuser(email="staff@example.com", password="pw-123456789",
                                                      **({"username": "staff"} if hasattr(get_user_model(), "username") else {}))
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/exports/exportjob/?q=x&status__exact=queued")
    assert response.status_code == 200
    response = client.post("/admin/exports/exportjob/", {"action": "cancel_selected", "_selected_action": [job_id]})
    assert response.status_code == 302
    assert ExportJob.objects.get(pk=job_id).status == "cancelled"


# -- in committed transactions: the snapshot, the round trip ---------------------------------
@pytest.mark.django_db(transaction=True)
def test_the_export_is_a_snapshot_of_one_moment(client_for, settings):
    """A contact changed and one created while the export runs (committed by
    another connection between two pages): the file has the first as it was
    and not the second, and no row twice."""
    from tests.factories import WorkspaceFactory

    workspace = WorkspaceFactory()
    api_client = client_for(workspace, Membership.Role.ADMIN)
    settings.EXPORT_PAGE_ROWS = 2
    contacts = [ContactFactory(workspace=workspace, name=f"n{i}") for i in range(5)]
    job_id = start(api_client, format="csv", columns=["id", "name"])
    other = connections.create_connection(DEFAULT_DB_ALIAS)

    def change_after_first_page(rows):
        if rows == 2:
            with other.cursor() as cursor:
                # a row of a later page changed, one deleted, and one of the first page moved to the end
                cursor.execute("UPDATE contacts_contact SET name = 'changed' WHERE id = %s", [contacts[4].pk])
                cursor.execute("DELETE FROM contacts_contact WHERE id = %s", [contacts[3].pk])
                cursor.execute("UPDATE contacts_contact SET id = %s WHERE id = %s",
                               [contacts[4].pk + 1000, contacts[0].pk])
            progress = in_thread(lambda: job_of(api_client, job_id))
            seen.append((progress["status"], progress["rows"], progress["total_rows"]))

    seen = []
    try:
        assert services.export_job_run(job_id=job_id, on_page=change_after_first_page) == "succeeded"
    finally:
        other.close()
    # progress was visible to the API while the snapshot transaction was open
    assert seen == [("running", 2, 5)]
    rows = csv_rows(download(api_client, job_id))
    assert [(int(r["id"]), r["name"]) for r in rows] == [(c.pk, c.name) for c in contacts]


@pytest.mark.django_db(transaction=True)
def test_round_trip_an_exported_csv_imports_back_as_updates(client_for, settings, tmp_path):
    from imports.tasks import import_job_run_task
    from labels.models import ContactLabel
    from tests.factories import WorkspaceFactory

    workspace = WorkspaceFactory()
    api_client = client_for(workspace, Membership.Role.ADMIN)
    hot = ContactLabel.objects.get(workspace=workspace, name="Hot lead")
    for i in range(4):
        ContactFactory(workspace=workspace, external_client_id=f"ext-{i}", name=f"N{i}", email=f"n{i}@example.com",
                       phone=f"+4420794608{i}0", tags=["vip", "b2b"] if i else [], label_id=hot.pk, city="Paris")
    before = {c.pk: (c.name, c.email, c.phone, c.city, c.label_id, c.version)
              for c in Contact.objects.filter(workspace=workspace)}
    job_id = start(api_client, format="csv")
    assert run(job_id) == "succeeded"
    data = download(api_client, job_id)
    upload = io.BytesIO(data)
    upload.name = "export.csv"
    response = api_client.post("/v1/crm/imports/files", {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    response = api_client.post("/v1/crm/imports", {"file_name": response.json()["file_name"]}, format="json")
    assert response.status_code == 202, response.content
    assert import_job_run_task.apply(args=[response.json()["job_id"]]).get() == "succeeded"
    job = api_client.get(f"/v1/crm/imports/{response.json()['job_id']}").json()
    assert (job["created"], job["updated"], job["skipped"]) == (0, 4, 0), job
    after = {c.pk: (c.name, c.email, c.phone, c.city, c.label_id, c.version - 1)
             for c in Contact.objects.filter(workspace=workspace)}
    assert after == before  # the same contacts, the same values, one write each
    tags = {c.external_client_id: sorted(c.tags.values_list("tag", flat=True))
            for c in Contact.objects.filter(workspace=workspace)}
    assert tags == {"ext-0": [], "ext-1": ["b2b", "vip"], "ext-2": ["b2b", "vip"], "ext-3": ["b2b", "vip"]}
    assert json.loads(json.dumps(job))  # serialisable
