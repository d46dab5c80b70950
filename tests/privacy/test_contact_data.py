"""GET /contacts/{id}/data: everything stored about one contact."""
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from contacts.services import contact_update
from crm.models import Membership
from imports.tasks import import_job_run_task
from tests.contacts.factories import ContactFactory
from tests.factories import SYSTEM
from tests.messaging.factories import ConversationFactory, IntegrationFactory, MessageFactory
from tests.resources import Action, APIResourceTests

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def url(contact_id):
    return f"/v1/crm/contacts/{contact_id}/data"


def imported(client, text) -> int:
    f = io.BytesIO(text.encode())
    f.name = "c.csv"
    file_name = client.post("/v1/crm/imports/files", {"file": f}, format="multipart").json()["file_name"]
    job_id = client.post("/v1/crm/imports", {"file_name": file_name, "skip_errors": True}, format="json").json()["job_id"]
    assert import_job_run_task.apply(args=[job_id]).get() == "succeeded"
    return job_id


def test_the_document_holds_everything_stored_about_the_contact(api_client):
    workspace = api_client.workspace
    job_id = imported(api_client, "externalClientId,name,email,phone,tags\n"
                                  "ada-1,Ada,ada@example.com,+14155550100,vip\n"
                                  "ada-1,Ada twin,not-an-email,,\n")
    ada = Contact.objects.get(workspace=workspace, external_client_id="ada-1")
    ada = contact_update(workspace=workspace, actor=SYSTEM, contact_id=ada.pk, city="Paris")
    integration = IntegrationFactory(workspace=workspace)
    conversation = ConversationFactory(workspace=workspace, contact=ada, integration=integration)
    messages = [MessageFactory(conversation=conversation) for _ in range(2)]
    ContactFactory(workspace=workspace, name="Someone else")
    response = api_client.get(url(ada.pk))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == ada.pk and body["generated_at"]
    contact = body["contact"]
    assert (contact["id"], contact["name"], contact["email"], contact["city"], contact["tags"]) == (
        ada.pk, "Ada", "ada@example.com", "Paris", ["vip"])
    assert "custom_field" in contact and "c_field" in contact
    [conv] = body["conversations"]
    assert conv["id"] == conversation.pk and [m["id"] for m in conv["messages"]] == [m.pk for m in messages]
    types = [e["type"] for e in body["history"]]
    assert types[0] == "contact.created" and "contact.updated" in types
    assert body["import_jobs"] == [job_id]
    # the rejected row of the error report carries her external id
    assert [(r["job_id"], r["row"], r["cells"][1]) for r in body["import_rows"]] == [(job_id, 3, "Ada twin")]


def test_query_count_does_not_grow_with_what_the_contact_holds(api_client, django_assert_num_queries):
    workspace = api_client.workspace
    ada = ContactFactory(workspace=workspace, email="ada@example.com", tags=["a"])
    integration = IntegrationFactory(workspace=workspace)
    conversation = ConversationFactory(workspace=workspace, contact=ada, integration=integration)
    MessageFactory(conversation=conversation)
    api_client.get(url(ada.pk))  # warm one-off lookups
    with CaptureQueriesContext(connection) as small:
        assert api_client.get(url(ada.pk)).status_code == 200
    for _ in range(3):
        conversation = ConversationFactory(workspace=workspace, contact=ada, integration=IntegrationFactory(
            workspace=workspace))
        for _ in range(4):
            MessageFactory(conversation=conversation)
    contact_update(workspace=workspace, actor=SYSTEM, contact_id=ada.pk, tags=["a", "b", "c"])
    with django_assert_num_queries(len(small)):
        body = api_client.get(url(ada.pk)).json()
    assert len(body["conversations"]) == 4 and sum(len(c["messages"]) for c in body["conversations"]) == 13


def test_visibility_and_unknown_ids(api_client, client_for, other_client):
    workspace = api_client.workspace
    member = client_for(workspace, Membership.Role.MEMBER)
    private = ContactFactory(workspace=workspace, visibility_type="private", owner_id=api_client.user.pk)
    team = ContactFactory(workspace=workspace, visibility_type="team", owner_id=api_client.user.pk)
    own = ContactFactory(workspace=workspace, visibility_type="private", owner_id=member.user.pk)
    for client, contact, status in [(member, private, 404), (member, team, 200), (member, own, 200),
                                    (api_client, private, 200), (other_client, team, 404)]:
        response = client.get(url(contact.pk))
        assert response.status_code == status, (contact.visibility_type, response.content)
        if status == 404:
            assert response.json()["code"] == "not_found"
    assert api_client.get(url(999999999)).status_code == 404
    assert api_client.get("/v1/crm/contacts/99999999999999999999/data").status_code == 404
    assert api_client.post(url(team.pk), {}, format="json").status_code == 405


class TestContactDataRoute(APIResourceTests):
    model = Contact
    actions = (Action("get", "/v1/crm/contacts/{obj.pk}/data", 200),)

    def make(self, workspace):
        return ContactFactory(workspace=workspace)

