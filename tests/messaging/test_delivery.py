"""Real delivery through the webhook provider to a real HTTP server on 127.0.0.1."""

import json
import time
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from messaging import services
from messaging.models import Message
from messaging.providers import sign
from messaging.tasks import backoff_seconds, deliver_message

from .conftest import SECRET
from tests.factories import SYSTEM


def add(conversation, content="Hello", type="text", **kwargs):
    return services.message_add(
        workspace=conversation.workspace,
        conversation=conversation,
        actor=SYSTEM,
        content=content,
        type=type,
        **kwargs,
    )


def test_webhook_delivery_sends_signed_json(webhook_conversation, receiver, contact):
    message = add(webhook_conversation, "Hello Ada")
    assert deliver_message.apply(args=[message.pk]).get() == "sent"

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers, body = request["headers"], request["body"]
    assert request["path"] == "/hooks/crm"
    assert headers["Content-Type"] == "application/json"
    timestamp = headers["X-Crm-Timestamp"]
    assert abs(int(timestamp) - time.time()) < 60
    assert headers["X-Crm-Signature"] == sign(SECRET, timestamp, body)
    assert headers["X-Crm-Signature"] != sign("another-secret", timestamp, body)
    assert headers["X-Crm-Message-Id"] == str(message.pk)
    payload = json.loads(body)
    assert payload["message_id"] == message.pk
    assert payload["content"] == "Hello Ada" and payload["type"] == "text"
    assert payload["conversation_id"] == webhook_conversation.pk
    assert payload["to"] == {
        "contact_id": contact.pk,
        "phone": "+12025550123",
        "email": "ada@example.com",
        "external_client_id": None,
    }

    message.refresh_from_db()
    assert message.status == "sent"
    assert message.external_message_id == "ext-1"  # the receiver's JSON id
    assert message.sent_at is not None and message.error == ""
    assert message.delivery_attempts == 1 and message.claimed_until is None


def test_retry_on_503_then_success(webhook_conversation, receiver):
    receiver.responses = [(503, {"error": "busy"})]
    message = add(webhook_conversation)
    deliver_message.apply(args=[message.pk])

    assert len(receiver.requests) == 2
    message.refresh_from_db()
    assert message.status == "sent" and message.external_message_id == "ext-2"
    assert message.delivery_attempts == 2 and message.error == ""
    # the same message both times, the second signed afresh
    assert json.loads(receiver.requests[0]["body"]) == json.loads(receiver.requests[1]["body"])


def test_400_is_final(webhook_conversation, receiver):
    receiver.responses = [(400, {"error": "invalid recipient"})]
    message = add(webhook_conversation)
    deliver_message.apply(args=[message.pk])

    assert len(receiver.requests) == 1  # a 4xx is never retried
    message.refresh_from_db()
    assert message.status == "failed"
    # the receiver's body is never shown to members: our text and the status code only
    assert "HTTP 400" in message.error and "invalid recipient" not in message.error
    assert message.sent_at is None and message.external_message_id == ""


def test_retries_are_bounded(webhook_conversation, receiver):
    receiver.responses = [(500, {})] * 20
    message = add(webhook_conversation)
    deliver_message.apply(args=[message.pk])

    assert len(receiver.requests) == settings.CELERY_TASK_MAX_RETRIES + 1
    message.refresh_from_db()
    assert message.status == "failed" and "HTTP 500" in message.error
    assert message.delivery_attempts == settings.CELERY_TASK_MAX_RETRIES + 1


def test_timeout_is_transient_then_fails(api_client, webhook_conversation, receiver):
    integration = webhook_conversation.integration
    services.integration_update(
        workspace=api_client.workspace,
        integration=integration,
        actor=SYSTEM, changes={"config": {"url": receiver.url, "timeout": 0.2}}
    )
    receiver.delay = 0.6
    message = add(webhook_conversation)
    deliver_message.apply(args=[message.pk])

    assert len(receiver.requests) == settings.CELERY_TASK_MAX_RETRIES + 1
    message.refresh_from_db()
    assert message.status == "failed" and message.error.startswith("No response within")


def test_connection_error_is_transient(api_client, webhook_conversation):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    services.integration_update(
        workspace=api_client.workspace,
        integration=webhook_conversation.integration,
        actor=SYSTEM,
        changes={"config": {"url": f"http://127.0.0.1:{port}/x"}},
    )
    message = add(webhook_conversation)
    deliver_message.apply(args=[message.pk])
    message.refresh_from_db()
    assert message.status == "failed" and message.error.startswith("Connection failed")
    assert message.delivery_attempts == settings.CELERY_TASK_MAX_RETRIES + 1


def test_task_run_twice_sends_once(webhook_conversation, receiver):
    message = add(webhook_conversation)
    assert deliver_message.apply(args=[message.pk]).get() == "sent"
    assert deliver_message.apply(args=[message.pk]).get() == "skipped"
    assert len(receiver.requests) == 1


def test_claimed_row_is_not_sent_until_the_claim_expires(webhook_conversation, receiver):
    message = add(webhook_conversation)
    # another run holds the claim (e.g. a redelivered task while the first still sends)
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=1)
    )
    assert deliver_message.apply(args=[message.pk]).get() == "skipped"
    assert receiver.requests == []
    # a crashed run's claim expires, and the message is then delivered once
    Message.objects.filter(pk=message.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )
    assert deliver_message.apply(args=[message.pk]).get() == "sent"
    assert len(receiver.requests) == 1


def test_note_is_never_sent(webhook_conversation, receiver):
    note = add(webhook_conversation, "called the client", type="note", note_type="call")
    assert note.status == "internal"
    assert deliver_message.apply(args=[note.pk]).get() == "skipped"
    assert receiver.requests == []
    note.refresh_from_db()
    assert note.status == "internal"


def test_inactive_integration_fails_without_sending(api_client, webhook_conversation, receiver):
    message = add(webhook_conversation)
    services.integration_update(
        workspace=api_client.workspace,
        integration=webhook_conversation.integration,
        actor=SYSTEM, changes={"active": False}
    )
    deliver_message.apply(args=[message.pk])
    message.refresh_from_db()
    assert message.status == "failed" and receiver.requests == []


def test_console_provider_answers_with_generated_id(conversation, caplog):
    message = add(conversation, "via console")
    with caplog.at_level("INFO", logger="messaging.providers"):
        assert deliver_message.apply(args=[message.pk]).get() == "sent"
    message.refresh_from_db()
    assert message.status == "sent" and message.external_message_id.startswith("console-")
    assert message.external_message_id in caplog.text and "via console" in caplog.text


def test_backoff_is_exponential_and_capped():
    assert [backoff_seconds(n) for n in range(5)] == [5, 10, 20, 40, 80]
    assert backoff_seconds(30) == 600


def test_api_message_is_delivered_after_commit(
    api_client, webhook_conversation, receiver, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post(
            f"/v1/crm/conversations/{webhook_conversation.pk}/messages",
            {"content": "Hi", "type": "text"},
        )
        assert response.status_code == 201, response.content
        assert receiver.requests == []  # nothing leaves before the commit
    assert response.json()["status"] == "pending"
    assert len(callbacks) == 1
    callbacks[0]()
    assert len(receiver.requests) == 1
    body = api_client.get(f"/v1/crm/messages/{response.json()['message_id']}").json()
    assert body["status"] == "sent" and body["external_message_id"] == "ext-1"


def test_deliveries_are_counted_and_logged_by_outcome(webhook_conversation, receiver, caplog):
    from prometheus_client import REGISTRY

    def count(outcome):
        return REGISTRY.get_sample_value(
            "crm_message_deliveries_total", {"provider": "webhook", "outcome": outcome}
        ) or 0

    sent, failed = count("sent"), count("failed")
    deliver_message.apply(args=[add(webhook_conversation).pk])
    receiver.responses = [(400, {"error": "invalid recipient"})]
    failing = add(webhook_conversation)
    with caplog.at_level("INFO", logger="messaging"):
        deliver_message.apply(args=[failing.pk])
    assert (count("sent"), count("failed")) == (sent + 1, failed + 1)
    line = next(r for r in caplog.records if r.getMessage() == "delivery failed")
    assert line.message_id == failing.pk and line.workspace_id == webhook_conversation.workspace_id
