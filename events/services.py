"""The transactional outbox: every change writes its event here, inside the
transaction of the change, so a rolled-back change leaves no event and a
committed one always has its event.

- `record(...)`: one event (a single-object write);
- `record_many(...)`: the events of a bulk write, one INSERT per call
  whatever the count;
- `record_select(...)`: the events of rows a SELECT yields (an import
  chunk's new contacts, read from its staging table), one INSERT ... SELECT.

The same statement fans the events out to the workspace's active webhook
endpoints that want their type (a delivery row each, the webhooks' own
outbox), and the endpoints that got one are kicked once the transaction
commits (events.tasks.deliver_webhooks); the sweeper finds whatever a lost
kick missed.

Each event: workspace, type (`contact.updated`...), subject (type, id,
version), actor (`Actor.as_dict()`: type, id, name), occurred_at, data, and
on PostgreSQL the id of the writing transaction (`txid`, for the feed).
"""
import json
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from crm.actors import Actor
from crm.models import Workspace

from .models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

# What the scrub of an erased contact leaves in its events' data.
ERASED = {"erased": True}

_EVENT = Event._meta.db_table
_DELIVERY = WebhookDelivery._meta.db_table
_ENDPOINT = WebhookEndpoint._meta.db_table


def _json(value) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def record(*, workspace: Workspace, actor: Actor, type: str, subject_type: str, subject_id: int | None,
           version: int | None = None, data: dict | None = None, fan_out: bool = True) -> int | None:
    """Writes one event in the caller's transaction; returns its id."""
    ids = record_many(workspace=workspace, actor=actor, type=type, subject_type=subject_type,
                      rows=[(subject_id, version, data or {})], fan_out=fan_out)
    return ids[0] if ids else None


def record_many(*, workspace: Workspace, actor: Actor, type: str, subject_type: str,
                rows: Iterable[tuple[int | None, int | None, dict]], fan_out: bool = True) -> list[int]:
    """Writes one event per (subject_id, version, data) of `rows`: one
    statement on PostgreSQL, whatever the count. Returns the events' ids."""
    rows = list(rows)
    if not rows or not settings.EVENTS_RECORD:
        return []
    if connection.vendor != "postgresql":
        return _record_portable(workspace, actor, type, subject_type, rows, fan_out)
    source = "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[]::jsonb[])"
    params = [[r[0] for r in rows], [r[1] for r in rows], [_json(r[2]) for r in rows]]
    return _insert(workspace, actor, type, subject_type, source, params, fan_out)


def record_select(*, workspace: Workspace, actor: Actor, type: str, subject_type: str, sql: str,
                  params: Sequence = ()) -> None:
    """Writes one event per row of `sql`, a SELECT of (subject_id, version,
    data jsonb), in one INSERT ... SELECT (PostgreSQL only)."""
    if settings.EVENTS_RECORD:
        _insert(workspace, actor, type, subject_type, sql, list(params), True, with_ids=False)


def _insert(workspace, actor: Actor, type, subject_type, source: str, params: list, fan_out: bool,
            with_ids: bool = True) -> list[int]:
    now = timezone.now()
    sql = (
        f"WITH ev AS (INSERT INTO {_EVENT} (workspace_id, type, subject_type, subject_id, subject_version, "
        "actor_type, actor_id, actor_name, occurred_at, txid, payload) "
        "SELECT %s, %s, %s, src.subject_id, src.subject_version, %s, %s, %s, %s, "
        f"pg_current_xact_id()::text::bigint, src.payload FROM ({source}) AS src(subject_id, subject_version, payload) "
        "RETURNING id, type)"
    )
    head = [workspace.pk, type, subject_type, actor.kind, actor.id, actor.name[:255], now]
    if fan_out:
        sql += (
            f", d AS (INSERT INTO {_DELIVERY} (endpoint_id, event_id, status, attempts, created_at, next_attempt_at) "
            f"SELECT w.id, ev.id, 'pending', 0, %s, %s FROM ev JOIN {_ENDPOINT} w ON w.workspace_id = %s AND w.active "
            "AND (w.event_types = '[]'::jsonb OR w.event_types ? ev.type) RETURNING endpoint_id) "
            "SELECT DISTINCT 'w', endpoint_id FROM d"
        )
        tail = [now, now, workspace.pk]
    else:
        sql += " SELECT 'w', NULL WHERE false"
        tail = []
    if with_ids:
        sql += " UNION ALL SELECT 'e', id FROM ev"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, *params, *tail])
        rows = cursor.fetchall()
    kick([pk for kind, pk in rows if kind == "w"])
    return sorted(pk for kind, pk in rows if kind == "e")


def _record_portable(workspace, actor: Actor, type, subject_type, rows, fan_out) -> None:
    """SQLite (the quickstart): no txid (its single writer commits in id order)."""
    now = timezone.now()
    events = Event.objects.bulk_create([
        Event(workspace=workspace, type=type, subject_type=subject_type, subject_id=subject_id,
              subject_version=version, actor_type=actor.kind, actor_id=actor.id, actor_name=actor.name[:255],
              occurred_at=now, payload=json.loads(_json(data)))
        for subject_id, version, data in rows
    ])
    if not fan_out:
        return [e.pk for e in events]
    endpoints = [w for w in WebhookEndpoint.objects.filter(workspace=workspace, active=True)
                 if not w.event_types or type in w.event_types]
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint=w, event=e, created_at=now, next_attempt_at=now) for w in endpoints for e in events
    ])
    kick([w.pk for w in endpoints])
    return [e.pk for e in events]


# -- the small writes every resource has ------------------------------------------
def snapshot(instance, fields) -> dict:
    """{field: value} of `instance` (a foreign key by its id)."""
    return {name: getattr(instance, instance._meta.get_field(name).attname) for name in fields}


def record_object(*, workspace: Workspace, actor: Actor, type: str, subject_type: str, instance,
                  fields, data: dict | None = None) -> None:
    """A created or deleted object: its values (`fields`) as data[subject_type]."""
    record(workspace=workspace, actor=actor, type=type, subject_type=subject_type, subject_id=instance.pk,
           version=getattr(instance, "version", None), data={subject_type: snapshot(instance, fields), **(data or {})})


def record_changed(*, workspace: Workspace, actor: Actor, type: str, subject_type: str, instance,
                   before: dict) -> None:
    """An updated object: {"changes": {field: {"old", "new"}}} against `before` (a snapshot)."""
    after = snapshot(instance, before)
    changes = {name: {"old": before[name], "new": after[name]} for name in before if before[name] != after[name]}
    record(workspace=workspace, actor=actor, type=type, subject_type=subject_type, subject_id=instance.pk,
           version=getattr(instance, "version", None), data={"changes": changes})


def kick(endpoint_ids: Iterable[int]) -> None:
    """Delivers the endpoints' due deliveries once the transaction commits."""
    from .tasks import deliver_webhooks

    queue = getattr(settings, "WEBHOOK_QUEUE", None)
    for endpoint_id in endpoint_ids:
        deliver_webhooks.apply_async_on_commit(args=[endpoint_id], **({"queue": queue} if queue else {}))


# -- erasure and retention -------------------------------------------------------
def contact_events_scrub(*, workspace: Workspace, actor: Actor, contact_id: int) -> int:
    """Called by contact_erase in its transaction: the data of every event of
    the contact, and of its conversations and messages, is replaced by
    {"erased": true} (type, subject, actor and time stay), then a
    contact.erased event records who erased it. Returns the events scrubbed."""
    about = Q(subject_type="contact", subject_id=contact_id) | Q(
        subject_type__in=("conversation", "message"), payload__contact_id=contact_id
    )
    scrubbed = Event.objects.filter(about, workspace=workspace).update(payload=ERASED)
    record(workspace=workspace, actor=actor, type="contact.erased", subject_type="contact", subject_id=contact_id,
           data={"events_scrubbed": scrubbed})
    return scrubbed


PURGE_BATCH = 10_000


def events_purge(*, actor: Actor, older_than_days: int | None = None) -> int:
    """Deletes events (with their webhook deliveries and attempts) older than
    EVENTS_RETENTION_DAYS, in batches. Returns how many."""
    days = settings.EVENTS_RETENTION_DAYS if older_than_days is None else older_than_days
    cutoff = timezone.now() - timedelta(days=days)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(Event.objects.filter(occurred_at__lt=cutoff).order_by("id").values_list("id", flat=True)
                       [:PURGE_BATCH])
            if not ids:
                return total
            deliveries = WebhookDelivery.objects.filter(event_id__in=ids)
            WebhookAttempt.objects.filter(delivery__in=deliveries)._raw_delete(WebhookAttempt.objects.db)
            deliveries._raw_delete(WebhookDelivery.objects.db)
            Event.objects.filter(id__in=ids)._raw_delete(Event.objects.db)
        total += len(ids)
