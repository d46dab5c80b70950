import functools

import pytest
from django.core.management import call_command


def test_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "ApiKeyAuth" in text and "x-access-token" in text


def test_schema_and_docs_are_served(client, db):
    schema = client.get("/v1/schema/?format=json")
    assert schema.status_code == 200
    body = schema.json()
    assert body["components"]["securitySchemes"]["ApiKeyAuth"] == {
        "type": "apiKey", "in": "header", "name": "x-access-token",
        "description": body["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
    }
    assert "/v1/crm/me" in body["paths"]
    docs = client.get("/v1/docs/")
    assert docs.status_code == 200
    assert client.get("/v1/redoc/").status_code == 200
    # Swagger UI's assets are served by the app itself (drf-spectacular-sidecar), no CDN.
    html = docs.content.decode()
    assert "swagger-ui-dist/swagger-ui-bundle.js" in html and "cdn.jsdelivr" not in html


@pytest.mark.parametrize(("path", "method", "code"), [
    # every status an operation answers is documented (schemathesis found these missing)
    ("/v1/crm/contacts", "post", "409"),
    ("/v1/crm/contacts/{id}", "put", "409"),
    ("/v1/crm/contacts/{id}", "patch", "409"),
    ("/v1/crm/contacts/{id}", "delete", "409"),
    ("/v1/crm/contacts/{id}", "put", "412"),
    ("/v1/crm/contacts/{id}", "patch", "412"),
    ("/v1/crm/contacts/{id}", "delete", "412"),
    ("/v1/crm/contacts/{id}/restore", "post", "412"),
    ("/v1/crm/conversations", "post", "409"),
    ("/v1/crm/conversations/{id}", "patch", "409"),
    ("/v1/crm/integrations/{id}", "delete", "409"),
    ("/v1/crm/imports", "post", "404"),
    ("/v1/crm/imports/validate", "post", "404"),
])
def test_error_statuses_are_documented(path, method, code):
    responses = _schema()["paths"][path][method]["responses"]
    assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert responses[code]["description"]


@functools.cache
def _schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _component(name):
    return _schema()["components"]["schemas"][name]


def test_schema_matches_what_the_api_accepts_and_answers():
    """Mismatches schemathesis found between the schema and the API."""
    # ?columns= narrows list items: no key of a list item is required
    item_ref = _component("PaginatedContactListItemList")["properties"]["data"]["items"]["$ref"]
    assert item_ref == "#/components/schemas/ContactListItem"
    assert "required" not in _component("ContactListItem")
    assert "id" in _component("Contact")["required"]
    # config is an object, never null
    for name in ("IntegrationRequest", "PatchedIntegrationRequest"):
        assert _component(name)["properties"]["config"]["type"] == "object"
    # custom field types are an enum
    assert _component("CustomFieldTypeEnum")["enum"] == ["text", "number", "date", "dropdown", "checkbox"]
    # ids in filters and bodies are positive; a filter keeps its description next to its bounds
    params = {p["name"]: p for p in _schema()["paths"]["/v1/crm/conversations"]["get"]["parameters"]}
    assert params["contact_id"]["schema"]["minimum"] == 1
    assert params["contact_id"]["description"] == "Conversations of this contact."
    params = {p["name"]: p for p in _schema()["paths"]["/v1/crm/contacts"]["get"]["parameters"]}
    assert params["contact_ids"]["schema"]["items"]["minimum"] == 1
    assert params["conversation_id"]["description"] == "Contacts that have this conversation."
    assert _component("ContactWriteRequest")["properties"]["sub_owner_ids"]["items"]["minimum"] == 1
    # page has the upper bound the API enforces
    params = {p["name"]: p for p in _schema()["paths"]["/v1/crm/tags"]["get"]["parameters"]}
    assert params["page"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 10_000_000}


def test_every_operation_has_its_own_summary_and_description():
    """Written for integrators: none missing, none shared (a viewset's docstring
    used to describe a dozen operations, pointing at a file the repository lacks)."""
    from crm.operation_docs import OPERATIONS

    operations = {}
    for path, item in _schema()["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                operations[f"{method.upper()} {path}"] = operation
    missing = [name for name, op in operations.items() if not op.get("summary") or not op.get("description")]
    assert missing == []
    descriptions = [op["description"] for op in operations.values()]
    shared = sorted({d[:60] for d in descriptions if descriptions.count(d) > 1})
    assert shared == []
    assert not any(".md" in d and "docs/api.md" not in d for d in descriptions)
    stale = set(OPERATIONS) - {op["operationId"] for op in operations.values()}
    assert stale == set(), "crm.operation_docs names operations that do not exist"


def test_request_bodies_refuse_unknown_keys_in_the_schema():
    """The API answers an unknown key with a 400 unknown_field: the schema says so."""
    schemas = _schema()["components"]["schemas"]
    for name in ("ContactWriteRequest", "TagRequest", "PatchedContactWriteRequest", "ApiTokenCreateRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    assert schemas["Contact"].get("additionalProperties") is None  # answers may grow
