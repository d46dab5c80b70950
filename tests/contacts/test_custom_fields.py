"""/v1/crm/contacts/custom-fields: generated codes, CRUD, admin-only writes."""
import pytest

from contacts.models import CustomFieldDefinition

URL = "/v1/crm/contacts/custom-fields"


def test_crud_and_generated_codes(api_client):
    first = api_client.post(URL, {"label": "drop", "type": "dropdown", "options": ["V1", "V2"]}, format="json")
    assert first.status_code == 201, first.content
    body = first.json()
    assert body["code"] == "D-0000001" and body["shortName"] == "drop" and body["options"] == ["V1", "V2"]
    second = api_client.post(URL, {"label": "Budget", "shortName": "num", "type": "number", "module": "crm",
                                   "code": "X-1"}, format="json").json()
    assert second["code"] == "D-0000002"  # code is read-only and generated
    listed = api_client.get(URL).json()
    assert [d["code"] for d in listed["data"]] == ["D-0000001", "D-0000002"]
    url = f"{URL}/{body['id']}"
    assert api_client.get(url).json()["label"] == "drop"
    patched = api_client.patch(url, {"label": "Drop down", "options": ["V1", "V2", "V3"]}, format="json")
    assert patched.status_code == 200 and patched.json()["options"] == ["V1", "V2", "V3"]
    assert patched.json()["code"] == "D-0000001"
    put = api_client.put(url, {"label": "Drop", "shortName": "drop", "type": "dropdown", "options": ["A"]}, format="json")
    assert put.status_code == 200 and put.json()["options"] == ["A"]
    assert api_client.delete(url).status_code == 204
    assert api_client.get(url).status_code == 404
    third = api_client.post(URL, {"label": "Again"}, format="json").json()
    assert third["code"] == "D-0000003" and third["type"] == "text"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "text"}, "label"),
        ({"label": "x", "type": "color"}, "type"),
        ({"label": "x", "type": "dropdown"}, "options"),
        ({"label": "x", "options": "a"}, "options"),
        ({"label": 5}, "label"),
        ({"label": "x", "type": 0}, "type"),
    ],
)
def test_validation(api_client, body, field):
    response = api_client.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field


def test_unknown_type_names_the_choices(api_client):
    """type is an enum in the schema now (ChoiceField); the message still lists the choices."""
    body = api_client.post(URL, {"label": "x", "type": "color"}, format="json").json()
    assert body["code"] == "invalid_choice"
    assert body["message"] == '"color" is not a valid choice (text, number, date, dropdown, checkbox).'


def test_unique_short_name(api_client, dropdown_field):
    response = api_client.post(URL, {"label": "Other", "shortName": "drop"}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "shortName"
    other = api_client.post(URL, {"label": "Other"}, format="json").json()
    clash = api_client.patch(f"{URL}/{other['id']}", {"shortName": "drop"}, format="json")
    assert clash.status_code == 400


def test_members_read_only(member_client, dropdown_field):
    assert member_client.get(URL).status_code == 200
    assert member_client.get(f"{URL}/{dropdown_field.id}").status_code == 200
    assert member_client.post(URL, {"label": "x"}, format="json").status_code == 403
    assert member_client.patch(f"{URL}/{dropdown_field.id}", {"label": "x"}, format="json").status_code == 403
    assert member_client.delete(f"{URL}/{dropdown_field.id}").status_code == 403
    assert CustomFieldDefinition.objects.get(pk=dropdown_field.pk).label == "drop"


def test_deleted_definition_values_are_not_shown(api_client, dropdown_field, make_contact):
    contact = make_contact(name="c", c_field={"drop": "V2"})
    assert api_client.get(f"/v1/crm/contacts/{contact.id}").json()["c_field"] == {"drop": "V2"}
    api_client.delete(f"{URL}/{dropdown_field.id}")
    body = api_client.get(f"/v1/crm/contacts/{contact.id}").json()
    assert body["custom_field"] == [] and body["c_field"] == {}
