"""Saved views of contacts: a search (filter_groups and query), its sort and
columns, under a name. A view is its owner's; `shared` shows it to every
member of the workspace, who may run it but not change it (its owner and
the workspace's admins may). Another member's private view answers as an
unknown id (404), for admins too: private means private.

The search is checked with the search's own parser (contacts.search) when
saved, and kept in its validated wire form; running a view parses it again,
so a custom field deleted since is a 400 naming it.
"""
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from crm.actors import Actor
from crm.errors import NotFound, PermissionDenied, ValidationFailed, field_error
from crm.models import Workspace
from crm.services import lock_version, model_update
from events import services as events

from ..models import ContactView

VIEW_FIELDS = ("name", "search", "sort", "columns", "shared", "owner")
SEARCH_KEYS = ("filter_groups", "query")
MAX_NAME = 100


def views_visible(*, workspace: Workspace, actor: Actor) -> QuerySet:
    """The views `actor` may see and run: their own and the shared ones
    (staff and the system: all of the workspace)."""
    queryset = ContactView.objects.filter(workspace=workspace)
    if actor.user_id is None or actor.kind in ("staff", "system"):
        return queryset
    return queryset.filter(Q(owner_id=actor.user_id) | Q(shared=True))


def view_get(*, workspace: Workspace, actor: Actor, view_id) -> ContactView:
    view = None
    if isinstance(view_id, int) and not isinstance(view_id, bool) and 0 < view_id < 2**63:
        view = views_visible(workspace=workspace, actor=actor).filter(pk=view_id).first()
    if view is None:
        raise NotFound("No saved view with this id.")
    return view


def _may_change(actor: Actor, view: ContactView) -> bool:
    if actor.user_id is None or actor.kind in ("staff", "system"):
        return True
    return view.owner_id == actor.user_id or (view.shared and actor.is_workspace_admin)


def _clean(*, workspace: Workspace, name=None, search=None, sort=None, columns=None) -> dict:
    """The values to store, validated by the search's parser; errors name
    `search.filter_groups.0...`, `sort`, `columns`."""
    from ..search import parse_search

    out = {}
    if name is not None:
        name = name.strip() if isinstance(name, str) else name
        if not isinstance(name, str) or not name or len(name) > MAX_NAME or "\x00" in name:
            raise field_error("name", f"Expected a name of 1 to {MAX_NAME} characters.", code="invalid")
        out["name"] = name
    if search is not None:
        if not isinstance(search, dict):
            raise field_error("search", "Expected an object {filter_groups, query}.", code="invalid")
        spec = parse_search(search, workspace=workspace, keys=SEARCH_KEYS, path="search")
        out["search"] = {"filter_groups": spec.raw["filter_groups"], "query": spec.raw["query"]}
    if sort is not None:
        out["sort"] = parse_search({"sort": sort}, workspace=workspace).raw["sort"]
    if columns is not None:
        out["columns"] = parse_search({"columns": columns}, workspace=workspace).raw["columns"] or []
    return out


@transaction.atomic
def view_create(*, workspace: Workspace, actor: Actor, name: str, search: dict | None = None,
                sort=None, columns=None, shared: bool = False, owner=None) -> ContactView:
    """`owner`: the actor's user (staff in the admin may name a member)."""
    if owner is not None and actor.kind != "staff" and owner != actor.user:
        raise PermissionDenied("A view is saved for oneself.")
    owner = owner or actor.user
    if owner is None:
        raise PermissionDenied("A saved view belongs to a member.")
    from crm.models import Membership

    if not Membership.objects.filter(workspace=workspace, user=owner).exists():
        raise field_error("owner", "Not a member of this workspace.", code="does_not_exist")
    values = _clean(workspace=workspace, name=name, search=search if search is not None else {}, sort=sort or [],
                    columns=columns or [])
    now = timezone.now()
    view = ContactView.objects.create(
        workspace=workspace, owner=owner, shared=bool(shared), created_by=actor.user, updated_by=actor.user,
        created_at=now, updated_at=now, **values,
    )
    events.record_object(workspace=workspace, actor=actor, type="contact_view.created", subject_type="contact_view",
                         instance=view, fields=VIEW_FIELDS)
    return view


@transaction.atomic
def view_update(*, workspace: Workspace, actor: Actor, view: ContactView, changes: dict,
                expected_version: int | None = None) -> ContactView:
    if not _may_change(actor, view):
        raise PermissionDenied("Only the view's owner (or an admin, for a shared view) may change it.")
    unknown = set(changes) - {"name", "search", "sort", "columns", "shared"}
    if unknown:
        raise ValidationFailed(f"Unknown field {sorted(unknown)[0]!r}.", code="unknown_field", field=sorted(unknown)[0])
    values = _clean(workspace=workspace, **{k: v for k, v in changes.items() if k != "shared"})
    if "shared" in changes:
        values["shared"] = bool(changes["shared"])
    before = events.snapshot(view, values)
    model_update(instance=view, changes=values, updatable=("name", "search", "sort", "columns", "shared"),
                 actor=actor, expected_version=expected_version)
    events.record_changed(workspace=workspace, actor=actor, type="contact_view.updated", subject_type="contact_view",
                          instance=view, before=before)
    return view


@transaction.atomic
def view_delete(*, workspace: Workspace, actor: Actor, view: ContactView, expected_version: int | None = None) -> None:
    if not _may_change(actor, view):
        raise PermissionDenied("Only the view's owner (or an admin, for a shared view) may delete it.")
    lock_version(view, expected_version)
    events.record_object(workspace=workspace, actor=actor, type="contact_view.deleted", subject_type="contact_view",
                         instance=view, fields=VIEW_FIELDS)
    view.delete()


def view_search_data(view: ContactView, overrides: dict | None = None) -> dict:
    """The search body a view stands for (POST /contacts/search's keys), with
    `overrides` (the request's own keys) on top."""
    data = {
        "filter_groups": view.search.get("filter_groups") or [],
        "query": view.search.get("query") or "",
        "sort": view.sort or [],
        "columns": view.columns or None,
    }
    data.update(overrides or {})
    return data
