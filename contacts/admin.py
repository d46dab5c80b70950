from django import forms
from django.contrib import admin, messages
from django.db.models import F
from django.utils import timezone

from . import services
from .models import Contact, CustomFieldDefinition
from .validators import normalize_email, normalize_phone


class ArchivedFilter(admin.SimpleListFilter):
    title = "archived"
    parameter_name = "archived"

    def lookups(self, request, model_admin):
        return [("yes", "Archived"), ("no", "Active")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deleted_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deleted_at__isnull=True)
        return queryset


class ContactAdminForm(forms.ModelForm):
    """Phone and email go through the same validators as the API and imports."""

    class Meta:
        model = Contact
        fields = "__all__"

    def clean(self):
        data = super().clean()
        workspace = data.get("workspace")
        region = workspace.default_phone_region if workspace else None
        for name in ("phone", "secondary_phone"):
            if name in data:
                try:
                    data[name] = normalize_phone(data[name], country_code=data.get("country_code"), region=region)
                except ValueError as exc:
                    self.add_error(name, str(exc))
        if "email" in data:
            try:
                data["email"] = normalize_email(data["email"])
            except ValueError as exc:
                self.add_error("email", str(exc))
        return data


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactAdminForm
    list_display = ["id", "name", "surname", "type", "email", "phone", "label", "owner", "workspace", "deleted_at", "version"]
    search_fields = ["name", "surname", "=email", "=phone", "code", "=external_client_id"]
    list_filter = ["type", "label", "owner", ArchivedFilter, "visibility_type", "workspace"]
    list_select_related = ["label", "owner", "workspace"]
    raw_id_fields = ["workspace", "label", "stage", "owner", "default_agent", "organization", "created_by", "updated_by"]
    filter_horizontal = ["sub_owners"]
    readonly_fields = ["created_at", "updated_at", "version", "deleted_at", "archived_by"]
    # A million rows: no exact COUNT(*) under the result list.
    show_full_result_count = False
    actions = ["archive_selected", "restore_selected"]

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        obj.updated_at = timezone.now()
        if change:
            obj.version = F("version") + 1
        else:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
        if change:
            obj.refresh_from_db(fields=["version"])

    @admin.action(description="Archive selected contacts")
    def archive_selected(self, request, queryset):
        count = 0
        for contact in queryset.filter(deleted_at__isnull=True).select_related("workspace"):
            services.contact_archive(
                workspace=contact.workspace, contact=contact, archived_by=str(request.user.pk), user=request.user
            )
            count += 1
        self.message_user(request, f"Archived {count} contact(s).", messages.SUCCESS)

    @admin.action(description="Restore selected contacts")
    def restore_selected(self, request, queryset):
        count = 0
        for contact in queryset.filter(deleted_at__isnull=False).select_related("workspace"):
            services.contact_restore(workspace=contact.workspace, contact=contact, user=request.user)
            count += 1
        self.message_user(request, f"Restored {count} contact(s).", messages.SUCCESS)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(admin.ModelAdmin):
    list_display = ["id", "code", "label", "short_name", "type", "module", "workspace", "created_at"]
    search_fields = ["code", "label", "short_name"]
    list_filter = ["type", "workspace"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace", "created_by", "updated_by"]
    readonly_fields = ["code", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # The service generates the code (D-0000013) under the workspace lock.
        created = services.custom_field_create(
            workspace=obj.workspace, user=request.user, label=obj.label, short_name=obj.short_name,
            type=obj.type, options=obj.options, module=obj.module,
        )
        obj.pk, obj.code, obj.created_at = created.pk, created.code, created.created_at
