"""tags_resolve and tag/label creation against real concurrent transactions."""
import threading

import pytest
from django.db import connection, connections, transaction

from tags import services
from tags.models import Tag
from tests.factories import SYSTEM, WorkspaceFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_resolve_waits_for_and_reuses_a_concurrent_uncommitted_insert():
    """Another transaction inserted "Race" but has not committed: our INSERT
    ... ON CONFLICT waits on the unique index, then skips, and the value is
    re-read, so there is one "Race" tag and no error."""
    workspace = WorkspaceFactory()
    inserted, release, result = threading.Event(), threading.Event(), {}

    def rival():
        try:
            with transaction.atomic():
                result["rival"] = Tag.objects.create(workspace=workspace, tag="Race", type="client").pk
                inserted.set()
                release.wait(10)
        finally:
            connections.close_all()

    def resolver():
        try:
            result["resolved"] = services.tags_resolve(workspace=workspace, actor=SYSTEM, values=["race", "fresh"])
        except Exception as exc:  # reported below, a thread cannot fail the test itself
            result["error"] = exc
        finally:
            connections.close_all()

    rival_thread = threading.Thread(target=rival)
    rival_thread.start()
    assert inserted.wait(10)
    resolver_thread = threading.Thread(target=resolver)
    resolver_thread.start()
    resolver_thread.join(1)
    assert resolver_thread.is_alive(), "the insert should wait for the rival transaction"
    release.set()
    rival_thread.join(10)
    resolver_thread.join(10)
    assert "error" not in result, result.get("error")
    race, fresh = result["resolved"]
    assert race.pk == result["rival"] and fresh.tag == "fresh" and fresh.pk
    assert Tag.objects.filter(workspace=workspace, tag__iexact="race").count() == 1
    connection.close()
