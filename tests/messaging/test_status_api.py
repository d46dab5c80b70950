"""POST /integrations/{id}/status: provider reports, HMAC-authenticated."""

import json
import time

import pytest

from messaging import services
from messaging.models import Message
from messaging.providers import signature_headers

from .conftest import SECRET
from tests.factories import SYSTEM


def post_signed(client, integration_id, payload, secret=SECRET, timestamp=None, headers=None):
    body = json.dumps(payload).encode()
    signed = headers if headers is not None else signature_headers(secret, body, timestamp)
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed.items()}
    return client.generic(
        "POST",
        f"/v1/crm/integrations/{integration_id}/status",
        body,
        content_type="application/json",
        **meta,
    )


@pytest.fixture
def sent_message(webhook_conversation):
    message = services.message_add(
        workspace=webhook_conversation.workspace,
        conversation=webhook_conversation,
        actor=SYSTEM,
        content="x",
        type="text",
    )
    Message.objects.filter(pk=message.pk).update(status="sent", external_message_id="wamid-1")
    return message


def test_statuses_move_forward_only(client, webhook_integration, sent_message):
    def report(status, **extra):
        response = post_signed(
            client,
            webhook_integration.pk,
            {"external_message_id": "wamid-1", "status": status, **extra},
        )
        assert response.status_code == 200, response.content
        return response.json()

    assert report("delivered") == {
        "message_id": sent_message.pk,
        "status": "delivered",
        "updated": True,
    }
    assert report("read") == {"message_id": sent_message.pk, "status": "read", "updated": True}
    assert report("delivered") == {
        "message_id": sent_message.pk,
        "status": "read",
        "updated": False,
    }
    assert report("failed", error="late") == {
        "message_id": sent_message.pk,
        "status": "read",
        "updated": False,
    }
    sent_message.refresh_from_db()
    assert sent_message.status == "read" and sent_message.error == ""


def test_failed_report_records_the_error(client, webhook_integration, sent_message):
    response = post_signed(
        client,
        webhook_integration.pk,
        {"external_message_id": "wamid-1", "status": "failed", "error": "number unreachable"},
    )
    assert response.json()["updated"] is True
    sent_message.refresh_from_db()
    assert sent_message.status == "failed" and sent_message.error == "number unreachable"
    response = post_signed(
        client, webhook_integration.pk, {"external_message_id": "wamid-1", "status": "delivered"}
    )
    assert response.json() == {"message_id": sent_message.pk, "status": "failed", "updated": False}


@pytest.mark.parametrize("case", ["wrong_secret", "no_headers", "stale", "tampered"])
def test_bad_signature_is_401(client, webhook_integration, sent_message, case):
    payload = {"external_message_id": "wamid-1", "status": "read"}
    if case == "wrong_secret":
        response = post_signed(client, webhook_integration.pk, payload, secret="not-the-secret")
    elif case == "no_headers":
        response = post_signed(client, webhook_integration.pk, payload, headers={})
    elif case == "stale":
        response = post_signed(
            client, webhook_integration.pk, payload, timestamp=int(time.time()) - 3600
        )
    else:
        headers = signature_headers(
            SECRET, json.dumps({"external_message_id": "wamid-1", "status": "delivered"}).encode()
        )
        response = post_signed(client, webhook_integration.pk, payload, headers=headers)
    assert response.status_code == 401, response.content
    assert response.json()["code"] in {"signature_invalid", "not_authenticated"}
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"


def test_a_token_is_not_enough(api_client, webhook_integration, sent_message):
    response = api_client.post(
        f"/v1/crm/integrations/{webhook_integration.pk}/status",
        {"external_message_id": "wamid-1", "status": "read"},
    )
    assert response.status_code == 401


def test_integration_without_secret_cannot_report(client, console_integration):
    assert (
        post_signed(
            client,
            console_integration.pk,
            {"external_message_id": "x", "status": "read"},
            secret="",
        ).status_code
        == 401
    )


def test_unknown_integration_is_404(client, db):
    assert (
        post_signed(client, 999999, {"external_message_id": "x", "status": "read"}).status_code
        == 404
    )


def test_invalid_body_is_400(client, webhook_integration, sent_message):
    for payload in (
        {"external_message_id": "wamid-1", "status": "sent"},
        {"status": "read"},
        {"external_message_id": "wamid-1"},
    ):
        response = post_signed(client, webhook_integration.pk, payload)
        assert response.status_code == 400, response.content
    response = client.generic(
        "POST",
        f"/v1/crm/integrations/{webhook_integration.pk}/status",
        b"{oops",
        content_type="application/json",
        **{
            f"HTTP_{k.upper().replace('-', '_')}": v
            for k, v in signature_headers(SECRET, b"{oops").items()
        },
    )
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_unknown_external_id_is_404(client, webhook_integration, sent_message):
    response = post_signed(
        client, webhook_integration.pk, {"external_message_id": "nope", "status": "read"}
    )
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_one_integration_cannot_touch_another_workspaces_messages(
    client, other_client, sent_message
):
    # another workspace's integration, with its own secret, reports our external id
    theirs = services.integration_create(
        workspace=other_client.workspace,
        actor=SYSTEM,
        name="theirs",
        provider="webhook",
        config={"url": "https://example.com/h"},
        secret="their-secret",
    )
    response = post_signed(
        client,
        theirs.pk,
        {"external_message_id": "wamid-1", "status": "read"},
        secret="their-secret",
    )
    assert response.status_code == 404
    # and our secret does not authenticate on their integration
    response = post_signed(client, theirs.pk, {"external_message_id": "wamid-1", "status": "read"})
    assert response.status_code == 401
    sent_message.refresh_from_db()
    assert sent_message.status == "sent"
