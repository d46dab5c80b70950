"""Events fixtures: a Standard Webhooks receiver on 127.0.0.1, helpers to read events."""
import json

import pytest

from events.models import Event
from tests.receivers import HttpReceiver


def events_of(workspace, **filters):
    return list(Event.objects.filter(workspace=workspace, **filters).order_by("id"))


def types_of(workspace, **filters):
    return [e.type for e in events_of(workspace, **filters)]


class HookReceiver(HttpReceiver):
    """`responses`: (status, headers, body) answered in order, then 200."""

    def bodies(self):
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def hook_receiver():
    with HookReceiver() as receiver:
        yield receiver
