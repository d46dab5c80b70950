from django.contrib import admin, messages

from crm.admin import ServiceAdminForm, ServiceModelAdmin

from . import services
from .models import ContactLabel


class ContactLabelForm(ServiceAdminForm):
    class Meta:
        model = ContactLabel
        fields = ["workspace", "name", "color", "icon", "owner"]

    def write(self, label, data):
        changes = {name: data[name] for name in ("name", "color", "icon", "owner")}
        if label is None:
            return services.label_create(workspace=data["workspace"], actor=self.actor, **changes)
        return services.label_update(workspace=label.workspace, actor=self.actor, label=label, changes=changes)


@admin.register(ContactLabel)
class ContactLabelAdmin(ServiceModelAdmin):
    form = ContactLabelForm
    list_display = ["id", "name", "color", "icon", "is_default", "workspace", "owner", "created_at"]
    search_fields = ["name", "workspace__name"]
    list_filter = ["is_default", "workspace"]
    list_select_related = ["workspace", "owner"]
    autocomplete_fields = ["workspace", "owner"]
    readonly_fields = ["is_default"]

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
        self.call(request, services.label_delete, workspace=obj.workspace, actor=self.actor(request), label=obj)

    def delete_queryset(self, request, queryset):
        skipped = 0
        for label in queryset.select_related("workspace"):
            if label.is_default:
                skipped += 1
                continue
            self.delete_model(request, label)
        if skipped:
            self.message_user(request, f"Kept {skipped} default label(s): they cannot be deleted.", messages.WARNING)
