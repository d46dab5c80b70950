"""Every label and tag endpoint is in the OpenAPI schema with its bodies and errors."""
import pytest

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/v1/crm/contacts/labels", "get"): "contact_labels_list",
    ("/v1/crm/contacts/labels", "post"): "contact_labels_create",
    ("/v1/crm/contacts/labels/{id}", "get"): "contact_labels_retrieve",
    ("/v1/crm/contacts/labels/{id}", "put"): "contact_labels_update",
    ("/v1/crm/contacts/labels/{id}", "patch"): "contact_labels_partial_update",
    ("/v1/crm/contacts/labels/{id}", "delete"): "contact_labels_destroy",
    ("/v1/crm/tags", "get"): "tags_list",
    ("/v1/crm/tags", "post"): "tags_create",
    ("/v1/crm/tags", "patch"): "tags_bulk_patch",
    ("/v1/crm/tags/{id}", "get"): "tags_retrieve",
    ("/v1/crm/tags/{id}", "put"): "tags_update",
    ("/v1/crm/tags/{id}", "patch"): "tags_partial_update",
    ("/v1/crm/tags/{id}", "delete"): "tags_destroy",
}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        return Client().get("/v1/schema/?format=json").json()


def ref(response):
    return response["content"]["application/json"]["schema"].get("$ref", "")


def test_every_operation_is_documented(schema):
    for (path, method), operation_id in OPERATIONS.items():
        operation = schema["paths"][path][method]
        assert operation["operationId"] == operation_id
        assert {"400", "401", "403"} <= set(operation["responses"]), (path, method)
        if method in ("post", "put", "patch"):
            assert "requestBody" in operation, (path, method)


def test_bodies_and_errors(schema):
    paths = schema["paths"]
    assert paths["/v1/crm/contacts/labels"]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
        "type"] == "array"
    assert ref(paths["/v1/crm/contacts/labels/{id}"]["delete"]["responses"]["409"]).endswith("/Error")
    bulk = paths["/v1/crm/tags"]["patch"]
    assert ref(bulk["responses"]["200"]).endswith("/TagBulkPatchResult")
    assert ref(bulk["responses"]["404"]).endswith("/TagsNotFoundError")
    assert "ids" in schema["components"]["schemas"]["TagsNotFoundError"]["properties"]
    listing = paths["/v1/crm/tags"]["get"]
    assert {"tag", "type", "page", "limit"} <= {p["name"] for p in listing["parameters"]}
    assert "paginationInfo" in schema["components"]["schemas"]["PaginatedTagList"]["properties"]
    assert schema["components"]["schemas"]["TagTypeEnum"]["enum"] == [
        "common", "client", "message", "conversation", "clientStage", "convStage"
    ]
