"""Contacts in the Django admin, written through contacts.services as the
acting staff user: the same rules, defaults and errors as the API."""
from django import forms
from django.contrib import admin, messages

from crm.admin import ReadOnlyModelAdmin, ServiceAdminForm, ServiceModelAdmin

from . import services
from .models import Contact, ContactView, CustomFieldDefinition, SuppressedIdentifier
from .services.rules import MAX_LENGTH, CustomFieldValue


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


def _text(name, widget=None):
    # No length or choice checks of the form's own: the service's rules decide (and name the error).
    return forms.CharField(required=False, strip=False, widget=widget, help_text=f"At most {MAX_LENGTH[name]} characters.")


class ContactAdminForm(ServiceAdminForm):
    TEXT = ("name", "surname", "local_name", "email", "country_code", "phone", "secondary_phone", "city", "country",
            "code", "title", "logo", "external_client_id", "cover_photo")
    name = _text("name")
    surname = _text("surname")
    local_name = _text("local_name")
    email = _text("email")
    country_code = _text("country_code")
    phone = _text("phone")
    secondary_phone = _text("secondary_phone")
    city = _text("city")
    country = _text("country")
    code = _text("code")
    title = _text("title")
    logo = _text("logo")
    external_client_id = _text("external_client_id")
    cover_photo = _text("cover_photo")
    address = _text("address", forms.Textarea)
    note = _text("note", forms.Textarea)
    type = forms.CharField(required=False, initial=Contact.Type.PERSON, help_text="person or organization")
    visibility_type = forms.CharField(required=False, initial=Contact.Visibility.PUBLIC, help_text="private, team or public")
    tags = forms.CharField(required=False, help_text="Tag values, comma-separated (client or common tags).")
    field_map = {"label_id": "label", "stage_id": "stage", "owner_id": "owner", "default_agent_id": "default_agent",
                 "organization_id": "organization", "sub_owner_ids": "sub_owners", "custom_field": "custom_fields",
                 "c_field": "custom_fields"}

    class Meta:
        model = Contact
        fields = [
            "workspace", "type", "name", "surname", "local_name", "email", "country_code", "phone", "secondary_phone",
            "address", "city", "country", "code", "title", "note", "logo", "label", "tags", "stage",
            "external_client_id", "default_agent", "owner", "sub_owners", "visibility_type", "visibility_ids",
            "organization", "custom_fields", "integration_meta", "disabled", "media", "cover_photo",
            "company_namespace",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags"] = ", ".join(self.instance.tags.order_by("tag").values_list("tag", flat=True))

    def write(self, contact, data):
        values = {name: data[name] for name in (*self.TEXT, "address", "note", "type", "visibility_type",
                                                  "visibility_ids", "integration_meta", "disabled", "media",
                                                  "company_namespace")}
        values.update(
            label_id=_pk(data["label"]), stage_id=_pk(data["stage"]), owner_id=_pk(data["owner"]),
            default_agent_id=_pk(data["default_agent"]), organization_id=_pk(data["organization"]),
            sub_owner_ids=[user.pk for user in data["sub_owners"]],
            tags=[part for part in data["tags"].split(",")],
            custom_fields=[CustomFieldValue(code, value, "custom_fields")
                           for code, value in (data["custom_fields"] or {}).items()],
        )
        if contact is None:
            return services.contact_create(workspace=data["workspace"], actor=self.actor, **values)
        return services.contact_update(workspace=contact.workspace, actor=self.actor, contact_id=contact.pk,
                                       replace=True, **values)


def _pk(obj):
    return obj.pk if obj is not None else None


@admin.register(Contact)
class ContactAdmin(ServiceModelAdmin):
    form = ContactAdminForm
    list_display = ["id", "name", "surname", "type", "email", "phone", "label", "owner", "workspace", "deleted_at", "version"]
    search_fields = ["name", "surname", "=email", "=phone", "code", "=external_client_id"]
    list_filter = ["type", "label", "owner", ArchivedFilter, "visibility_type", "workspace"]
    list_select_related = ["label", "owner", "workspace"]
    raw_id_fields = ["workspace", "label", "stage", "owner", "default_agent", "organization"]
    filter_horizontal = ["sub_owners"]
    readonly_fields = ["deleted_at", "archived_by", "merged_into", "creator", "editor"]
    # A million rows: no exact COUNT(*) under the result list.
    show_full_result_count = False
    actions = ["archive_selected", "restore_selected"]

    def delete_model(self, request, obj):
        self.call(request, services.contact_erase, workspace=obj.workspace, actor=self.actor(request),
                  contact_id=obj.pk)

    @admin.action(description="Archive selected contacts")
    def archive_selected(self, request, queryset):
        count = sum(
            self.call(request, services.contact_archive, workspace=c.workspace, actor=self.actor(request),
                      contact_id=c.pk)
            for c in queryset.filter(deleted_at__isnull=True).select_related("workspace")
        )
        self.message_user(request, f"Archived {count} contact(s).", messages.SUCCESS)

    @admin.action(description="Restore selected contacts")
    def restore_selected(self, request, queryset):
        count = sum(
            self.call(request, services.contact_restore, workspace=c.workspace, actor=self.actor(request),
                      contact_id=c.pk)
            for c in queryset.filter(deleted_at__isnull=False).select_related("workspace")
        )
        self.message_user(request, f"Restored {count} contact(s).", messages.SUCCESS)


class CustomFieldDefinitionForm(ServiceAdminForm):
    field_map = {"shortName": "short_name"}

    class Meta:
        model = CustomFieldDefinition
        fields = ["workspace", "label", "short_name", "type", "options", "module"]

    def write(self, definition, data):
        changes = {name: data[name] for name in ("label", "short_name", "type", "options", "module")}
        if definition is None:
            return services.custom_field_create(workspace=data["workspace"], actor=self.actor, **changes)
        return services.custom_field_update(workspace=definition.workspace, actor=self.actor, definition=definition,
                                            changes=changes)


@admin.register(CustomFieldDefinition)
class CustomFieldDefinitionAdmin(ServiceModelAdmin):
    form = CustomFieldDefinitionForm
    list_display = ["id", "code", "label", "short_name", "type", "module", "workspace", "created_at"]
    search_fields = ["code", "label", "short_name"]
    list_filter = ["type", "workspace"]
    list_select_related = ["workspace"]
    raw_id_fields = ["workspace"]
    readonly_fields = ["code"]

    def delete_model(self, request, obj):
        self.call(request, services.custom_field_delete, workspace=obj.workspace, actor=self.actor(request),
                  definition=obj)


class ContactViewForm(ServiceAdminForm):
    class Meta:
        model = ContactView
        fields = ["workspace", "owner", "name", "search", "sort", "columns", "shared"]

    def write(self, view, data):
        values = {name: data[name] for name in ("name", "search", "sort", "columns", "shared")}
        if view is None:
            return services.view_create(workspace=data["workspace"], actor=self.actor, owner=data["owner"], **values)
        return services.view_update(workspace=view.workspace, actor=self.actor, view=view, changes=values)


@admin.register(ContactView)
class ContactViewAdmin(ServiceModelAdmin):
    """Saved views of contacts (staff see every one, private or shared)."""

    form = ContactViewForm
    list_display = ["id", "name", "owner", "shared", "workspace", "updated_at"]
    search_fields = ["name", "owner__email"]
    list_filter = ["shared", "workspace"]
    list_select_related = ["owner", "workspace"]
    raw_id_fields = ["workspace", "owner"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "owner"] if obj is not None else fields

    def delete_model(self, request, obj):
        self.call(request, services.view_delete, workspace=obj.workspace, actor=self.actor(request), view=obj)


# Written by the privacy erase only (digests, no personal data): looked at here.
@admin.register(SuppressedIdentifier)
class SuppressedIdentifierAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "workspace", "kind", "digest", "created_by", "created_at"]
    search_fields = ["digest", "workspace__name"]
    list_filter = ["kind", "workspace", "created_at"]
    list_select_related = ["workspace", "created_by"]

    def has_delete_permission(self, request, obj=None):
        return False
