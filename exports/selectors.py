"""Reads for exports: the job rows, and the one function that decides which
contacts an export writes."""
from types import SimpleNamespace

from django.db.models import QuerySet
from django.http import QueryDict

from contacts.filters import ContactFilter
from contacts.services import access
from crm.actors import Actor
from crm.errors import ErrorItem, ValidationFailed
from crm.models import Workspace

from .models import ExportJob


def export_jobs(*, workspace: Workspace, actor: Actor) -> QuerySet:
    """The jobs an actor may see: an export holds what its starter could
    see, so a member sees only their own; admins see every job."""
    jobs = ExportJob.objects.filter(workspace=workspace)
    return jobs.filter(created_by_id=actor.user_id) if actor.restricted else jobs


# The search keys an export takes today: the contacts list's filters
# (GET /contacts), by the same names and with the same meaning.
SEARCH_KEYS = tuple(ContactFilter.base_filters)


def _as_query(search: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in search.items():
        values = value if isinstance(value, list) else [value]
        query.setlist(key, ["true" if v is True else "false" if v is False else str(v) for v in values])
    return query


def contacts_selected(*, workspace: Workspace, actor: Actor, search: dict, view_id: int | None = None) -> QuerySet:
    """The contacts an export writes, unordered: those `search` selects
    among the ones `actor` may see (contacts.services.access). `search`
    holds the contacts list's filters by name ({"label_id": 3, "tags":
    ["vip"], "search": "smith"}); archived contacts only with is_deleted.
    A key that is not a filter or a value that does not parse is a 400
    naming it (`search.<key>`)."""
    unknown = [key for key in search if key not in SEARCH_KEYS]
    if unknown:
        raise ValidationFailed(errors=[ErrorItem("unknown_field", "Unknown field.", f"search.{key}")
                                       for key in unknown])
    if view_id is not None:
        raise ValidationFailed("Saved views are not available yet.", code="invalid", field="view_id")
    request = SimpleNamespace(auth=SimpleNamespace(workspace=workspace), query_params=None)
    queryset = access.visible_contacts(workspace=workspace, actor=actor)
    filterset = ContactFilter(data=_as_query(search), queryset=queryset, request=request)
    if not filterset.is_valid():
        raise ValidationFailed(errors=[
            ErrorItem(error.code or "invalid", error.message % (error.params or {}), f"search.{name}")
            for name, errors in filterset.form.errors.as_data().items() for error in errors
        ])
    return filterset.qs
