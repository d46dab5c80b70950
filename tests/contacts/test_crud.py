"""POST/GET/PATCH/PUT/DELETE /contacts/{id}: seed bodies, validation, read-only
fields, versions, ETag/If-Match, archive/restore/erase, organizations."""
import pytest

from contacts import services
from contacts.models import Contact, CustomFieldDefinition
from contacts.serializers import CONTACT_KEYS
from labels.models import ContactLabel
from tags.models import Tag
from tests.factories import SYSTEM, UserFactory, actor_of

URL = "/v1/crm/contacts"


@pytest.fixture
def text_field(api_client):
    return services.custom_field_create(workspace=api_client.workspace, actor=actor_of(api_client.workspace, api_client.user), label="TT")


@pytest.fixture
def number_field(api_client):
    return services.custom_field_create(
        workspace=api_client.workspace, actor=actor_of(api_client.workspace, api_client.user), label="Number", short_name="num", type="number"
    )


def seed_create_body(label_id, owner_id, code):
    """Seed 003 "Create Contact" sample request, ids replaced."""
    return {
        "name": "Test Contact",
        "email": "test@test.com",
        "country_code": "+91",
        "phone": "9876543212",
        "address": "",
        "label_id": label_id,
        "visibility_type": "team",
        "type": "person",
        "person_names": [],
        "owner_id": owner_id,
        "sub_owner_ids": [],
        "custom_field": [{"label": "drop", "code": code, "module": None, "value": "V2"}],
    }


def test_seed_create_sample(api_client, dropdown_field, text_field):
    label = ContactLabel.objects.get(workspace=api_client.workspace, name="Cold lead")
    response = api_client.post(URL, seed_create_body(label.id, api_client.user.id, dropdown_field.code), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert tuple(body) == CONTACT_KEYS
    assert body["phone"] == "+919876543212" and body["country_code"] == "+91"
    assert body["label"] == {"id": label.id, "name": "Cold lead", "color": "blue", "icon": "ac_unit"}
    assert body["owner_id"] == api_client.user.id
    assert body["owner_details"]["email"] == api_client.user.email and body["owner_details"]["role"] == "admin"
    assert body["custom_field"] == [
        {"code": dropdown_field.code, "label": "drop", "value": "V2", "module": "", "shortName": "drop"}
    ]
    assert body["c_field"] == {"drop": "V2", "TT": ""}
    assert body["tenant_id"] == api_client.workspace.id
    assert body["version"] == 1 and body["view_only"] is False and body["deleted_at"] is None
    assert body["created_by"] == body["updated_by"] == api_client.user.id
    assert response["ETag"] == f'"{body["id"]}-1"'
    assert Contact.objects.get(pk=body["id"]).custom_fields == {dropdown_field.code: "V2"}


def test_seed_update_samples(api_client, make_contact, member, text_field):
    """Seed 003 PATCH and PUT samples (the PUT body carries "id", ignored)."""
    contact = make_contact(name="Old", city="Rome", tags=["x"])
    label = ContactLabel.objects.get(workspace=api_client.workspace, is_default=True)
    body = {
        "name": "Rahul A", "email": "rahul.kaushik@deskera.org", "country_code": "+232", "phone": "",
        "label_id": label.id, "visibility_type": "team", "type": "person", "person_names": [],
        "owner_id": member.id, "sub_owner_ids": [member.id],
        "custom_field": [{"label": "TT", "code": text_field.code, "module": "", "value": ""}], "id": 999999,
    }
    response = api_client.patch(f"{URL}/{contact.id}", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["id"] == contact.id and data["name"] == "Rahul A" and data["city"] == "Rome"
    assert data["sub_owner_ids"] == [member.id] and data["sub_owner_details"][0]["id"] == member.id
    assert data["tags"] == ["x"] and data["version"] == 2

    response = api_client.put(f"{URL}/{contact.id}", body, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["city"] == "" and data["tags"] == []  # PUT replaces: omitted fields reset
    assert data["owner_id"] == member.id and data["version"] == 3
    assert Contact.objects.filter(pk=999999).count() == 0


def test_fields_are_designs(api_client, make_contact):
    """Every field DESIGN.md (Contacts) lists, and seed 004's (issue 12), is in every response, in
    that order, and nothing else (person_ids and person_names are write-only), plus merged_into_id
    (issue 15: where a merged contact went)."""
    design = (
        "id type name surname local_name email country_code phone secondary_phone address city country code title "
        "note logo label_id label tags stage_id external_client_id default_agent_id owner_id owner_details "
        "sub_owner_ids sub_owner_details visibility_type visibility_ids organization_id organization persons "
        "custom_field c_field integration_meta disabled media cover_photo company_namespace tenant_id created_at "
        "updated_at created_by updated_by creator editor deleted_at archived_by merged_into_id version view_only"
    ).split()
    assert list(CONTACT_KEYS) == design
    contact = make_contact(name="A")
    assert list(api_client.get(f"{URL}/{contact.id}").json()) == design
    assert list(api_client.get(URL).json()["data"][0]) == design


def test_retrieve(api_client, make_contact):
    contact = make_contact(name="Ann", tags=["b", "a"])
    response = api_client.get(f"{URL}/{contact.id}")
    assert response.status_code == 200
    assert response.json()["tags"] == ["a", "b"]
    assert response["ETag"] == f'"{contact.id}-1"'
    assert api_client.get(f"{URL}/{contact.id + 1000}").status_code == 404


def test_retrieve_shows_only_its_workspaces_custom_fields(api_client, other_client, make_contact, dropdown_field):
    """The definitions come with the contact's row: in id order, its workspace's only."""
    services.custom_field_create(workspace=other_client.workspace, actor=actor_of(other_client.workspace, other_client.user), label="Theirs")
    services.custom_field_create(workspace=api_client.workspace, actor=actor_of(api_client.workspace, api_client.user), label="Zeta")
    contact = make_contact(name="Ann", c_field={"drop": "V1"})
    body = api_client.get(f"{URL}/{contact.id}").json()
    assert list(body["c_field"].items()) == [("drop", "V1"), ("Zeta", "")]
    assert body["custom_field"] == [
        {"code": dropdown_field.code, "label": "drop", "value": "V1", "module": "", "shortName": "drop"}
    ]


def test_read_only_fields_are_ignored(api_client, other_workspace):
    response = api_client.post(URL, {
        "name": "R", "id": 4242, "tenant_id": other_workspace.id, "version": 77, "created_by": 1,
        "deleted_at": "2020-01-01T00:00:00Z", "archived_by": "SYSTEM", "view_only": True, "workspace": other_workspace.id,
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["id"] != 4242 and body["tenant_id"] == api_client.workspace.id
    assert body["version"] == 1 and body["deleted_at"] is None and body["archived_by"] == ""


def test_client_contact_aliases(api_client):
    response = api_client.post(URL, {
        "name": "John Smith", "local_name": "جون سميث", "phone1": "+1234567890", "phone2": "+12025550123",
        "email": "John.Smith@Example.com", "title": "Sales Manager", "extra_info": "Primary contact",
        "disabled": False, "integration_meta": {"external_id": "contact_123"},
    }, format="json")
    # +1234567890 is not a valid number: the same rule as `phone`.
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "phone"
    response = api_client.post(URL, {
        "name": "John Smith", "local_name": "جون سميث", "phone1": "+12025550188", "phone2": "+12025550123",
        "email": "John.Smith@Example.com", "extra_info": "Primary contact", "integration_meta": {"external_id": "c"},
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "+12025550188" and body["secondary_phone"] == "+12025550123"
    assert body["note"] == "Primary contact" and body["email"] == "john.smith@example.com"
    assert body["local_name"] == "جون سميث" and body["integration_meta"] == {"external_id": "c"}


def test_client_operation_fields(api_client, stage, member):
    response = api_client.post(URL, {
        "name": "sample", "surname": "sample", "phone": "+12025550123", "code": "C1", "city": "Cairo",
        "country": "Egypt", "address": "Street 1", "stage_id": stage.id, "default_agent_id": member.id,
        "external_client_id": "sample", "tags": ["sample", "Sample", "other"],
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stage_id"] == stage.id and body["default_agent_id"] == member.id
    assert body["external_client_id"] == "sample" and sorted(body["tags"]) == ["other", "sample"]
    assert set(Tag.objects.filter(workspace=api_client.workspace).values_list("type", flat=True)) >= {"client"}


def test_phone_uses_workspace_region(api_client):
    response = api_client.post(URL, {"name": "US", "phone": "(202) 555-0123"}, format="json")
    assert response.json()["phone"] == "+12025550123"


def test_both_phones_parsed_with_country_code_which_is_kept_as_given(api_client):
    response = api_client.post(URL, {
        "name": "UK", "country_code": "44", "phone": "07900 762188", "secondary_phone": "020 7946 0958",
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["phone"], body["secondary_phone"], body["country_code"]) == ("+447900762188", "+442079460958", "44")
    # a number typed with its own + prefix keeps its country
    other = api_client.post(URL, {"name": "US", "country_code": "+44", "secondary_phone": "+1 202-555-0123"},
                            format="json").json()
    assert other["secondary_phone"] == "+12025550123" and other["country_code"] == "+44"


@pytest.mark.parametrize(
    "body, field, message",
    [
        ({"email": "not-an-email"}, "email", None),
        ({"phone": "12"}, "phone", "Phone number is invalid"),
        ({"phone": "+1 555 000"}, "phone", "Phone number is invalid"),
        ({"secondary_phone": "abc"}, "secondary_phone", "Phone number is invalid"),
        ({"type": "robot"}, "type", None),
        ({"visibility_type": "secret"}, "visibility_type", None),
        ({"name": 12}, None, None),
        ({"name": "x" * 256}, "name", None),
        ({"tags": "vip"}, "tags", None),
        ({"tags": [1]}, None, None),
        ({"label_id": "abc"}, "label_id", None),
        ({"label_id": 10**12}, "label_id", None),
        ({"stage_id": 10**12}, "stage_id", None),
        ({"owner_id": 10**12}, "owner_id", None),
        ({"default_agent_id": 10**12}, "default_agent_id", None),
        ({"sub_owner_ids": [10**12]}, "sub_owner_ids", None),
        ({"sub_owner_ids": "a,b"}, "sub_owner_ids", None),
        ({"visibility_ids": [-1]}, "visibility_ids", None),
        ({"organization_id": 10**12}, "organization_id", None),
        ({"person_names": ["P"]}, "person_names", None),
        ({"custom_field": [{"code": "D-9999999", "value": "x"}]}, "custom_field", None),
        ({"c_field": {"nope": 1}}, "c_field", None),
        ({"integration_meta": [1]}, "integration_meta", None),
        ({"disabled": "perhaps"}, "disabled", None),
        ({"disabled": "yes"}, "disabled", None),
        ({"disabled": 1}, "disabled", None),
        # jsonb cannot hold \u0000: it was a 500 (schemathesis)
        ({"integration_meta": {"k": ["a\x00"]}}, "integration_meta", "Null characters are not allowed."),
        ({"integration_meta": {"a\x00": 1}}, "integration_meta", "Null characters are not allowed."),
    ],
)
def test_validation_errors(api_client, body, field, message):
    response = api_client.post(URL, {"name": "V", **body}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()
    assert error["type"] == "validation_error"
    if field:
        assert error["errors"][0]["field"] == field
    if message:
        assert error["message"] == message
    assert Contact.objects.filter(workspace=api_client.workspace).count() == 0


def test_other_workspace_ids_are_rejected(api_client, other_client, make_contact):
    from labels.services import label_get_default

    other_label = label_get_default(workspace=other_client.workspace)
    other_stage = Tag.objects.create(workspace=other_client.workspace, tag="S", type=Tag.Type.CLIENT_STAGE)
    other_org = services.contact_create(
        workspace=other_client.workspace, actor=actor_of(other_client.workspace, other_client.user), name="O", type="organization")
    other_person = services.contact_create(workspace=other_client.workspace, actor=actor_of(other_client.workspace, other_client.user), name="P")
    outsider = UserFactory()
    for body, field in [
        ({"label_id": other_label.id}, "label_id"),
        ({"stage_id": other_stage.id}, "stage_id"),
        ({"organization_id": other_org.id}, "organization_id"),
        ({"owner_id": other_client.user.id}, "owner_id"),
        ({"default_agent_id": outsider.id}, "default_agent_id"),
        ({"sub_owner_ids": [other_client.user.id]}, "sub_owner_ids"),
        ({"type": "organization", "person_ids": [other_person.id]}, "person_ids"),
    ]:
        response = api_client.post(URL, {"name": "X", **body}, format="json")
        assert response.status_code == 400, (body, response.content)
        assert response.json()["errors"][0]["field"] == field


def test_stage_must_be_a_client_stage(api_client):
    tag = Tag.objects.create(workspace=api_client.workspace, tag="vip", type=Tag.Type.CLIENT)
    response = api_client.post(URL, {"name": "X", "stage_id": tag.id}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "stage_id"


def test_malformed_bodies(api_client):
    response = api_client.post(URL, data="{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "parse_error"
    response = api_client.post(URL, [1, 2], format="json")
    assert response.status_code == 400


def test_failed_write_leaves_nothing(api_client, number_field):
    response = api_client.post(URL, {"name": "X", "tags": ["brand-new"], "c_field": {"num": "abc"}}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "c_field.num"
    assert not Tag.objects.filter(workspace=api_client.workspace, tag="brand-new").exists()
    assert not Contact.objects.exists()


def test_duplicate_external_id_is_409(api_client, make_contact):
    make_contact(name="A", external_client_id="ext-1")
    response = api_client.post(URL, {"name": "B", "external_client_id": "ext-1"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "external_client_id_taken"
    other = make_contact(name="C")
    response = api_client.patch(f"{URL}/{other.id}", {"external_client_id": "ext-1"}, format="json")
    assert response.status_code == 409


def test_custom_field_values_checked_by_type(api_client, dropdown_field, number_field):
    date_field = services.custom_field_create(workspace=api_client.workspace, actor=SYSTEM, label="When", type="date")
    box = services.custom_field_create(workspace=api_client.workspace, actor=SYSTEM, label="Ok", type="checkbox")
    ok = api_client.post(URL, {"name": "C", "c_field": {"num": "12.5", "When": "2024-02-29", "Ok": "true", "drop": "V1"}}, format="json")
    assert ok.status_code == 201, ok.content
    assert ok.json()["c_field"] == {"drop": "V1", "num": 12.5, "When": "2024-02-29", "Ok": True}
    for c_field in ({"drop": "V9"}, {"num": "1e"}, {"When": "2024-02-30"}, {"Ok": "maybe"}):
        response = api_client.post(URL, {"name": "C", "c_field": c_field}, format="json")
        assert response.status_code == 400, c_field
    # A value of "" clears it; PATCH merges custom fields.
    contact_id = ok.json()["id"]
    response = api_client.patch(f"{URL}/{contact_id}", {"custom_field": [{"code": number_field.code, "value": ""}]}, format="json")
    assert response.json()["c_field"] == {"drop": "V1", "num": "", "When": "2024-02-29", "Ok": True}
    assert CustomFieldDefinition.objects.count() == 4 and box and date_field


def test_organization_persons(api_client, make_contact):
    person = make_contact(name="Pat")
    response = api_client.post(URL, {
        "name": "Acme", "type": "organization", "person_ids": [person.id], "person_names": ["New Guy"],
    }, format="json")
    assert response.status_code == 201, response.content
    org = response.json()
    assert sorted(p["name"] for p in org["persons"]) == ["New Guy", "Pat"]
    pat = api_client.get(f"{URL}/{person.id}").json()
    assert pat["organization_id"] == org["id"] and pat["organization"]["name"] == "Acme"
    assert pat["version"] == 2
    response = api_client.patch(f"{URL}/{person.id}", {"organization_id": person.id}, format="json")
    assert response.status_code == 400
    response = api_client.patch(f"{URL}/{org['id']}", {"organization_id": person.id}, format="json")
    assert response.status_code == 400  # a person is not an organization


def test_persons_shown_are_capped(api_client, make_contact, monkeypatch):
    from contacts import selectors

    monkeypatch.setattr(selectors, "PERSONS_SHOWN", 2)
    org = make_contact(name="Big", type="organization", person_names=["a", "b", "c"])
    persons = api_client.get(f"{URL}/{org.id}").json()["persons"]
    assert [p["name"] for p in persons] == ["a", "b"]
    assert len(api_client.get(f"{URL}?organization_id={org.id}").json()["data"]) == 3


def test_versions_and_stamps(api_client, member_client, make_contact):
    contact = make_contact(name="A")
    r1 = member_client.patch(f"{URL}/{contact.id}", {"name": "B"}, format="json").json()
    assert r1["version"] == 2 and r1["updated_by"] == member_client.user.id
    assert r1["updated_at"] > r1["created_at"]
    r2 = api_client.patch(f"{URL}/{contact.id}", {"tags": ["t"]}, format="json").json()
    assert r2["version"] == 3 and r2["name"] == "B"


def test_if_match(api_client, make_contact):
    contact = make_contact(name="A")
    url = f"{URL}/{contact.id}"
    first = api_client.get(url)["ETag"]
    assert api_client.patch(url, {"name": "B"}, format="json", HTTP_IF_MATCH=first).status_code == 200
    stale = api_client.patch(url, {"name": "C"}, format="json", HTTP_IF_MATCH=first)
    assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
    assert api_client.put(url, {"name": "C"}, format="json", HTTP_IF_MATCH=first).status_code == 412
    assert api_client.delete(url, HTTP_IF_MATCH=first).status_code == 412
    assert api_client.delete(f"{url}?permanent=true", HTTP_IF_MATCH=first).status_code == 412
    assert Contact.objects.get(pk=contact.pk).name == "B"
    current = api_client.get(url)["ETag"]
    assert current != first
    assert api_client.patch(url, {"name": "D"}, format="json", HTTP_IF_MATCH=current).status_code == 200
    assert api_client.patch(url, {"name": "E"}, format="json", HTTP_IF_MATCH="*").status_code == 200


def test_every_single_contact_response_has_its_etag(api_client, make_contact):
    """PATCH, PUT, restore and archive answer the new version's ETag, usable as the next If-Match."""
    contact = make_contact(name="A")
    url = f"{URL}/{contact.id}"
    etag = api_client.patch(url, {"name": "B"}, format="json")["ETag"]
    assert etag == f'"{contact.id}-2"'
    etag = api_client.put(url, {"name": "C"}, format="json", HTTP_IF_MATCH=etag)["ETag"]
    assert etag == f'"{contact.id}-3"'
    etag = api_client.delete(url, HTTP_IF_MATCH=etag)["ETag"]
    assert etag == f'"{contact.id}-4"'
    restored = api_client.post(f"{url}/restore", HTTP_IF_MATCH=etag)
    assert restored.status_code == 200 and restored["ETag"] == f'"{contact.id}-5"'
    assert api_client.post(f"{url}/restore", HTTP_IF_MATCH=etag).status_code == 412


def test_archive_restore_erase(api_client, member_client, make_contact):
    contact = make_contact(name="A", visibility_type="public")
    url = f"{URL}/{contact.id}"
    response = api_client.delete(url)
    assert response.status_code == 200
    body = response.json()
    assert body["deleted_at"] and body["archived_by"] == str(api_client.user.id) and body["version"] == 2
    assert response["ETag"] == f'"{contact.id}-2"'
    assert contact.id not in [c["id"] for c in api_client.get(URL).json()["data"]]
    assert [c["id"] for c in api_client.get(f"{URL}?is_deleted=true").json()["data"]] == [contact.id]
    assert api_client.get(url).json()["deleted_at"] is not None  # still readable by id

    restored = api_client.post(f"{url}/restore")
    assert restored.status_code == 200
    assert restored.json()["deleted_at"] is None and restored.json()["archived_by"] == ""
    assert contact.id in [c["id"] for c in api_client.get(URL).json()["data"]]

    denied = member_client.delete(f"{url}?permanent=true")
    assert denied.status_code == 403 and denied.json()["code"] == "permission_denied"
    assert api_client.delete(f"{url}?permanent=maybe").status_code == 400
    erased = api_client.delete(f"{url}?permanent=true")
    assert erased.status_code == 204 and not erased.content
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert api_client.get(url).status_code == 404


def test_system_archive(api_client, make_contact):
    contact = make_contact(name="A")
    archived = services.contact_archive(workspace=api_client.workspace, actor=SYSTEM, contact_id=contact.pk)
    assert archived.archived_by == "SYSTEM"
    assert api_client.get(f"{URL}/{contact.id}").json()["archived_by"] == "SYSTEM"


def test_fractional_ids_are_400(api_client):
    """int(1.5) passed a fractional id as 1 (schemathesis); a whole float like 1.0 is still an id."""
    member_id = api_client.user.id
    response = api_client.post(URL, {"name": "F", "sub_owner_ids": [member_id + 0.5]}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "sub_owner_ids"
    response = api_client.post(URL, {"name": "F", "sub_owner_ids": [float(member_id)]}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["sub_owner_ids"] == [member_id]


def test_every_write_stamps_updated_by(api_client, member_client, make_contact):
    """Archive, restore and attaching persons are writes too: version, updated_at and updated_by move."""
    contact = make_contact(name="A", visibility_type="public")
    url = f"{URL}/{contact.id}"
    archived = member_client.delete(url).json()
    assert archived["updated_by"] == member_client.user.id and archived["version"] == 2
    assert archived["updated_at"] == archived["deleted_at"]
    restored = api_client.post(f"{url}/restore").json()
    assert restored["updated_by"] == api_client.user.id and restored["version"] == 3

    person = make_contact(name="P", visibility_type="public")
    response = member_client.post(URL, {"name": "Org", "type": "organization", "person_ids": [person.id]}, format="json")
    assert response.status_code == 201, response.content
    attached = api_client.get(f"{URL}/{person.id}").json()
    assert attached["organization_id"] == response.json()["id"]
    assert attached["updated_by"] == member_client.user.id and attached["version"] == 2
    assert attached["updated_at"] > attached["created_at"]


def test_erase_of_a_contact_with_conversations_is_409_unless_cascade(api_client, make_contact):
    from messaging.models import Conversation, Message
    from tests.messaging.factories import ConversationFactory, MessageFactory

    contact = make_contact(name="Talked")
    conversation = ConversationFactory(workspace=api_client.workspace, contact=contact)
    MessageFactory(conversation=conversation, type="note")
    response = api_client.delete(f"{URL}/{contact.id}?permanent=true")
    assert response.status_code == 409 and response.json()["code"] == "has_conversations"
    assert Contact.objects.filter(pk=contact.pk).exists() and Message.objects.filter(conversation=conversation).exists()
    assert api_client.delete(f"{URL}/{contact.id}?permanent=true&cascade=true").status_code == 204
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()
