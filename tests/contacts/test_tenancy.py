"""Another workspace's token gets a 404 on every contact route and never
sees or changes this workspace's contacts or custom fields."""
import pytest

from contacts import services
from contacts.models import Contact
from tests.tenancy import assert_tenant_isolated
from tests.factories import SYSTEM

URL = "/v1/crm/contacts"


@pytest.fixture
def ours(make_contact, dropdown_field):
    contact = make_contact(name="Ours", external_client_id="shared-ext", tags=["vip"])
    return contact, dropdown_field


def test_contact_routes_are_isolated(other_client, ours):
    contact, definition = ours
    assert_tenant_isolated(
        other_client,
        list_url=URL,
        detail_urls=[f"{URL}/{contact.id}"],
        hidden_ids=[contact.id],
        actions=[("post", f"{URL}/{contact.id}/restore"), ("delete", f"{URL}/{contact.id}?permanent=true")],
    )
    assert_tenant_isolated(
        other_client,
        list_url=f"{URL}/custom-fields",
        detail_urls=[f"{URL}/custom-fields/{definition.id}"],
        hidden_ids=[definition.id],
    )
    assert Contact.objects.get(pk=contact.pk).version == 1


def test_collection_routes_are_isolated(other_client, ours, api_client):
    contact, _ = ours
    bulk = other_client.patch(URL, {"ids": [contact.id], "visibility_type": "private"}, format="json")
    assert bulk.status_code == 404 and bulk.json()["ids"] == [contact.id]
    assert other_client.post(f"{URL}/multiple", {"contact_ids": [contact.id]}, format="json").json() == []
    for query in (f"contact_ids={contact.id}", f"id={contact.id}", "external_client_id=shared-ext", "tags=vip",
                  f"label_id={contact.label_id}", "is_deleted=true", "search=ours"):
        assert other_client.get(f"{URL}?{query}").json()["data"] == [], query
    # The same external id in another workspace is another contact.
    upsert = other_client.put(f"{URL}/upsert", {"external_client_id": "shared-ext", "name": "Theirs"}, format="json")
    assert upsert.status_code == 201
    assert upsert.json()["id"] != contact.id
    assert Contact.objects.get(pk=contact.pk).name == "Ours"
    assert api_client.get(f"{URL}/{contact.id}").status_code == 200


def test_custom_field_codes_are_per_workspace(api_client, other_client, ours):
    _, definition = ours
    theirs = services.custom_field_create(workspace=other_client.workspace, actor=SYSTEM, label="Other")
    assert theirs.code == definition.code == "D-0000001"
    # Our definition's shortName means nothing to them; the code resolves to their own field.
    response = other_client.post(URL, {"name": "x", "c_field": {"drop": "V1"}}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "c_field"
    response = other_client.post(URL, {"name": "x", "custom_field": [{"code": "D-0000001", "value": "hello"}]},
                                 format="json")
    assert response.json()["custom_field"] == [
        {"code": "D-0000001", "label": "Other", "value": "hello", "module": "", "shortName": "Other"}
    ]
