"""ETag / If-Match on every versioned resource (crm.viewsets), and
REQUIRE_IF_MATCH's 428. Contacts have their own tests (tests/contacts)."""
import pytest

from tests.labels.factories import LabelFactory
from tests.messaging.factories import IntegrationFactory
from tests.tags.factories import TagFactory


@pytest.fixture
def versioned(api_client):
    ws = api_client.workspace
    return {
        "label": (f"/v1/crm/contacts/labels/{LabelFactory(workspace=ws).pk}", {"color": "red"}),
        "tag": (f"/v1/crm/tags/{TagFactory(workspace=ws).pk}", {"order": 7}),
        "integration": (f"/v1/crm/integrations/{IntegrationFactory(workspace=ws).pk}", {"name": "Renamed"}),
    }


def test_patch_with_the_current_etag_succeeds_and_a_stale_one_is_412(api_client, versioned):
    for url, change in versioned.values():
        read = api_client.get(url)
        etag = read["ETag"]
        assert etag == f'"{read.json()["id"]}-{read.json()["version"]}"'
        changed = api_client.patch(url, change, format="json", HTTP_IF_MATCH=etag)
        assert changed.status_code == 200, (url, changed.content)
        assert changed.json()["version"] == read.json()["version"] + 1
        assert changed["ETag"] != etag
        stale = api_client.patch(url, change, format="json", HTTP_IF_MATCH=etag)
        assert stale.status_code == 412 and stale.json()["code"] == "precondition_failed"
        assert api_client.get(url).json()["version"] == changed.json()["version"]  # nothing written
        stale_delete = api_client.delete(url, HTTP_IF_MATCH=etag)
        assert stale_delete.status_code == 412 and api_client.get(url).status_code == 200


def test_an_etag_of_another_object_is_412_and_star_is_unconditional(api_client, versioned):
    (label_url, change), (tag_url, _) = versioned["label"], versioned["tag"]
    other_etag = api_client.get(tag_url)["ETag"]
    assert api_client.patch(label_url, change, format="json", HTTP_IF_MATCH=other_etag).status_code == 412
    assert api_client.patch(label_url, change, format="json", HTTP_IF_MATCH="*").status_code == 200


def test_require_if_match_makes_unconditional_writes_428(api_client, versioned, settings):
    settings.REQUIRE_IF_MATCH = True
    for url, change in versioned.values():
        for method in ("patch", "put", "delete"):
            response = getattr(api_client, method)(url, change, format="json")
            assert response.status_code == 428, (method, url, response.content)
            assert response.json()["code"] == "precondition_required"
        etag = api_client.get(url)["ETag"]  # reads stay unconditional
        assert api_client.patch(url, change, format="json", HTTP_IF_MATCH=etag).status_code == 200
    contact = api_client.post("/v1/crm/contacts", {"name": "C"}, format="json")
    assert contact.status_code == 201  # creates need no If-Match
    assert api_client.delete(f"/v1/crm/contacts/{contact.json()['id']}").status_code == 428


def test_the_schema_documents_if_match_on_versioned_writes():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/v1/crm/tags/{id}"]["patch"]
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in operation["parameters"])
    assert {"412", "428"} <= set(operation["responses"])
