from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from crm.openapi import ErrorSerializer
from crm.aliases import SeedAliases
from crm.serializers import StrictCharField, WorkspaceModelSerializer

from .models import Tag
from .services import BULK_PATCH_MAX

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
BIGINT_MAX = 2**63 - 1


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Create (seed createTag input)",
            value={"type": "client", "tag": "sample", "order": 1, "description": "sample"},
            request_only=True,
        ),
    ]
)
class TagSerializer(SeedAliases, WorkspaceModelSerializer):
    """A typed tag (seed 002); `workspaceId`, when given, must be the token's workspace."""

    aliases = {"createdAt": "created_at", "updatedAt": "updated_at"}
    tag = StrictCharField(max_length=100, help_text="Unique per type in the workspace, case-insensitive.")
    type = serializers.ChoiceField(choices=Tag.Type.choices, help_text="Fixed once the tag exists.")
    order = serializers.IntegerField(min_value=INT32_MIN, max_value=INT32_MAX, required=False)
    description = StrictCharField(required=False, allow_blank=True)
    workspace_id = serializers.IntegerField(read_only=True)

    class Meta:
        model = Tag
        fields = ["id", "tag", "type", "order", "description", "workspace_id", "version", "created_at", "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]


class TagPatchSerializer(serializers.Serializer):
    id = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX, help_text="A tag of the workspace.")
    order = serializers.IntegerField(min_value=INT32_MIN, max_value=INT32_MAX, required=False)
    description = StrictCharField(required=False, allow_blank=True)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Reorder two tags",
            value={"patches": [{"id": 12, "order": 1}, {"id": 13, "order": 2, "description": "Hot prospects"}]},
            request_only=True,
        )
    ]
)
class TagBulkPatchSerializer(SeedAliases, serializers.Serializer):
    """The bulkPatchTags input (seed 002); `workspaceId`, when given, must be the token's workspace."""

    patches = serializers.ListField(
        child=TagPatchSerializer(), min_length=1, max_length=BULK_PATCH_MAX,
        help_text=f"1..{BULK_PATCH_MAX} patches; each id at most once. Absent fields are left as they are.",
    )


class TagBulkPatchResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="How many tags were patched.")


class TagsNotFoundErrorSerializer(ErrorSerializer):
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="The ids not found in the workspace.")
