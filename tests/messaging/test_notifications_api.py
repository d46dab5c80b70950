import json

import pytest

from contacts.models import Contact
from messaging import services
from messaging.models import Conversation, Message
from tests.factories import SYSTEM

URL = "/v1/crm/notifications"

COMPONENTS = [
    {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Hello {{name}}, your city is {{city}}"},
            {"type": "text", "text": "{{ fullName }} <{{email}}> {{age}}"},
            {"type": "currency", "amount": 1200, "code": "{{code}}"},
        ],
    },
]


def test_send_to_client_id_renders_and_stores_a_template(
    api_client, contact, console_integration, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(
            URL,
            {
                "integration_id": console_integration.pk,
                "client_id": contact.pk,
                "template_name": "welcome",
                "template_lang": "en",
                "template_components": COMPONENTS,
                "trunk": "t1",
                "sender_id": "ACME",
            },
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {"message_id", "content", "type", "status", "external_message_id", "created_at"} <= set(
        body
    )
    assert (
        body["type"] == "template" and body["status"] == "pending" and body["content"] == "welcome"
    )
    assert len(callbacks) == 1  # delivery enqueued on commit

    message = Message.objects.get(pk=body["message_id"])
    assert message.template_name == "welcome" and message.template_lang == "en"
    assert message.trunk == "t1" and message.sender_id == "ACME" and message.is_agent
    assert message.template_components == [
        {
            "type": "body",
            "parameters": [
                {"type": "text", "text": "Hello Ada, your city is London"},
                {"type": "text", "text": "Ada Lovelace <ada@example.com> {{age}}"},
                {"type": "currency", "amount": 1200, "code": ""},
            ],
        },
    ]
    conversation = message.conversation
    assert conversation.contact == contact and conversation.integration == console_integration
    assert conversation.status == "open" and conversation.last_message_at == message.created_at
    assert body["conversation_id"] == conversation.pk and body["contact_id"] == contact.pk


def test_reuses_the_open_conversation(api_client, conversation):
    payload = {
        "integration_id": conversation.integration_id,
        "client_id": conversation.contact_id,
        "template_name": "otp",
    }
    first = api_client.post(URL, payload).json()
    second = api_client.post(URL, payload).json()
    assert first["conversation_id"] == second["conversation_id"] == conversation.pk
    assert Conversation.objects.count() == 1
    # once closed, a new one is opened
    services.conversation_update(
        workspace=api_client.workspace, conversation=conversation, actor=SYSTEM, status="closed"
    )
    third = api_client.post(URL, payload).json()
    assert third["conversation_id"] != conversation.pk and Conversation.objects.count() == 2


def test_phone_finds_the_contact_by_phone(api_client, contact, console_integration):
    response = api_client.post(
        URL,
        {
            "integration_id": console_integration.pk,
            "phone": "(202) 555-0123",
            "template_name": "otp",
            "template_components": {"text": "Hi {{name}}"},
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["contact_id"] == contact.pk
    assert Message.objects.get(pk=response.json()["message_id"]).template_components == {
        "text": "Hi Ada"
    }


def test_phone_finds_the_contact_by_external_client_id(
    api_client, make_contact, console_integration
):
    existing = make_contact(name="Ext", external_client_id="+12025550188")
    body = api_client.post(
        URL,
        {
            "integration_id": console_integration.pk,
            "phone": "+1 202 555 0188",
            "template_name": "otp",
        },
    ).json()
    assert body["contact_id"] == existing.pk


def test_unknown_phone_creates_a_contact(api_client, console_integration):
    response = api_client.post(
        URL,
        {
            "integration_id": console_integration.pk,
            "phone": "+44 20 7946 0958",
            "template_name": "otp",
            "template_components": ["{{name}}|{{phone}}|{{fullName}}"],
        },
    )
    assert response.status_code == 201, response.content
    contact = Contact.objects.get(pk=response.json()["contact_id"])
    assert contact.workspace == api_client.workspace
    assert contact.external_client_id == "+442079460958" and contact.phone == "+442079460958"
    message = Message.objects.get(pk=response.json()["message_id"])
    assert message.template_components == ["|+442079460958|"]  # missing values are empty
    # the same phone again reuses that contact
    again = api_client.post(
        URL,
        {"integration_id": console_integration.pk, "phone": "+442079460958", "template_name": "x"},
    )
    assert again.json()["contact_id"] == contact.pk
    assert Contact.objects.filter(workspace=api_client.workspace).count() == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"template_name": "otp"}, "client_id"),
        ({"template_name": "otp", "phone": ""}, "client_id"),
        ({"client_id": None, "template_name": "otp"}, "client_id"),
        ({"phone": "12"}, "template_name"),
        ({"phone": "not a phone", "template_name": "otp"}, "phone"),
        ({"client_id": 999999, "template_name": "otp"}, "client_id"),
        ({"client_id": "abc", "template_name": "otp"}, "client_id"),
        ({"client_id": 1, "template_name": "otp", "integration_id": 999999}, "integration_id"),
        ({"client_id": 1, "template_name": "otp", "integration_id": None}, "integration_id"),
    ],
)
def test_validation(api_client, console_integration, payload, field):
    payload = {"integration_id": console_integration.pk, **payload}
    response = api_client.post(URL, payload)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field
    assert not Message.objects.exists() and not Conversation.objects.exists()


def test_inactive_integration_is_400(api_client, contact, console_integration):
    services.integration_update(
        workspace=api_client.workspace, integration=console_integration, actor=SYSTEM, changes={"active": False}
    )
    response = api_client.post(
        URL,
        {"integration_id": console_integration.pk, "client_id": contact.pk, "template_name": "x"},
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "integration_id"


def test_tenancy_foreign_integration_and_contact(
    api_client, other_client, contact, console_integration
):
    theirs = services.integration_create(workspace=other_client.workspace, actor=SYSTEM, name="theirs")
    # our contact through their token
    response = other_client.post(
        URL, {"integration_id": theirs.pk, "client_id": contact.pk, "template_name": "x"}
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "client_id"
    # their integration through our token
    response = api_client.post(
        URL, {"integration_id": theirs.pk, "client_id": contact.pk, "template_name": "x"}
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "integration_id"
    # their phone lookup never finds our contact: a new contact in their workspace
    response = other_client.post(
        URL, {"integration_id": theirs.pk, "phone": contact.phone, "template_name": "x"}
    )
    assert response.status_code == 201
    created = Contact.objects.get(pk=response.json()["contact_id"])
    assert created.pk != contact.pk and created.workspace == other_client.workspace
    assert not Message.objects.filter(workspace=api_client.workspace).exists()


def test_delivered_through_the_webhook(
    api_client,
    contact,
    webhook_integration,
    receiver,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            URL,
            {
                "integration_id": webhook_integration.pk,
                "client_id": contact.pk,
                "template_name": "welcome",
                "template_lang": "en",
                "template_components": {"body": "Hi {{name}} from {{city}}"},
            },
        )
    assert response.status_code == 201
    assert len(receiver.requests) == 1
    payload = json.loads(receiver.requests[0]["body"])
    assert payload["type"] == "template"
    assert payload["template"] == {
        "name": "welcome",
        "lang": "en",
        "components": {"body": "Hi Ada from London"},
    }
    message = Message.objects.get(pk=response.json()["message_id"])
    assert message.status == "sent" and message.external_message_id == "ext-1"
