"""Reads of events: the feed, a subject's events, webhook endpoints and
their delivery log."""
from collections.abc import Sequence

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL

from crm.errors import field_error
from crm.models import Workspace

from .models import Event, WebhookAttempt, WebhookDelivery

# Every transaction older than this one has ended: its events are final.
_HORIZON = "pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
# The reading transaction's own events (when it has written any).
_OWN = "pg_current_xact_id_if_assigned()::text::bigint"


def feed(*, workspace: Workspace, after: int | None = None, types: Sequence[str] = ()) -> QuerySet:
    """The workspace's events in commit order, after the event `after`.

    An event id is taken from a sequence when the row is written, so ids
    commit out of order: a slow transaction can commit id 9 after id 11 was
    served. The feed therefore orders by (transaction id, id) and serves
    only events of transactions older than every transaction still running
    (the snapshot's xmin): those are final, and any event committed later
    belongs to a younger transaction, so it sorts after everything served.
    SQLite (the quickstart) has one writer at a time: id order is commit order."""
    events = Event.objects.filter(workspace=workspace)
    if types:
        events = events.filter(type__in=types)
    if connection.vendor != "postgresql":
        if after:
            events = events.filter(id__gt=after)
        return events.order_by("id")
    events = events.filter(Q(txid__lt=RawSQL(_HORIZON, [])) | Q(txid=RawSQL(_OWN, [])))
    if after:
        position = Event.objects.filter(workspace=workspace, pk=after).values_list("txid", flat=True).first()
        if position is None:
            raise field_error("after", f"No event {after} in this workspace (purged after the retention period, "
                                       "or never one): start again without `after`.", code="unknown_event")
        events = events.filter(Q(txid__gt=position) | Q(txid=position, id__gt=after))
    return events.order_by("txid", "id")


def subject_events(*, workspace: Workspace, subject_type: str, subject_id: int) -> QuerySet:
    """A subject's events, newest first."""
    return Event.objects.filter(workspace=workspace, subject_type=subject_type, subject_id=subject_id).order_by("-id")


def webhook_deliveries(*, endpoint) -> QuerySet:
    """An endpoint's deliveries, newest first, with their event and attempts."""
    return (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("event").order_by("-id")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("id")))
    )
