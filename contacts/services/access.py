"""The one access policy for contacts. Everything that reads or writes a
contact asks here: the selectors (lists, multi-get, a contact's row), the
renderer's `view_only`, the write services, messaging and imports.

Workspace admins, staff, integrations and the system see and edit every
contact of the workspace. A member (or an import job a member started)
sees `public` and `team` contacts and the `private` ones they own, sub-own
or are listed in `visibility_ids` of; they edit `public` contacts and those
they own or sub-own (the others they see are `view_only`).

Fail closed: access is decided by the actor every service requires, and a
contact a member may not see answers exactly as if it did not exist (404,
absent from lists, "does not exist" as a reference).
"""
import json
from collections.abc import Iterable, Sequence

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, Func, OuterRef, Q, QuerySet

from crm.actors import Actor
from crm.db import AnyOf
from crm.errors import NotFound, ObjectsNotFound, PermissionDenied
from crm.models import Workspace

from ..models import Contact


class ContactsNotEditable(PermissionDenied):
    message = "You may view but not edit this contact."


class ListsUser(Func):
    """`visibility_ids` names the user: jsonb containment on PostgreSQL,
    json_each elsewhere (the quickstart's SQLite)."""

    output_field = BooleanField()

    def __init__(self, user_id: int):
        super().__init__(F("visibility_ids"))
        self.user_id = user_id

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"EXISTS (SELECT 1 FROM json_each({column}) WHERE value = %s)", [*params, self.user_id]

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} @> %s::jsonb", [*params, json.dumps([self.user_id])]


# -- the rule ------------------------------------------------------------------
def _sub_owned(user_id: int) -> Exists:
    return Exists(Contact.sub_owners.through.objects.filter(contact_id=OuterRef("pk"), user_id=user_id))


def visible_q(actor: Actor) -> Q:
    """The contacts `actor` may see, as a filter (empty for unrestricted actors)."""
    if not actor.restricted:
        return Q()
    uid = actor.user_id
    return (
        ~Q(visibility_type=Contact.Visibility.PRIVATE) | Q(owner_id=uid) | Q(_sub_owned(uid)) | Q(ListsUser(uid))
    )


def editable_q(actor: Actor) -> Q:
    """The contacts `actor` may change (editable implies visible)."""
    if not actor.restricted:
        return Q()
    uid = actor.user_id
    return Q(visibility_type=Contact.Visibility.PUBLIC) | Q(owner_id=uid) | Q(_sub_owned(uid))


def can_edit(actor: Actor, *, visibility_type: str, owner_id: int | None, sub_owner_ids: Iterable[int]) -> bool:
    """editable_q for a row already read (the renderer's `view_only`)."""
    if not actor.restricted:
        return True
    uid = actor.user_id
    return visibility_type == Contact.Visibility.PUBLIC or owner_id == uid or uid in sub_owner_ids


def editable_annotation(actor: Actor) -> ExpressionWrapper:
    return ExpressionWrapper(editable_q(actor), output_field=BooleanField())


# -- querysets -------------------------------------------------------------------
def restrict(queryset: QuerySet, actor: Actor) -> QuerySet:
    """Narrows a queryset of contacts to those `actor` may see."""
    return queryset.filter(visible_q(actor)) if actor.restricted else queryset


def visible_contacts(*, workspace: Workspace, actor: Actor) -> QuerySet:
    return restrict(Contact.objects.filter(workspace=workspace), actor)


def visible_contact_ids(*, workspace: Workspace, actor: Actor) -> QuerySet | None:
    """A subquery of the ids `actor` may see, for filtering rows that belong
    to contacts (conversations, messages); None when nothing is hidden."""
    if not actor.restricted:
        return None
    return visible_contacts(workspace=workspace, actor=actor).values("id")


def editable_contacts(*, workspace: Workspace, actor: Actor, ids: Sequence[int]) -> QuerySet:
    queryset = Contact.objects.filter(AnyOf("id", ids), workspace=workspace)
    return queryset.filter(editable_q(actor)) if actor.restricted else queryset


def access_map(*, workspace: Workspace, actor: Actor, ids: Sequence[int]) -> dict[int, bool]:
    """{id: editable} for the ids of `ids` the actor can see, in one query."""
    queryset = visible_contacts(workspace=workspace, actor=actor).filter(AnyOf("id", ids))
    if not actor.restricted:
        return dict.fromkeys(queryset.values_list("pk", flat=True), True)
    return dict(queryset.annotate(_editable=editable_annotation(actor)).values_list("pk", "_editable"))


# -- checks the write services make --------------------------------------------
def locked_for_write(*, workspace: Workspace, actor: Actor, contact_id, editable: bool = True) -> Contact:
    """The contact, locked for this transaction, if `actor` may see it (404
    otherwise, as for an unknown id) and, when `editable`, change it (403)."""
    queryset = visible_contacts(workspace=workspace, actor=actor).select_for_update()
    if actor.restricted and editable:
        queryset = queryset.annotate(_editable=editable_annotation(actor))
    contact = queryset.filter(pk=contact_id).first() if _is_id(contact_id) else None
    if contact is None:
        raise NotFound("No contact with this id.")
    if editable and not getattr(contact, "_editable", True):
        raise ContactsNotEditable()
    return contact


def raise_for_inaccessible(*, workspace: Workspace, actor: Actor, ids: Sequence[int], what: str = "contact") -> None:
    """After a write matched fewer contacts than asked: 404 naming the ids
    that are unknown or hidden, else 403 naming the read-only ones."""
    access = access_map(workspace=workspace, actor=actor, ids=ids)
    missing = [i for i in ids if i not in access]
    if missing:
        raise ObjectsNotFound(missing, what)
    raise_if_read_only(access)


def raise_if_read_only(access: dict[int, bool]) -> None:
    """`access`: {id: editable} of contacts the caller sees; a 403 naming the read-only ones."""
    read_only = sorted(i for i, editable in access.items() if not editable)
    if read_only:
        raise ContactsNotEditable(
            f"You may view but not edit contacts {', '.join(map(str, read_only[:50]))}.", ids=read_only
        )


def _is_id(value) -> bool:
    try:
        return 0 < int(value) < 2**63
    except (TypeError, ValueError):
        return False
