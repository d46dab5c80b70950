"""GET /v1/crm/events: commit order, resumable, no event skipped when a
slower transaction commits late."""
import threading
import time

import pytest
from django.db import connection, connections, transaction

from events import services as events
from tests.factories import SYSTEM


def record(workspace, n):
    return events.record(workspace=workspace, actor=SYSTEM, type="tag.created", subject_type="tag", subject_id=n)


@pytest.mark.django_db
def test_feed_pages_and_resumes(api_client, member_client, other_client):
    workspace = api_client.workspace
    ids = [record(workspace, n) for n in range(5)]
    events.record(workspace=workspace, actor=SYSTEM, type="contact.updated", subject_type="contact", subject_id=9)
    first = api_client.get("/v1/crm/events?limit=2&type=tag.created").json()
    assert [e["id"] for e in first["data"]] == ids[:2]
    assert first["paginationInfo"] == {"limit": 2, "after": ids[1], "hasNextPage": True}
    event = first["data"][0]
    assert event["type"] == "tag.created" and event["subject"] == {"type": "tag", "id": 0, "version": None}
    assert event["actor"] == {"type": "system", "id": None, "name": "tests"}
    rest = api_client.get(f"/v1/crm/events?after={ids[1]}&type=tag.created").json()
    assert [e["id"] for e in rest["data"]] == ids[2:] and rest["paginationInfo"]["hasNextPage"] is False
    # beside the tokens the fixtures issued (token.created)
    everything = [e["type"] for e in api_client.get("/v1/crm/events").json()["data"]]
    assert sorted(t for t in everything if t != "token.created") == ["contact.updated"] + ["tag.created"] * 5
    assert member_client.get("/v1/crm/events").status_code == 403
    assert {e["type"] for e in other_client.get("/v1/crm/events").json()["data"]} == {"token.created"}  # its own token
    bad = api_client.get("/v1/crm/events?type=nope")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "type"
    gone = api_client.get("/v1/crm/events?after=999999999")
    assert gone.status_code == 400 and gone.json()["code"] == "unknown_event"


@pytest.mark.django_db(transaction=True)
def test_an_event_committed_late_by_a_slower_transaction_is_not_skipped(api_client):
    """Writer A takes an event id, then writer B takes a higher one and
    commits first. A reader polling meanwhile must not move past A's
    event: once A commits, resuming from what was read yields it."""
    workspace = api_client.workspace
    a_recorded, a_may_commit = threading.Event(), threading.Event()
    ids = {}

    def slow_writer():
        try:
            with transaction.atomic():
                ids["a"] = record(workspace, 1)
                a_recorded.set()
                a_may_commit.wait(60)  # generous: a loaded machine must not commit A early
        finally:
            connections["default"].close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert a_recorded.wait(10)
    with transaction.atomic():
        ids["b"] = record(workspace, 2)
    assert ids["a"] < ids["b"]

    def read_all(after=None):
        url = "/v1/crm/events" + (f"?after={after}" if after else "")
        return [e["id"] for e in api_client.get(url).json()["data"]]

    seen = read_all()
    assert ids["a"] not in seen and ids["b"] not in seen, "B is held back while the older A is in flight"
    a_may_commit.set()
    thread.join(60)
    # other transactions on the server may still hold the horizon back for a moment
    deadline = time.time() + 60
    while time.time() < deadline:
        seen = read_all()
        if ids["b"] in seen:
            break
        time.sleep(0.2)
    assert seen.index(ids["a"]) < seen.index(ids["b"]), seen
    assert connection.vendor == "postgresql"
