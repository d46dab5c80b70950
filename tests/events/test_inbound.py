"""POST /v1/crm/integrations/{id}/inbound: a contact writes to us; the
provider posts it signed like status reports."""
import json

import pytest
from django.db import connection

from contacts.models import Contact
from events.models import Event
from messaging import services
from messaging.models import Conversation, Message
from messaging.providers import signature_headers
from tests.factories import SYSTEM

pytestmark = pytest.mark.django_db
SECRET = "inbound-secret-0123456789"


@pytest.fixture
def integration(api_client):
    return services.integration_create(workspace=api_client.workspace, actor=SYSTEM, name="WA", provider="webhook",
                                       config={"url": "https://hooks.example.com/out"}, secret=SECRET)


def post_inbound(client, integration_id, payload, secret=SECRET):
    body = json.dumps(payload).encode()
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signature_headers(secret, body).items()}
    return client.generic("POST", f"/v1/crm/integrations/{integration_id}/inbound", body,
                          content_type="application/json", **meta)


def test_a_new_sender_gets_a_contact_a_conversation_and_a_received_message(client, api_client, integration):
    payload = {"from": "+1 415 555 0142", "content": "Hello?", "type": "text", "external_message_id": "wamid-9",
               "timestamp": "2026-11-30T10:00:00Z"}
    response = post_inbound(client, integration.pk, payload)
    assert response.status_code == 201, response.content
    body = response.json()
    message = Message.objects.get(pk=body["message_id"])
    assert (message.is_agent, message.status, message.content, message.external_message_id) == (
        False, "received", "Hello?", "wamid-9")
    contact = Contact.objects.get(pk=body["contact_id"])
    assert contact.phone == "+14155550142" and contact.workspace_id == api_client.workspace.pk
    assert message.conversation.contact_id == contact.pk and message.conversation.status == "open"
    received = Event.objects.get(type="message.received")
    assert received.actor == {"type": "integration", "id": integration.pk, "name": "WA"}
    assert received.payload["contact_id"] == contact.pk and received.payload["message"]["content"] == "Hello?"
    assert Event.objects.filter(type="contact.created", subject_id=contact.pk).exists()

    # the same external id again: the first message stands, nothing new
    again = post_inbound(client, integration.pk, {**payload, "content": "dup"})
    assert again.status_code == 200 and again.json() == {**body, "created": False}
    assert Message.objects.filter(is_agent=False).count() == 1
    assert Event.objects.filter(type="message.received").count() == 1

    # a second message of the same sender reuses the contact and the open conversation, and replies
    reply = post_inbound(client, integration.pk, {"from": "+14155550142", "content": "Still there?",
                                                  "external_message_id": "wamid-10", "reply_to_external_id": "wamid-9"})
    assert reply.status_code == 201 and reply.json()["contact_id"] == contact.pk
    assert Message.objects.get(pk=reply.json()["message_id"]).reply_to_id == message.pk
    assert Conversation.objects.count() == 1


def test_a_sender_that_is_not_a_phone_is_an_external_id(client, integration, api_client):
    response = post_inbound(client, integration.pk, {"from": "tg:4242", "content": "hi", "external_message_id": "m1"})
    assert response.status_code == 201, response.content
    assert Contact.objects.get(pk=response.json()["contact_id"]).external_client_id == "tg:4242"
    second = post_inbound(client, integration.pk, {"from": "tg:4242", "content": "again", "external_message_id": "m2"})
    assert second.json()["contact_id"] == response.json()["contact_id"]


def test_unsigned_or_invalid_inbound_is_refused(client, integration):
    payload = {"from": "+14155550142", "content": "x", "external_message_id": "m"}
    assert post_inbound(client, integration.pk, payload, secret="wrong").status_code == 401
    bad = post_inbound(client, integration.pk, {"content": "x", "external_message_id": "m"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "from"
    note = post_inbound(client, integration.pk, {**payload, "type": "note"})
    assert note.status_code == 400
    assert not Message.objects.exists()


def test_the_unique_constraint_backs_idempotency(integration, api_client):
    assert "uniq_inbound_external_id" in {c.name for c in Message._meta.constraints}
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'uniq_inbound_external_id'")
        assert "UNIQUE" in cursor.fetchone()[0]
