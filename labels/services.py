"""Writes for contact labels: the workspace defaults, create, update, delete."""
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from crm.actors import Actor
from crm.errors import Conflict, field_error
from crm.models import Workspace
from crm.services import lock_version, model_update, saved_or
from events import services as events

from .models import ContactLabel

# The four labels every workspace starts with (seed 003, "Get Contact Labels").
DEFAULT_LABELS = (
    {"name": "No label", "color": "", "icon": "", "is_default": True},
    {"name": "Cold lead", "color": "blue", "icon": "ac_unit"},
    {"name": "Warm lead", "color": "orange", "icon": "brightness_low"},
    {"name": "Hot lead", "color": "deep-orange", "icon": "whatshot"},
)

UNIQUE_NAME_MESSAGE = "A label with this name already exists in the workspace (names are case-insensitive)."


def labels_create_defaults(*, workspace: Workspace) -> None:
    """Creates the default labels the workspace lacks; idempotent (a name or
    default that already exists is skipped by the unique constraints)."""
    now = timezone.now()
    ContactLabel.objects.bulk_create(
        [ContactLabel(workspace=workspace, created_at=now, updated_at=now, **spec) for spec in DEFAULT_LABELS],
        ignore_conflicts=True,
    )


def label_get_default(*, workspace: Workspace) -> ContactLabel:
    """The workspace's default label ("No label"), created if it is missing."""
    label = ContactLabel.objects.filter(workspace=workspace, is_default=True).first()
    if label is None:
        labels_create_defaults(workspace=workspace)
        label = ContactLabel.objects.get(workspace=workspace, is_default=True)
    return label


def _name_taken(*, workspace: Workspace, name: str, exclude_id: int | None = None) -> bool:
    queryset = ContactLabel.objects.filter(workspace=workspace, name__iexact=name)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return queryset.exists()


def _name_duplicate():
    return field_error("name", UNIQUE_NAME_MESSAGE, code="unique")


@transaction.atomic
def label_create(
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    color: str = "",
    icon: str = "",
    owner=None,
) -> ContactLabel:
    name = name.strip()
    if _name_taken(workspace=workspace, name=name):
        raise _name_duplicate()
    now = timezone.now()
    label = ContactLabel(
        workspace=workspace, name=name, color=color, icon=icon, owner=owner,
        created_at=now, updated_at=now, created_by=actor.user, updated_by=actor.user,
    )
    # The savepoint turns a concurrent duplicate into a 400 instead of a 500.
    with saved_or(_name_duplicate()):
        label.save()
    events.record_object(workspace=workspace, actor=actor, type="label.created", subject_type="label",
                         instance=label, fields=LABEL_FIELDS)
    return label


LABEL_UPDATABLE_FIELDS = ("name", "color", "icon", "owner")
LABEL_FIELDS = (*LABEL_UPDATABLE_FIELDS, "is_default")


@transaction.atomic
def label_update(
    *, workspace: Workspace, actor: Actor, label: ContactLabel, changes: dict, expected_version: int | None = None
) -> ContactLabel:
    """Applies `changes` (a subset of name, color, icon, owner)."""
    changes = dict(changes)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if _name_taken(workspace=workspace, name=changes["name"], exclude_id=label.pk):
            raise _name_duplicate()
    before = events.snapshot(label, changes)
    model_update(instance=label, changes=changes, updatable=LABEL_UPDATABLE_FIELDS, actor=actor,
                 expected_version=expected_version, duplicate=_name_duplicate())
    events.record_changed(workspace=workspace, actor=actor, type="label.updated", subject_type="label",
                          instance=label, before=before)
    return label


@transaction.atomic
def label_delete(*, workspace: Workspace, actor: Actor, label: ContactLabel, expected_version: int | None = None) -> int:
    """Deletes a label after moving its contacts to the default label (one
    UPDATE, same transaction: contact.label is PROTECT). Returns how many
    contacts moved. The default label itself cannot be deleted (409)."""
    if label.is_default:
        raise Conflict(
            f'"{label.name}" is the workspace\'s default label and cannot be deleted; '
            "contacts fall back to it when their label is deleted.",
            code="default_label",
        )
    # The row lock makes a concurrent contact write that points at this label
    # (it takes a key-share lock on it) wait, so none slips in before the delete.
    lock_version(label, expected_version)
    default = label_get_default(workspace=workspace)
    # Bump the version and stamp so the change shows up to syncs and ETags.
    moving = list(label.contacts.values_list("pk", "version"))  # events: who moves, at which version
    moved = label.contacts.update(
        label=default, updated_at=timezone.now(), updated_by=actor.user, editor=actor.stamp,
        version=F("version") + 1,
    )
    events.record_object(workspace=workspace, actor=actor, type="label.deleted", subject_type="label",
                         instance=label, fields=LABEL_FIELDS, data={"contacts_moved_to": default.pk})
    # events: the contacts that moved to the default label
    events.record_many(workspace=workspace, actor=actor, type="contact.updated", subject_type="contact", rows=[
        (pk, version + 1, {"changes": {"label_id": {"old": label.pk, "new": default.pk}}}) for pk, version in moving])
    label.delete()
    return moved
