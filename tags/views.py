from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.response import Response

from crm.viewsets import WorkspaceModelViewSet

from . import services
from .filters import TagFilter
from .models import Tag
from .serializers import (
    TagBulkPatchResultSerializer,
    TagBulkPatchSerializer,
    TagSerializer,
    TagsNotFoundErrorSerializer,
)

TAGS = ["tags"]


@extend_schema_view(
    list=extend_schema(
        operation_id="tags_list",
        summary="Get tags",
        description="The workspace's tags, filtered by `tag` (contains, any case) and `type`, ordered by order then tag.",
        tags=TAGS,
    ),
    create=extend_schema(
        operation_id="tags_create",
        summary="Create a tag",
        description="`type` and `tag` are required. An existing value of the same type (any case) is a 400 on `tag`.",
        tags=TAGS,
    ),
    retrieve=extend_schema(operation_id="tags_retrieve", summary="Get a tag", tags=TAGS),
    update=extend_schema(operation_id="tags_update", summary="Update a tag", tags=TAGS),
    partial_update=extend_schema(
        operation_id="tags_partial_update",
        summary="Partially update a tag",
        description="`tag`, `order` and `description` can change; changing `type` is a 400.",
        tags=TAGS,
    ),
    destroy=extend_schema(
        operation_id="tags_destroy",
        summary="Delete a tag",
        description=(
            "Takes the tag off every contact and message carrying it; deleting a `clientStage` tag "
            "clears the stage of its contacts."
        ),
        responses={204: OpenApiResponse(description="Deleted.")},
        tags=TAGS,
    ),
)
class TagViewSet(WorkspaceModelViewSet):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    filterset_class = TagFilter

    def scope_queryset(self, queryset):
        return queryset.order_by("order", "tag", "id")

    def perform_create(self, serializer):
        serializer.instance = services.tag_create(workspace=self.workspace, actor=self.actor, **serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.tag_update(
            workspace=self.workspace, actor=self.actor, tag=serializer.instance, changes=serializer.validated_data,
            expected_version=self.expected_version(),
        )

    def destroy(self, request, *args, **kwargs):
        services.tag_delete(
            workspace=self.workspace, actor=self.actor, tag=self.get_object(), expected_version=self.expected_version()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="tags_bulk_patch",
        summary="Bulk patch tags",
        description=(
            "Sets `order` and/or `description` of up to 1,000 tags in one statement, all or nothing. "
            "Unknown or other workspaces' ids: 404 listing them in `ids`, nothing changed. "
            "An id given twice: 400."
        ),
        request=TagBulkPatchSerializer,
        responses={
            200: TagBulkPatchResultSerializer,
            404: OpenApiResponse(TagsNotFoundErrorSerializer, description="Some ids are not tags of the workspace."),
        },
        filters=False,
        tags=TAGS,
    )
    def bulk_patch(self, request):
        payload = TagBulkPatchSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        updated = services.tags_bulk_patch(
            workspace=self.workspace, actor=self.actor, patches=payload.validated_data["patches"]
        )
        return Response({"updated": updated}, status=status.HTTP_200_OK)
