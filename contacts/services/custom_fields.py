"""Custom contact field definitions: codes like D-0000013 are generated, a
shortName is unique in the workspace, a dropdown lists its options."""
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from crm.actors import Actor
from crm.errors import field_error
from crm.models import Workspace
from crm.services import lock_version, model_update, saved_or

from ..models import CustomFieldDefinition

UPDATABLE = ("label", "short_name", "type", "options", "module")


def _short_name_taken():
    return field_error("shortName", "A custom field with this shortName already exists.", code="unique")


def _next_code(workspace: Workspace) -> str:
    # The workspace row lock serializes code generation per workspace.
    Workspace.objects.select_for_update().filter(pk=workspace.pk).exists()
    codes = CustomFieldDefinition.objects.filter(workspace=workspace).values_list("code", flat=True)
    numbers = [int(c[2:]) for c in codes if c.startswith("D-") and c[2:].isdigit()]
    return f"D-{max(numbers, default=0) + 1:07d}"


def _check(workspace: Workspace, *, short_name: str, type: str, options: list, exclude_id: int | None = None) -> None:
    taken = CustomFieldDefinition.objects.filter(workspace=workspace, short_name=short_name)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise _short_name_taken()
    if type == CustomFieldDefinition.Type.DROPDOWN and not options:
        raise field_error("options", "A dropdown needs at least one option.", code="required")


@transaction.atomic
def custom_field_create(
    *,
    workspace: Workspace,
    actor: Actor,
    label: str,
    short_name: str = "",
    type: str = CustomFieldDefinition.Type.TEXT,
    options: Iterable = (),
    module: str = "",
) -> CustomFieldDefinition:
    short_name = (short_name or label).strip()
    options = [str(o) for o in options]
    _check(workspace, short_name=short_name, type=type, options=options)
    now = timezone.now()
    definition = CustomFieldDefinition(
        workspace=workspace, code=_next_code(workspace), label=label.strip(), short_name=short_name,
        type=type, options=options, module=module or "", created_by=actor.user, updated_by=actor.user,
        created_at=now, updated_at=now,
    )
    with saved_or(_short_name_taken()):
        definition.save()
    return definition


@transaction.atomic
def custom_field_update(
    *, workspace: Workspace, actor: Actor, definition: CustomFieldDefinition, changes: dict,
    expected_version: int | None = None,
) -> CustomFieldDefinition:
    changes = {name: value.strip() if isinstance(value, str) else value for name, value in changes.items()}
    if "options" in changes:
        changes["options"] = [str(o) for o in changes["options"]]
    if "module" in changes:
        changes["module"] = changes["module"] or ""
    after = {name: changes.get(name, getattr(definition, name)) for name in ("short_name", "type", "options")}
    _check(workspace, **after, exclude_id=definition.pk)
    return model_update(instance=definition, changes=changes, updatable=UPDATABLE, actor=actor,
                        expected_version=expected_version, duplicate=_short_name_taken())


@transaction.atomic
def custom_field_delete(*, workspace: Workspace, actor: Actor, definition: CustomFieldDefinition,
                        expected_version: int | None = None) -> None:
    """Deletes the definition; stored values under its code are no longer
    returned (contacts keep them until next written)."""
    lock_version(definition, expected_version)
    definition.delete()
