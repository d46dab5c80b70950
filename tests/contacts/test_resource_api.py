"""Contacts and custom field definitions through the shared resource tests
(tests/resources.py). Visibility between members is the subject of
tests/contacts/test_access_table.py."""
from contacts.models import Contact, ContactView, CustomFieldDefinition
from tests.resources import Action, APIResourceTests, Bulk

from .factories import ContactFactory, ContactViewFactory, CustomFieldFactory


class TestContactResource(APIResourceTests):
    model = Contact
    list_url = "/v1/crm/contacts"
    detail_url = "/v1/crm/contacts/{obj.pk}"
    update_payload = {"name": "Renamed"}
    put = True
    delete_status = 200  # archives; ?permanent=true erases (tests/contacts/test_crud.py)
    bulk = Bulk(
        payload=lambda contacts: {"ids": [c.pk for c in contacts], "visibility_type": "team"},
        changed=lambda contact: contact.visibility_type == Contact.Visibility.TEAM,
    )
    actions = (
        Action("post", "/v1/crm/contacts/multiple", 200, lambda contact: {"contact_ids": [contact.pk]}),
        Action("put", "/v1/crm/contacts/upsert", 201,
               lambda contact: {"external_client_id": f"upserted-{contact.pk}", "name": "Upserted"}),
        Action("post", "/v1/crm/contacts/{obj.pk}/restore", 200),
        Action("post", "/v1/crm/contacts/search", 200,
               lambda contact: {"filter_groups": [{"filters": [{"field": "id", "operator": "eq", "value": contact.pk}]}]}),
        Action("post", "/v1/crm/contacts/batch", 200,
               lambda contact: {"action": "update", "items": [{"id": contact.pk, "name": "Batched"}]}),
        Action("get", "/v1/crm/contacts/duplicates", 200),
        Action("get", "/v1/crm/contacts/{obj.pk}/duplicates", 200),
        Action("post", "/v1/crm/contacts/{obj.pk}/merge", 200,
               lambda contact: {"ids": [ContactFactory(workspace=contact.workspace).pk], "dry_run": True}),
    )

    def make(self, workspace):
        return ContactFactory(workspace=workspace)

    def create_payload(self, workspace):
        return {"name": "Created", "email": "created@example.com"}

    def assert_deleted(self, obj):
        assert self.reread(obj).deleted_at is not None


class TestCustomFieldResource(APIResourceTests):
    model = CustomFieldDefinition
    list_url = "/v1/crm/contacts/custom-fields"
    detail_url = "/v1/crm/contacts/custom-fields/{obj.pk}"
    update_payload = {"label": "Renamed"}
    put = True
    admin_only_writes = True

    def make(self, workspace):
        return CustomFieldFactory(workspace=workspace)

    def create_payload(self, workspace):
        return {"label": "Budget", "type": "text"}


class TestContactViewResource(APIResourceTests):
    """Saved views (shared ones here: an admin may change those; private
    views and members' rights are in tests/contacts/test_saved_views.py)."""

    model = ContactView
    list_url = "/v1/crm/contacts/views"
    detail_url = "/v1/crm/contacts/views/{obj.pk}"
    update_payload = {"name": "Renamed"}
    put = True

    def make(self, workspace):
        return ContactViewFactory(workspace=workspace)

    def create_payload(self, workspace):
        return {"name": "Parisians", "search": {"filter_groups": [{"filters": [
            {"field": "city", "operator": "eq", "value": "Paris"}]}]}, "sort": ["-created_at"], "shared": True}
