"""Unknown input keys are a 400 `unknown_field` everywhere (issue 12,
deliverable 1): crm.serializers.StrictInputMixin on the project's serializer
bases. tests/resources.py checks every resource's writes with a top-level
key; this file checks nested paths, the read-only keys a GET-modify-PUT
carries, and that no serializer of the project escapes the bases."""
import importlib
import inspect
from pathlib import Path

import pytest
from django.apps import apps
from rest_framework import serializers

from contacts.models import Contact
from crm.serializers import StrictInputMixin
from tags.models import Tag
from tests.contacts.factories import ContactFactory, CustomFieldFactory
from tests.tags.factories import TagFactory

ROOT = Path(__file__).resolve().parents[2]
# every app of the project (not of a library)
PROJECT_APPS = tuple(sorted(
    config.name for config in apps.get_app_configs() if Path(config.path).resolve().parent == ROOT
))


def project_serializers():
    for app in PROJECT_APPS:
        for module_name in (f"{app}.serializers", f"{app}.views", f"{app}.openapi"):
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if issubclass(cls, serializers.BaseSerializer) and cls.__module__.split(".")[0] in PROJECT_APPS:
                    yield cls


def test_every_project_serializer_is_strict():
    found = list(project_serializers())
    assert len(found) > 40, found
    loose = sorted(f"{c.__module__}.{c.__name__}" for c in found if not issubclass(c, StrictInputMixin))
    assert loose == [], f"derive these from crm.serializers.Serializer / ModelSerializer: {loose}"
    assert {"crm", "contacts", "events", "imports", "labels", "messaging", "tags"} <= set(PROJECT_APPS)


def errors_of(response) -> dict:
    assert response.status_code == 400, response.content[:300]
    body = response.json()
    assert body["code"] == "unknown_field", body
    return {e["field"]: e["code"] for e in body["errors"]}


def test_nested_unknown_keys_are_named_by_path(api_client):
    definition = CustomFieldFactory(workspace=api_client.workspace)
    response = api_client.post("/v1/crm/contacts", {
        "name": "Nested", "custom_field": [{"code": definition.code, "value": "1"}, {"code": definition.code, "foo": 1}],
        "bar": True,
    }, format="json")
    assert errors_of(response) == {"bar": "unknown_field", "custom_field.1.foo": "unknown_field"}
    assert not Contact.objects.filter(workspace=api_client.workspace, name="Nested").exists()


def test_unknown_keys_come_with_the_other_field_errors(api_client):
    response = api_client.post("/v1/crm/contacts", {"name": 5, "externalClientIdd": "x"}, format="json")
    assert errors_of(response) == {"externalClientIdd": "unknown_field", "name": "invalid"}


def test_bulk_items_are_strict(api_client):
    tag = TagFactory(workspace=api_client.workspace, description="before")
    response = api_client.patch("/v1/crm/tags", {"patches": [{"id": tag.pk, "description": "after", "colour": 1}]},
                                format="json")
    assert errors_of(response) == {"patches.0.colour": "unknown_field"}
    assert Tag.objects.get(pk=tag.pk).description == "before"


def test_contact_round_trip_ignores_read_only_keys(api_client):
    """Every key of a GET (id, tenant_id, version, label object, owner_details,
    custom_field items with label and module...) goes back with PUT."""
    definition = CustomFieldFactory(workspace=api_client.workspace)
    contact = ContactFactory(workspace=api_client.workspace)
    url = f"/v1/crm/contacts/{contact.pk}"
    assert api_client.patch(url, {"custom_field": [{"code": definition.code, "value": "v"}]},
                            format="json").status_code == 200
    body = api_client.get(url).json()
    assert {"id", "tenant_id", "version", "label", "created_at", "owner_details"} <= set(body)
    assert body["custom_field"] and "label" in body["custom_field"][0]
    body["name"] = "Round trip"
    response = api_client.put(url, body, format="json")
    assert response.status_code == 200, response.content[:500]
    assert Contact.objects.get(pk=contact.pk).name == "Round trip"


@pytest.mark.parametrize("url", ["/v1/crm/contacts/{pk}", "/v1/crm/contacts/{pk}/restore"])
def test_a_body_on_a_bodyless_write_is_refused(api_client, url):
    contact = ContactFactory(workspace=api_client.workspace)
    method = api_client.delete if url.endswith("{pk}") else api_client.post
    response = method(url.format(pk=contact.pk), {"permanent": True}, format="json")
    assert errors_of(response) == {"permanent": "unknown_field"}
    assert Contact.objects.get(pk=contact.pk).deleted_at is None
