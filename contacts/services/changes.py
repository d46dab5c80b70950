"""What a contact write changed, for its event (events.services): the
tracked values of a contact before and after, and their difference as
{field: {"old": ..., "new": ...}}. Tags are their names; sub-owners their ids."""
from events import services as events

from ..models import Contact, ContactTag
from .rules import SCALAR_FIELDS

TRACKED = (*SCALAR_FIELDS, "label_id", "stage_id", "owner_id", "default_agent_id", "organization_id",
           "custom_fields", "deleted_at")
SUBJECT = "contact"


def values(contact: Contact) -> dict:
    return {name: getattr(contact, name) for name in TRACKED}


def tag_names(contact_ids) -> dict[int, list[str]]:
    """{contact id: its tag names, sorted}, in one query."""
    names: dict[int, list[str]] = {}
    for contact_id, tag in ContactTag.objects.filter(contact_id__in=list(contact_ids)).values_list(
            "contact_id", "tag__tag").order_by("contact_id", "tag__tag"):
        names.setdefault(contact_id, []).append(tag)
    return names


def diff(before: dict, after: dict) -> dict:
    return {name: {"old": before.get(name), "new": after[name]} for name in after if before.get(name) != after[name]}


def created_data(contact: Contact, tags=None, sub_owner_ids=None) -> dict:
    """A new contact's non-empty values."""
    data = {name: value for name, value in values(contact).items() if value not in (None, "", [], {}, False)}
    data["type"] = contact.type
    if tags:
        data["tags"] = sorted(tag.tag for tag in tags)
    if sub_owner_ids:
        data["sub_owner_ids"] = sorted(sub_owner_ids)
    return {"contact": data}


def record_created(workspace, actor, contact: Contact, tags=None, sub_owner_ids=None) -> None:
    events.record(workspace=workspace, actor=actor, type="contact.created", subject_type=SUBJECT,
                  subject_id=contact.pk, version=contact.version, data=created_data(contact, tags, sub_owner_ids))


def record_updated(workspace, actor, contact: Contact, changes: dict, type: str = "contact.updated") -> None:
    events.record(workspace=workspace, actor=actor, type=type, subject_type=SUBJECT, subject_id=contact.pk,
                  version=contact.version, data={"changes": changes})
