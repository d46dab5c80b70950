"""Integrations, conversations and messages through the shared resource
tests (tests/resources.py). Which contacts' conversations a member sees is
the subject of tests/contacts/test_access_table.py."""
from messaging.models import Conversation, Integration, Message
from tests.contacts.factories import ContactFactory
from tests.resources import APIResourceTests

from .factories import ConversationFactory, IntegrationFactory, MessageFactory


class TestIntegrationResource(APIResourceTests):
    model = Integration
    list_url = "/v1/crm/integrations"
    detail_url = "/v1/crm/integrations/{obj.pk}"
    update_payload = {"name": "Renamed"}
    admin_only_writes = True  # PUT is not offered: a 405

    def make(self, workspace):
        return IntegrationFactory(workspace=workspace)

    def create_payload(self, workspace):
        return {"name": "Channel", "provider": "console"}


class TestConversationResource(APIResourceTests):
    model = Conversation
    list_url = "/v1/crm/conversations"
    detail_url = "/v1/crm/conversations/{obj.pk}"
    update_payload = {"status": "closed"}
    delete_status = None  # a conversation is closed, never deleted

    def make(self, workspace):
        return ConversationFactory(workspace=workspace)

    def create_payload(self, workspace):
        contact, integration = ContactFactory(workspace=workspace), IntegrationFactory(workspace=workspace)
        return {"contact_id": contact.pk, "integration_id": integration.pk}


class TestMessageResource(APIResourceTests):
    """A conversation's messages (list, add) and GET /messages/{id}."""

    model = Message
    list_url = "/v1/crm/conversations/{conversation.pk}/messages"
    detail_url = "/v1/crm/messages/{obj.pk}"
    delete_status = None

    def parents(self, workspace):
        return {"conversation": ConversationFactory(workspace=workspace)}

    def make(self, workspace):
        return MessageFactory(conversation=self._parents(workspace)["conversation"])

    def create_payload(self, workspace):
        return {"content": "Hello", "type": "text"}

    def created_id(self, body):
        return body["message_id"]
