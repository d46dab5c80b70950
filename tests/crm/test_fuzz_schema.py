"""Every operation of the OpenAPI schema, fuzzed with schemathesis: valid and
invalid bodies, parameters and ids, in process (WSGI) on the test database.

No answer is a 5xx, every status is documented, and every body matches the
schema of its status (the one error format for every 4xx). The examples are
derandomized, so a run is repeatable; `FUZZ_EXAMPLES` raises their number
(the full CLI run is described in docs/operations.md).
"""
import json
import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from contacts.models import Contact
from crm.models import Membership
from labels.models import ContactLabel
from messaging.models import Conversation, Integration
from tags.models import Tag

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _schema():
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(raw)))
    schema.app = get_wsgi_application()
    schema.config.generation.update(modes=["positive", "negative"], max_examples=EXAMPLES, deterministic=True)
    schema.config.phases.update(phases=["examples", "coverage", "fuzzing"])
    # The coverage phase sends every boundary value of every parameter; its
    # negative half (wrong types, out of range, too many items, unexpected
    # methods) is what finds 500s, and skipping the positive half halves the time.
    schema.config.phases.coverage.generation.update(modes=["negative"])
    # Revoking the caller's own token would turn every later call into a 401.
    return schema.exclude(operation_id="tokens_destroy")


schema = _schema()


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: the WSGI handler must not close the test
    transaction's connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def fuzz_client(client_for, workspace, other_workspace, keep_test_connection, settings, tmp_path):
    """An admin of a workspace holding one object of each kind (ids 1, 2, ...
    are likely to be generated), next to another workspace's objects. Uploads
    go to a temporary directory; tasks are never enqueued (nothing commits);
    /healthz does not wait for a worker."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # No worker runs here: readiness leaves the ping out (test_bootstrap_health.py has one).
    settings.HEALTHZ_CHECK_WORKERS = False
    for ws in (workspace, other_workspace):
        user = client_for(ws, Membership.Role.ADMIN).user
        label = ContactLabel.objects.filter(workspace=ws).first()
        contact = Contact.objects.create(workspace=ws, name="Ada", email="ada@example.com", label=label, owner=user)
        Tag.objects.create(workspace=ws, tag="vip", type="client")
        integration = Integration.objects.create(workspace=ws, name="Console", provider="console", config={})
        Conversation.objects.create(workspace=ws, contact=contact, integration=integration)
    return client_for(workspace, Membership.Role.ADMIN)


@pytest.mark.django_db
@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_documented_json_and_no_5xx(case, fuzz_client):
    case.call_and_validate(headers={"x-access-token": fuzz_client.token}, checks=CHECKS)
