"""The transactional outbox: an event for every change, written in the
change's transaction (none on rollback), with its actor, subject version and
field changes; bulk writes write theirs in one statement."""
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from contacts import services as contacts
from crm.actors import Actor
from crm.errors import DomainError
from events import services as events
from events.models import Event
from labels import services as labels
from messaging import services as messaging
from tags import services as tags
from tests.contacts.factories import ContactFactory
from tests.factories import SYSTEM, actor_of

from .conftest import events_of, types_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(api_client):
    return actor_of(api_client.workspace, api_client.user)


def test_a_committed_change_has_its_event_with_actor_version_and_changes(api_client, admin):
    workspace = api_client.workspace
    contact = contacts.contact_create(workspace=workspace, actor=admin, name="Ada", email="ada@example.com",
                                      tags=["vip"])
    contacts.contact_update(workspace=workspace, actor=admin, contact_id=contact.pk, name="Ada L.", tags=["vip", "x"])
    created, updated = events_of(workspace, subject_type="contact", subject_id=contact.pk)
    assert created.type == "contact.created" and created.subject_version == 1
    assert created.payload["contact"]["name"] == "Ada" and created.payload["contact"]["tags"] == ["vip"]
    assert created.actor == admin.as_dict() == {"type": "member", "id": api_client.user.pk, "name": admin.name}
    assert updated.type == "contact.updated" and updated.subject_version == 2
    assert updated.payload["changes"] == {"name": {"old": "Ada", "new": "Ada L."},
                                          "tags": {"old": ["vip"], "new": ["vip", "x"]}}
    assert updated.txid is not None


def test_a_rolled_back_change_leaves_no_event(api_client, admin):
    workspace = api_client.workspace
    before = Event.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        contacts.contact_create(workspace=workspace, actor=admin, name="Ghost")
        raise RuntimeError("rolled back")
    with pytest.raises(DomainError):  # a refused write: nothing, event included
        contacts.contact_create(workspace=workspace, actor=admin, name="Bad", phone="12")
    assert Event.objects.count() == before


def test_every_event_type_of_the_services(api_client, admin, other_workspace):
    workspace = api_client.workspace
    label = labels.label_create(workspace=workspace, actor=admin, name="Gold")
    labels.label_update(workspace=workspace, actor=admin, label=label, changes={"color": "gold"})
    tag = tags.tag_create(workspace=workspace, actor=admin, tag="stage-1", type="clientStage")
    tags.tag_update(workspace=workspace, actor=admin, tag=tag, changes={"description": "first"})
    tags.tags_bulk_patch(workspace=workspace, actor=admin, patches=[{"id": tag.pk, "order": 4}])
    field = contacts.custom_field_create(workspace=workspace, actor=admin, label="Size")
    contacts.custom_field_update(workspace=workspace, actor=admin, definition=field, changes={"label": "Shoe size"})
    contact = contacts.contact_create(workspace=workspace, actor=admin, name="Ada", label_id=label.pk,
                                      stage_id=tag.pk)
    contacts.contact_bulk_update(workspace=workspace, actor=admin, ids=[contact.pk], visibility_type="team",
                                 tags_add=["new"])
    bulk = events_of(workspace, type="contact.updated")[0]
    assert bulk.payload["changes"]["visibility_type"] == {"old": "public", "new": "team"}
    assert bulk.payload["changes"]["tags"] == {"old": [], "new": ["new"]}
    contacts.contact_archive(workspace=workspace, actor=admin, contact_id=contact.pk)
    contacts.contact_restore(workspace=workspace, actor=admin, contact_id=contact.pk)
    integration = messaging.integration_create(workspace=workspace, actor=admin, name="Console")
    conversation = messaging.conversation_create(workspace=workspace, actor=admin, contact_id=contact.pk,
                                                 integration=integration)
    message = messaging.message_add(workspace=workspace, actor=admin, conversation=conversation, content="Hi",
                                    type="text")
    messaging.message_deliver(message_id=message.pk, final_attempt=True, actor=SYSTEM)
    message.refresh_from_db()
    messaging.message_status_report(workspace=workspace, actor=Actor.integration(integration),
                                    integration=integration, external_message_id=message.external_message_id,
                                    status="delivered")
    messaging.conversation_update(workspace=workspace, actor=admin, conversation=conversation, status="closed")
    contacts.custom_field_delete(workspace=workspace, actor=admin, definition=field)
    tags.tag_delete(workspace=workspace, actor=admin, tag=tag)
    label_id = label.pk
    labels.label_delete(workspace=workspace, actor=admin, label=label)
    moved = events_of(workspace, type="contact.updated")[-1]
    assert moved.payload["changes"]["label_id"]["old"] == label_id, "the label's deletion moved the contact"
    contacts.contact_erase(workspace=workspace, actor=admin, contact_id=contact.pk, cascade=True)

    seen = set(types_of(workspace))
    assert {
        "label.created", "label.updated", "label.deleted", "tag.created", "tag.updated", "tag.deleted",
        "custom_field.created", "custom_field.updated", "custom_field.deleted", "contact.created", "contact.updated",
        "contact.archived", "contact.restored", "contact.erased", "conversation.opened", "conversation.closed",
        "message.created", "message.sent", "message.delivered",
    } <= seen, seen
    assert not events_of(other_workspace)
    moved = events_of(workspace, type="contact.updated")[-1]
    assert moved.payload == events.ERASED, "scrubbed by the erase, like every event of the contact"
    patched = events_of(workspace, type="tag.updated")[-1]
    assert patched.payload["changes"] == {"order": {"old": 0, "new": 4}}


def test_a_failed_delivery_and_inbound_and_import_events(api_client, admin):
    workspace = api_client.workspace
    integration = messaging.integration_create(workspace=workspace, actor=admin, name="Off", active=True)
    contact = ContactFactory(workspace=workspace)
    conversation = messaging.conversation_create(workspace=workspace, actor=admin, contact_id=contact.pk,
                                                 integration=integration)
    message = messaging.message_add(workspace=workspace, actor=admin, conversation=conversation, content="Hi",
                                    type="text")
    messaging.integration_update(workspace=workspace, actor=admin, integration=integration,
                                 changes={"active": False})
    messaging.message_deliver(message_id=message.pk, final_attempt=True, actor=SYSTEM)
    failed = events_of(workspace, type="message.failed")
    assert failed and failed[0].payload["contact_id"] == contact.pk


def test_bulk_update_writes_its_events_in_one_statement(api_client, admin, django_assert_num_queries):
    workspace = api_client.workspace
    few = [ContactFactory(workspace=workspace) for _ in range(2)]
    many = [ContactFactory(workspace=workspace) for _ in range(40)]
    with CaptureQueriesContext(connection) as small:
        contacts.contact_bulk_update(workspace=workspace, actor=admin, ids=[c.pk for c in few], visibility_type="team")
    with django_assert_num_queries(len(small)):
        contacts.contact_bulk_update(workspace=workspace, actor=admin, ids=[c.pk for c in many],
                                     visibility_type="team")
    written = events_of(workspace, type="contact.updated")
    assert len(written) == 42
    assert {e.subject_id for e in written} == {c.pk for c in few + many}
    assert all(e.subject_version == 2 for e in written)


def test_import_chunk_events_are_set_based(api_client, admin, django_assert_num_queries):
    """contacts_bulk_upsert: the created rows' events in one INSERT ... SELECT,
    the updated rows' (with old and new values) in one more."""
    workspace = api_client.workspace
    existing = contacts.contact_create(workspace=workspace, actor=admin, name="Old", external_client_id="e-1")
    rows = [{"external_client_id": "e-1", "name": "New"}] + [
        {"external_client_id": f"n-{i}", "name": f"N{i}", "city": "Rome"} for i in range(30)]
    result = contacts.contacts_bulk_upsert(workspace=workspace, actor=admin, rows=rows,
                                           fields=["external_client_id", "name", "city"])
    assert (result.created, result.updated) == (30, 1)
    created = events_of(workspace, type="contact.created", subject_id__gt=existing.pk)
    assert len(created) == 30 and created[0].payload["contact"]["city"] == "Rome"
    assert created[0].actor == admin.as_dict()
    updated = events_of(workspace, type="contact.updated", subject_id=existing.pk)
    assert updated[0].payload["changes"] == {"name": {"old": "Old", "new": "New"}}
    assert updated[0].subject_version == 2


def test_the_events_insert_is_one_statement_for_any_count(api_client, admin, django_assert_num_queries):
    workspace = api_client.workspace
    with django_assert_num_queries(1):
        events.record_many(workspace=workspace, actor=admin, type="contact.updated", subject_type="contact",
                           rows=[(i, 1, {"changes": {}}) for i in range(1, 5001)])
    assert Event.objects.filter(workspace=workspace, type="contact.updated").count() == 5000


def test_erase_scrubs_the_history_and_records_who_erased(api_client, admin):
    workspace = api_client.workspace
    contact = contacts.contact_create(workspace=workspace, actor=admin, name="Secret", email="s@example.com")
    contacts.contact_update(workspace=workspace, actor=admin, contact_id=contact.pk, surname="Person")
    integration = messaging.integration_create(workspace=workspace, actor=admin, name="C")
    conversation = messaging.conversation_create(workspace=workspace, actor=admin, contact_id=contact.pk,
                                                 integration=integration)
    messaging.message_add(workspace=workspace, actor=admin, conversation=conversation, content="my secret",
                          type="note")
    contacts.contact_erase(workspace=workspace, actor=admin, contact_id=contact.pk, cascade=True)
    history = events_of(workspace, subject_type="contact", subject_id=contact.pk)
    assert [e.type for e in history] == ["contact.created", "contact.updated", "contact.erased"]
    assert all(e.payload == events.ERASED for e in history[:2])
    erased = history[-1]
    assert erased.actor == admin.as_dict() and erased.payload == {"events_scrubbed": 4}
    text = str([e.payload for e in events_of(workspace)])
    assert "Secret" not in text and "s@example.com" not in text and "my secret" not in text
    # an admin still reads it; nothing else about it is left
    body = api_client.get(f"/v1/crm/contacts/{contact.pk}/history").json()
    assert [e["type"] for e in body["data"]] == ["contact.erased", "contact.updated", "contact.created"]


def test_purge_keeps_the_retention_period(api_client, admin, settings):
    workspace = api_client.workspace
    events.record(workspace=workspace, actor=admin, type="tag.created", subject_type="tag", subject_id=1)
    events.record(workspace=workspace, actor=admin, type="tag.created", subject_type="tag", subject_id=2)
    Event.objects.filter(subject_id=1).update(occurred_at=timezone.now() - timedelta(days=31))
    from events.tasks import purge_events

    assert purge_events.apply().get() == 1
    assert list(Event.objects.filter(workspace=workspace, type="tag.created").values_list("subject_id", flat=True)) == [2]


def test_the_purge_is_in_the_beat_schedule(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"events.purge_events", "events.sweep_webhooks"} <= tasks
