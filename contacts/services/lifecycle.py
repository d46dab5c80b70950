"""A contact's lifecycle: create, update, upsert, archive, restore, erase,
and the lookups other apps write through (a contact by id or by phone).

Every function takes `*, workspace, actor` and checks access itself
(contacts.services.access): a contact the actor may not see is a 404, one
they may see but not change a 403, whichever app calls.
"""
from dataclasses import dataclass, field
from typing import Unpack

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from crm.actors import Actor
from crm.errors import Conflict, PermissionDenied, PreconditionFailed, ValidationFailed, field_error
from crm.models import Workspace

from ..models import Contact, ContactTag
from events import services as events

from ..validators import normalize_phone
from . import access, changes, references, rules, suppression
from .rules import ContactValues

EXTERNAL_ID_TAKEN = "A contact with this external_client_id already exists in the workspace."

# What a replacement (PUT) resets an omitted field to. owner_id is kept:
# a PUT that forgets it should not orphan the contact.
REPLACE_DEFAULTS: ContactValues = {
    "type": Contact.Type.PERSON, "name": "", "surname": "", "local_name": "", "email": "", "country_code": "",
    "phone": "", "secondary_phone": "", "address": "", "city": "", "country": "", "code": "", "title": "",
    "note": "", "logo": "", "external_client_id": None, "visibility_type": Contact.Visibility.PUBLIC,
    "visibility_ids": [], "integration_meta": {}, "disabled": False, "label_id": None, "stage_id": None,
    "default_agent_id": None, "organization_id": None, "tags": [], "sub_owner_ids": [], "custom_fields": [],
    "media": [], "cover_photo": "", "company_namespace": [],
}


def _external_id_taken() -> Conflict:
    return Conflict(EXTERNAL_ID_TAKEN, code="external_client_id_taken")


@dataclass
class _Write:
    """A write checked against the rules and the workspace, ready to apply."""

    fields: dict = field(default_factory=dict)  # model attribute -> value
    tags: list | None = None  # Tags to set, or None to leave them
    sub_owner_ids: list[int] | None = None
    person_ids: list[int] = field(default_factory=list)
    person_names: list[str] = field(default_factory=list)


def _prepare(workspace: Workspace, actor: Actor, values: ContactValues, contact: Contact | None,
             replace_custom_fields: bool = False) -> _Write:
    unknown = set(values) - set(rules.FIELDS)
    if unknown:
        raise TypeError(f"Not contact fields: {sorted(unknown)}")
    cleaned, errors = rules.check(
        values, region=workspace.default_phone_region, country_code=contact.country_code if contact else ""
    )
    if errors:
        raise ValidationFailed(errors=errors)
    write = _Write()
    fields = write.fields
    for name in rules.SCALAR_FIELDS:
        if name in cleaned:
            fields[name] = cleaned[name]
    for name in ("owner_id", "default_agent_id"):
        if name in cleaned:
            fields[name] = cleaned[name]
    references.check_members(workspace, {
        "visibility_ids": cleaned.get("visibility_ids", ()),
        "owner_id": [cleaned["owner_id"]] if cleaned.get("owner_id") else (),
        "default_agent_id": [cleaned["default_agent_id"]] if cleaned.get("default_agent_id") else (),
        "sub_owner_ids": cleaned.get("sub_owner_ids", ()),
    })
    if "label_id" in cleaned or contact is None:
        fields["label"] = references.label(workspace, cleaned.get("label_id"))
    if "stage_id" in cleaned:
        fields["stage"] = references.stage(workspace, cleaned["stage_id"])
    if "organization_id" in cleaned:
        organization_id = cleaned["organization_id"]
        fields["organization"] = (
            None if organization_id is None else references.organization(workspace, actor, organization_id, contact)
        )
    if "tags" in cleaned:
        write.tags = references.tags(workspace, actor, cleaned["tags"])
    if "sub_owner_ids" in cleaned:
        write.sub_owner_ids = cleaned["sub_owner_ids"]
    write.person_ids = cleaned.get("person_ids", [])
    write.person_names = cleaned.get("person_names", [])
    contact_type = fields.get("type", contact.type if contact else Contact.Type.PERSON)
    if (write.person_ids or write.person_names) and contact_type != Contact.Type.ORGANIZATION:
        raise field_error("person_ids" if write.person_ids else "person_names", "Only an organization has persons.")
    if write.person_ids:
        references.persons(workspace, actor, write.person_ids)
    if "custom_fields" in cleaned:
        current = contact.custom_fields if contact is not None and not replace_custom_fields else {}
        fields["custom_fields"] = references.custom_fields(workspace, cleaned["custom_fields"], current)
    # Last, as they may create what they name (rolled back with the write if it fails).
    if cleaned.get("stage"):
        stage = references.stage_named(workspace, actor, cleaned["stage"])
        _same_reference("stage", stage, "stage_id", cleaned)
        fields["stage"] = stage
    if cleaned.get("organization_name"):
        organization = _organization_named(workspace, actor, cleaned["organization_name"], contact)
        _same_reference("organization_name", organization, "organization_id", cleaned)
        fields["organization"] = organization
    return write


def _same_reference(name: str, found, id_name: str, cleaned: dict) -> None:
    """A reference given by name and by id must be one object (PUT's reset
    of an omitted id to None is no id)."""
    given = cleaned.get(id_name)
    if given is not None and given != found.pk:
        raise field_error(name, f"Names another object than {id_name} {given}.", code="alias_conflict")


def _organization_named(workspace: Workspace, actor: Actor, name: str, contact: Contact | None) -> Contact:
    """The live organization named `name` (ignoring case) the actor may see,
    the oldest of several; created (as the actor, public) when there is none."""
    found = references.organization_named(workspace, actor, name)
    if found is None:
        found = _insert(workspace, actor, {"type": Contact.Type.ORGANIZATION, "name": name})
    elif contact is not None and contact.pk == found.pk:
        raise field_error("organization_name", "A contact cannot be its own organization.")
    return found


def _save(contact: Contact, **kwargs) -> None:
    # The savepoint keeps the caller's transaction usable after a unique violation.
    try:
        with transaction.atomic():
            contact.save(**kwargs)
    except IntegrityError as exc:
        if "uniq_contact_external_id" in str(exc):
            raise _external_id_taken() from None
        raise


def _apply_links(workspace: Workspace, actor: Actor, contact: Contact, write: _Write, created: bool) -> None:
    if write.tags is not None:
        if not created:
            ContactTag.objects.filter(contact=contact).exclude(tag__in=write.tags).delete()
        ContactTag.objects.bulk_create(
            [ContactTag(contact=contact, tag=tag) for tag in write.tags], ignore_conflicts=not created
        )
    if write.sub_owner_ids is not None:
        through = Contact.sub_owners.through
        if not created:
            through.objects.filter(contact=contact).exclude(user_id__in=write.sub_owner_ids).delete()
        through.objects.bulk_create(
            [through(contact=contact, user_id=uid) for uid in write.sub_owner_ids], ignore_conflicts=not created
        )
    if write.person_ids:
        attached = Contact.objects.filter(workspace=workspace, pk__in=write.person_ids)
        attached.update(
            organization=contact, updated_at=timezone.now(), updated_by=actor.user, editor=actor.stamp,
            version=F("version") + 1,
        )
        # events: each attached person's organization changed
        events.record_many(workspace=workspace, actor=actor, type="contact.updated", subject_type=changes.SUBJECT,
                           rows=[(pk, version, {"changes": {"organization_id": {"new": contact.pk}}})
                                 for pk, version in attached.values_list("pk", "version")])
    if write.person_names:
        now = timezone.now()
        persons = Contact.objects.bulk_create([
            Contact(
                workspace=workspace, name=name, type=Contact.Type.PERSON, organization=contact,
                label_id=contact.label_id, owner_id=contact.owner_id, visibility_type=contact.visibility_type,
                created_by=actor.user, updated_by=actor.user, creator=actor.stamp, editor=actor.stamp,
                created_at=now, updated_at=now,
            )
            for name in write.person_names
        ])
        # events: the persons created with it
        events.record_many(workspace=workspace, actor=actor, type="contact.created", subject_type=changes.SUBJECT,
                           rows=[(p.pk, p.version, changes.created_data(p)) for p in persons])


def _insert(workspace: Workspace, actor: Actor, values: ContactValues) -> Contact:
    write = _prepare(workspace, actor, values, None)
    # a person erased on request is not created again (suppression list)
    refused = suppression.refused(workspace, [write.fields]).get(0)
    if refused is not None:
        raise ValidationFailed(errors=[refused])
    now = timezone.now()
    fields = write.fields
    fields.setdefault("owner_id", actor.user_id)
    contact = Contact(workspace=workspace, created_by=actor.user, updated_by=actor.user, creator=actor.stamp,
                      editor=actor.stamp, created_at=now, updated_at=now, **fields)
    _save(contact)
    _apply_links(workspace, actor, contact, write, created=True)
    changes.record_created(workspace, actor, contact, write.tags, write.sub_owner_ids)
    return contact


def _update_locked(workspace: Workspace, actor: Actor, locked: Contact, values: ContactValues,
                   replace: bool = False) -> Contact:
    write = _prepare(workspace, actor, values, locked, replace_custom_fields=replace)
    # events: the values before, to record what changed
    before = changes.values(locked)
    if write.tags is not None:
        before["tags"] = changes.tag_names([locked.pk]).get(locked.pk, [])
    if write.sub_owner_ids is not None:
        before["sub_owner_ids"] = sorted(locked.sub_owners.values_list("pk", flat=True))
    for name, value in write.fields.items():
        setattr(locked, name, value)
    locked.version += 1
    locked.updated_at = timezone.now()
    locked.updated_by, locked.editor = actor.user, actor.stamp
    _save(locked)
    _apply_links(workspace, actor, locked, write, created=False)
    after = changes.values(locked)
    if write.tags is not None:
        after["tags"] = sorted(tag.tag for tag in write.tags)
    if write.sub_owner_ids is not None:
        after["sub_owner_ids"] = sorted(write.sub_owner_ids)
    changes.record_updated(workspace, actor, locked, changes.diff(before, after))
    return locked


def _check_version(contact: Contact, expected_version: int | None) -> None:
    if expected_version is not None and contact.version != expected_version:
        raise PreconditionFailed()


# -- create / update / upsert ---------------------------------------------------
@transaction.atomic
def contact_create(*, workspace: Workspace, actor: Actor, **values: Unpack[ContactValues]) -> Contact:
    """Creates a contact. No label: the workspace's default label; no owner:
    the acting member. A taken external_client_id: 409."""
    return _insert(workspace, actor, values)


@transaction.atomic
def contact_update(
    *, workspace: Workspace, actor: Actor, contact_id: int, replace: bool = False,
    expected_version: int | None = None, **values: Unpack[ContactValues],
) -> Contact:
    """Changes the given fields. `replace` (PUT): every omitted field goes
    back to its default, owner_id excepted, and custom fields are replaced
    as a whole. The row is locked, so `expected_version` (If-Match) is
    compared atomically."""
    locked = access.locked_for_write(workspace=workspace, actor=actor, contact_id=contact_id)
    _check_version(locked, expected_version)
    if replace:
        values = {**REPLACE_DEFAULTS, **values}
    return _update_locked(workspace, actor, locked, values, replace=replace)


def contact_upsert(
    *, workspace: Workspace, actor: Actor, **values: Unpack[ContactValues]
) -> tuple[Contact, bool]:
    """Creates, or changes the given fields of, the contact with
    `external_client_id`; returns (contact, created). Safe under concurrency:
    the insert runs in a savepoint against UNIQUE(workspace,
    external_client_id), and the loser of a race re-reads the winner's row
    locked and updates it. An archived contact is restored: the caller
    writes it as a live record, and no second one can take its id. A
    contact the actor may not see answers as a create would (409: the id
    is taken); one they may see but not change, 403."""
    cleaned, errors = rules.check({"external_client_id": values.get("external_client_id")},
                                  region=workspace.default_phone_region)
    if errors:
        raise ValidationFailed(errors=errors)
    external_id = cleaned["external_client_id"]
    if not external_id:
        raise field_error("external_client_id", "This field is required.", code="required")
    values = {**values, "external_client_id": external_id}
    with transaction.atomic():
        existing = Contact.objects.select_for_update().filter(workspace=workspace, external_client_id=external_id).first()
        if existing is None:
            try:
                return _insert(workspace, actor, values), True
            except Conflict:
                existing = Contact.objects.select_for_update().get(workspace=workspace, external_client_id=external_id)
        if actor.restricted:
            rights = access.access_map(workspace=workspace, actor=actor, ids=[existing.pk])
            if existing.pk not in rights:
                raise _external_id_taken()
            access.raise_if_read_only(rights)
        existing.deleted_at, existing.archived_by = None, ""
        return _update_locked(workspace, actor, existing, values), False


@transaction.atomic
def contact_validate(*, workspace: Workspace, actor: Actor, contact_id: int | None = None,
                     **values: Unpack[ContactValues]) -> None:
    """Checks a write as contact_create (or contact_update of `contact_id`)
    would, writing nothing: the admin's form shows the same errors as the API."""
    contact = Contact.objects.filter(workspace=workspace, pk=contact_id).first() if contact_id else None
    try:
        _prepare(workspace, actor, values, contact)
    finally:
        # resolving tags may have created some
        transaction.set_rollback(True)


# -- archive / restore / erase --------------------------------------------------
@transaction.atomic
def contact_archive(*, workspace: Workspace, actor: Actor, contact_id: int,
                    expected_version: int | None = None) -> Contact:
    """Archives (soft-deletes): `deleted_at` now, `archived_by` the acting
    user id or SYSTEM. Archiving an archived contact changes nothing."""
    locked = access.locked_for_write(workspace=workspace, actor=actor, contact_id=contact_id)
    _check_version(locked, expected_version)
    if locked.deleted_at is None:
        locked.deleted_at = timezone.now()
        locked.archived_by = actor.archived_by[:20]
        _stamp_saved(locked, actor, "deleted_at", "archived_by", at=locked.deleted_at)
        changes.record_updated(workspace, actor, locked, {"deleted_at": {"old": None, "new": locked.deleted_at}},
                               type="contact.archived")
    return locked


@transaction.atomic
def contact_restore(*, workspace: Workspace, actor: Actor, contact_id: int,
                    expected_version: int | None = None) -> Contact:
    locked = access.locked_for_write(workspace=workspace, actor=actor, contact_id=contact_id)
    _check_version(locked, expected_version)
    if locked.deleted_at is not None:
        deleted_at = locked.deleted_at
        locked.deleted_at, locked.archived_by = None, ""
        _stamp_saved(locked, actor, "deleted_at", "archived_by")
        changes.record_updated(workspace, actor, locked, {"deleted_at": {"old": deleted_at, "new": None}},
                               type="contact.restored")
    return locked


def _stamp_saved(contact: Contact, actor: Actor, *changed: str, at=None) -> None:
    contact.updated_at, contact.updated_by, contact.editor = at or timezone.now(), actor.user, actor.stamp
    contact.version += 1
    contact.save(update_fields=[*changed, "updated_at", "updated_by", "editor", "version"])


@transaction.atomic
def contact_erase(*, workspace: Workspace, actor: Actor, contact_id: int, cascade: bool = False,
                  expected_version: int | None = None) -> None:
    """Deletes the contact for good (workspace admins only): its tag links go
    with it, its persons lose their organization. A contact with
    conversations is kept (409 has_conversations) unless `cascade`, which
    erases its conversations and their messages too."""
    if not actor.is_workspace_admin:
        raise PermissionDenied("Only workspace admins may erase contacts.")
    locked = access.locked_for_write(workspace=workspace, actor=actor, contact_id=contact_id)
    _check_version(locked, expected_version)
    if not cascade and locked.conversations.exists():
        raise Conflict(
            "The contact has conversations; erase them with it (cascade=true) or archive the contact instead.",
            code="has_conversations",
        )
    locked.delete()
    # events: its history keeps only that it was erased, and by whom
    events.contact_events_scrub(workspace=workspace, actor=actor, contact_id=contact_id)


# -- lookups other apps write through --------------------------------------------
def contact_for_messaging(*, workspace: Workspace, actor: Actor, contact_id: int, field: str = "contact_id") -> Contact:
    """A live contact the actor may see, to converse with or notify; any
    other id is a 400 on `field` as for an unknown one."""
    contact = (
        access.visible_contacts(workspace=workspace, actor=actor)
        .filter(pk=contact_id, deleted_at__isnull=True).first()
    )
    if contact is None:
        raise field_error(field, f"No contact with id {contact_id} in this workspace.", code="does_not_exist")
    return contact


@transaction.atomic
def contact_for_phone(*, workspace: Workspace, actor: Actor, phone: str, field: str = "phone") -> Contact:
    """The live contact the actor may see whose phone or external_client_id
    is `phone` (oldest first); else a new contact with that phone, keyed by
    it as external_client_id so concurrent callers agree on one. When the
    phone is the external id of a contact the actor may not see, or of an
    archived one, that is a 409: it is neither revealed nor restored."""
    try:
        normalized = normalize_phone(phone, region=workspace.default_phone_region)
    except ValueError as exc:
        raise field_error(field, str(exc)) from None
    live = access.visible_contacts(workspace=workspace, actor=actor).filter(deleted_at__isnull=True)
    found = live.filter(Q(phone=normalized) | Q(external_client_id=normalized)).order_by("id").first()
    if found is not None:
        return found
    try:
        return _insert(workspace, actor, {"external_client_id": normalized, "phone": normalized})
    except Conflict:
        pass
    winner = live.filter(external_client_id=normalized).first()
    if winner is None:
        raise Conflict(
            f"A contact keyed by {normalized} exists but is archived or not visible to you.",
            code="contact_unavailable",
        )
    return winner


@transaction.atomic
def contact_for_sender(*, workspace: Workspace, actor: Actor, sender: str, field: str = "from") -> Contact:
    """Who wrote to us (an inbound message): the contact of `sender` as a
    phone (contact_for_phone), or, when it is not a phone, the live contact
    whose external_client_id it is, created if none."""
    try:
        normalize_phone(sender, region=workspace.default_phone_region)
    except ValueError:
        pass
    else:
        return contact_for_phone(workspace=workspace, actor=actor, phone=sender, field=field)
    live = access.visible_contacts(workspace=workspace, actor=actor).filter(deleted_at__isnull=True)
    found = live.filter(external_client_id=sender).first()
    if found is not None:
        return found
    try:
        return _insert(workspace, actor, {"external_client_id": sender})
    except Conflict:
        pass
    winner = live.filter(external_client_id=sender).first()
    if winner is None:
        raise Conflict(f"A contact keyed by {sender} exists but is archived.", code="contact_unavailable")
    return winner
