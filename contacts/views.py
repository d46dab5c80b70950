"""Contacts HTTP API (thin: parse, call a service or selector, render).

Single-object responses carry an `ETag` ("<id>-<version>", crm.viewsets);
PATCH, PUT, DELETE and restore honour `If-Match` (412 when stale). Access
(who sees and edits which contact) is decided by contacts.services.access,
inside the services and selectors this calls.
"""
import base64
import binascii
import json

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from crm.errors import NotFound
from crm.pagination import DEFAULT_LIMIT, MAX_LIMIT, parse_bounded_int
from crm.openapi import IF_MATCH, ErrorSerializer
from crm.permissions import IsWorkspaceAdminOrReadOnly
from crm.viewsets import WorkspaceViewSet
from events.models import Event
from events.serializers import EventSerializer

from . import search as searching
from . import selectors, services
from .filters import SORT_PARAMS, SORTS, ContactFilter, apply_sort
from .models import Contact, ContactView, CustomFieldDefinition
from .pagination import ContactPagination
from .serializers import (
    CONTACT_KEYS,
    ContactBatchResultSerializer,
    ContactBatchSerializer,
    ContactDuplicateListSerializer,
    ContactMergeResultSerializer,
    ContactMergeSerializer,
    DuplicateGroupPageSerializer,
    ContactBulkUpdateResultSerializer,
    ContactBulkUpdateSerializer,
    ContactListItemSerializer,
    ContactMultipleSerializer,
    ContactRenderer,
    ContactSearchResultSerializer,
    ContactSearchSerializer,
    ContactSerializer,
    ContactUpsertSerializer,
    ContactViewSerializer,
    ContactWriteSerializer,
    CustomFieldDefinitionSerializer,
    relations_needed,
)

EXTERNAL_ID_TAKEN = OpenApiResponse(
    ErrorSerializer, description="`external_client_id_taken`: another contact of the workspace has this external_client_id."
)


def parse_columns(params) -> tuple[str, ...]:
    raw = [part.strip() for value in params.getlist("columns") + params.getlist("columns[]") for part in value.split(",")]
    raw = [part for part in raw if part]
    if not raw:
        return CONTACT_KEYS
    unknown = [key for key in raw if key not in CONTACT_KEYS]
    if unknown:
        raise exceptions.ValidationError({"columns": [f"Unknown columns: {', '.join(unknown)}."]})
    return tuple(dict.fromkeys(raw))


LIST_PARAMETERS = [
    OpenApiParameter("columns", {"type": "array", "items": {"type": "string", "enum": list(CONTACT_KEYS)}},
                     description="Only these keys in each item (comma-separated or repeated).", explode=False),
    *[
        OpenApiParameter(name, OpenApiTypes.STR, description=(
            f"Sort fields, comma-separated; `-` prefix for descending. One of: {', '.join(SORTS)} "
            "(createdAt/updatedAt accepted). Default -id." + ("" if name == "sort" else " Alias of `sort`.")
        ))
        for name in SORT_PARAMS
    ],
    OpenApiParameter("order", OpenApiTypes.STR, enum=["asc", "desc"], description="Direction of unprefixed sort fields."),
    OpenApiParameter("view", OpenApiTypes.INT, description=(
        "Run this saved view (as POST /contacts/search {view_id}): cursor pages with the capped total; only "
        "limit/per_page, cursor and columns may go with it."
    )),
]
VIEW_LIST_PARAMS = {"view", "limit", "per_page", "cursor", "columns", "columns[]"}


@extend_schema(tags=["contacts"])
@extend_schema_view(
    list=extend_schema(operation_id="contacts_list", parameters=LIST_PARAMETERS,
                       responses=ContactListItemSerializer(many=True),
                       summary="List contacts"),
    create=extend_schema(operation_id="contacts_create", request=ContactWriteSerializer,
                         responses={201: ContactSerializer, 409: EXTERNAL_ID_TAKEN}, summary="Create a contact"),
    retrieve=extend_schema(operation_id="contacts_retrieve", responses=ContactSerializer, summary="Get a contact"),
    update=extend_schema(operation_id="contacts_update", request=ContactWriteSerializer,
                         responses={200: ContactSerializer, 409: EXTERNAL_ID_TAKEN},
                         parameters=[IF_MATCH], summary="Replace a contact (PUT)"),
    partial_update=extend_schema(operation_id="contacts_partial_update", request=ContactWriteSerializer,
                                 responses={200: ContactSerializer, 409: EXTERNAL_ID_TAKEN}, parameters=[IF_MATCH],
                                 summary="Update a contact (PATCH)"),
    destroy=extend_schema(
        operation_id="contacts_destroy", parameters=[
            IF_MATCH,
            OpenApiParameter("permanent", OpenApiTypes.BOOL, description="true: erase for good (admins only; 204)."),
            OpenApiParameter("cascade", OpenApiTypes.BOOL, description=(
                "With permanent=true: also erase the contact's conversations and their messages. Without it, "
                "erasing a contact that has conversations is a 409 `has_conversations`."
            )),
        ],
        responses={
            200: ContactSerializer,
            204: OpenApiResponse(description="Erased (permanent=true)."),
            409: OpenApiResponse(ErrorSerializer, description="`has_conversations`: the contact has conversations "
                                                              "(permanent=true without cascade=true)."),
        },
        summary="Archive a contact (or erase it with permanent=true)",
    ),
)
class ContactViewSet(WorkspaceViewSet):
    """Contacts: people and organizations (DESIGN.md, Contacts)."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    bodyless_actions = frozenset({"destroy", "restore"})
    filterset_class = ContactFilter
    pagination_class = ContactPagination

    def scope_queryset(self, queryset):
        return services.access.restrict(queryset, self.actor)

    def filter_queryset(self, queryset):
        # Building the filterset costs ~14% of a retrieve: lists only.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def render(self, rows, keys=CONTACT_KEYS) -> list[dict]:
        actor = self.actor
        relations = selectors.page_relations(
            workspace=self.workspace, contacts=rows, need=relations_needed(keys, actor=actor), actor=actor
        )
        return ContactRenderer(relations=relations, actor=actor, keys=keys).render_many(rows)

    def respond(self, contact_id: int, status_code=status.HTTP_200_OK) -> Response:
        # Read back unscoped: a writer sees what it wrote even if it made it private to others.
        row = selectors.contact_row(workspace=self.workspace, actor=None, pk=contact_id)
        return Response(self.render([row])[0], status=status_code)

    def get_input_serializer(self):
        return ContactWriteSerializer(context=self.get_serializer_context())

    def write_payload(self, serializer_class=ContactWriteSerializer, **kwargs) -> dict:
        payload = serializer_class(data=self.request.data, context={"request": self.request}, **kwargs)
        payload.is_valid(raise_exception=True)
        return payload.validated_values()

    # -- collection -------------------------------------------------------
    def list(self, request):
        if "view" in request.query_params:
            return self.list_view(request)
        keys = parse_columns(request.query_params)
        queryset = apply_sort(self.filter_queryset(self.get_queryset()), request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.render(page, keys))

    def create(self, request):
        contact = services.contact_create(workspace=self.workspace, actor=self.actor, **self.write_payload())
        return self.respond(contact.pk, status.HTTP_201_CREATED)

    @extend_schema(operation_id="contacts_bulk_update", request=ContactBulkUpdateSerializer,
                   responses=ContactBulkUpdateResultSerializer, summary="Bulk update contacts")
    def bulk_update(self, request):
        payload = ContactBulkUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        ids, changes = payload.validated_changes()
        updated = services.contact_bulk_update(workspace=self.workspace, actor=self.actor, ids=ids, **changes)
        return Response({"updated": updated})

    @extend_schema(
        operation_id="contacts_batch", request=ContactBatchSerializer,
        responses={
            200: ContactBatchResultSerializer,
            207: OpenApiResponse(ContactBatchResultSerializer, description="Some items failed (see each result)."),
            422: OpenApiResponse(ErrorSerializer, description="`batch_failed`: all_or_nothing and some item failed; "
                                                              "nothing was written (`results` says which)."),
        },
        summary="Create, upsert, update or archive up to 1,000 contacts, with a result per item",
    )
    def batch(self, request):
        payload = ContactBatchSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        results = services.contacts_batch(
            workspace=self.workspace, actor=self.actor, action=data["action"], items=payload.validated_items(),
            all_or_nothing=data["all_or_nothing"], match_on=data.get("match_on"),
        )
        failed = sum(1 for r in results if r.errors)
        return Response({"results": [r.as_dict() for r in results], "succeeded": len(results) - failed,
                         "failed": failed}, status=status.HTTP_207_MULTI_STATUS if failed else status.HTTP_200_OK)

    @extend_schema(operation_id="contacts_multiple", request=ContactMultipleSerializer,
                   responses=ContactSerializer(many=True), summary="Get contacts by ids (request order)")
    def multiple(self, request):
        payload = ContactMultipleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        rows = selectors.contacts_by_ids(
            workspace=self.workspace, actor=self.actor, ids=payload.validated_data["contact_ids"]
        )
        return Response(self.render(rows))

    @extend_schema(
        operation_id="contacts_search", request=ContactSearchSerializer,
        responses={200: ContactSearchResultSerializer,
                   404: OpenApiResponse(ErrorSerializer, description="`not_found`: `view_id` names no saved view "
                                                                    "of this workspace that you may run.")},
        summary="Search contacts: OR'ed groups of AND'ed filters, any field and custom field, keyset pages",
    )
    def search(self, request):
        spec = self.search_spec(request.data)
        page = searching.search_page(workspace=self.workspace, actor=self.actor, spec=spec)
        return Response({"data": self.render(page.rows, spec.columns or CONTACT_KEYS),
                         "paginationInfo": page.pagination_info()})

    def search_spec(self, data) -> searching.SearchSpec:
        return searching.search_spec_for(data, workspace=self.workspace, actor=self.actor)

    def list_view(self, request):
        """GET /contacts?view=<id>: the saved view run as POST /contacts/search
        {view_id} runs it; only limit (per_page), cursor and columns go with it."""
        params = request.query_params
        others = sorted(set(params) - VIEW_LIST_PARAMS)
        if others:
            raise exceptions.ValidationError({others[0]: ["Cannot be combined with `view`: the view decides."]})
        try:
            view_id = int(params["view"])
        except ValueError:
            raise exceptions.ValidationError({"view": ["Expected a saved view's id."]}) from None
        data = {"view_id": view_id}
        limit = params.get("limit") or params.get("per_page")
        if limit:
            try:
                data["limit"] = int(limit)
            except ValueError:
                raise exceptions.ValidationError({"limit": ["Must be an integer between 1 and 100."]}) from None
        if params.get("cursor"):
            data["cursor"] = params["cursor"]
        if params.get("columns") or params.get("columns[]"):
            data["columns"] = list(parse_columns(params))
        spec = self.search_spec(data)
        page = searching.search_page(workspace=self.workspace, actor=self.actor, spec=spec)
        return Response({"data": self.render(page.rows, spec.columns or CONTACT_KEYS),
                         "paginationInfo": page.pagination_info()})

    @extend_schema(operation_id="contacts_upsert", request=ContactUpsertSerializer,
                   responses={200: ContactSerializer, 201: ContactSerializer, 409: EXTERNAL_ID_TAKEN},
                   summary="Create or update a contact by external_client_id")
    def upsert(self, request):
        values = self.write_payload(ContactUpsertSerializer)
        contact, created = services.contact_upsert(workspace=self.workspace, actor=self.actor, **values)
        return self.respond(contact.pk, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="contacts_duplicate_groups", responses=DuplicateGroupPageSerializer,
        parameters=[
            OpenApiParameter("cursor", OpenApiTypes.STR, description="nextCursor of the previous page; absent or "
                                                                     "empty: the first page."),
            OpenApiParameter("limit", OpenApiTypes.INT, description="Groups a page, 1..100 (default 25)."),
        ],
        summary="The workspace's duplicate groups (shared email, phone or external id), by a cursor",
    )
    def duplicate_groups(self, request):
        limit = parse_bounded_int(request.query_params, ["limit", "per_page"], DEFAULT_LIMIT, 1, MAX_LIMIT)
        after = _decode_group_cursor(request.query_params.get("cursor", ""))
        groups, following = selectors.duplicate_groups(workspace=self.workspace, actor=self.actor, after=after,
                                                       limit=limit)
        return Response({"data": groups, "paginationInfo": {
            "limit": limit, "hasNextPage": following is not None,
            "nextCursor": _encode_group_cursor(following) if following else None,
        }})

    # -- one contact ------------------------------------------------------
    @extend_schema(operation_id="contacts_duplicates", responses=ContactDuplicateListSerializer,
                   summary="Contacts sharing this one's email, phone or external id (at most 100, by id)")
    def duplicates(self, request, pk=None):
        rows = selectors.contact_duplicates(workspace=self.workspace, actor=self.actor, contact_id=pk)
        return Response({"data": rows})

    def retrieve(self, request, pk=None):
        row = selectors.contact_row(workspace=self.workspace, actor=self.actor, pk=pk)
        if row is None:
            raise NotFound("No contact with this id.")
        return Response(self.render([row])[0])

    def update(self, request, pk=None):
        contact = services.contact_update(
            workspace=self.workspace, actor=self.actor, contact_id=pk, replace=True,
            expected_version=self.expected_version(), **self.write_payload(),
        )
        return self.respond(contact.pk)

    def partial_update(self, request, pk=None):
        contact = services.contact_update(
            workspace=self.workspace, actor=self.actor, contact_id=pk,
            expected_version=self.expected_version(), **self.write_payload(partial=True),
        )
        return self.respond(contact.pk)

    def destroy(self, request, pk=None):
        if parse_flag(request.query_params, "permanent"):
            services.contact_erase(
                workspace=self.workspace, actor=self.actor, contact_id=pk,
                cascade=parse_flag(request.query_params, "cascade"), expected_version=self.expected_version(),
            )
            return Response(status=status.HTTP_204_NO_CONTENT)
        contact = services.contact_archive(
            workspace=self.workspace, actor=self.actor, contact_id=pk, expected_version=self.expected_version()
        )
        return self.respond(contact.pk)

    @extend_schema(
        operation_id="contacts_merge", request=ContactMergeSerializer, responses={
            200: ContactMergeResultSerializer,
            409: OpenApiResponse(ErrorSerializer, description="`already_merged`: a contact was merged before; "
                                                              "`archived`: the primary is archived."),
        },
        summary="Merge up to 9 contacts into this one (dry_run: preview)",
    )
    def merge(self, request, pk=None):
        # the contact in the path first: another workspace's (or a hidden) one is a 404 whatever the body
        if not selectors.contacts_visible(workspace=self.workspace, actor=self.actor).filter(pk=pk).exists():
            raise NotFound("No contact with this id.")
        payload = ContactMergeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data

        def rendered(contact_id):
            row = selectors.contact_row(workspace=self.workspace, actor=None, pk=contact_id)
            return self.render([row])[0]

        result = services.contact_merge(
            workspace=self.workspace, actor=self.actor, contact_id=pk, ids=data["ids"], prefer=data["prefer"],
            dry_run=data["dry_run"], inspect=rendered,
        )
        return Response({"contact": result.preview, "merged_ids": result.merged_ids, "changes": result.changes,
                         "moved": result.moved, "dry_run": result.dry_run})

    @extend_schema(operation_id="contacts_restore", request=None, responses=ContactSerializer,
                   parameters=[IF_MATCH], summary="Restore an archived contact")
    def restore(self, request, pk=None):
        contact = services.contact_restore(
            workspace=self.workspace, actor=self.actor, contact_id=pk, expected_version=self.expected_version()
        )
        return self.respond(contact.pk)


@extend_schema(tags=["contacts"])
@extend_schema_view(list=extend_schema(
    operation_id="contacts_history", summary="A contact's history: its events, newest first, with who changed what",
    parameters=[OpenApiParameter("pk", OpenApiTypes.INT, OpenApiParameter.PATH, description="The contact.")],
))
class ContactHistoryViewSet(mixins.ListModelMixin, WorkspaceViewSet):
    """GET /contacts/{id}/history: what the caller may see follows the
    contact's visibility (contacts.services.access)."""

    queryset = Event.objects.all()
    serializer_class = EventSerializer

    def scope_queryset(self, queryset):
        # the workspace-scoped events, narrowed to the contact's once access is checked
        return queryset & selectors.contact_history(workspace=self.workspace, actor=self.actor,
                                                    contact_id=self.kwargs["pk"])


def _encode_group_cursor(key: tuple[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def _decode_group_cursor(raw: str) -> tuple[str, str] | None:
    if not raw:
        return None
    try:
        kind, value = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if isinstance(kind, str) and isinstance(value, str) and "\x00" not in kind + value:
            return kind, value
    except (ValueError, TypeError, binascii.Error):
        pass
    raise exceptions.ValidationError({"cursor": ["Not a cursor this endpoint returned."]})


def parse_flag(params, name: str) -> bool:
    value = params.get(name, "").lower()
    if value not in ("", "true", "false", "1", "0"):
        raise exceptions.ValidationError({name: ["Must be true or false."]})
    return value in ("true", "1")


@extend_schema(tags=["contact custom fields"])
@extend_schema_view(
    list=extend_schema(operation_id="contact_custom_fields_list"),
    create=extend_schema(operation_id="contact_custom_fields_create", responses={201: CustomFieldDefinitionSerializer}),
    retrieve=extend_schema(operation_id="contact_custom_fields_retrieve"),
    update=extend_schema(operation_id="contact_custom_fields_update"),
    partial_update=extend_schema(operation_id="contact_custom_fields_partial_update"),
    destroy=extend_schema(operation_id="contact_custom_fields_destroy", responses={204: None}),
)
class CustomFieldViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet,
):
    """Custom contact field definitions (codes like D-0000013 are generated).
    Members read; workspace admins write."""

    queryset = CustomFieldDefinition.objects.all()
    serializer_class = CustomFieldDefinitionSerializer
    permission_classes = [IsWorkspaceAdminOrReadOnly]
    filter_backends = []

    def create(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        definition = services.custom_field_create(workspace=self.workspace, actor=self.actor, **payload.validated_data)
        return Response(self.get_serializer(definition).data, status=status.HTTP_201_CREATED)

    def _update(self, request, partial):
        definition = self.get_object()
        payload = self.get_serializer(definition, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        definition = services.custom_field_update(
            workspace=self.workspace, actor=self.actor, definition=definition, changes=payload.validated_data,
            expected_version=self.expected_version(),
        )
        return Response(self.get_serializer(definition).data)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        services.custom_field_delete(
            workspace=self.workspace, actor=self.actor, definition=self.get_object(),
            expected_version=self.expected_version(),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["contact views"])
@extend_schema_view(
    list=extend_schema(operation_id="contact_views_list", summary="Saved views: yours and the shared ones"),
    create=extend_schema(operation_id="contact_views_create", summary="Save a view (a search, its sort and columns)"),
    retrieve=extend_schema(operation_id="contact_views_retrieve", summary="Get a saved view"),
    update=extend_schema(operation_id="contact_views_update", parameters=[IF_MATCH], summary="Replace a saved view"),
    partial_update=extend_schema(operation_id="contact_views_partial_update", parameters=[IF_MATCH],
                                 summary="Update a saved view"),
    destroy=extend_schema(operation_id="contact_views_destroy", parameters=[IF_MATCH], responses={204: None},
                          summary="Delete a saved view"),
)
class ContactViewViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet,
):
    """Saved views of contacts (contacts.services.saved_views): private to
    their owner unless shared; run by GET /contacts?view=<id> or POST
    /contacts/search {view_id}."""

    queryset = ContactView.objects.all()
    serializer_class = ContactViewSerializer
    filter_backends = []

    def scope_queryset(self, queryset):
        return queryset & services.views_visible(workspace=self.workspace, actor=self.actor)

    def create(self, request):
        payload = self.get_serializer(data=request.data)
        payload.is_valid(raise_exception=True)
        view = services.view_create(workspace=self.workspace, actor=self.actor, **payload.validated_data)
        return Response(self.get_serializer(view).data, status=status.HTTP_201_CREATED)

    def _update(self, request, partial):
        view = self.get_object()
        payload = self.get_serializer(view, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        view = services.view_update(workspace=self.workspace, actor=self.actor, view=view,
                                    changes=payload.validated_data, expected_version=self.expected_version())
        return Response(self.get_serializer(view).data)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        services.view_delete(workspace=self.workspace, actor=self.actor, view=self.get_object(),
                             expected_version=self.expected_version())
        return Response(status=status.HTTP_204_NO_CONTENT)
