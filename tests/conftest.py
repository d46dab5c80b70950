"""Shared fixtures. Every API test gets clients authenticated by real tokens.

- `workspace`, `admin_user`, `api_client` (workspace admin), `member_client`
- `other_workspace`, `other_client`: an admin of a second workspace, for tenancy
- `client_for(workspace, role)`: more clients
"""
import os
import signal
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from crm.models import Membership

from .factories import MembershipFactory, UserFactory, WorkspaceFactory, make_token


# Test receivers listen on 127.0.0.1, which crm.outbound refuses unless
# private networks are allowed: in this process (the fixture below) and in
# the worker processes tests start (the environment they inherit).
# tests/events/test_outbound.py turns it off to prove every range is refused.
os.environ.setdefault("OUTBOUND_ALLOW_PRIVATE_NETWORKS", "true")


@pytest.fixture(autouse=True)
def private_networks_allowed(settings):
    settings.OUTBOUND_ALLOW_PRIVATE_NETWORKS = True


class TokenClient(APIClient):
    """An APIClient that sends x-access-token and knows who it is."""

    def __init__(self, workspace, user, role, token):
        super().__init__()
        self.workspace, self.user, self.role, self.token = workspace, user, role, token
        self.credentials(HTTP_X_ACCESS_TOKEN=token)


@pytest.fixture
def client_for(db):
    def make(workspace, role=Membership.Role.ADMIN, user=None):
        user = user or UserFactory()
        MembershipFactory(workspace=workspace, user=user, role=role)
        return TokenClient(workspace, user, role, make_token(workspace, user))

    return make


@pytest.fixture
def workspace(db):
    return WorkspaceFactory()


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory()


@pytest.fixture
def api_client(client_for, workspace):
    return client_for(workspace, Membership.Role.ADMIN)


@pytest.fixture
def admin_user(api_client):
    return api_client.user


@pytest.fixture
def member_client(client_for, workspace):
    return client_for(workspace, Membership.Role.MEMBER)


@pytest.fixture
def other_client(client_for, other_workspace):
    return client_for(other_workspace, Membership.Role.ADMIN)


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def celery_worker_process():
    """A real `celery -A config worker` (solo pool) on a private queue of the
    Redis broker, with a Redis result backend; yields (queue, backend, process)."""
    from celery.app import backends
    from django.conf import settings

    from config.celery import app

    from .processes import celery_worker

    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        pytest.fail("the worker tests need CELERY_BROKER_URL=redis://... (scripts/test.sh sets it)")
    result_url = settings.CELERY_BROKER_URL
    backend_cls, url = backends.by_url(result_url, app.loader)
    with celery_worker(env={"CELERY_RESULT_BACKEND": result_url}) as (queue, process):
        yield queue, backend_cls(app=app, url=url), process


def _child_pids() -> list[int]:
    """This process's live children (Linux /proc; elsewhere none)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            children.append(int(stat.parent.name))
    return children


def pytest_sessionfinish(session, exitstatus):
    """No process a test started outlives the run. A leftover child (a
    validation process stuck after a fork, a server a test did not stop)
    would keep the interpreter from exiting (multiprocessing joins its
    children at exit) and CI waiting until its timeout: stop them, and say so."""
    leftovers = _child_pids()
    if not leftovers:
        return
    for pid in leftovers:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"conftest: killed {len(leftovers)} child process(es) left running by the tests: {leftovers}",
                            yellow=True)
