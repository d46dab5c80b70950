"""The seeds' sample requests, replayed (ids and phones made valid), and the
seeds' names on write (crm.aliases): every field of every sample lands."""
import io

import pytest

from contacts.models import Contact
from crm.models import Membership
from imports.models import ImportJob
from labels.models import ContactLabel
from messaging import services as messaging
from messaging.models import Message
from tags.models import Tag
from tests.factories import UserFactory, actor_of

URL = "/v1/crm/contacts"


@pytest.fixture
def agent(api_client):
    user = UserFactory(first_name="Agent", last_name="Smith")
    Membership.objects.create(workspace=api_client.workspace, user=user, role=Membership.Role.MEMBER)
    return user


@pytest.fixture
def integration(api_client):
    return messaging.integration_create(
        workspace=api_client.workspace, actor=actor_of(api_client.workspace, api_client.user), name="Console"
    )


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def contact_of(response) -> Contact:
    assert response.status_code in (200, 201), response.content
    return Contact.objects.get(pk=response.json()["id"])


# -- seed 000: clients ---------------------------------------------------------------
def seed_000_create(workspace_id, agent_id):
    """createClient's sample input."""
    return {"workspaceId": workspace_id, "email": "sample@example.com", "name": "sample", "surname": "sample",
            "phone": "+12025550123", "code": "sample", "city": "sample", "country": "sample", "address": "sample",
            "stage": "sample", "defaultAgentId": agent_id, "externalClientId": "sample", "tags": ["sample"]}


def test_seed_000_create_client(api_client, agent):
    response = api_client.post(URL, seed_000_create(api_client.workspace.id, str(agent.id)), format="json")
    contact = contact_of(response)
    assert response.status_code == 201
    assert (contact.email, contact.name, contact.surname, contact.phone, contact.code, contact.city, contact.country,
            contact.address) == ("sample@example.com", "sample", "sample", "+12025550123", "sample", "sample",
                                 "sample", "sample")
    assert contact.external_client_id == "sample" and contact.default_agent_id == agent.id
    assert contact.stage.tag == "sample" and contact.stage.type == Tag.Type.CLIENT_STAGE
    assert [t.tag for t in contact.tags.all()] == ["sample"]
    body = response.json()
    assert body["external_client_id"] == "sample" and body["stage_id"] == contact.stage_id


def test_seed_000_put_client_creates_then_updates(api_client, agent):
    body = seed_000_create(api_client.workspace.id, agent.id)
    del body["stage"]  # not in ClientPutInput
    first = api_client.put(f"{URL}/upsert", body, format="json")
    assert first.status_code == 201, first.content
    again = api_client.put(f"{URL}/upsert", {**body, "city": "Paris", "defaultAgentId": None}, format="json")
    assert again.status_code == 200, again.content
    contact = contact_of(again)
    assert contact.pk == first.json()["id"] and contact.external_client_id == "sample"
    assert contact.city == "Paris" and contact.default_agent_id is None
    assert Contact.objects.filter(workspace=api_client.workspace, external_client_id="sample").count() == 1


def test_seed_000_stage_by_name_reuses_the_tag_and_must_agree_with_stage_id(api_client):
    stage = Tag.objects.create(workspace=api_client.workspace, tag="Qualified", type=Tag.Type.CLIENT_STAGE)
    contact = contact_of(api_client.post(URL, {"name": "a", "stage": "qualified"}, format="json"))
    assert contact.stage_id == stage.id
    same = api_client.post(URL, {"name": "b", "stage": "Qualified", "stageId": stage.id}, format="json")
    assert contact_of(same).stage_id == stage.id
    other = Tag.objects.create(workspace=api_client.workspace, tag="Won", type=Tag.Type.CLIENT_STAGE)
    count = Contact.objects.count()
    response = api_client.post(URL, {"name": "c", "stage": "Qualified", "stage_id": other.id}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "stage"
    assert response.json()["code"] == "alias_conflict" and Contact.objects.count() == count


def test_seed_000_import_validate_and_job(api_client, media_root):
    csv = io.BytesIO(b"externalClientId,name,phone\ne1,Ann,+12025550123\ne2,Bob,nope\n")
    csv.name = "contacts.csv"
    upload = api_client.post("/v1/crm/imports/files", {"file": csv}, format="multipart")
    assert upload.status_code == 201, upload.content
    file_name = upload.json()["file_name"]
    workspace_id = api_client.workspace.id
    validated = api_client.post("/v1/crm/imports/validate", {"workspaceId": workspace_id, "fileName": file_name},
                                format="json")
    assert validated.status_code == 200, validated.content
    assert (validated.json()["total_rows"], validated.json()["invalid_rows"]) == (2, 1)
    started = api_client.post("/v1/crm/imports", {"workspaceId": workspace_id, "fileName": file_name,
                                                   "skipErrors": True}, format="json")
    assert started.status_code == 202, started.content
    job = ImportJob.objects.get(pk=started.json()["job_id"])
    assert job.file_name == file_name and job.skip_errors is True


# -- seed 001: messaging ---------------------------------------------------------------
def test_seed_001_add_message(api_client, integration):
    actor = actor_of(api_client.workspace, api_client.user)
    contact = Contact.objects.create(workspace=api_client.workspace, name="Ada")
    conversation = messaging.conversation_create(workspace=api_client.workspace, actor=actor, contact_id=contact.pk,
                                                 integration=integration)
    first = messaging.message_add(workspace=api_client.workspace, actor=actor, conversation=conversation,
                                  content="hi", type="note")
    body = {"workspaceId": api_client.workspace.id, "integrationId": str(integration.id), "convId": conversation.id,
            "content": "sample", "type": "note", "noteType": "follow_up", "replyToMessageId": first.id}
    response = api_client.post(f"/v1/crm/conversations/{conversation.id}/messages", body, format="json")
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["message_id"])
    assert (message.content, message.type, message.note_type, message.reply_to_id) == (
        "sample", "note", "follow_up", first.id)
    assert message.conversation_id == conversation.id and message.integration_id == integration.id


@pytest.mark.parametrize("key", ["convId", "integrationId", "conversation_id", "integration_id"])
def test_seed_001_ids_must_agree_with_the_path(api_client, integration, key):
    actor = actor_of(api_client.workspace, api_client.user)
    contact = Contact.objects.create(workspace=api_client.workspace, name="Ada")
    conversation = messaging.conversation_create(workspace=api_client.workspace, actor=actor, contact_id=contact.pk,
                                                 integration=integration)
    body = {"content": "x", "type": "note", key: 10**9}
    response = api_client.post(f"/v1/crm/conversations/{conversation.id}/messages", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "path_mismatch"
    assert not Message.objects.filter(conversation=conversation).exists()


def test_seed_001_send_notification(api_client, integration):
    contact = Contact.objects.create(workspace=api_client.workspace, name="Ada", phone="+12025550123")
    body = {"workspaceId": api_client.workspace.id, "integrationId": integration.id, "clientId": str(contact.id),
            "phone": "+12025550123", "templateName": "sample", "templateLang": "en",
            "templateComponents": {"key": "Hello {{name}}"}, "trunk": "sample", "senderId": "sender-1"}
    response = api_client.post("/v1/crm/notifications", body, format="json")
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["message_id"])
    assert message.conversation.contact_id == contact.id and message.integration_id == integration.id
    assert (message.template_name, message.template_lang, message.trunk, message.sender_id) == (
        "sample", "en", "sample", "sender-1")
    assert message.template_components == {"key": "Hello Ada"}


# -- seed 002: tags ---------------------------------------------------------------------
def test_seed_002_create_and_bulk_patch_tags(api_client):
    workspace_id = api_client.workspace.id
    created = api_client.post("/v1/crm/tags", {"workspaceId": workspace_id, "type": "clientStage", "tag": "sample",
                                               "order": 1, "description": "sample"}, format="json")
    assert created.status_code == 201, created.content
    tag = Tag.objects.get(pk=created.json()["id"])
    assert (tag.type, tag.tag, tag.order, tag.description) == ("clientStage", "sample", 1, "sample")
    patched = api_client.patch("/v1/crm/tags", {"workspaceId": workspace_id, "patches": [{"id": tag.id, "order": 7}]},
                               format="json")
    assert patched.status_code == 200, patched.content
    tag.refresh_from_db()
    assert tag.order == 7


# -- the workspace of a body, aliases given twice ---------------------------------------
@pytest.mark.parametrize("method,path,body", [
    ("post", URL, {"name": "x"}),
    ("put", f"{URL}/upsert", {"externalClientId": "x"}),
    ("post", "/v1/crm/tags", {"type": "client", "tag": "x"}),
    ("post", "/v1/crm/notifications", {"templateName": "t", "phone": "+12025550123"}),
])
@pytest.mark.parametrize("key", ["workspaceId", "workspace_id"])
def test_another_workspace_is_a_404_and_writes_nothing(api_client, other_workspace, method, path, body, key):
    counts = (Contact.objects.count(), Tag.objects.count(), Message.objects.count())
    response = getattr(api_client, method)(path, {**body, key: other_workspace.id}, format="json")
    assert response.status_code == 404, response.content
    assert response.json()["code"] == "not_found"
    assert (Contact.objects.count(), Tag.objects.count(), Message.objects.count()) == counts


def test_the_same_value_under_both_names_is_one_value(api_client):
    response = api_client.post(URL, {"externalClientId": "e1", "external_client_id": "e1"}, format="json")
    assert contact_of(response).external_client_id == "e1"


@pytest.mark.parametrize("alias,name,a,b", [
    ("externalClientId", "external_client_id", "e1", "e2"),
    ("phone1", "phone", "+12025550123", "+12025550124"),
    ("stageId", "stage_id", 1, 2),
])
def test_different_values_under_both_names_are_a_400(api_client, alias, name, a, b):
    response = api_client.post(URL, {"name": "x", alias: a, name: b}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "alias_conflict" and response.json()["errors"][0]["field"] == alias
    assert not Contact.objects.filter(name="x").exists()


# -- seed 003: organization_name ----------------------------------------------------
def test_seed_003_organization_name_links_or_creates(api_client):
    acme = contact_of(api_client.post(URL, {"name": "a", "organization_name": "Acme"}, format="json"))
    organization = acme.organization
    assert organization.type == "organization" and organization.name == "Acme"
    assert organization.created_by_id == api_client.user.id
    again = contact_of(api_client.post(URL, {"name": "b", "organization_name": " acme "}, format="json"))
    assert again.organization_id == organization.id
    assert Contact.objects.filter(type="organization").count() == 1
    same = api_client.patch(f"{URL}/{again.id}", {"organization_name": "Acme", "organization_id": organization.id},
                            format="json")
    assert contact_of(same).organization_id == organization.id


def test_seed_003_organization_name_disagreeing_with_organization_id_is_a_400(api_client):
    other = contact_of(api_client.post(URL, {"name": "Other", "type": "organization"}, format="json"))
    count = Contact.objects.count()
    response = api_client.post(URL, {"name": "a", "organization_name": "New Org", "organization_id": other.id},
                               format="json")
    assert response.status_code == 400 and response.json()["code"] == "alias_conflict"
    assert Contact.objects.count() == count  # the organization it would have created too


def test_seed_003_update_samples(api_client, agent):
    """PATCH and PUT /contacts/{id} with seed 003's body (ids made valid)."""
    contact = contact_of(api_client.post(URL, {"name": "x"}, format="json"))
    label = ContactLabel.objects.get(workspace=api_client.workspace, name="No label")
    body = {"name": "Rahul A", "email": "rahul.kaushik@deskera.org", "country_code": "+232", "phone": "",
            "label_id": label.id, "visibility_type": "team", "type": "person", "person_names": [],
            "owner_id": agent.id, "sub_owner_ids": [api_client.user.id], "custom_field": [], "id": contact.id,
            "organization_name": "Deskera"}
    for method in ("patch", "put"):
        updated = contact_of(getattr(api_client, method)(f"{URL}/{contact.id}", body, format="json"))
        assert (updated.name, updated.email, updated.country_code, updated.phone, updated.label_id,
                updated.visibility_type, updated.type, updated.owner_id) == (
            "Rahul A", "rahul.kaushik@deskera.org", "+232", "", label.id, "team", "person", agent.id)
        assert list(updated.sub_owners.values_list("id", flat=True)) == [api_client.user.id]
        assert updated.organization.name == "Deskera"


# -- seed 004: client contacts -------------------------------------------------------
def seed_004_body():
    creator = {"_id": "60f1b2b3c9e9a12345678901", "username": "admin_user", "name": "Admin User", "type": "admin"}
    return {"name": "John Smith", "creator": creator, "editor": creator, "local_name": "جون سميث",
            "phone1": "+12025550123", "phone2": "+12025550124", "email": "john.smith@example.com",
            "title": "Sales Manager", "extra_info": "Primary contact for technical issues", "disabled": False,
            "media": ["https://example.com/a.png"], "cover_photo": "https://example.com/cover.jpg",
            "integration_meta": {"external_id": "contact_123"}, "company_namespace": ["company1"]}


def test_seed_004_create_and_update(api_client):
    created = contact_of(api_client.post(URL, seed_004_body(), format="json"))
    assert (created.name, created.local_name, created.phone, created.secondary_phone, created.email, created.title,
            created.note, created.disabled, created.integration_meta) == (
        "John Smith", "جون سميث", "+12025550123", "+12025550124", "john.smith@example.com", "Sales Manager",
        "Primary contact for technical issues", False, {"external_id": "contact_123"})
    assert (created.media, created.cover_photo, created.company_namespace) == (
        ["https://example.com/a.png"], "https://example.com/cover.jpg", ["company1"])
    # creator / editor are read-only: who wrote it, not what the body says
    assert created.creator["id"] == api_client.user.id and created.creator["name"] != "Admin User"
    update = {**seed_004_body(), "name": "John Smith Updated", "title": "Senior Sales Manager",
              "integration_meta": {"external_id": "contact_123", "sync_status": "updated"},
              "_id": created.id, "createdAt": "2023-01-15T10:30:00.000Z", "updatedAt": "2023-01-15T10:30:00.000Z",
              "__v": 0}
    updated = contact_of(api_client.put(f"{URL}/{created.id}", update, format="json"))
    assert (updated.name, updated.title, updated.integration_meta["sync_status"], updated.company_namespace) == (
        "John Smith Updated", "Senior Sales Manager", "updated", ["company1"])
    assert api_client.get(f"{URL}?company_namespace=company1").json()["data"][0]["id"] == created.id
    assert updated.created_at == created.created_at and updated.version == created.version + 1


def test_batch_items_take_the_same_aliases(api_client):
    body = {"action": "create", "items": [{"name": "a", "externalClientId": "b1", "phone1": "+12025550123"}]}
    response = api_client.post(f"{URL}/batch", body, format="json")
    assert response.status_code == 200, response.content
    contact = Contact.objects.get(pk=response.json()["results"][0]["id"])
    assert (contact.external_client_id, contact.phone) == ("b1", "+12025550123")
    conflict = {"action": "create", "items": [{"name": "a", "externalClientId": "b2", "external_client_id": "b3"}]}
    response = api_client.post(f"{URL}/batch", conflict, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "alias_conflict"
    assert response.json()["errors"][0]["field"] == "items.0.externalClientId"
    assert not Contact.objects.filter(external_client_id__in=["b2", "b3"]).exists()


# -- seed 003: the other sample bodies ------------------------------------------------
def test_seed_003_create_with_organization_name_bulk_update_multiple_and_labels(api_client, agent):
    label = ContactLabel.objects.get(workspace=api_client.workspace, name="Cold lead")
    body = {"name": "Test Contact", "email": "test@test.com", "country_code": "+91", "phone": "9876543212",
            "address": "", "label_id": label.id, "visibility_type": "team", "type": "person", "person_names": [],
            "owner_id": agent.id, "sub_owner_ids": [], "custom_field": [], "organization_name": "Deskera",
            "note": "a note", "logo": "https://example.com/logo.png"}
    created = contact_of(api_client.post(URL, body, format="json"))
    assert (created.phone, created.label_id, created.owner_id, created.visibility_type, created.note, created.logo,
            created.organization.name) == ("+919876543212", label.id, agent.id, "team", "a note",
                                           "https://example.com/logo.png", "Deskera")
    other = contact_of(api_client.post(URL, {"name": "Other"}, format="json"))
    bulk = {"ids": [created.id, other.id], "label_id": 0, "owner_id": 0, "visibility_type": "public"}
    response = api_client.patch(URL, bulk, format="json")
    assert response.status_code == 200 and response.json() == {"updated": 2}
    assert set(Contact.objects.filter(pk__in=[created.id, other.id]).values_list("visibility_type", "label_id",
                                                                                  "owner_id")) == {
        ("public", label.id, agent.id), ("public", other.label_id, api_client.user.id)}  # 0: unchanged
    multiple = api_client.post(f"{URL}/multiple", {"contact_ids": [other.id, created.id]}, format="json")
    assert [c["id"] for c in multiple.json()] == [other.id, created.id]
    made = api_client.post(f"{URL}/labels", {"name": "Test Label", "color": "green", "icon": "fiber_manual_record"},
                           format="json")
    assert made.status_code == 201, made.content
    changed = api_client.put(f"{URL}/labels/{made.json()['id']}", {"name": "Test Label12", "color": "green",
                                                                    "icon": "fiber_manual_record"}, format="json")
    assert changed.status_code == 200, changed.content
    assert ContactLabel.objects.filter(pk=made.json()["id"], name="Test Label12", color="green",
                                       icon="fiber_manual_record").exists()
