"""The Django admin for contact labels: list, search, filters, deletion through the service."""
import pytest

from contacts.models import Contact
from labels.models import ContactLabel
from tests.crm.test_admin import admin_site_client  # noqa: F401  (a fixture)
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/labels/contactlabel/"


def names(response):
    return sorted(label.name for label in response.context["cl"].result_list)


def test_changelist_search_and_filters(admin_site_client):
    first, second = WorkspaceFactory(name="Acme"), WorkspaceFactory(name="Globex")
    ContactLabel.objects.create(workspace=first, name="Partner")
    response = admin_site_client.get(CHANGELIST)
    assert response.status_code == 200 and response.context["cl"].result_count == 9
    assert names(admin_site_client.get(CHANGELIST, {"q": "partn"})) == ["Partner"]
    assert len(names(admin_site_client.get(CHANGELIST, {"workspace__id__exact": second.id}))) == 4
    defaults = admin_site_client.get(CHANGELIST, {"is_default__exact": "1"})
    assert names(defaults) == ["No label", "No label"]
    partner = ContactLabel.objects.get(workspace=first, name="Partner")
    assert admin_site_client.get(f"{CHANGELIST}{partner.id}/change/").status_code == 200


def test_delete_moves_contacts_to_the_default(admin_site_client):
    workspace = WorkspaceFactory()
    hot = ContactLabel.objects.get(workspace=workspace, name="Hot lead")
    contact = Contact.objects.create(workspace=workspace, name="c", label=hot)
    response = admin_site_client.post(f"{CHANGELIST}{hot.id}/delete/", {"post": "yes"})
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.label.is_default and not ContactLabel.objects.filter(pk=hot.pk).exists()


def test_default_label_cannot_be_deleted(admin_site_client):
    workspace = WorkspaceFactory()
    default = ContactLabel.objects.get(workspace=workspace, is_default=True)
    assert admin_site_client.post(f"{CHANGELIST}{default.id}/delete/", {"post": "yes"}).status_code == 403
    assert ContactLabel.objects.filter(pk=default.pk).exists()


def test_bulk_delete_keeps_defaults_and_moves_contacts(admin_site_client):
    workspace = WorkspaceFactory()
    labels = list(ContactLabel.objects.filter(workspace=workspace))
    cold = next(label for label in labels if label.name == "Cold lead")
    contact = Contact.objects.create(workspace=workspace, name="c", label=cold)
    response = admin_site_client.post(
        CHANGELIST,
        {"action": "delete_selected", "_selected_action": [label.id for label in labels], "post": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    assert list(ContactLabel.objects.filter(workspace=workspace).values_list("name", flat=True)) == ["No label"]
    contact.refresh_from_db()
    assert contact.label.is_default
    assert any("default label" in str(m) for m in response.context["messages"])
