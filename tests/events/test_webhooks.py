"""Webhook deliveries: Standard Webhooks signatures (the spec's vectors, an
independent verifier), retries with backoff, Retry-After, 410, disabling,
secret rotation, the delivery log, and the API."""
import base64
import hashlib
import hmac
import json
import subprocess
from datetime import datetime, timedelta, timezone as dt_timezone

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from contacts import services as contacts
from events import services as events
from events import webhooks
from events.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from events.tasks import deliver_webhooks, sweep_webhooks
from tests.factories import SYSTEM, actor_of

pytestmark = pytest.mark.django_db

# The Standard Webhooks reference library's published vector.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = '{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def independent_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """The spec's algorithm with the standard library only (the docs' verifier)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def openssl_signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    """A second, independent implementation: the openssl command line (the docs' curl example)."""
    key_hex = base64.b64decode(secret.removeprefix("whsec_")).hex()
    result = subprocess.run(["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{key_hex}", "-binary"],
                            input=f"{msg_id}.{timestamp}.".encode() + body, capture_output=True, check=True)
    return "v1," + base64.b64encode(result.stdout).decode()


def test_signatures_match_the_spec_vectors():
    at = datetime.fromtimestamp(VECTOR_TIMESTAMP, dt_timezone.utc)
    assert Webhook(VECTOR_SECRET).sign(msg_id=VECTOR_ID, timestamp=at, data=VECTOR_BODY) == VECTOR_SIGNATURE
    assert independent_signature(VECTOR_SECRET, VECTOR_ID, str(VECTOR_TIMESTAMP), VECTOR_BODY.encode()) == VECTOR_SIGNATURE
    assert openssl_signature(VECTOR_SECRET, VECTOR_ID, str(VECTOR_TIMESTAMP), VECTOR_BODY.encode()) == VECTOR_SIGNATURE


@pytest.fixture
def admin(api_client):
    return actor_of(api_client.workspace, api_client.user)


@pytest.fixture
def endpoint(api_client, admin, hook_receiver):
    endpoint, secret = webhooks.webhook_create(workspace=api_client.workspace, actor=admin, url=hook_receiver.url)
    endpoint.plain_secret = secret
    return endpoint


def change(api_client, admin, name="Ada"):
    return contacts.contact_create(workspace=api_client.workspace, actor=admin, name=name)


def deliver(endpoint):
    return deliver_webhooks.apply(args=[endpoint.pk]).get()


def make_due(endpoint):
    WebhookDelivery.objects.filter(endpoint=endpoint, status="pending").update(next_attempt_at=timezone.now())


def test_a_change_is_delivered_signed_and_verifiable(api_client, admin, endpoint, hook_receiver):
    contact = change(api_client, admin)
    assert deliver(endpoint) == 1
    [request] = hook_receiver.requests
    headers, body = request["headers"], request["body"]
    event = Event.objects.get(type="contact.created", subject_id=contact.pk)
    assert headers["webhook-id"] == f"evt_{event.pk}" and headers["content-type"] == "application/json"
    # the spec's library verifies it, and so do two independent implementations
    assert Webhook(endpoint.plain_secret).verify(body, headers)["data"]["contact"]["name"] == "Ada"
    for verifier in (independent_signature, openssl_signature):
        assert verifier(endpoint.plain_secret, headers["webhook-id"], headers["webhook-timestamp"], body) == \
            headers["webhook-signature"]
    payload = json.loads(body)
    assert payload["type"] == "contact.created" and payload["subject"] == {"type": "contact", "id": contact.pk,
                                                                             "version": 1}
    assert payload["actor"] == admin.as_dict()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts) == ("succeeded", 1)


def test_event_types_filter_and_inactive_endpoints(api_client, admin, hook_receiver):
    only_tags, _ = webhooks.webhook_create(workspace=api_client.workspace, actor=admin, url=hook_receiver.url,
                                           event_types=["tag.created"])
    off, _ = webhooks.webhook_create(workspace=api_client.workspace, actor=admin, url=hook_receiver.url, active=False)
    change(api_client, admin)
    assert not WebhookDelivery.objects.exists()
    from tags.services import tag_create

    tag_create(workspace=api_client.workspace, actor=admin, tag="x", type="client")
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [only_tags.pk]
    assert off.pk


def test_503_then_200_retries_with_backoff_and_the_same_webhook_id(api_client, admin, endpoint, hook_receiver):
    hook_receiver.responses = [(503, {}, b"busy <script>\x00")]
    change(api_client, admin)
    deliver(endpoint)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert 5 <= wait <= 15, wait  # 10 s +-25% jitter, then doubling
    assert webhooks.backoff_seconds(5) > webhooks.backoff_seconds(2) * 4
    assert deliver(endpoint) == 0, "not due yet"
    make_due(endpoint)
    deliver(endpoint)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 2)
    first, second = hook_receiver.requests
    assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    log = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("id"))
    assert [a.status_code for a in log] == [503, 200]
    assert log[0].error.startswith("The endpoint answered HTTP 503: busy <script>") and "\x00" not in log[0].error
    assert log[0].next_attempt_at is not None


def test_retry_after_is_honoured(api_client, admin, endpoint, hook_receiver):
    hook_receiver.responses = [(429, {"Retry-After": "120"}, b"")]
    change(api_client, admin)
    deliver(endpoint)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert 115 <= (delivery.next_attempt_at - timezone.now()).total_seconds() <= 121


def test_a_down_endpoint_holds_the_rest_of_the_batch_then_gets_everything(api_client, admin, endpoint, hook_receiver):
    hook_receiver.responses = [(500, {}, b"")]
    for i in range(3):
        change(api_client, admin, name=f"C{i}")
    deliver(endpoint)
    assert len(hook_receiver.requests) == 1, "the first failure stops the batch"
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status="pending").count() == 3
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    make_due(endpoint)
    assert sweep_webhooks.apply().get() == 1
    deliver(endpoint)
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded").count() == 3
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_410_disables_the_endpoint_and_emits_webhook_disabled(api_client, admin, endpoint, hook_receiver):
    hook_receiver.responses = [(410, {}, b"gone")]
    change(api_client, admin)
    deliver(endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.active and "410" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "failed"
    disabled = Event.objects.get(type="webhook.disabled")
    assert disabled.subject_id == endpoint.pk and disabled.actor_type == "system"
    change(api_client, admin, "After")
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1, "a disabled endpoint gets nothing new"


def test_failing_for_the_configured_time_disables(api_client, admin, endpoint, hook_receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER = 3600
    hook_receiver.responses = [(500, {}, b"")] * 2
    change(api_client, admin)
    deliver(endpoint)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now() - timedelta(hours=2))
    make_due(endpoint)
    deliver(endpoint)
    endpoint.refresh_from_db()
    assert not endpoint.active and Event.objects.filter(type="webhook.disabled", subject_id=endpoint.pk).exists()


def test_a_delivery_gives_up_after_the_retry_window(api_client, admin, endpoint, hook_receiver):
    hook_receiver.responses = [(500, {}, b"")]
    change(api_client, admin)
    WebhookDelivery.objects.filter(endpoint=endpoint).update(first_attempt_at=timezone.now() - timedelta(days=1),
                                                             attempts=15)
    deliver(endpoint)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "failed" and delivery.next_attempt_at is None


def test_secret_rotation_signs_with_both_for_24_hours(api_client, admin, endpoint, hook_receiver):
    old = endpoint.plain_secret
    response = api_client.post(f"/v1/crm/webhooks/{endpoint.pk}/rotate-secret")
    assert response.status_code == 200
    new = response.json()["secret"]
    assert new.startswith("whsec_") and new != old
    change(api_client, admin)
    deliver(endpoint)
    request = hook_receiver.requests[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    for secret in (old, new):  # a receiver holding either verifies it
        Webhook(secret).verify(request["body"], request["headers"])
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_expires_at=timezone.now())
    change(api_client, admin, "Later")
    deliver(endpoint)
    request = hook_receiver.requests[-1]
    assert len(request["headers"]["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(request["body"], request["headers"])
    with pytest.raises(Exception):
        Webhook(old).verify(request["body"], request["headers"])


def test_the_api_create_shows_the_secret_once_and_the_log_and_retry(api_client, hook_receiver, member_client):
    created = api_client.post("/v1/crm/webhooks", {"url": hook_receiver.url, "description": "crm"}, format="json")
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    endpoint_id = created.json()["id"]
    assert "secret" not in api_client.get(f"/v1/crm/webhooks/{endpoint_id}").json()
    hook_receiver.responses = [(500, {}, b"no")]
    tested = api_client.post(f"/v1/crm/webhooks/{endpoint_id}/test")
    assert tested.status_code == 202 and tested.json()["event_type"] == "webhook.test"
    deliver(WebhookEndpoint(pk=endpoint_id))
    log = api_client.get(f"/v1/crm/webhooks/{endpoint_id}/deliveries").json()["data"]
    assert log[0]["status"] == "pending" and log[0]["attempt_log"][0]["status_code"] == 500
    assert log[0]["attempt_log"][0]["next_attempt_at"] is not None and log[0]["webhook_id"].startswith("evt_")
    retried = api_client.post(f"/v1/crm/webhooks/{endpoint_id}/deliveries/{log[0]['id']}/retry")
    assert retried.status_code == 202
    deliver(WebhookEndpoint(pk=endpoint_id))
    log = api_client.get(f"/v1/crm/webhooks/{endpoint_id}/deliveries").json()["data"]
    assert log[0]["status"] == "succeeded" and [a["status_code"] for a in log[0]["attempt_log"]] == [500, 200]
    assert member_client.get(f"/v1/crm/webhooks/{endpoint_id}/deliveries").status_code == 403
    assert api_client.post("/v1/crm/webhooks", {"url": hook_receiver.url, "event_types": ["nope"]},
                           format="json").status_code == 400


def test_a_url_inside_is_refused_at_save(api_client, settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = False
    response = api_client.post("/v1/crm/webhooks", {"url": "http://127.0.0.1:8000/x"}, format="json")
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["field"] == "url" and error["code"] == "url_refused" and "loopback" in error["message"]
    response = api_client.post("/v1/crm/integrations", {"name": "w", "provider": "webhook", "secret": "s",
                                                        "config": {"url": "http://[::1]/x"}}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "config.url"
    assert not WebhookEndpoint.objects.exists()


def test_events_carry_their_subjects_version(api_client, admin, endpoint, hook_receiver):
    contact = change(api_client, admin)
    contacts.contact_update(workspace=api_client.workspace, actor=admin, contact_id=contact.pk, name="B")
    deliver(endpoint)
    assert [b["subject"]["version"] for b in hook_receiver.bodies()] == [1, 2]
    assert events.ERASED == {"erased": True}


def test_an_endpoint_may_opt_into_batches(api_client, admin, hook_receiver):
    endpoint, secret = webhooks.webhook_create(workspace=api_client.workspace, actor=admin, url=hook_receiver.url,
                                               batch_size=3)
    for i in range(7):
        change(api_client, admin, name=f"B{i}")
    hook_receiver.responses = [(200, {}, b""), (503, {}, b"")]  # the second request fails
    deliver(endpoint)
    assert len(hook_receiver.requests) == 2, "3 events, then 3 more that failed: the batch stopped"
    first = hook_receiver.requests[0]
    batch = Webhook(secret).verify(first["body"], first["headers"])
    assert batch["type"] == "batch" and [e["data"]["contact"]["name"] for e in batch["data"]] == ["B0", "B1", "B2"]
    assert first["headers"]["webhook-id"] == f"batch_{batch['data'][0]['id']}_{batch['data'][-1]['id']}_3"
    statuses = [d.status for d in WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")]
    assert statuses == ["succeeded"] * 3 + ["pending"] * 4
    make_due(endpoint)
    deliver(endpoint)
    assert WebhookDelivery.objects.filter(endpoint=endpoint, status="succeeded").count() == 7
