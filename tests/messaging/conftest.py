"""Messaging fixtures: contacts, integrations, a real HTTP receiver on
127.0.0.1 for the webhook provider, and Celery in eager mode."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from contacts import services as contact_services
from messaging import services
from tests.factories import SYSTEM, actor_of

SECRET = "test-webhook-secret-0123456789"


@pytest.fixture
def make_contact(api_client):
    def make(workspace=None, **data):
        data = {"name": "Ada", "surname": "Lovelace", **data}
        return contact_services.contact_create(
            workspace=workspace or api_client.workspace, actor=SYSTEM, **data)

    return make


@pytest.fixture
def contact(make_contact):
    return make_contact(email="ada@example.com", phone="+12025550123", city="London")


@pytest.fixture
def console_integration(api_client):
    return services.integration_create(
        workspace=api_client.workspace, actor=actor_of(api_client.workspace, api_client.user), name="Console"
    )


@pytest.fixture
def conversation(api_client, contact, console_integration):
    return services.conversation_create(
        workspace=api_client.workspace,
        actor=actor_of(api_client.workspace, api_client.user),
        contact_id=contact.pk,
        integration=console_integration,
    )


@pytest.fixture(autouse=True)
def eager_retries(settings):
    """With eager propagation on, Celery raises a task's Retry out of apply()
    instead of running the retry in-process; off, apply() follows the retries
    and .get() still raises a task's real exception. The Celery app reads
    Django's settings live, so pytest-django's `settings` sets and restores
    the flag (a value written to celery_app.conf would shadow the settings
    for every later test)."""
    settings.CELERY_TASK_EAGER_PROPAGATES = False


@pytest.fixture
def eager_celery(settings):
    """Tasks run in-process when enqueued."""
    settings.CELERY_TASK_ALWAYS_EAGER = True


class Receiver:
    """A real HTTP server on 127.0.0.1. `responses` is a list of
    (status, json body) answered in order; then 200 {"id": "ext-<n>"}."""

    def __init__(self):
        self.requests: list[dict] = []
        self.responses: list[tuple[int, dict]] = []
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body}
                )
                if receiver.delay:
                    threading.Event().wait(receiver.delay)
                status, payload = (
                    receiver.responses.pop(0)
                    if receiver.responses
                    else (200, {"id": f"ext-{len(receiver.requests)}"})
                )
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/crm"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    with Receiver() as r:
        yield r


@pytest.fixture
def webhook_integration(api_client, receiver):
    return services.integration_create(
        workspace=api_client.workspace,
        actor=actor_of(api_client.workspace, api_client.user),
        name="Webhook",
        provider="webhook",
        config={"url": receiver.url, "timeout": 2},
        secret=SECRET,
    )


@pytest.fixture
def webhook_conversation(api_client, contact, webhook_integration):
    return services.conversation_create(
        workspace=api_client.workspace,
        actor=actor_of(api_client.workspace, api_client.user),
        contact_id=contact.pk,
        integration=webhook_integration,
    )
