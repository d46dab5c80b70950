"""Merging duplicate contacts: POST /contacts/{id}/merge.

contact_merge merges up to 9 contacts into a primary in one transaction:

- every contact involved is locked in id order, so two merges that share
  contacts queue instead of deadlocking;
- each empty field of the primary is filled from the others, the most
  recently updated first, unless `prefer` {field: id} names the contact
  whose value wins (even over the primary's own);
- tags, sub-owners, custom field values (the primary's win) and
  visibility_ids are united; an organization's persons move to the primary;
- conversations (with their messages) move to the primary; a merged
  contact's open conversation on a channel where the primary has one open
  is closed first (one open conversation per contact and channel);
- the merged contacts are archived with `merged_into_id` (a GET of one
  says where it went; merging it again is a 409 `already_merged`); an
  external_client_id the primary takes moves off the merged contact.

Events: `contact.merged` on the primary (merged ids, the changes, what
moved) and `contact.archived` (with merged_into_id) for each merged
contact, so both histories show it. `dry_run` computes the same result and
what would move, then rolls everything back.
"""
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.actors import Actor
from crm.errors import Conflict, ObjectsNotFound, field_error
from crm.models import Workspace
from events import services as events

from ..models import Contact, ContactTag
from . import access, changes
from .access import ContactsNotEditable

MERGE_MAX = 9
# The fields filled from the merged contacts when the primary's is empty (and `prefer` may name).
FILLED = (
    "name", "surname", "local_name", "email", "country_code", "phone", "secondary_phone", "address", "city",
    "country", "code", "title", "note", "logo", "external_client_id", "label_id", "stage_id", "owner_id",
    "default_agent_id", "organization_id",
)


@dataclass
class MergeResult:
    contact: Contact
    merged_ids: list[int]
    changes: dict
    moved: dict = field(default_factory=dict)  # {what: count or ids}
    dry_run: bool = False
    preview: object = None  # what `inspect` returned, inside the transaction


def _empty(value) -> bool:
    return value in (None, "", [], {})


class _DryRun(Exception):
    def __init__(self, result: MergeResult):
        self.result = result


def contact_merge(*, workspace: Workspace, actor: Actor, contact_id, ids: Sequence[int],
                  prefer: Mapping[str, int] | None = None, dry_run: bool = False,
                  inspect: Callable[[int], object] | None = None) -> MergeResult:
    """Merges the contacts `ids` into `contact_id` (see the module doc).
    Unknown or hidden ids: 404; ones the actor may not edit: 403; merging a
    contact into itself or an id twice: 400; an already merged contact, or
    an archived primary: 409. `inspect(primary id)` runs after the writes,
    before the commit (or a dry run's rollback): what it returns (the
    view's rendering of the merged contact) is the result's `preview`."""
    ids = list(ids)
    if not ids:
        raise field_error("ids", "At least one contact to merge is required.", code="required")
    if len(ids) > MERGE_MAX:
        raise field_error("ids", f"At most {MERGE_MAX} contacts a merge.", code="max_length")
    if len(set(ids)) != len(ids):
        raise field_error("ids", "An id is given twice.", code="duplicate")
    if not access._is_id(contact_id):
        raise ObjectsNotFound([contact_id], "contact")
    contact_id = int(contact_id)
    if contact_id in ids:
        raise field_error("ids", "A contact cannot be merged into itself.", code="self_merge")
    prefer = dict(prefer or {})
    for name, pk in prefer.items():
        if name not in FILLED:
            raise field_error(f"prefer.{name}", f"Not a field a merge fills; one of {', '.join(FILLED)}.")
        if pk != contact_id and pk not in ids:
            raise field_error(f"prefer.{name}", f"{pk} is not one of the contacts merged.")
    try:
        with transaction.atomic():
            result = _merge(workspace, actor, contact_id, ids, prefer)
            if inspect is not None:
                result.preview = inspect(contact_id)
            if dry_run:
                result.dry_run = True
                raise _DryRun(result)
    except _DryRun as rolled_back:
        return rolled_back.result
    return result


def _merge(workspace, actor: Actor, primary_id: int, ids: list[int], prefer: dict) -> MergeResult:
    every = sorted([primary_id, *ids])
    queryset = access.visible_contacts(workspace=workspace, actor=actor).filter(id__in=every).order_by("id")
    if actor.restricted:
        queryset = queryset.annotate(_editable=access.editable_annotation(actor))
    locked = {c.pk: c for c in queryset.select_for_update(of=("self",))}
    missing = [pk for pk in every if pk not in locked]
    if missing:
        raise ObjectsNotFound(missing, "contact")
    read_only = [pk for pk, c in locked.items() if not getattr(c, "_editable", True)]
    if read_only:
        raise ContactsNotEditable(f"You may view but not edit contacts {', '.join(map(str, read_only))}.",
                                  ids=read_only)
    merged_already = [pk for pk, c in locked.items() if c.merged_into_id is not None]
    if merged_already:
        raise Conflict(f"Already merged into another contact: {', '.join(map(str, merged_already))}.",
                       code="already_merged", ids=merged_already)
    primary = locked[primary_id]
    if primary.deleted_at is not None:
        raise Conflict("The primary contact is archived; restore it first.", code="archived")
    others = sorted((locked[pk] for pk in ids), key=lambda c: (c.updated_at, c.pk), reverse=True)
    before = changes.values(primary)
    before["tags"] = changes.tag_names([primary_id]).get(primary_id, [])
    before["sub_owner_ids"] = sorted(primary.sub_owners.values_list("pk", flat=True))

    # fields: the preferred contact's value, else the primary's, else the most recent non-empty
    for name in FILLED:
        if name in prefer:
            value = getattr(locked[prefer[name]], name)
        elif _empty(getattr(primary, name)):
            value = next((getattr(c, name) for c in others if not _empty(getattr(c, name))), getattr(primary, name))
        else:
            continue
        setattr(primary, name, value)
    if primary.organization_id in every:
        primary.organization_id = None  # it was one of the merged contacts: not its own organization
    custom = dict(primary.custom_fields or {})
    for other in others:
        for code, value in (other.custom_fields or {}).items():
            custom.setdefault(code, value)
    primary.custom_fields = custom
    primary.visibility_ids = sorted({*primary.visibility_ids, *(i for c in others for i in c.visibility_ids or ())})

    other_ids = [c.pk for c in others]
    persons = Contact.objects.filter(workspace=workspace, organization_id__in=other_ids)
    person_ids = list(persons.order_by("id").values_list("id", flat=True))
    if person_ids and primary.type != Contact.Type.ORGANIZATION:
        raise field_error("ids", "The contacts merged have persons; only an organization can take them.",
                          code="not_an_organization")
    conversation_model = Contact._meta.get_field("conversations").related_model
    message_model = conversation_model._meta.get_field("messages").related_model
    conversations = conversation_model.objects.filter(workspace=workspace, contact_id__in=other_ids)
    conversation_ids = list(conversations.order_by("id").values_list("id", flat=True))
    moved = {
        "conversations": conversation_ids,
        "messages": message_model.objects.filter(conversation_id__in=conversation_ids).count() if conversation_ids else 0,
        "persons": person_ids,
        "tags": sorted(set(ContactTag.objects.filter(contact_id__in=other_ids).values_list("tag__tag", flat=True))
                       - set(before["tags"])),
        "sub_owner_ids": sorted(set(Contact.sub_owners.through.objects.filter(contact_id__in=other_ids)
                                    .values_list("user_id", flat=True)) - set(before["sub_owner_ids"])),
    }

    now = timezone.now()
    # The merged contacts first: archived, merged_into set, an external id the primary takes released.
    taken = primary.external_client_id if primary.external_client_id != before["external_client_id"] else None
    for other in others:
        other.deleted_at = other.deleted_at or now
        other.archived_by = other.archived_by or actor.archived_by[:20]
        other.merged_into_id = primary_id
        if taken and other.external_client_id == taken:
            other.external_client_id = None
        other.version += 1
        other.updated_at, other.updated_by, other.editor = now, actor.user, actor.stamp
    Contact.objects.bulk_update(others, ["deleted_at", "archived_by", "merged_into", "external_client_id", "version",
                                         "updated_at", "updated_by", "editor"])
    primary.version += 1
    primary.updated_at, primary.updated_by, primary.editor = now, actor.user, actor.stamp
    primary.save()
    # links: tags and sub-owners united, persons and conversations moved (one statement each)
    through = Contact.sub_owners.through
    ContactTag.objects.bulk_create(
        [ContactTag(contact_id=primary_id, tag_id=t) for t in
         set(ContactTag.objects.filter(contact_id__in=other_ids).values_list("tag_id", flat=True))],
        ignore_conflicts=True,
    )
    through.objects.bulk_create([through(contact_id=primary_id, user_id=u) for u in moved["sub_owner_ids"]],
                                ignore_conflicts=True)
    if person_ids:
        persons.update(organization_id=primary_id, version=F("version") + 1, updated_at=now, updated_by=actor.user,
                       editor=actor.stamp)
    if conversation_ids:
        open_status = conversation_model.Status.OPEN
        primary_open = conversation_model.objects.filter(contact_id=primary_id, status=open_status).values("integration_id")
        conversations.filter(status=open_status, integration_id__in=primary_open).update(
            status=conversation_model.Status.CLOSED, version=F("version") + 1)
        conversations.update(contact_id=primary_id, version=F("version") + 1)

    after = changes.values(primary)
    after["tags"] = sorted({*before["tags"], *moved["tags"]})
    after["sub_owner_ids"] = sorted({*before["sub_owner_ids"], *moved["sub_owner_ids"]})
    changed = changes.diff(before, after)
    events.record(workspace=workspace, actor=actor, type="contact.merged", subject_type=changes.SUBJECT,
                  subject_id=primary_id, version=primary.version,
                  data={"merged_ids": other_ids, "changes": changed, "moved": moved})
    events.record_many(workspace=workspace, actor=actor, type="contact.archived", subject_type=changes.SUBJECT, rows=[
        (c.pk, c.version, {"changes": {"merged_into_id": {"old": None, "new": primary_id},
                                       "deleted_at": {"old": None, "new": c.deleted_at}}}) for c in others
    ])
    if person_ids:
        events.record_many(workspace=workspace, actor=actor, type="contact.updated", subject_type=changes.SUBJECT,
                           rows=[(pk, None, {"changes": {"organization_id": {"new": primary_id}}})
                                 for pk in person_ids])
    return MergeResult(contact=primary, merged_ids=other_ids, changes=changed, moved=moved)


__all__ = ["MERGE_MAX", "MergeResult", "contact_merge"]
