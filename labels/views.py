from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from crm.openapi import ErrorSerializer
from crm.viewsets import WorkspaceModelViewSet

from . import services
from .models import ContactLabel
from .serializers import ContactLabelSerializer

TAGS = ["contact labels"]


@extend_schema_view(
    list=extend_schema(
        operation_id="contact_labels_list",
        summary="Get contact labels",
        description="Every label of the workspace as a bare array (a small collection, not paginated), by id.",
        tags=TAGS,
    ),
    create=extend_schema(
        operation_id="contact_labels_create",
        summary="Create a contact label",
        description="Answers 201 with the new label. A name already used in the workspace (any case) is a 400 on `name`.",
        tags=TAGS,
    ),
    retrieve=extend_schema(operation_id="contact_labels_retrieve", summary="Get a contact label by id", tags=TAGS),
    update=extend_schema(operation_id="contact_labels_update", summary="Update a contact label", tags=TAGS),
    partial_update=extend_schema(
        operation_id="contact_labels_partial_update", summary="Partially update a contact label", tags=TAGS
    ),
    destroy=extend_schema(
        operation_id="contact_labels_destroy",
        summary="Delete a contact label",
        description=(
            "Moves the label's contacts to the workspace's default label (\"No label\") and deletes it, "
            "in one transaction. The default label cannot be deleted: 409."
        ),
        responses={
            204: OpenApiResponse(description="Deleted."),
            409: OpenApiResponse(ErrorSerializer, description="The default label cannot be deleted."),
        },
        tags=TAGS,
    ),
)
class ContactLabelViewSet(WorkspaceModelViewSet):
    queryset = ContactLabel.objects.all()
    serializer_class = ContactLabelSerializer
    pagination_class = None
    filter_backends = []

    def scope_queryset(self, queryset):
        return queryset.order_by("id")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.setdefault("owner", self.request.user)
        serializer.instance = services.label_create(workspace=self.workspace, actor=self.actor, **data)

    def perform_update(self, serializer):
        serializer.instance = services.label_update(
            workspace=self.workspace, actor=self.actor, label=serializer.instance, changes=serializer.validated_data,
            expected_version=self.expected_version(),
        )

    def destroy(self, request, *args, **kwargs):
        services.label_delete(
            workspace=self.workspace, actor=self.actor, label=self.get_object(), expected_version=self.expected_version()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
