"""Reads for exports: the job rows, and the one function that decides which
contacts an export writes (contacts' search compiler)."""
from django.db.models import QuerySet

from contacts.search import contacts_search, parse_search
from contacts.services.saved_views import SEARCH_KEYS, view_get
from crm.actors import Actor
from crm.models import Workspace

from .models import ExportJob


def export_jobs(*, workspace: Workspace, actor: Actor) -> QuerySet:
    """The jobs an actor may see: an export holds what its starter could
    see, so a member sees only their own; admins see every job."""
    jobs = ExportJob.objects.filter(workspace=workspace)
    return jobs.filter(created_by_id=actor.user_id) if actor.restricted else jobs


def export_search(*, workspace: Workspace, actor: Actor, search: dict | None, view_id: int | None = None) -> dict:
    """The validated search an export runs: `search` ({filter_groups, query},
    as POST /contacts/search takes them), or the search of the saved view
    `view_id` (a view the actor may not see is a 404). What does not fit is a
    400 naming it (`search.filter_groups.0.filters.1.value`)."""
    if view_id is not None:
        search = view_get(workspace=workspace, actor=actor, view_id=view_id).search
    spec = parse_search(search or {}, workspace=workspace, keys=SEARCH_KEYS, path="search")
    return {"filter_groups": spec.raw["filter_groups"], "query": spec.raw["query"]}


def contacts_selected(*, workspace: Workspace, actor: Actor, search: dict) -> QuerySet:
    """The contacts an export writes, unordered: those the validated
    `search` (export_search) matches among the ones `actor` may see
    (contacts.services.access); archived ones only when a filter names
    deleted_at."""
    spec = parse_search(search, workspace=workspace, keys=SEARCH_KEYS, path="search")
    return contacts_search(workspace=workspace, actor=actor, spec=spec)
