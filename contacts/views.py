"""Contacts HTTP API (thin: parse, call a service or selector, render).

Single-object responses carry an `ETag` ("<id>-<version>"); PATCH, PUT,
DELETE and restore honour `If-Match` and answer 412 when it is stale.
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, status
from rest_framework.response import Response

from crm.errors import PreconditionFailed
from crm.openapi import ErrorSerializer
from crm.permissions import IsWorkspaceAdminOrReadOnly
from crm.viewsets import WorkspaceViewSet

from . import selectors, services
from .filters import SORT_PARAMS, SORTS, ContactFilter, apply_sort
from .models import Contact, CustomFieldDefinition
from .pagination import ContactPagination
from .serializers import (
    CONTACT_KEYS,
    ContactListItemSerializer,
    ContactBulkUpdateResultSerializer,
    ContactBulkUpdateSerializer,
    ContactMultipleSerializer,
    ContactRenderer,
    ContactSerializer,
    ContactUpsertSerializer,
    ContactWriteSerializer,
    CustomFieldDefinitionSerializer,
    relations_needed,
)

IF_MATCH = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The ETag of the version you read; 412 when the contact changed since.",
)


EXTERNAL_ID_TAKEN = OpenApiResponse(
    ErrorSerializer, description="`external_client_id_taken`: another contact of the workspace has this external_client_id."
)


def etag(contact) -> str:
    return f'"{contact.id}-{contact.version}"'


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
]


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
        ],
        responses={
            200: ContactSerializer,
            204: OpenApiResponse(description="Erased (permanent=true)."),
            409: OpenApiResponse(ErrorSerializer, description="`protected`: other records still refer to the contact "
                                                              "(permanent=true); archive it instead."),
        },
        summary="Archive a contact (or erase it with permanent=true)",
    ),
)
class ContactViewSet(WorkspaceViewSet):
    """Contacts: people and organizations (DESIGN.md, Contacts)."""

    queryset = Contact.objects.all()
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    pagination_class = ContactPagination

    def scope_queryset(self, queryset):
        return selectors.contact_visible(queryset, user=self.request.user, role=self.membership_role)

    def filter_queryset(self, queryset):
        # Building the filterset costs ~14% of a retrieve: lists only.
        if self.action != "list":
            return queryset
        return super().filter_queryset(queryset)

    # -- helpers ----------------------------------------------------------
    def _render(self, contacts, keys=CONTACT_KEYS) -> list[dict]:
        role = self.membership_role
        relations = selectors.page_relations(
            workspace=self.workspace, contacts=contacts, need=relations_needed(keys, role=role),
            user=self.request.user, role=role,
        )
        return ContactRenderer(relations=relations, user=self.request.user, role=role, keys=keys).render_many(contacts)

    def _respond(self, contact: Contact, status_code=status.HTTP_200_OK) -> Response:
        # Unscoped by visibility: a writer sees what it wrote even if it made it private to others.
        row = selectors.contact_row(workspace_id=self.workspace.pk, pk=contact.pk)
        response = Response(self._render([row])[0], status=status_code)
        response["ETag"] = etag(row)
        return response

    def _expected_version(self, contact: Contact) -> int | None:
        """The version If-Match names (412 when it names another); None without the header."""
        header = self.request.headers.get("If-Match")
        if header is None or header.strip() == "*":
            return None
        tags = {t.strip().removeprefix("W/") for t in header.split(",")}
        if etag(contact) not in tags:
            raise PreconditionFailed()
        return contact.version

    def _editable_object(self) -> Contact:
        contact = self.get_object()
        access = selectors.contact_access(
            workspace=self.workspace, user=self.request.user, role=self.membership_role, ids=[contact.pk]
        )
        if not access.get(contact.pk):
            raise services.ContactsNotEditable()
        return contact

    # -- collection -------------------------------------------------------
    def list(self, request):
        keys = parse_columns(request.query_params)
        queryset = apply_sort(self.filter_queryset(self.get_queryset()), request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self._render(page, keys))

    def create(self, request):
        payload = ContactWriteSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contact = services.contact_create(
            workspace=self.workspace, user=request.user, data=payload.validated_data, role=self.membership_role
        )
        return self._respond(contact, status.HTTP_201_CREATED)

    @extend_schema(operation_id="contacts_bulk_update", request=ContactBulkUpdateSerializer,
                              responses=ContactBulkUpdateResultSerializer, summary="Bulk update contacts")
    def bulk_update(self, request):
        payload = ContactBulkUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        ids = changes.pop("ids")
        updated = services.contact_bulk_update(
            workspace=self.workspace, user=request.user, ids=ids, changes=changes, role=self.membership_role
        )
        return Response({"updated": updated})

    @extend_schema(operation_id="contacts_multiple", request=ContactMultipleSerializer,
                           responses=ContactSerializer(many=True), summary="Get contacts by ids (request order)")
    def multiple(self, request):
        payload = ContactMultipleSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contacts = selectors.contacts_by_ids(
            workspace=self.workspace, user=request.user, role=self.membership_role,
            ids=payload.validated_data["contact_ids"],
        )
        return Response(self._render(contacts))

    @extend_schema(operation_id="contacts_upsert", request=ContactUpsertSerializer,
                         responses={200: ContactSerializer, 201: ContactSerializer},
                         summary="Create or update a contact by external_client_id")
    def upsert(self, request):
        payload = ContactUpsertSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        contact, created = services.contact_upsert(
            workspace=self.workspace, user=request.user, data=payload.validated_data, role=self.membership_role
        )
        return self._respond(contact, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    # -- one contact ------------------------------------------------------
    def retrieve(self, request, pk=None):
        visible = None if selectors.is_admin(self.membership_role) else self.get_queryset()
        row = selectors.contact_row(workspace_id=self.workspace.pk, pk=pk, visible=visible)
        if row is None:
            raise exceptions.NotFound()
        response = Response(self._render([row])[0])
        response["ETag"] = etag(row)
        return response

    def _update(self, request, partial):
        contact = self._editable_object()
        expected = self._expected_version(contact)
        payload = ContactWriteSerializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        contact = services.contact_update(
            workspace=self.workspace, user=request.user, contact=contact, data=payload.validated_data,
            partial=partial, expected_version=expected, role=self.membership_role,
        )
        return self._respond(contact)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        permanent = request.query_params.get("permanent", "").lower()
        if permanent not in ("", "true", "false", "1", "0"):
            raise exceptions.ValidationError({"permanent": ["Must be true or false."]})
        if permanent in ("true", "1"):
            if not selectors.is_admin(self.membership_role):
                raise exceptions.PermissionDenied("Only workspace admins may erase contacts.")
            contact = self.get_object()
            services.contact_erase(workspace=self.workspace, contact=contact, expected_version=self._expected_version(contact))
            return Response(status=status.HTTP_204_NO_CONTENT)
        contact = self._editable_object()
        contact = services.contact_archive(
            workspace=self.workspace, contact=contact, archived_by=str(request.user.pk), user=request.user,
            expected_version=self._expected_version(contact),
        )
        return self._respond(contact)

    @extend_schema(operation_id="contacts_restore", request=None, responses=ContactSerializer,
                          parameters=[IF_MATCH], summary="Restore an archived contact")
    def restore(self, request, pk=None):
        contact = self._editable_object()
        contact = services.contact_restore(
            workspace=self.workspace, contact=contact, user=request.user,
            expected_version=self._expected_version(contact),
        )
        return self._respond(contact)


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
        data = payload.validated_data
        definition = services.custom_field_create(
            workspace=self.workspace, user=request.user, label=data["label"], short_name=data.get("short_name", ""),
            type=data.get("type", CustomFieldDefinition.Type.TEXT), options=data.get("options", []),
            module=data.get("module") or "",
        )
        return Response(self.get_serializer(definition).data, status=status.HTTP_201_CREATED)

    def _update(self, request, partial):
        definition = self.get_object()
        payload = self.get_serializer(definition, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        changes = dict(payload.validated_data)
        if "module" in changes:
            changes["module"] = changes["module"] or ""
        definition = services.custom_field_update(
            workspace=self.workspace, user=request.user, definition=definition, **changes
        )
        return Response(self.get_serializer(definition).data)

    def update(self, request, pk=None):
        return self._update(request, partial=False)

    def partial_update(self, request, pk=None):
        return self._update(request, partial=True)

    def destroy(self, request, pk=None):
        services.custom_field_delete(workspace=self.workspace, definition=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

