"""An import acts for the member who started it (crm.actors.Actor.import_job):
it creates contacts owned by them and never changes a contact they may not
change; such a row is reported, not written."""
from contacts.models import Contact
from imports.models import ImportJob, ImportJobError
from tests.contacts.factories import ContactFactory
from tests.factories import actor_of

from .conftest import upload
from .test_jobs import job_of, run, start


def test_a_members_import_refuses_rows_of_contacts_they_may_not_change(api_client, member_client):
    ws, admin, member = api_client.workspace, api_client.user, member_client.user
    hidden = ContactFactory(workspace=ws, actor=actor_of(ws, admin), name="Hidden", external_client_id="h-1",
                            visibility_type="private")
    read_only = ContactFactory(workspace=ws, actor=actor_of(ws, admin), name="Team", external_client_id="t-1",
                               visibility_type="team")
    own = ContactFactory(workspace=ws, actor=actor_of(ws, member), name="Mine", external_client_id="m-1")
    content = "externalClientId,name\nh-1,Changed\nt-1,Changed\nm-1,Changed\nn-1,New\n"
    job_id = start(member_client, upload(member_client, content), skip_errors=True)
    run(job_id)

    job = job_of(member_client, job_id)
    assert job["status"] == "succeeded"
    assert (job["created"], job["updated"], job["skipped"]) == (1, 1, 2)
    codes = {e["row"]: e["code"] for e in job["errors"]}
    assert codes == {2: "external_client_id_taken", 3: "permission_denied"}  # rows 2 and 3 of the file
    for contact in (hidden, read_only):
        contact.refresh_from_db()
        assert contact.name in ("Hidden", "Team") and contact.version == 1
    own.refresh_from_db()
    assert own.name == "Changed" and own.updated_by_id == member.pk
    new = Contact.objects.get(workspace=ws, external_client_id="n-1")
    assert new.owner_id == member.pk and new.created_by_id == member.pk
    # the refused rows are in errors.csv as they were in the file
    assert sorted(ImportJobError.objects.filter(job_id=job_id).values_list("cells", flat=True)) == [
        ["h-1", "Changed"], ["t-1", "Changed"],
    ]


def test_an_admins_import_updates_every_contact(api_client, member_client):
    ws = api_client.workspace
    theirs = ContactFactory(workspace=ws, actor=actor_of(ws, member_client.user), name="Private",
                            external_client_id="p-1", visibility_type="private")
    job_id = start(api_client, upload(api_client, "externalClientId,name\np-1,Seen\n"))
    run(job_id)
    assert job_of(api_client, job_id)["updated"] == 1
    theirs.refresh_from_db()
    assert theirs.name == "Seen" and theirs.updated_by_id == api_client.user.pk


def test_a_job_whose_starter_left_the_workspace_fails_with_a_reason(api_client, member_client):
    job_id = start(member_client, upload(member_client, "externalClientId,name\nx-1,X\n"))
    member_client.user.memberships.all().delete()
    run(job_id)
    job = ImportJob.objects.get(pk=job_id)
    assert job.status == "failed" and "no longer in the workspace" in job.message
    assert not Contact.objects.filter(external_client_id="x-1").exists()
