"""POST /privacy/erase: a person's contacts, conversations, messages,
history and import rows go; with suppress, no path may create them again."""
import io
import json

import pytest
from django.core.files.storage import default_storage

from contacts.models import Contact, SuppressedIdentifier
from contacts.services import contact_archive
from events.models import Event
from imports.models import ImportFile, ImportJobError
from imports.tasks import import_job_run_task
from messaging import services as messaging
from messaging.models import Conversation, Message
from messaging.providers import signature_headers
from privacy.models import ErasureReceipt
from tests.contacts.factories import ContactFactory
from tests.factories import SYSTEM
from tests.messaging.factories import ConversationFactory, IntegrationFactory, MessageFactory
from tests.resources import Action, APIResourceTests

pytestmark = pytest.mark.django_db
URL = "/v1/crm/privacy/erase"
PHONE = "+33612345678"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.IMPORT_CHUNK_ROWS = 3


def erase(client, **body):
    return client.post(URL, body, format="json")


def upload(client, text: str) -> str:
    f = io.BytesIO(text.encode())
    f.name = "c.csv"
    response = client.post("/v1/crm/imports/files", {"file": f}, format="multipart")
    assert response.status_code == 201, response.content
    return response.json()["file_name"]


def import_file(client, file_name, **body) -> dict:
    response = client.post("/v1/crm/imports", {"file_name": file_name, **body}, format="json")
    assert response.status_code == 202, response.content
    job_id = response.json()["job_id"]
    import_job_run_task.apply(args=[job_id]).get()
    return client.get(f"/v1/crm/imports/{job_id}").json()


def file_text(workspace, file_name) -> str:
    with default_storage.open(f"imports/{workspace.pk}/{file_name}") as f:
        return f.read().decode()


def test_erase_by_email_takes_everything_and_keeps_a_receipt(api_client):
    workspace = api_client.workspace
    workspace.default_phone_region = "FR"
    workspace.save()
    ann = ContactFactory(workspace=workspace, email="ann@example.com", phone=PHONE, external_client_id="ann-1")
    archived = ContactFactory(workspace=workspace, email="ANN@example.com")
    contact_archive(workspace=workspace, actor=SYSTEM, contact_id=archived.pk)
    other = ContactFactory(workspace=workspace, email="bob@example.com", phone="+33698765432")
    integration = IntegrationFactory(workspace=workspace)
    conversation = ConversationFactory(workspace=workspace, contact=ann, integration=integration)
    for _ in range(3):
        MessageFactory(conversation=conversation)
    kept_conversation = ConversationFactory(workspace=workspace, contact=other, integration=integration)
    # an import file naming Ann three ways (her phone in national format) and Bob once, and an error report
    file_name = upload(api_client, "externalClientId,name,email,phone\n"
                                   "x1,Ann,ANN@example.com,\nx2,Ann again,,06 12 34 56 78\n"
                                   "ann-1,A,,\nbob-1,Bob,bob@example.com,\n")
    job = import_file(api_client, upload(api_client, "name,email\nAnn,ann@example.com\nBad,not-an-email\n"),
                      skip_errors=True)
    assert job["skipped"] == 1
    ImportJobError.objects.create(job_id=job["id"], row=9, cells=["Ann", "Ann@Example.com"], message="x")

    response = erase(api_client, email=" Ann@Example.com ")
    assert response.status_code == 201, response.content
    receipt = response.json()
    # contacts: Ann, her archived twin and the one the second import made; import rows: three of the
    # first file, her row of the second, the error report's row
    assert receipt["erased"] == {"contacts": 3, "conversations": 1, "messages": 3, "import_rows": 5}
    assert receipt["by"] == api_client.user.pk and receipt["at"] and receipt["identifier"] == "email"
    assert not Contact.objects.filter(pk__in=[ann.pk, archived.pk]).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
    assert Contact.objects.filter(pk=other.pk).exists() and Conversation.objects.filter(pk=kept_conversation.pk).exists()
    # history: only that they were erased, and by whom
    history = Event.objects.filter(subject_type="contact", subject_id=ann.pk).exclude(type="contact.erased")
    assert history.exists() and all(e.payload == {"erased": True} for e in history)
    # import rows: the file keeps only Bob's row; the error report keeps the invalid row that is not hers
    assert file_text(workspace, file_name).splitlines() == ["externalClientId,name,email,phone",
                                                            "bob-1,Bob,bob@example.com,"]
    assert ImportFile.objects.get(file_name=file_name).size == len(file_text(workspace, file_name).encode())
    assert list(ImportJobError.objects.values_list("cells", flat=True)) == [["Bad", "not-an-email"]]
    # the receipt is kept, names no one, and the erase is idempotent
    assert api_client.get(f"/v1/crm/privacy/erasures/{receipt['id']}").json() == receipt
    stored = ErasureReceipt.objects.get(pk=receipt["id"])
    assert "ann" not in json.dumps({k: str(v) for k, v in stored.__dict__.items()}).lower()
    again = erase(api_client, email="ann@example.com")
    assert again.status_code == 201
    assert again.json()["erased"] == {"contacts": 0, "conversations": 0, "messages": 0, "import_rows": 0}
    assert not SuppressedIdentifier.objects.exists()  # suppress was not asked


def test_suppress_refuses_every_path_that_would_create_the_person(api_client, client):
    workspace = api_client.workspace
    workspace.default_phone_region = "FR"
    workspace.save()
    ContactFactory(workspace=workspace, email="eve@example.com", phone=PHONE, external_client_id="eve-1")
    response = erase(api_client, phone="06 12 34 56 78", suppress=True)
    assert response.status_code == 201, response.content
    assert response.json()["erased"]["contacts"] == 1 and response.json()["suppressed"] == 3
    # only digests are kept
    digests = list(SuppressedIdentifier.objects.values_list("digest", flat=True))
    assert len(digests) == 3 and all(len(d) == 64 and "eve" not in d and "612345678" not in d for d in digests)

    def refused(response, field):
        assert response.status_code == 400, response.content
        error = response.json()["errors"][0]
        assert (error["code"], error["field"]) == ("suppressed", field), response.json()

    before = Contact.objects.count()
    refused(api_client.post("/v1/crm/contacts", {"name": "Eve", "email": "EVE@example.com"}, format="json"), "email")
    refused(api_client.post("/v1/crm/contacts", {"name": "Eve", "phone": "+33 6 12 34 56 78"}, format="json"), "phone")
    refused(api_client.put("/v1/crm/contacts/upsert", {"external_client_id": "eve-1", "name": "Eve"}, format="json"),
            "external_client_id")
    # a notification by phone, an inbound message from her phone
    integration = messaging.integration_create(workspace=workspace, actor=SYSTEM, name="WA", provider="webhook",
                                               config={"url": "https://hooks.example.com/out"}, secret="s" * 24)
    response = api_client.post("/v1/crm/notifications", {"integration_id": integration.pk, "phone": PHONE,
                                                          "template_name": "t", "template_lang": "en"}, format="json")
    refused(response, "phone")
    body = json.dumps({"from": PHONE, "content": "hi", "external_message_id": "m1"}).encode()
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signature_headers("s" * 24, body).items()}
    response = client.generic("POST", f"/v1/crm/integrations/{integration.pk}/inbound", body,
                              content_type="application/json", **meta)
    assert 400 <= response.status_code < 500 and response.json()["code"] == "suppressed", response.content
    # a batch: her item fails, the other is created
    response = api_client.post("/v1/crm/contacts/batch", {"action": "create", "items": [
        {"name": "Eve", "email": "eve@example.com"}, {"name": "Zoe"}]}, format="json")
    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["error", "created"]
    assert results[0]["errors"][0]["code"] == "suppressed"
    # an import: her rows are row errors, the others are written
    job = import_file(api_client, upload(api_client, "externalClientId,name,email,phone\n"
                                                     "eve-1,Eve,,\nn1,Eve,eve@example.com,\nn2,Eve,,+33612345678\n"
                                                     "n3,Max,max@example.com,\n"), skip_errors=True)
    assert (job["created"], job["skipped"]) == (1, 3), job
    assert {e["code"] for e in job["errors"]} == {"suppressed"}
    assert Contact.objects.count() == before + 2  # Zoe and Max
    assert not Contact.objects.filter(email="eve@example.com").exists()
    # another workspace is not affected
    from tests.factories import WorkspaceFactory

    other = WorkspaceFactory()
    assert ContactFactory(workspace=other, email="eve@example.com").pk


def test_erase_by_contact_id_and_external_id(api_client, other_client):
    workspace = api_client.workspace
    a = ContactFactory(workspace=workspace, external_client_id="k-1", email="k@example.com")
    response = erase(api_client, contact_id=a.pk, suppress=True)
    assert response.status_code == 201 and response.json()["erased"]["contacts"] == 1
    assert erase(api_client, contact_id=a.pk).status_code == 404  # an unknown id
    b = ContactFactory(workspace=workspace, external_client_id="k-2")
    assert erase(api_client, external_client_id="k-2").json()["erased"]["contacts"] == 1
    assert not Contact.objects.filter(pk=b.pk).exists()
    theirs = ContactFactory(workspace=other_client.workspace)
    response = erase(api_client, contact_id=theirs.pk)
    assert response.status_code == 404 and Contact.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize("body, field, code", [
    ({}, "contact_id", "invalid"),
    ({"email": "a@example.com", "phone": PHONE}, "contact_id", "invalid"),
    ({"contact_id": "x"}, "contact_id", "invalid"),
    ({"contact_id": 0}, "contact_id", "min_value"),
    ({"email": 5}, "email", "invalid"),
    ({"phone": "not a phone"}, "phone", "invalid"),
    ({"email": "a@example.com", "suppress": "yes"}, "suppress", "invalid"),
    ({"email": "a@example.com", "no_such_field": 1}, "no_such_field", "unknown_field"),
])
def test_bad_input_is_a_400_and_erases_nothing(api_client, body, field, code):
    contact = ContactFactory(workspace=api_client.workspace, email="a@example.com", phone=PHONE)
    response = erase(api_client, **body)
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == (field, code), response.json()
    assert Contact.objects.filter(pk=contact.pk).exists() and not ErasureReceipt.objects.exists()


def test_members_may_not_erase(member_client):
    contact = ContactFactory(workspace=member_client.workspace, email="a@example.com")
    response = erase(member_client, email="a@example.com")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert Contact.objects.filter(pk=contact.pk).exists()
    response = member_client.post(URL, data="{oops", content_type="application/json")
    assert response.status_code in (400, 403)


class TestErasureReceiptResource(APIResourceTests):
    model = ErasureReceipt
    list_url = "/v1/crm/privacy/erasures"
    detail_url = "/v1/crm/privacy/erasures/{obj.pk}"
    create_status = None  # receipts come from POST /privacy/erase
    delete_status = None
    admin_only_reads = True
    actions = (Action("post", URL, 201, lambda receipt: {"email": "nobody@example.com"}),)

    def create_payload(self, workspace):
        return {}

    def make(self, workspace):
        from privacy.services import privacy_erase

        ContactFactory(workspace=workspace, email="gone@example.com")
        return privacy_erase(workspace=workspace, actor=SYSTEM, email="gone@example.com")


def test_admin_shows_receipts_and_the_suppression_list_read_only(api_client):
    from django.contrib.auth import get_user_model
    from django.test import Client

    ContactFactory(workspace=api_client.workspace, email="z@example.com")
    receipt = erase(api_client, email="z@example.com", suppress=True).json()
    User = get_user_model()
    staff = User.objects.create_superuser(email="staff@example.com", password="pw-123456789",
                                          **({"username": "staff"} if hasattr(User, "username") else {}))
    client = Client()
    client.force_login(staff)
    assert client.get("/admin/privacy/erasurereceipt/?q=x").status_code == 200
    page = client.get("/admin/privacy/erasurereceipt/?suppress__exact=1")
    assert page.status_code == 200 and f"/admin/privacy/erasurereceipt/{receipt['id']}/" in page.content.decode()
    page = client.get("/admin/contacts/suppressedidentifier/?kind__exact=email")
    assert page.status_code == 200 and "z@example.com" not in page.content.decode()
    assert client.get("/admin/privacy/erasurereceipt/add/").status_code == 403
    assert client.post(f"/admin/privacy/erasurereceipt/{receipt['id']}/delete/", {"post": "yes"}).status_code == 403
    assert ErasureReceipt.objects.filter(pk=receipt["id"]).exists()
