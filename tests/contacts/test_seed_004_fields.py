"""Seed 004's contact fields (issue 12, deliverable 3): media, cover_photo,
company_namespace (filterable), and the read-only creator / editor derived
from the actor of the first and of the last write."""
import pytest

from contacts import services
from contacts.models import Contact
from crm.actors import Actor
from imports.models import ImportJob
from messaging import services as messaging
from tests.factories import SYSTEM, actor_of

URL = "/v1/crm/contacts"


def test_fields_round_trip(api_client):
    body = {"name": "a", "media": ["https://x.io/1.png", "http://x.io/2.mp4"], "cover_photo": "https://x.io/c.jpg",
            "company_namespace": ["company1", "company2"]}
    created = api_client.post(URL, body, format="json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert (data["media"], data["cover_photo"], data["company_namespace"]) == (
        body["media"], body["cover_photo"], body["company_namespace"])
    contact = Contact.objects.get(pk=data["id"])
    assert (contact.media, contact.cover_photo, contact.company_namespace) == (
        body["media"], body["cover_photo"], body["company_namespace"])
    # GET-modify-PUT keeps them; PUT without them resets them
    got = api_client.get(f"{URL}/{contact.id}").json()
    assert api_client.put(f"{URL}/{contact.id}", {**got, "name": "b"}, format="json").json()["media"] == body["media"]
    reset = api_client.put(f"{URL}/{contact.id}", {"name": "b"}, format="json").json()
    assert (reset["media"], reset["cover_photo"], reset["company_namespace"]) == ([], "", [])


@pytest.mark.parametrize("field,value,code", [
    ("media", ["ftp://x.io/a"], "invalid"),
    ("media", ["not a url"], "invalid"),
    ("media", [1], "invalid"),
    ("media", ["https://x.io/a"] * 51, "max_length"),
    ("cover_photo", "javascript:alert(1)", "invalid"),
    ("cover_photo", ["https://x.io"], "invalid"),
    ("company_namespace", "company1", "not_a_list"),
    ("company_namespace", ["x" * 101], "max_length"),
])
def test_bad_values_are_a_400_and_write_nothing(api_client, field, value, code):
    response = api_client.post(URL, {"name": "bad", field: value}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["errors"][0]
    assert error["field"].split(".")[0] == field and error["code"] == code
    assert not Contact.objects.filter(name="bad").exists()


def test_company_namespace_filter(api_client, make_contact):
    one = make_contact(name="one", company_namespace=["company1"])
    both = make_contact(name="both", company_namespace=["company1", "company2"])
    two = make_contact(name="two", company_namespace=["company2"])
    make_contact(name="none")

    def names(query):
        response = api_client.get(f"{URL}?{query}")
        assert response.status_code == 200, response.content
        return {item["name"] for item in response.json()["data"]}

    assert names("company_namespace=company1") == {one.name, both.name}
    assert names("company_namespace=company1&company_namespace=company2") == {one.name, both.name, two.name}
    assert names("company_namespace=Company1") == set()  # exact
    assert names("company_namespace=nothing") == set()


def stamp(data):
    return {key: data[key] for key in ("id", "name", "email", "type")}


def test_creator_and_editor_follow_the_actors(api_client, member_client):
    admin = api_client.user
    created = api_client.post(URL, {"name": "a", "visibility_type": "public",
                                     "creator": {"_id": "x", "name": "Forged", "type": "system"}}, format="json")
    data = created.json()
    expected_admin = {"id": admin.id, "name": Actor.member(admin, "admin").name, "email": admin.email, "type": "admin"}
    assert data["creator"] == expected_admin and data["editor"] == expected_admin
    member = member_client.user
    updated = member_client.patch(f"{URL}/{data['id']}", {"title": "x"}, format="json")
    assert updated.status_code == 200, updated.content
    assert updated.json()["creator"] == expected_admin
    assert updated.json()["editor"] == {"id": member.id, "name": Actor.member(member, "member").name,
                                        "email": member.email, "type": "member"}
    # a bulk update and an archive stamp the editor too
    assert api_client.patch(URL, {"ids": [data["id"]], "owner_id": admin.id}, format="json").status_code == 200
    assert Contact.objects.get(pk=data["id"]).editor == expected_admin
    assert member_client.delete(f"{URL}/{data['id']}").status_code == 200
    assert Contact.objects.get(pk=data["id"]).editor["id"] == member.id


def test_creator_of_integrations_imports_and_the_system(api_client):
    workspace, admin = api_client.workspace, api_client.user
    integration = messaging.integration_create(workspace=workspace, actor=actor_of(workspace, admin), name="WA")
    by_integration = services.contact_for_sender(workspace=workspace, actor=Actor.integration(integration),
                                                 sender="ext-77")
    assert by_integration.creator == {"id": integration.id, "name": "WA", "email": "", "type": "integration"}
    job = ImportJob.objects.create(workspace=workspace, file_name="f.csv", created_by=admin, updated_by=admin)
    actor = Actor.import_job(job, on_behalf_of=actor_of(workspace, admin))
    services.contacts_bulk_upsert(workspace=workspace, actor=actor, rows=[{"external_client_id": "i1", "name": "I"}])
    imported = Contact.objects.get(external_client_id="i1")
    assert imported.creator == {"id": job.id, "name": f"Import job {job.id}", "email": admin.email, "type": "import"}
    services.contacts_bulk_upsert(workspace=workspace, actor=SYSTEM, rows=[{"external_client_id": "i1", "name": "J"}])
    imported.refresh_from_db()
    assert imported.creator["type"] == "import" and imported.editor == {
        "id": None, "name": "tests", "email": "", "type": "system"}
    body = api_client.get(f"{URL}/{imported.id}").json()
    assert body["creator"]["type"] == "import" and body["editor"]["type"] == "system"
