"""Idempotency keys (issue 15, deliverable 1; crm/idempotency.py).

Every resource's create, update, delete and bulk write is replayed by the
shared resource tests (tests/resources.py); here: the rules of the draft
(reuse, in use, bad keys, what is stored and what is not), expiry and its
purge (eagerly and on a real worker), and 20 concurrent keyed creates
against gunicorn.
"""
import json
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.db import connection
from django.utils import timezone

from config.celery import app
from contacts.models import Contact
from crm.idempotency import Claim, idempotency_claim
from crm.models import IdempotencyKey
from crm.tasks import purge_idempotency_keys
from crm.viewsets import etag
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory, make_token
from tests.processes import celery_worker, gunicorn, test_database_url

CONTACTS = "/v1/crm/contacts"


def keyed(key):
    return {"HTTP_IDEMPOTENCY_KEY": key}


def create(client, key, **payload):
    return client.post(CONTACTS, {"name": "Ada", **payload}, format="json", **keyed(key))


def contacts_named(workspace, name="Ada"):
    return Contact.objects.filter(workspace=workspace, name=name).count()


def test_a_keyed_create_is_replayed_not_repeated(api_client):
    key = str(uuid.uuid4())
    first = create(api_client, key, email="ada@example.com")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = create(api_client, key, email="ada@example.com")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert again["ETag"] == first["ETag"] and again["Content-Type"] == first["Content-Type"]
    assert contacts_named(api_client.workspace) == 1
    # the replay names this request, not the first one
    assert again["X-Request-ID"] != first["X-Request-ID"]


def test_a_quoted_key_is_the_same_key(api_client):
    first = create(api_client, "order-42")
    again = create(api_client, '"order-42"')
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def test_the_same_key_for_another_request_is_422(api_client):
    workspace = api_client.workspace
    first = create(api_client, "k1")
    contact_id = first.json()["id"]
    other_body = create(api_client, "k1", email="other@example.com")
    assert other_body.status_code == 422
    assert other_body.json()["code"] == "idempotency_key_reused"
    other_path = api_client.patch(f"{CONTACTS}/{contact_id}", {"name": "Ada"}, format="json", **keyed("k1"))
    assert other_path.status_code == 422 and other_path.json()["code"] == "idempotency_key_reused"
    assert contacts_named(workspace) == 1
    assert Contact.objects.get(pk=contact_id).version == 1


def test_another_member_of_the_workspace_cannot_replay_my_answer(api_client, client_for):
    """The caller is part of the fingerprint: a replay never hands one user's
    answer (a token shown once, say) to another."""
    create(api_client, "shared")
    colleague = client_for(api_client.workspace)
    response = create(colleague, "shared")
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"


def test_another_workspace_has_its_own_keys(api_client, other_client):
    mine = create(api_client, "same-key")
    theirs = create(other_client, "same-key")
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert contacts_named(api_client.workspace) == contacts_named(other_client.workspace) == 1
    assert IdempotencyKey.objects.filter(key="same-key").count() == 2


def test_a_key_whose_request_is_still_running_is_409(api_client, admin_user):
    workspace = api_client.workspace
    first = create(api_client, "busy")
    assert first.status_code == 201
    # as if the first request were still at work: claimed, no answer yet
    IdempotencyKey.objects.filter(key="busy").update(response_status=None, completed_at=None)
    response = create(api_client, "busy")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "idempotency_key_in_use"
    # another request with a key in use is named for what it is: a reuse
    held = idempotency_claim(workspace_id=workspace.pk, key="held", fingerprint="0" * 64, method="POST",
                             path=CONTACTS, user_id=admin_user.pk)
    assert isinstance(held, Claim)
    assert create(api_client, "held").json()["code"] == "idempotency_key_reused"
    assert contacts_named(workspace) == 1


def test_a_claim_whose_request_died_is_taken_over(api_client):
    create(api_client, "dead")
    Contact.objects.filter(workspace=api_client.workspace).delete()
    IdempotencyKey.objects.filter(key="dead").update(
        response_status=None, completed_at=None, locked_until=timezone.now() - timedelta(seconds=1)
    )
    response = create(api_client, "dead")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert contacts_named(api_client.workspace) == 1


@pytest.mark.parametrize("key", ["", "   ", "x" * 256, "clé", "a\tb", '"unterminated', 'a"b', '"a\\b"'])
def test_a_malformed_key_is_400(api_client, key):
    response = api_client.post(CONTACTS, {"name": "Ada"}, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400, (key, response.content)
    body = response.json()
    assert body["code"] == "idempotency_key_invalid" and body["errors"][0]["field"] == "Idempotency-Key"
    assert contacts_named(api_client.workspace) == 0
    assert not IdempotencyKey.objects.exists()


def test_the_longest_key_is_accepted(api_client):
    key = "k" * 255
    assert create(api_client, key).status_code == 201
    assert create(api_client, key)["Idempotent-Replayed"] == "true"


def test_a_4xx_is_stored_and_replayed(api_client):
    """The draft: a retry gets the result of the completed operation, success or error."""
    workspace = api_client.workspace
    refused = api_client.post(CONTACTS, {"name": "Ada", "email": "not an email"}, format="json", **keyed("bad"))
    assert refused.status_code == 400
    again = api_client.post(CONTACTS, {"name": "Ada", "email": "not an email"}, format="json", **keyed("bad"))
    assert again.status_code == 400 and again["Idempotent-Replayed"] == "true"
    assert again.json() == refused.json()
    fixed = api_client.post(CONTACTS, {"name": "Ada", "email": "ada@example.com"}, format="json", **keyed("bad"))
    assert fixed.status_code == 422 and fixed.json()["code"] == "idempotency_key_reused"
    assert contacts_named(workspace) == 0


def test_a_5xx_is_not_stored(api_client, monkeypatch):
    import contacts.services

    def fail(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(contacts.services, "contact_create", fail)
    api_client.raise_request_exception = False
    failed = create(api_client, "retry-me")
    assert failed.status_code == 500 and failed.json()["type"] == "server_error"
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()
    monkeypatch.undo()
    retried = create(api_client, "retry-me")
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried
    assert contacts_named(api_client.workspace) == 1


def test_refusals_before_the_work_claim_nothing(api_client, anon_client, member_client):
    """401, 403 and a 412 decided from the headers alone answer as without a
    key, and leave it free."""
    anon = anon_client.post(CONTACTS, {"name": "Ada"}, format="json", **keyed("early"))
    assert anon.status_code == 401
    denied = member_client.post("/v1/crm/tokens", {"name": "x"}, format="json", **keyed("early"))
    assert denied.status_code == 403
    contact_id = create(api_client, "c").json()["id"]
    elsewhere = api_client.patch(f"{CONTACTS}/{contact_id}", {"name": "Bea"}, format="json",
                                 HTTP_IF_MATCH=etag(contact_id + 1, 1), **keyed("early"))
    assert elsewhere.status_code == 412
    assert not IdempotencyKey.objects.filter(key="early").exists()
    fresh = api_client.patch(f"{CONTACTS}/{contact_id}", {"name": "Bea"}, format="json",
                             HTTP_IF_MATCH=etag(contact_id, 1), **keyed("early"))
    assert fresh.status_code == 200 and "Idempotent-Replayed" not in fresh
    assert Contact.objects.get(pk=contact_id).name == "Bea"


def test_if_match_is_part_of_the_request(api_client):
    """A stale write is an answer of the operation (stored, replayed); the
    same write with the current ETag is another request: a new key."""
    contact_id = create(api_client, "c").json()["id"]
    stale = {"HTTP_IF_MATCH": etag(contact_id, 7)}
    first = api_client.patch(f"{CONTACTS}/{contact_id}", {"name": "Bea"}, format="json", **stale, **keyed("w"))
    assert first.status_code == 412
    again = api_client.patch(f"{CONTACTS}/{contact_id}", {"name": "Bea"}, format="json", **stale, **keyed("w"))
    assert again.status_code == 412 and again["Idempotent-Replayed"] == "true"
    current = {"HTTP_IF_MATCH": etag(contact_id, 1)}
    reused = api_client.patch(f"{CONTACTS}/{contact_id}", {"name": "Bea"}, format="json", **current, **keyed("w"))
    assert reused.status_code == 422 and reused.json()["code"] == "idempotency_key_reused"
    done = api_client.patch(f"{CONTACTS}/{contact_id}", {"name": "Bea"}, format="json", **current, **keyed("w2"))
    assert done.status_code == 200 and Contact.objects.get(pk=contact_id).name == "Bea"


def test_safe_methods_ignore_the_key(api_client):
    create(api_client, "k")
    response = api_client.get(CONTACTS, **keyed("k"))
    assert response.status_code == 200 and "Idempotent-Replayed" not in response
    assert api_client.get(CONTACTS, **keyed("not valid \t")).status_code == 200
    assert IdempotencyKey.objects.count() == 1


def test_a_stored_answer_is_encrypted_at_rest(api_client):
    """A new API token is shown once: its replay must not leave it readable in the table."""
    name = "laptop-of-the-night-shift"  # long enough never to appear in base64 ciphertext by chance
    response = api_client.post("/v1/crm/tokens", {"name": name}, format="json", **keyed("token-1"))
    assert response.status_code == 201, response.content
    plaintext = response.json()["token"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM crm_idempotencykey WHERE key = %s", ["token-1"])
        (stored,) = cursor.fetchone()
    assert stored and plaintext not in stored and name not in stored
    replay = api_client.post("/v1/crm/tokens", {"name": name}, format="json", **keyed("token-1"))
    assert replay["Idempotent-Replayed"] == "true" and replay.json()["token"] == plaintext


def test_the_admin_lists_keys_read_only(client, api_client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    admin_client = client
    create(api_client, "for-the-admin")
    page = admin_client.get("/admin/crm/idempotencykey/?q=for-the-admin")
    assert page.status_code == 200 and b"for-the-admin" in page.content
    row = IdempotencyKey.objects.get(key="for-the-admin")
    assert admin_client.get("/admin/crm/idempotencykey/add/").status_code == 403
    detail = admin_client.get(f"/admin/crm/idempotencykey/{row.pk}/change/")
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    assert admin_client.post(f"/admin/crm/idempotencykey/{row.pk}/delete/", {"post": "yes"}).status_code == 403
    assert IdempotencyKey.objects.filter(pk=row.pk).exists()


# -- expiry -----------------------------------------------------------------------

def test_keys_expire_and_the_periodic_task_purges_them(api_client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    create(api_client, "old")
    create(api_client, "young", email="young@example.com")
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    # an expired key is free again: a new request with it runs
    reused = create(api_client, "old", email="new@example.com")
    assert reused.status_code == 201 and "Idempotent-Replayed" not in reused
    IdempotencyKey.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(seconds=1))
    assert purge_idempotency_keys.delay().get() == 1
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["young"]


def test_a_key_lives_the_configured_time(api_client, settings):
    settings.IDEMPOTENCY_KEY_TTL_SECONDS = 3600
    before = timezone.now()
    create(api_client, "ttl")
    row = IdempotencyKey.objects.get(key="ttl")
    assert before + timedelta(seconds=3600) <= row.expires_at <= timezone.now() + timedelta(seconds=3600)


def test_the_purge_is_in_the_beat_schedule(settings):
    entries = {entry["task"]: entry for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "crm.purge_idempotency_keys" in entries
    assert "events.purge_events" in entries  # added beside, not instead of, the others


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_purge_runs_on_a_real_worker():
    from celery.app import backends
    from django.conf import settings

    backend_cls, url = backends.by_url(settings.CELERY_BROKER_URL, app.loader)
    backend = backend_cls(app=app, url=url)
    workspace = WorkspaceFactory()
    now = timezone.now()
    for key, expires in (("gone", now - timedelta(minutes=1)), ("kept", now + timedelta(hours=1))):
        IdempotencyKey.objects.create(workspace=workspace, key=key, fingerprint="0" * 64, method="POST",
                                      path=CONTACTS, locked_until=now, expires_at=expires, response_status=201)
    env = {"CELERY_RESULT_BACKEND": settings.CELERY_BROKER_URL, "DATABASE_URL": test_database_url()}
    with celery_worker(env=env) as (queue, process):
        sent = purge_idempotency_keys.apply_async(queue=queue)
        try:
            assert app.AsyncResult(sent.id, backend=backend).get(timeout=60, interval=0.2) == 1
        except CeleryTimeoutError:
            pytest.fail(f"no result from the worker; log:\n{Path(process.log_path).read_text()[-3000:]}")
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["kept"]


# -- real concurrency -------------------------------------------------------------

def _post(url, token, key, body):
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "x-access-token": token, "Idempotency-Key": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.server
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_keyed_creates_make_one_contact():
    """20 threads post the same keyed create at once to gunicorn (4 workers).
    One runs it; a thread that arrives while it runs gets 409 and retries, as
    a client would; in the end there is one contact and every answer is the same."""
    workspace = WorkspaceFactory()
    user = UserFactory()
    MembershipFactory(workspace=workspace, user=user, role="admin")
    token = make_token(workspace, user)
    body = json.dumps({"name": "Concurrent", "email": "c@example.com"}).encode()
    key = str(uuid.uuid4())
    start = threading.Barrier(20)
    in_use = []

    def client(_):
        start.wait()
        for _attempt in range(200):
            status, headers, content = _post(f"{base}{CONTACTS}", token, key, body)
            if status != 409:
                return status, headers, content
            in_use.append(json.loads(content)["code"])
            threading.Event().wait(0.02)
        raise AssertionError("still 409 after 200 tries")

    with gunicorn(workers=4) as (base, process):
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(client, range(20)))
        log = Path(process.log_path).read_text()

    assert Contact.objects.filter(workspace=workspace, name="Concurrent").count() == 1, log[-3000:]
    assert {(status, content) for status, _, content in answers} == {(answers[0][0], answers[0][2])}
    assert answers[0][0] == 201
    replayed = [headers.get("Idempotent-Replayed") for _, headers, _ in answers]
    assert replayed.count(None) == 1 and replayed.count("true") == 19
    assert set(in_use) <= {"idempotency_key_in_use"}
    print(f"409 answers while the first request ran: {len(in_use)}")


def test_every_unsafe_operation_documents_the_key():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()
                  if method in ("post", "put", "patch", "delete")]
    assert len(operations) >= 30
    for path, method, op in operations:
        names = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
        assert names.count("Idempotency-Key") == 1, (path, method)
        assert op["responses"]["422"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        assert "409" in op["responses"], (path, method)
    reads = [op for item in schema["paths"].values() for method, op in item.items() if method == "get"]
    assert not any(p["name"] == "Idempotency-Key" for op in reads for p in op.get("parameters", []))


def test_an_operations_own_409_and_422_keep_their_meaning():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    batch = schema["paths"]["/v1/crm/contacts/batch"]["post"]["responses"]["422"]["description"]
    assert "batch_failed" in batch and "idempotency_key_reused" in batch
    create = schema["paths"]["/v1/crm/contacts"]["post"]["responses"]["409"]["description"]
    assert "idempotency_key_in_use" in create and create.index("idempotency_key_in_use") > 0


def test_views_outside_the_resource_viewsets_take_keys_too(client, api_client):
    """CrmAPIView routes: a member added once (POST /users), and a provider's
    signed callback, whose key is scoped to the integration's workspace."""
    from messaging import services
    from messaging.models import Message
    from messaging.providers import signature_headers
    from tests.factories import SYSTEM

    payload = {"email": "new-member@example.com", "role": "member"}
    first = api_client.post("/v1/crm/users", payload, format="json", **keyed("member"))
    assert first.status_code == 201, first.content
    again = api_client.post("/v1/crm/users", payload, format="json", **keyed("member"))
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"  # not 409 already_member

    secret = "inbound-secret-0123456789"
    integration = services.integration_create(workspace=api_client.workspace, actor=SYSTEM, name="WA",
                                              provider="webhook", config={"url": "https://hooks.example.com/out"},
                                              secret=secret)
    body = json.dumps({"from": "+1 415 555 0142", "content": "Hello?", "type": "text",
                       "external_message_id": "wamid-1"}).encode()
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signature_headers(secret, body).items()}
    url = f"/v1/crm/integrations/{integration.pk}/inbound"
    sent = client.generic("POST", url, body, content_type="application/json", **meta, **keyed("wamid-1"))
    assert sent.status_code == 201, sent.content
    replay = client.generic("POST", url, body, content_type="application/json", **meta, **keyed("wamid-1"))
    assert replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"  # the first answer, not a 200
    assert Message.objects.filter(is_agent=False).count() == 1
    assert IdempotencyKey.objects.get(key="wamid-1").workspace_id == api_client.workspace.pk
