"""Checks of what a contact write names in its workspace: labels, stages,
members, organizations, persons, tags and custom field definitions. An id
of another workspace, or of a contact the actor may not see, is the same
"does not exist" as an unknown id, so a reference reveals nothing."""
from collections.abc import Iterable, Mapping

from django.db.models.functions import Lower

from crm.actors import Actor
from crm.errors import ErrorItem, ValidationFailed, field_error
from crm.models import Membership, Workspace
from labels.models import ContactLabel
from labels.services import label_get_default
from tags.models import Tag
from tags.services import stage_validate, tags_resolve

from ..models import Contact, CustomFieldDefinition
from . import access
from .rules import CustomFieldValue, Violation, custom_field_value


def check_members(workspace: Workspace, wanted: Mapping[str, Iterable[int]]) -> None:
    """One query for every user id named (owner, agent, sub-owners, visibility)."""
    wanted = {field: list(ids) for field, ids in wanted.items() if ids}
    all_ids = {i for ids in wanted.values() for i in ids}
    if not all_ids:
        return
    members = set(Membership.objects.filter(workspace=workspace, user_id__in=all_ids).values_list("user_id", flat=True))
    for field, ids in wanted.items():
        missing = [i for i in ids if i not in members]
        if missing:
            raise field_error(field, f"Not a member of this workspace: {', '.join(map(str, missing))}.",
                              code="does_not_exist")


def label(workspace: Workspace, label_id: int | None) -> ContactLabel:
    """The label `label_id` of the workspace; None: the workspace's default label."""
    if label_id is None:
        return label_get_default(workspace=workspace)
    found = ContactLabel.objects.filter(workspace=workspace, pk=label_id).first()
    if found is None:
        raise field_error("label_id", f"No label with id {label_id} in this workspace.", code="does_not_exist")
    return found


def stage(workspace: Workspace, stage_id: int | None):
    return None if stage_id is None else stage_validate(workspace=workspace, stage_id=stage_id)


def organization(workspace: Workspace, actor: Actor, organization_id: int, contact: Contact | None) -> Contact:
    if contact is not None and contact.pk == organization_id:
        raise field_error("organization_id", "A contact cannot be its own organization.")
    # Keeping the organization a contact already has needs no visibility (a PUT of what GET returned).
    unchanged = contact is not None and contact.organization_id == organization_id
    candidates = (
        Contact.objects.filter(workspace=workspace) if unchanged
        else access.visible_contacts(workspace=workspace, actor=actor)
    )
    found = candidates.filter(pk=organization_id).only("id", "type").first()
    if found is None:
        raise field_error("organization_id", f"No contact with id {organization_id} in this workspace.",
                          code="does_not_exist")
    if found.type != Contact.Type.ORGANIZATION:
        raise field_error("organization_id", f"Contact {organization_id} is not an organization.")
    return found


def organization_named(workspace: Workspace, actor: Actor, name: str) -> Contact | None:
    """The oldest live organization named `name` (ignoring case) the actor may see."""
    return (
        access.visible_contacts(workspace=workspace, actor=actor)
        .alias(_name_lower=Lower("name"))  # contact_name_idx
        .filter(_name_lower=name.lower(), type=Contact.Type.ORGANIZATION, deleted_at__isnull=True)
        .order_by("id").only("id", "type").first()
    )


def stage_named(workspace: Workspace, actor: Actor, name: str):
    """The clientStage tag named `name` (ignoring case), created when absent."""
    return tags_resolve(workspace=workspace, actor=actor, values=[name], types=[Tag.Type.CLIENT_STAGE],
                        create_type=Tag.Type.CLIENT_STAGE, field="stage")[0]


def persons(workspace: Workspace, actor: Actor, person_ids: list[int]) -> None:
    """Persons an organization attaches must be person contacts the actor may
    edit (attaching writes them): unknown or hidden ones are a 400, read-only
    ones a 403."""
    queryset = access.visible_contacts(workspace=workspace, actor=actor).filter(
        pk__in=person_ids, type=Contact.Type.PERSON
    )
    if actor.restricted:
        found = dict(queryset.annotate(_editable=access.editable_annotation(actor)).values_list("id", "_editable"))
    else:
        found = dict.fromkeys(queryset.values_list("id", flat=True), True)
    missing = [i for i in person_ids if i not in found]
    if missing:
        raise field_error("person_ids", f"No person contacts with ids {missing} in this workspace.",
                          code="does_not_exist")
    access.raise_if_read_only(found)


def tags(workspace: Workspace, actor: Actor, values: list[str], field: str = "tags"):
    """The client/common tags of `values`, unknown ones created as client tags."""
    return tags_resolve(workspace=workspace, actor=actor, values=values, field=field)


def custom_fields(workspace: Workspace, given: Iterable[CustomFieldValue], current: dict) -> dict:
    """`current` ({code: value}) with the `given` values set (None clears),
    each checked against its definition (by code or shortName)."""
    definitions = list(CustomFieldDefinition.objects.filter(workspace=workspace))
    by_key = {**{d.short_name: d for d in definitions}, **{d.code: d for d in definitions}}
    result = dict(current)
    errors = []
    for item in given:
        definition = by_key.get(item.key)
        if definition is None:
            errors.append(ErrorItem("does_not_exist", f"Unknown custom field {item.key!r}.", item.field))
            continue
        try:
            value = custom_field_value(definition, item.value)
        except Violation as violation:
            errors.append(ErrorItem(violation.code, violation.message, f"{item.field}.{definition.short_name}"))
            continue
        if value is None:
            result.pop(definition.code, None)
        else:
            result[definition.code] = value
    if errors:
        raise ValidationFailed(errors=errors)
    return result
