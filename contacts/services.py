"""Writes for contacts: create, update, upsert, archive/restore/erase, bulk
update, and custom field definitions.

Every function takes the workspace first and accepts wire-level values
(`label_id`, `tags` as strings, raw phone text...): the services normalize
and check them against the workspace themselves, so the API, the CSV import
and messaging share one code path. A normalized value passes again
unchanged (normalize_phone of an E.164 number is the number).

Read-only fields (`id`, `tenant_id`, `created_at`, `created_by`, `version`,
`deleted_at`, `archived_by`, `view_only`, the `*_details` objects...) are not
in WRITABLE_FIELDS and are ignored wherever they are sent.
"""
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import F, ProtectedError
from django.db.models.functions import Lower
from django.utils import timezone

from crm.errors import Conflict, DomainError, ObjectsNotFound, PreconditionFailed, field_error
from crm.models import Membership, Workspace

from .models import Contact, ContactTag, CustomFieldDefinition
from .selectors import AnyOf
from .validators import normalize_email, normalize_phone

SYSTEM = "SYSTEM"
BULK_UPDATE_MAX = 10_000
EXTERNAL_ID_TAKEN = "A contact with this external_client_id already exists in the workspace."

# Plain columns a client may write, with the value PUT resets them to when omitted.
SCALAR_DEFAULTS = {
    "type": Contact.Type.PERSON,
    "name": "",
    "surname": "",
    "local_name": "",
    "email": "",
    "country_code": "",
    "phone": "",
    "secondary_phone": "",
    "address": "",
    "city": "",
    "country": "",
    "code": "",
    "title": "",
    "note": "",
    "logo": "",
    "external_client_id": None,
    "visibility_type": Contact.Visibility.PUBLIC,
    "visibility_ids": [],
    "integration_meta": {},
    "disabled": False,
}
RELATION_FIELDS = ("label_id", "stage_id", "owner_id", "default_agent_id", "organization_id")
WRITABLE_FIELDS = (
    *SCALAR_DEFAULTS,
    *RELATION_FIELDS,
    "tags",
    "sub_owner_ids",
    "person_ids",
    "person_names",
    "custom_field",
    "c_field",
)
_TEXT_FIELDS = {
    name for name in SCALAR_DEFAULTS if isinstance(SCALAR_DEFAULTS[name], str) or name == "external_client_id"
}


# -- value checks ------------------------------------------------------------
def _text(field: str, value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise field_error(field, "Not a valid string.")
    value = value.strip()
    max_length = Contact._meta.get_field(field).max_length
    if max_length and len(value) > max_length:
        raise field_error(field, f"Ensure this field has no more than {max_length} characters.", code="max_length")
    return value


def _id(field: str, value) -> int | None:
    """An id from the wire: None or 0 mean "none" (the Deskera zero value)."""
    if value is None or value == "" or value == 0:
        return None
    if isinstance(value, bool):
        raise field_error(field, "A valid integer is required.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise field_error(field, "A valid integer is required.") from None
    if number < 0:
        raise field_error(field, "A valid integer is required.")
    return number


def _ids(field: str, value) -> list[int]:
    """A list of ids, or a comma-separated string of them (seed 003 types them as string)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, (list, tuple)):
        raise field_error(field, "Expected a list of ids.", code="not_a_list")
    result = {}
    for item in value:
        number = _id(field, item.strip() if isinstance(item, str) else item)
        if number is None:
            raise field_error(field, "Expected a list of ids.")
        result[number] = None
    return list(result)


def _strings(field: str, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise field_error(field, "Expected a list of strings.", code="not_a_list")
    return [v.strip() for v in value if v.strip()]


def _choice(field: str, value, choices) -> str:
    if value not in choices.values:
        raise field_error(field, f'"{value}" is not a valid choice ({", ".join(choices.values)}).', code="invalid_choice")
    return value


# -- relations ---------------------------------------------------------------
def _check_members(workspace: Workspace, wanted: dict[str, list[int]]) -> None:
    """One query for every user id named in the request (owner, agent, sub-owners...)."""
    all_ids = {i for ids in wanted.values() for i in ids}
    if not all_ids:
        return
    members = set(
        Membership.objects.filter(workspace=workspace, user_id__in=all_ids).values_list("user_id", flat=True)
    )
    for field, ids in wanted.items():
        missing = [i for i in ids if i not in members]
        if missing:
            raise field_error(field, f"Not a member of this workspace: {', '.join(map(str, missing))}.", code="does_not_exist")


def _label(workspace: Workspace, label_id: int | None):
    from labels.models import ContactLabel
    from labels.services import label_get_default

    if label_id is None:
        return label_get_default(workspace=workspace)
    label = ContactLabel.objects.filter(workspace=workspace, pk=label_id).first()
    if label is None:
        raise field_error("label_id", f"No label with id {label_id} in this workspace.", code="does_not_exist")
    return label


def _referable(workspace: Workspace, user, role: str | None):
    """The contacts a write may name (organization_id, person_ids): those the
    caller can see; every contact of the workspace for jobs (role None). A
    hidden one answers like an unknown id, so a reference reveals nothing."""
    if role is None:
        return Contact.objects.filter(workspace=workspace)
    from . import selectors

    return selectors.contacts_queryset(workspace=workspace, user=user, role=role)


def _organization(workspace: Workspace, organization_id: int, contact: Contact | None, user, role: str | None):
    if contact is not None and contact.pk == organization_id:
        raise field_error("organization_id", "A contact cannot be its own organization.")
    # Keeping the organization a contact already has needs no visibility (a PUT of what GET returned).
    unchanged = contact is not None and contact.organization_id == organization_id
    candidates = Contact.objects.filter(workspace=workspace) if unchanged else _referable(workspace, user, role)
    organization = candidates.filter(pk=organization_id).only("id", "type").first()
    if organization is None:
        raise field_error("organization_id", f"No contact with id {organization_id} in this workspace.", code="does_not_exist")
    if organization.type != Contact.Type.ORGANIZATION:
        raise field_error("organization_id", f"Contact {organization_id} is not an organization.")
    return organization


def _tags(workspace: Workspace, user, values: list[str], field: str = "tags"):
    from tags.services import tags_resolve

    return tags_resolve(workspace=workspace, values=values, user=user, field=field)


# -- custom fields -----------------------------------------------------------
def custom_field_value(definition: CustomFieldDefinition, value, field: str = "custom_field"):
    """The stored form of a custom field value, checked against its definition
    ("" and None clear it). Shared with imports."""
    if value is None or value == "":
        return None
    kind = definition.type
    where = f"{field}.{definition.short_name}"
    if kind == CustomFieldDefinition.Type.TEXT:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise field_error(where, "Expected text.")
        value = str(value)
        if len(value) > 2000:
            raise field_error(where, "At most 2000 characters.", code="max_length")
        return value
    if kind == CustomFieldDefinition.Type.NUMBER:
        if isinstance(value, bool):
            raise field_error(where, "Expected a number.")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise field_error(where, "Expected a number.") from None
        if not number.is_finite():
            raise field_error(where, "Expected a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldDefinition.Type.DATE:
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise field_error(where, "Expected a date as YYYY-MM-DD.") from None
    if kind == CustomFieldDefinition.Type.DROPDOWN:
        if str(value) not in [str(o) for o in definition.options]:
            raise field_error(where, f'"{value}" is not one of {definition.options}.', code="invalid_choice")
        return str(value)
    if kind == CustomFieldDefinition.Type.CHECKBOX:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise field_error(where, "Expected true or false.")
    return value


def _custom_fields(workspace: Workspace, items, c_field, current: dict) -> dict:
    """Merges `custom_field` [{code|shortName, value}] and `c_field`
    {shortName: value} into `current` ({code: value})."""
    definitions = list(CustomFieldDefinition.objects.filter(workspace=workspace))
    by_code = {d.code: d for d in definitions}
    by_short = {d.short_name: d for d in definitions}
    result = dict(current)
    pairs = []
    if items is not None:
        if not isinstance(items, list):
            raise field_error("custom_field", "Expected a list of {code, value}.", code="not_a_list")
        for item in items:
            if not isinstance(item, dict):
                raise field_error("custom_field", "Expected a list of {code, value}.")
            key = item.get("code") or item.get("shortName")
            definition = by_code.get(key) or by_short.get(key)
            if definition is None:
                raise field_error("custom_field", f"Unknown custom field {key!r}.", code="does_not_exist")
            pairs.append((definition, item.get("value"), "custom_field"))
    if c_field is not None:
        if not isinstance(c_field, dict):
            raise field_error("c_field", "Expected an object {shortName: value}.")
        for key, value in c_field.items():
            definition = by_short.get(key) or by_code.get(key)
            if definition is None:
                raise field_error("c_field", f"Unknown custom field {key!r}.", code="does_not_exist")
            pairs.append((definition, value, "c_field"))
    for definition, value, field in pairs:
        value = custom_field_value(definition, value, field)
        if value is None:
            result.pop(definition.code, None)
        else:
            result[definition.code] = value
    return result


# -- preparing a write -------------------------------------------------------
class _Prepared:
    def __init__(self):
        self.fields: dict = {}  # model attribute -> value
        self.tags = None  # list[Tag] to set, or None to leave
        self.sub_owner_ids = None
        self.person_ids: list[int] = []
        self.person_names: list[str] = []


def _prepare(
    workspace: Workspace, user, data: dict, contact: Contact | None, partial: bool, role: str | None = None
) -> _Prepared:
    """`role`: the caller's workspace role; a member may only name contacts
    they see as organization_id, and persons they may edit as person_ids
    (attaching writes the person). None (jobs, messaging): no visibility check."""
    if not isinstance(data, dict):
        raise DomainError("Expected a JSON object.", code="invalid")
    prepared = _Prepared()
    fields = prepared.fields
    for name, default in SCALAR_DEFAULTS.items():
        if name in data:
            value = data[name]
        elif not partial:
            value = default
        else:
            continue
        if name in _TEXT_FIELDS:
            value = _text(name, value)
        fields[name] = value

    if "type" in fields:
        _choice("type", fields["type"], Contact.Type)
    if "visibility_type" in fields:
        _choice("visibility_type", fields["visibility_type"] or Contact.Visibility.PUBLIC, Contact.Visibility)
        fields["visibility_type"] = fields["visibility_type"] or Contact.Visibility.PUBLIC
    if "external_client_id" in fields:
        fields["external_client_id"] = fields["external_client_id"] or None
    if "integration_meta" in fields:
        if fields["integration_meta"] is None:
            fields["integration_meta"] = {}
        if not isinstance(fields["integration_meta"], dict):
            raise field_error("integration_meta", "Expected an object.")
    if "disabled" in fields and not isinstance(fields["disabled"], bool):
        raise field_error("disabled", "Must be a valid boolean.")
    if "email" in fields:
        try:
            fields["email"] = normalize_email(fields["email"])
        except ValueError as exc:
            raise field_error("email", str(exc)) from None
    country_code = fields.get("country_code", contact.country_code if contact else "")
    for name in ("phone", "secondary_phone"):
        if name in fields:
            try:
                fields[name] = normalize_phone(
                    fields[name], country_code=country_code, region=workspace.default_phone_region
                )
            except ValueError as exc:
                raise field_error(name, str(exc)) from None

    members: dict[str, list[int]] = {}
    if "visibility_ids" in fields:
        fields["visibility_ids"] = _ids("visibility_ids", fields["visibility_ids"])
        members["visibility_ids"] = fields["visibility_ids"]
    for name in ("owner_id", "default_agent_id"):
        if name in data:
            fields[name] = _id(name, data[name])
            if fields[name] is not None:
                members[name] = [fields[name]]
        elif not partial and name == "default_agent_id":
            fields[name] = None
    if "sub_owner_ids" in data or not partial:
        prepared.sub_owner_ids = _ids("sub_owner_ids", data.get("sub_owner_ids"))
        members["sub_owner_ids"] = prepared.sub_owner_ids
    _check_members(workspace, members)

    if "label_id" in data or contact is None or not partial:
        fields["label"] = _label(workspace, _id("label_id", data.get("label_id")))
    if "stage_id" in data or not partial:
        stage_id = _id("stage_id", data.get("stage_id"))
        if stage_id is None:
            fields["stage"] = None
        else:
            from tags.services import stage_validate

            fields["stage"] = stage_validate(workspace=workspace, stage_id=stage_id)
    if "organization_id" in data or not partial:
        organization_id = _id("organization_id", data.get("organization_id"))
        fields["organization"] = (
            None if organization_id is None else _organization(workspace, organization_id, contact, user, role)
        )
    if "tags" in data or not partial:
        prepared.tags = _tags(workspace, user, _strings("tags", data.get("tags")))

    prepared.person_ids = _ids("person_ids", data.get("person_ids"))
    prepared.person_names = _strings("person_names", data.get("person_names"))
    contact_type = fields.get("type", contact.type if contact else Contact.Type.PERSON)
    if (prepared.person_ids or prepared.person_names) and contact_type != Contact.Type.ORGANIZATION:
        field = "person_ids" if prepared.person_ids else "person_names"
        raise field_error(field, "Only an organization has persons.")
    if prepared.person_ids:
        from . import selectors

        persons = _referable(workspace, user, role).filter(pk__in=prepared.person_ids, type=Contact.Type.PERSON)
        if role is not None and not selectors.is_admin(role):
            persons = persons.annotate(_editable=selectors.editable_annotation(user=user, role=role))
            found = dict(persons.values_list("id", "_editable"))
        else:
            found = dict.fromkeys(persons.values_list("id", flat=True), True)
        missing = [i for i in prepared.person_ids if i not in found]
        if missing:
            raise field_error("person_ids", f"No person contacts with ids {missing} in this workspace.", code="does_not_exist")
        _raise_if_read_only(found)

    if "custom_field" in data or "c_field" in data or not partial:
        current = contact.custom_fields if (contact is not None and partial) else {}
        fields["custom_fields"] = _custom_fields(workspace, data.get("custom_field"), data.get("c_field"), current)
    return prepared


def _apply_relations(workspace: Workspace, user, contact: Contact, prepared: _Prepared, created: bool) -> None:
    if prepared.tags is not None:
        if not created:
            ContactTag.objects.filter(contact=contact).exclude(tag__in=prepared.tags).delete()
        ContactTag.objects.bulk_create(
            [ContactTag(contact=contact, tag=tag) for tag in prepared.tags], ignore_conflicts=not created
        )
    if prepared.sub_owner_ids is not None:
        through = Contact.sub_owners.through
        if not created:
            through.objects.filter(contact=contact).exclude(user_id__in=prepared.sub_owner_ids).delete()
        through.objects.bulk_create(
            [through(contact=contact, user_id=uid) for uid in prepared.sub_owner_ids], ignore_conflicts=not created
        )
    if prepared.person_ids:
        Contact.objects.filter(workspace=workspace, pk__in=prepared.person_ids).update(
            organization=contact, updated_at=timezone.now(), updated_by=user, version=F("version") + 1
        )
    if prepared.person_names:
        now = timezone.now()
        Contact.objects.bulk_create(
            [
                Contact(
                    workspace=workspace, name=name, type=Contact.Type.PERSON, organization=contact,
                    label_id=contact.label_id, owner=contact.owner, visibility_type=contact.visibility_type,
                    created_by=user, updated_by=user, created_at=now, updated_at=now,
                )
                for name in prepared.person_names
            ]
        )


class ContactsNotEditable(DomainError):
    status_code = 403
    default_code = "permission_denied"
    default_detail = "You may view but not edit this contact."


class _ExternalIdTaken(Exception):
    pass


def _save(contact: Contact, **kwargs) -> None:
    # The savepoint keeps the outer transaction usable after a unique violation.
    try:
        with transaction.atomic():
            contact.save(**kwargs)
    except IntegrityError as exc:
        if "uniq_contact_external_id" in str(exc) or "external_client_id" in str(exc):
            raise _ExternalIdTaken() from None
        raise


# -- create / update ---------------------------------------------------------
def _create(workspace: Workspace, user, data: dict, role: str | None = None) -> Contact:
    prepared = _prepare(workspace, user, data, None, partial=True, role=role)
    now = timezone.now()
    fields = prepared.fields
    if "owner_id" not in fields:
        fields["owner_id"] = getattr(user, "pk", None)
    contact = Contact(workspace=workspace, created_by=user, updated_by=user, created_at=now, updated_at=now, **fields)
    _save(contact)
    _apply_relations(workspace, user, contact, prepared, created=True)
    return contact


@transaction.atomic
def contact_create(
    *, workspace: Workspace, user: AbstractBaseUser | None, data: dict, role: str | None = None
) -> Contact:
    """Creates a contact from wire fields. No label: the workspace's default
    label; no owner: the creating user. Duplicate external_client_id: 409.
    `role` (API callers): contacts named must be visible to them (see _prepare)."""
    try:
        return _create(workspace, user, data, role)
    except _ExternalIdTaken:
        raise Conflict(EXTERNAL_ID_TAKEN, code="external_client_id_taken") from None


def _check_version(contact: Contact, expected_version: int | None) -> None:
    if expected_version is not None and contact.version != expected_version:
        raise PreconditionFailed()


def _lock(workspace: Workspace, contact: Contact) -> Contact:
    return Contact.objects.select_for_update().get(workspace=workspace, pk=contact.pk)


@transaction.atomic
def contact_update(
    *,
    workspace: Workspace,
    user: AbstractBaseUser | None,
    contact: Contact,
    data: dict,
    partial: bool = True,
    expected_version: int | None = None,
    role: str | None = None,
) -> Contact:
    """PATCH (partial) or PUT (partial=False: every writable field omitted
    goes back to its default, except owner_id which is kept). The row is
    locked, so `expected_version` (from If-Match) is compared atomically."""
    locked = _lock(workspace, contact)
    _check_version(locked, expected_version)
    return _update_locked(workspace, user, locked, data, partial, role)


def _update_locked(
    workspace: Workspace, user, locked: Contact, data: dict, partial: bool, role: str | None = None
) -> Contact:
    prepared = _prepare(workspace, user, data, locked, partial, role)
    for name, value in prepared.fields.items():
        setattr(locked, name, value)
    locked.version += 1
    locked.updated_at = timezone.now()
    locked.updated_by = user
    try:
        _save(locked)
    except _ExternalIdTaken:
        raise Conflict(EXTERNAL_ID_TAKEN, code="external_client_id_taken") from None
    _apply_relations(workspace, user, locked, prepared, created=False)
    return locked


def contact_upsert(
    *, workspace: Workspace, user: AbstractBaseUser | None, data: dict, role: str | None = None
) -> tuple[Contact, bool]:
    """Creates or updates (partially) the contact with data["external_client_id"];
    returns (contact, created). With a member's `role`, updating a contact
    the member may not edit is a 403 (jobs and messaging pass no role). Safe under concurrency: the insert runs in a
    savepoint against UNIQUE(workspace, external_client_id); the loser of a
    race gets the unique violation, re-reads the winner's row locked, and
    updates it. An archived contact is restored by the upsert: the caller
    writes it as a live record, and no second one can take its id."""
    external_id = _text("external_client_id", data.get("external_client_id") if isinstance(data, dict) else None)
    if not external_id:
        raise field_error("external_client_id", "This field is required.", code="required")
    data = {**data, "external_client_id": external_id}
    with transaction.atomic():
        existing = (
            Contact.objects.select_for_update().filter(workspace=workspace, external_client_id=external_id).first()
        )
        if existing is None:
            try:
                return _create(workspace, user, data, role), True
            except _ExternalIdTaken:
                existing = Contact.objects.select_for_update().get(workspace=workspace, external_client_id=external_id)
        if role is not None and role != Membership.Role.ADMIN:
            from . import selectors

            if not selectors.contact_access(workspace=workspace, user=user, role=role, ids=[existing.pk]).get(existing.pk):
                raise ContactsNotEditable()
        existing.deleted_at, existing.archived_by = None, ""
        return _update_locked(workspace, user, existing, data, partial=True, role=role), False


# -- archive / restore / erase -----------------------------------------------
@transaction.atomic
def contact_archive(
    *,
    workspace: Workspace,
    contact: Contact,
    archived_by: str,
    user: AbstractBaseUser | None = None,
    expected_version: int | None = None,
) -> Contact:
    """Archives (soft-deletes): `deleted_at` now, `archived_by` a user id or
    SYSTEM, `updated_by` the acting user (None for jobs). Archiving an
    archived contact changes nothing."""
    locked = _lock(workspace, contact)
    _check_version(locked, expected_version)
    if locked.deleted_at is None:
        locked.deleted_at = timezone.now()
        locked.archived_by = str(archived_by)[:20]
        locked.updated_at = locked.deleted_at
        locked.updated_by = user
        locked.version += 1
        locked.save(update_fields=["deleted_at", "archived_by", "updated_at", "updated_by", "version"])
    return locked


@transaction.atomic
def contact_restore(
    *, workspace: Workspace, contact: Contact, user: AbstractBaseUser | None = None, expected_version: int | None = None
) -> Contact:
    locked = _lock(workspace, contact)
    _check_version(locked, expected_version)
    if locked.deleted_at is not None:
        locked.deleted_at = None
        locked.archived_by = ""
        locked.updated_at = timezone.now()
        locked.updated_by = user
        locked.version += 1
        locked.save(update_fields=["deleted_at", "archived_by", "updated_at", "updated_by", "version"])
    return locked


@transaction.atomic
def contact_erase(*, workspace: Workspace, contact: Contact, expected_version: int | None = None) -> None:
    """Deletes the contact for good (its tags links go with it; its persons
    lose their organization)."""
    locked = _lock(workspace, contact)
    _check_version(locked, expected_version)
    try:
        with transaction.atomic():
            locked.delete()
    except ProtectedError:
        raise Conflict("Other records still refer to this contact; archive it instead.", code="protected") from None


# -- bulk update -------------------------------------------------------------
BULK_FIELDS = ("label_id", "owner_id", "visibility_type", "visibility_ids", "stage_id", "tags_add", "tags_remove")


@transaction.atomic
def contact_bulk_update(
    *,
    workspace: Workspace,
    user: AbstractBaseUser | None,
    ids: Sequence[int],
    changes: dict,
    role: str | None = Membership.Role.ADMIN,
) -> int:
    """Applies `changes` (BULK_FIELDS; an absent or 0 id leaves the field as
    it is, null clears stage/owner) to every contact of `ids`, all or nothing:
    ids not in the workspace (or not visible to a member) are a 404 listing
    them, visible but not editable ones a 403. The scalar fields, version and
    stamps change in one UPDATE; tags in one INSERT and one DELETE."""
    from . import selectors

    ids = _ids("ids", list(ids) if isinstance(ids, (list, tuple)) else ids)
    if not ids:
        raise field_error("ids", "At least one id is required.", code="required")
    if len(ids) > BULK_UPDATE_MAX:
        raise field_error("ids", f"At most {BULK_UPDATE_MAX} ids.", code="max_length")
    unknown = set(changes) - set(BULK_FIELDS)
    if unknown:
        raise field_error(min(unknown), "This field cannot be bulk updated.", code="invalid")

    values: dict = {}
    members: dict[str, list[int]] = {}
    if changes.get("label_id") not in (None, 0, ""):
        values["label"] = _label(workspace, _id("label_id", changes["label_id"]))
    elif "label_id" in changes and changes["label_id"] is None:
        values["label"] = _label(workspace, None)
    if "owner_id" in changes and changes["owner_id"] != 0:
        values["owner_id"] = _id("owner_id", changes["owner_id"])
        if values["owner_id"] is not None:
            members["owner_id"] = [values["owner_id"]]
    if changes.get("visibility_type"):
        values["visibility_type"] = _choice("visibility_type", changes["visibility_type"], Contact.Visibility)
    if "visibility_ids" in changes and changes["visibility_ids"] is not None:
        values["visibility_ids"] = _ids("visibility_ids", changes["visibility_ids"])
        members["visibility_ids"] = values["visibility_ids"]
    _check_members(workspace, members)
    if "stage_id" in changes and changes["stage_id"] != 0:
        stage_id = _id("stage_id", changes["stage_id"])
        if stage_id is None:
            values["stage"] = None
        else:
            from tags.services import stage_validate

            values["stage"] = stage_validate(workspace=workspace, stage_id=stage_id)

    add = _strings("tags_add", changes.get("tags_add"))
    remove = _strings("tags_remove", changes.get("tags_remove"))
    both = {v.lower() for v in add} & {v.lower() for v in remove}
    if both:
        raise field_error("tags_remove", f"A tag cannot be both added and removed: {sorted(both)}.")
    if not values and not add and not remove:
        raise DomainError("Nothing to update: give at least one field besides ids.", code="invalid")

    # Optimistic: the UPDATE itself only matches the contacts the caller may
    # edit, and a short count means some id is unknown, hidden or read-only;
    # only then is it worth a query to say which (raising rolls the UPDATE back).
    updated = selectors.contacts_editable(workspace=workspace, user=user, role=role, ids=ids).update(
        **values, version=F("version") + 1, updated_at=timezone.now(), updated_by=user
    )
    if updated != len(ids):
        _raise_for_inaccessible(workspace=workspace, user=user, role=role, ids=ids)
    if add:
        tags = _tags(workspace, user, add, field="tags_add")
        _link_tags(ids, [tag.pk for tag in tags])
    if remove:
        from tags.models import Tag

        tag_ids = Tag.objects.annotate(tag_lower=Lower("tag")).filter(
            workspace=workspace, type__in=[Tag.Type.CLIENT, Tag.Type.COMMON], tag_lower__in=[v.lower() for v in remove]
        ).values("id")
        ContactTag.objects.filter(AnyOf("contact_id", ids), tag_id__in=tag_ids).delete()
    return len(ids)


def _raise_for_inaccessible(*, workspace: Workspace, user, role, ids: list[int]) -> None:
    from . import selectors

    rows = selectors.contact_access(workspace=workspace, user=user, role=role, ids=ids)
    missing = [i for i in ids if i not in rows]
    if missing:
        raise ObjectsNotFound(missing, "contact")
    _raise_if_read_only(rows)


def _raise_if_read_only(access: dict[int, bool]) -> None:
    """`access`: {id: editable} of contacts the caller sees; a 403 naming the read-only ones."""
    locked = sorted(i for i, editable in access.items() if not editable)
    if locked:
        raise ContactsNotEditable(f"You may view but not edit contacts {', '.join(map(str, locked[:50]))}.", ids=locked)


def _link_tags(contact_ids: list[int], tag_ids: list[int]) -> None:
    """Every contact x every tag, existing links kept: one statement."""
    if connection.vendor == "postgresql":
        table = ContactTag._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (contact_id, tag_id) "
                "SELECT c, t FROM unnest(%s::bigint[]) AS c CROSS JOIN unnest(%s::bigint[]) AS t "
                "ON CONFLICT DO NOTHING",
                [contact_ids, tag_ids],
            )
        return
    ContactTag.objects.bulk_create(
        [ContactTag(contact_id=c, tag_id=t) for c in contact_ids for t in tag_ids], ignore_conflicts=True
    )


# -- custom field definitions ------------------------------------------------
def _next_code(workspace: Workspace) -> str:
    # The workspace row lock serializes code generation per workspace.
    Workspace.objects.select_for_update().filter(pk=workspace.pk).exists()
    codes = CustomFieldDefinition.objects.filter(workspace=workspace).values_list("code", flat=True)
    numbers = [int(c[2:]) for c in codes if c.startswith("D-") and c[2:].isdigit()]
    return f"D-{max(numbers, default=0) + 1:07d}"


def _check_definition(workspace, *, short_name, type, options, exclude_id=None):
    taken = CustomFieldDefinition.objects.filter(workspace=workspace, short_name=short_name)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise field_error("shortName", "A custom field with this shortName already exists.", code="unique")
    if type == CustomFieldDefinition.Type.DROPDOWN and not options:
        raise field_error("options", "A dropdown needs at least one option.", code="required")


@transaction.atomic
def custom_field_create(
    *,
    workspace: Workspace,
    user: AbstractBaseUser | None,
    label: str,
    short_name: str = "",
    type: str = CustomFieldDefinition.Type.TEXT,
    options: Iterable = (),
    module: str = "",
) -> CustomFieldDefinition:
    short_name = (short_name or label).strip()
    options = [str(o) for o in options]
    _check_definition(workspace, short_name=short_name, type=type, options=options)
    definition = CustomFieldDefinition(
        workspace=workspace, code=_next_code(workspace), label=label.strip(), short_name=short_name,
        type=type, options=options, module=module or "", created_by=user, updated_by=user,
    )
    definition.save()
    return definition


@transaction.atomic
def custom_field_update(
    *, workspace: Workspace, user: AbstractBaseUser | None, definition: CustomFieldDefinition, **changes
) -> CustomFieldDefinition:
    allowed = {"label", "short_name", "type", "options", "module"}
    if set(changes) - allowed:
        raise TypeError(f"custom_field_update() got unexpected fields {sorted(set(changes) - allowed)}")
    if "options" in changes:
        changes["options"] = [str(o) for o in changes["options"]]
    for name, value in changes.items():
        setattr(definition, name, value.strip() if isinstance(value, str) else value)
    _check_definition(
        workspace, short_name=definition.short_name, type=definition.type, options=definition.options,
        exclude_id=definition.pk,
    )
    definition.updated_by = user
    definition.updated_at = timezone.now()
    definition.save()
    return definition


def custom_field_delete(*, workspace: Workspace, definition: CustomFieldDefinition) -> None:
    """Deletes the definition; stored values under its code are no longer
    returned (contacts keep them until next written)."""
    definition.delete()
