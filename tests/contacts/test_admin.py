"""The Django admin for contacts and custom fields: search, filters, actions."""
import pytest

from contacts import services
from contacts.models import Contact, CustomFieldDefinition
from labels.models import ContactLabel
from tests.factories import SYSTEM, UserFactory, WorkspaceFactory, actor_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/contacts/contact/"


def names(response):
    assert response.status_code == 200
    return sorted(c.name for c in response.context["cl"].result_list)


@pytest.fixture
def rows():
    ws = WorkspaceFactory()
    owner = UserFactory()
    hot = ContactLabel.objects.get(workspace=ws, name="Hot lead")
    ann = services.contact_create(workspace=ws, actor=actor_of(ws, owner), name="Ann", email="ann@x.com", label_id=hot.id)
    org = services.contact_create(workspace=ws, actor=SYSTEM, name="Org", type="organization")
    gone = services.contact_create(workspace=ws, actor=SYSTEM, name="Gone")
    services.contact_archive(workspace=ws, actor=SYSTEM, contact_id=gone.pk)
    return {"ws": ws, "owner": owner, "hot": hot, "ann": ann, "org": org, "gone": gone}


def test_contact_changelist_search_and_filters(admin_site_client, rows):
    assert names(admin_site_client.get(CHANGELIST)) == ["Ann", "Gone", "Org"]
    assert names(admin_site_client.get(CHANGELIST, {"q": "ann@x.com"})) == ["Ann"]
    assert names(admin_site_client.get(CHANGELIST, {"q": "or"})) == ["Org"]
    assert names(admin_site_client.get(CHANGELIST, {"label__id__exact": rows["hot"].id})) == ["Ann"]
    assert names(admin_site_client.get(CHANGELIST, {"type__exact": "organization"})) == ["Org"]
    assert names(admin_site_client.get(CHANGELIST, {"owner__id__exact": rows["owner"].id})) == ["Ann"]
    assert names(admin_site_client.get(CHANGELIST, {"archived": "yes"})) == ["Gone"]
    assert names(admin_site_client.get(CHANGELIST, {"archived": "no"})) == ["Ann", "Org"]
    assert admin_site_client.get(f"{CHANGELIST}{rows['ann'].id}/change/").status_code == 200


def test_archive_and_restore_actions(admin_site_client, rows):
    ann, gone = rows["ann"], rows["gone"]
    response = admin_site_client.post(CHANGELIST, {"action": "archive_selected", "_selected_action": [ann.id]})
    assert response.status_code == 302
    ann.refresh_from_db()
    assert ann.deleted_at is not None and ann.version == 2 and ann.archived_by
    admin_site_client.post(CHANGELIST, {"action": "restore_selected", "_selected_action": [ann.id, gone.id]})
    assert Contact.objects.filter(deleted_at__isnull=False).count() == 0


def test_admin_form_normalizes_phone(admin_site_client, rows):
    ann = rows["ann"]
    data = {
        "workspace": rows["ws"].id, "type": "person", "name": "Ann", "email": "ANN@X.COM", "phone": "(202) 555-0123",
        "visibility_type": "public", "visibility_ids": "[]", "custom_fields": "{}", "integration_meta": "{}",
        "label": rows["hot"].id,
    }
    response = admin_site_client.post(f"{CHANGELIST}{ann.id}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    ann.refresh_from_db()
    assert ann.phone == "+12025550123" and ann.email == "ann@x.com" and ann.version == 2
    bad = admin_site_client.post(f"{CHANGELIST}{ann.id}/change/", {**data, "phone": "12"})
    assert bad.status_code == 200 and "Phone number is invalid" in bad.content.decode()


def test_custom_field_admin(admin_site_client):
    ws = WorkspaceFactory()
    response = admin_site_client.post("/admin/contacts/customfielddefinition/add/", {
        "workspace": ws.id, "label": "Budget", "short_name": "budget", "type": "number", "options": "[]", "module": "",
    })
    assert response.status_code == 302
    definition = CustomFieldDefinition.objects.get(workspace=ws)
    assert definition.code == "D-0000001"
    listing = admin_site_client.get("/admin/contacts/customfielddefinition/", {"q": "budg", "type__exact": "number"})
    assert [d.code for d in listing.context["cl"].result_list] == ["D-0000001"]


def test_admin_form_writes_seed_004_fields_and_stamps_staff(admin_site_client, rows):
    ann = rows["ann"]
    data = {
        "workspace": rows["ws"].id, "type": "person", "name": "Ann", "visibility_type": "public",
        "visibility_ids": "[]", "custom_fields": "{}", "integration_meta": "{}", "label": rows["hot"].id,
        "media": '["https://x.io/a.png"]', "cover_photo": "https://x.io/c.png", "company_namespace": '["c1"]',
    }
    response = admin_site_client.post(f"{CHANGELIST}{ann.id}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    ann.refresh_from_db()
    assert (ann.media, ann.cover_photo, ann.company_namespace) == (["https://x.io/a.png"], "https://x.io/c.png", ["c1"])
    assert ann.editor["type"] == "admin" and ann.creator["id"] == rows["owner"].id  # staff: an admin
    bad = admin_site_client.post(f"{CHANGELIST}{ann.id}/change/", {**data, "cover_photo": "ftp://x.io/c"})
    assert bad.status_code == 200 and "Enter a valid http(s) URL." in bad.content.decode()
    page = admin_site_client.get(f"{CHANGELIST}{ann.id}/change/").content.decode()
    assert "Creator" in page and "Editor" in page
