from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from crm.serializers import MemberField, ModelSerializer, StrictCharField, WorkspaceModelSerializer

from .models import ContactLabel


@extend_schema_field({"type": "integer", "nullable": True, "description": "A member's user id; 0 or null: no owner."})
class OwnerField(MemberField):
    """A member's user id. Deskera clients send 0 for "no owner"."""

    def to_internal_value(self, data):
        if data in (0, "0") and not isinstance(data, bool):  # False == 0: a boolean is a wrong type
            return None
        return super().to_internal_value(data)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Create (seed sample)",
            value={"name": "Test Label", "color": "green", "icon": "fiber_manual_record"},
            request_only=True,
        ),
        OpenApiExample(
            "A label",
            value={
                "id": 2, "name": "Cold lead", "color": "blue", "icon": "ac_unit", "owner_id": None,
                "tenant_id": 1, "is_default": False,
                "created_at": "2026-03-16T00:00:00Z", "updated_at": "2026-03-16T00:00:00Z",
            },
            response_only=True,
        ),
    ]
)
class ContactLabelSerializer(WorkspaceModelSerializer):
    """ContactLabelRequest / ContactLabelResponse of seed 003."""

    name = StrictCharField(max_length=100, help_text="Unique in the workspace, case-insensitive.")
    color = StrictCharField(max_length=50, required=False, allow_blank=True, help_text="e.g. blue, deep-orange")
    icon = StrictCharField(max_length=50, required=False, allow_blank=True, help_text="A Material icon name.")
    owner_id = OwnerField(source="owner", required=False, allow_null=True)
    tenant_id = serializers.IntegerField(source="workspace_id", read_only=True, help_text="The workspace.")
    is_default = serializers.BooleanField(
        read_only=True, help_text="The workspace's fallback label; it cannot be deleted."
    )

    class Meta:
        model = ContactLabel
        fields = ["id", "name", "color", "icon", "owner_id", "tenant_id", "is_default", "version", "created_at",
                  "updated_at"]
        read_only_fields = ["version", "created_at", "updated_at"]


class ContactLabelBriefSerializer(ModelSerializer):
    """The `label` object nested in a contact."""

    class Meta:
        model = ContactLabel
        fields = ["id", "name", "color", "icon"]
        read_only_fields = fields
