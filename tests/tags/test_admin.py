"""The Django admin for tags: list, search, filters (type, workspace), deletion."""
import pytest

from contacts.models import Contact, ContactTag
from tags.models import Tag
from tests.crm.test_admin import admin_site_client  # noqa: F401  (a fixture)
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tags/tag/"


def values(response):
    return sorted(tag.tag for tag in response.context["cl"].result_list)


def test_changelist_search_and_filters(admin_site_client):
    first, second = WorkspaceFactory(), WorkspaceFactory()
    Tag.objects.create(workspace=first, tag="VIP", type="client")
    Tag.objects.create(workspace=first, tag="Won", type="clientStage", description="closed deals")
    Tag.objects.create(workspace=second, tag="Lost", type="clientStage")
    assert admin_site_client.get(CHANGELIST).status_code == 200
    assert values(admin_site_client.get(CHANGELIST, {"type__exact": "clientStage"})) == ["Lost", "Won"]
    assert values(admin_site_client.get(CHANGELIST, {"workspace__id__exact": first.id})) == ["VIP", "Won"]
    assert values(admin_site_client.get(CHANGELIST, {"q": "closed"})) == ["Won"]
    tag = Tag.objects.get(tag="VIP")
    assert admin_site_client.get(f"{CHANGELIST}{tag.id}/change/").status_code == 200


def test_delete_goes_through_the_service(admin_site_client):
    workspace = WorkspaceFactory()
    stage = Tag.objects.create(workspace=workspace, tag="Won", type="clientStage")
    vip = Tag.objects.create(workspace=workspace, tag="VIP", type="client")
    contact = Contact.objects.create(workspace=workspace, name="c", stage=stage)
    ContactTag.objects.create(contact=contact, tag=vip)
    response = admin_site_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [stage.id, vip.id], "post": "yes"}
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.stage_id is None and not contact.tags.exists()
    assert contact.version == 3  # one new version per deleted tag it carried
    assert not Tag.objects.filter(workspace=workspace).exists()
