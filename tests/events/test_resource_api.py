"""The events feed, webhook endpoints and a contact's history through the
shared resource tests (tests/resources.py)."""
from events import services as events
from events.models import Event, WebhookEndpoint
from events.webhooks import webhook_create
from tests.contacts.factories import ContactFactory
from tests.factories import SYSTEM
from tests.resources import Action, APIResourceTests


class TestEventFeedResource(APIResourceTests):
    """GET /events: admins only (events carry every contact's data)."""

    model = Event
    list_url = "/v1/crm/events"
    create_status = None
    admin_only_reads = True
    admin_only_writes = False

    def make(self, workspace):
        event_id = events.record(workspace=workspace, actor=SYSTEM, type="tag.created", subject_type="tag",
                                 subject_id=1, data={"tag": {"tag": "x"}})
        return Event.objects.get(pk=event_id)

    def create_payload(self, workspace):
        return {}


class TestWebhookResource(APIResourceTests):
    model = WebhookEndpoint
    list_url = "/v1/crm/webhooks"
    detail_url = "/v1/crm/webhooks/{obj.pk}"
    update_payload = {"description": "changed"}
    admin_only_writes = True
    admin_only_reads = True
    actions = (
        Action("post", "/v1/crm/webhooks/{obj.pk}/rotate-secret", 200),
        Action("post", "/v1/crm/webhooks/{obj.pk}/test", 202),
        Action("get", "/v1/crm/webhooks/{obj.pk}/deliveries", 200),
    )

    def make(self, workspace):
        endpoint, _ = webhook_create(workspace=workspace, actor=SYSTEM, url="https://hooks.example.com/crm")
        return endpoint

    def create_payload(self, workspace):
        return {"url": "https://hooks.example.com/new", "event_types": ["contact.created"]}


class TestWebhookRetryResource(APIResourceTests):
    """POST /webhooks/{id}/deliveries/{delivery_id}/retry."""

    model = WebhookEndpoint
    admin_only_writes = True
    actions = (Action("post", "/v1/crm/webhooks/{obj.pk}/deliveries/{obj.delivery_id}/retry", 202),)

    def make(self, workspace):
        endpoint, _ = webhook_create(workspace=workspace, actor=SYSTEM, url="https://hooks.example.com/crm")
        events.record(workspace=workspace, actor=SYSTEM, type="tag.created", subject_type="tag", subject_id=1)
        endpoint.delivery_id = endpoint.deliveries.get().pk
        return endpoint

    def test_member_writes(self, member_client):
        endpoint = self.make(member_client.workspace)
        response = member_client.post(f"/v1/crm/webhooks/{endpoint.pk}/deliveries/{endpoint.delivery_id}/retry")
        assert response.status_code == 403


class TestContactHistoryResource(APIResourceTests):
    model = Event
    list_url = "/v1/crm/contacts/{contact.pk}/history"
    create_status = None

    def parents(self, workspace):
        return {"contact": ContactFactory(workspace=workspace)}

    def make(self, workspace):
        contact = self._parents(workspace)["contact"]
        event_id = events.record(workspace=workspace, actor=SYSTEM, type="contact.updated", subject_type="contact",
                                 subject_id=contact.pk, data={"changes": {}})
        return Event.objects.get(pk=event_id)

    def create_payload(self, workspace):
        return {}

    def count(self, workspace):
        return Event.objects.filter(workspace=workspace, type="contact.updated").count()

    def test_another_workspaces_object_is_404(self, api_client, other_client):
        """The route is GET only (a POST is a 405 before any lookup): another
        workspace's contact's history is a 404, as an unknown contact's."""
        obj = self.make(api_client.workspace)
        response = other_client.get(self.list_for(api_client.workspace))
        assert response.status_code == 404 and response.json()["code"] == "not_found"
        assert other_client.get("/v1/crm/contacts/999999999/history").status_code == 404
        assert obj.pk
