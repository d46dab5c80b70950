from django.contrib import admin, messages

from crm.errors import Conflict

from . import services
from .models import ContactLabel


@admin.register(ContactLabel)
class ContactLabelAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "color", "icon", "is_default", "workspace", "owner", "created_at"]
    search_fields = ["name", "workspace__name"]
    list_filter = ["is_default", "workspace"]
    list_select_related = ["workspace", "owner"]
    autocomplete_fields = ["workspace", "owner"]
    readonly_fields = ["is_default", "created_at", "updated_at", "created_by", "updated_by"]

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_default:
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        # Default labels in a bulk selection are skipped (delete_queryset says so), not refused.
        objs = [obj for obj in objs if not obj.is_default]
        deleted, model_count, perms_needed, _protected = super().get_deleted_objects(objs, request)
        # The label's contacts (a PROTECT relation) move to the default label
        # instead of blocking the deletion.
        return deleted, model_count, perms_needed, []

    # Deletion goes through the service so contacts move to the default label.
    def delete_model(self, request, obj):
        services.label_delete(workspace=obj.workspace, label=obj)

    def delete_queryset(self, request, queryset):
        skipped = 0
        for label in queryset.select_related("workspace"):
            try:
                services.label_delete(workspace=label.workspace, label=label)
            except Conflict:
                skipped += 1
        if skipped:
            self.message_user(request, f"Kept {skipped} default label(s): they cannot be deleted.", messages.WARNING)
