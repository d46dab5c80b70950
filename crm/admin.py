"""The admin of the core, and the base every app's admin writes through.

Staff act as `Actor.staff(user)`. A model whose writes have rules is edited
with a ServiceAdminForm: the form's validation *is* the service call (in a
savepoint, inside the admin's own transaction), so the admin shows the
service's errors on the form's fields and writes exactly what the API would.
"""
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction

from . import services
from .actors import Actor
from .errors import DomainError, ValidationFailed
from .models import ApiToken, IdempotencyKey, Membership, Workspace

STAMPS = ("created_at", "updated_at", "created_by", "updated_by", "version")


class ServiceAdminForm(forms.ModelForm):
    """A ModelForm whose save is a service call. Subclasses implement
    `write(instance or None, cleaned_data) -> saved instance`; `field_map`
    maps a service error's field (`label_id`) to the form's (`label`)."""

    actor: Actor | None = None  # set per request by ServiceModelAdmin.get_form
    field_map: dict[str, str] = {}

    def write(self, instance, data):
        raise NotImplementedError

    def _post_clean(self):
        # No Model.full_clean(): the service holds the rules (one rule set for the API, imports and here).
        self.saved = None
        if self.errors:
            return
        try:
            with transaction.atomic():
                self.saved = self.write(self.instance if self.instance.pk else None, self.cleaned_data)
        except ValidationFailed as exc:
            for item in exc.errors:
                self._add_service_error(item.field, item.message, item.code)
        except DomainError as exc:
            self._add_service_error(exc.field, exc.message, exc.code)

    def _add_service_error(self, field, message, code):
        name = (field or "").split(".")[0]
        name = self.field_map.get(name, name)
        self.add_error(name if name in self.fields else None, ValidationError(message, code=code))

    def save(self, commit=True):
        self.instance = self.saved
        return self.saved

    def save_m2m(self):
        """The service wrote the relations."""


class ServiceModelAdmin(admin.ModelAdmin):
    """Writes through services as the acting staff user; the workspace (once
    set), the stamps and the version are read-only."""

    def actor(self, request) -> Actor:
        return Actor.staff(request.user)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if issubclass(form, ServiceAdminForm):
            form = type(form.__name__, (form,), {"actor": self.actor(request)})
        return form

    def get_readonly_fields(self, request, obj=None):
        names = {f.name for f in self.model._meta.get_fields()}
        fields = [*super().get_readonly_fields(request, obj), *(f for f in STAMPS if f in names)]
        if obj is not None and "workspace" in names:
            fields.append("workspace")
        return list(dict.fromkeys(fields))

    def save_model(self, request, obj, form, change):
        """The form's service call has saved it."""

    def delete_queryset(self, request, queryset):
        # One at a time through delete_model, which calls the app's delete service.
        if any(f.name == "workspace" for f in self.model._meta.fields):
            queryset = queryset.select_related("workspace")
        for obj in queryset:
            self.delete_model(request, obj)

    def call(self, request, service, **kwargs) -> bool:
        """Runs a service for an admin action; its refusal becomes a message."""
        try:
            service(**kwargs)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return False
        return True


class MembershipInline(admin.TabularInline):
    """Shown for reference; members are added and changed in the Membership admin (through its service)."""

    model = Membership
    extra = 0
    fields = ["user", "role", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyModelAdmin(ServiceModelAdmin):
    """Rows the system writes (import files and jobs, messages): looked at
    here, never added or edited by hand."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WorkspaceForm(ServiceAdminForm):
    class Meta:
        model = Workspace
        fields = ["name", "slug", "default_phone_region"]

    def write(self, workspace, data):
        if workspace is None:
            # The service seeds a new workspace's defaults (labels...).
            return services.workspace_create(actor=self.actor, **data)
        return services.workspace_update(actor=self.actor, workspace=workspace, changes=data)


@admin.register(Workspace)
class WorkspaceAdmin(ServiceModelAdmin):
    form = WorkspaceForm
    list_display = ["id", "name", "slug", "default_phone_region", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["default_phone_region", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]


class MembershipForm(ServiceAdminForm):
    class Meta:
        model = Membership
        fields = ["workspace", "user", "role"]

    def write(self, membership, data):
        workspace, user = (membership.workspace, membership.user) if membership else (data["workspace"], data["user"])
        return services.membership_set(workspace=workspace, actor=self.actor, user=user, role=data["role"])


@admin.register(Membership)
class MembershipAdmin(ServiceModelAdmin):
    form = MembershipForm
    list_display = ["id", "user", "workspace", "role", "created_at"]
    search_fields = ["user__email", "user__username", "workspace__name"]
    list_filter = ["role", "workspace"]
    autocomplete_fields = ["user", "workspace"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), *(["user"] if obj else [])]


class ApiTokenForm(ServiceAdminForm):
    class Meta:
        model = ApiToken
        fields = ["workspace", "user", "name", "expires_at"]

    def write(self, token, data):
        token, self.plaintext = services.token_create(actor=self.actor, **data)
        return token


@admin.register(ApiToken)
class ApiTokenAdmin(ServiceModelAdmin):
    form = ApiTokenForm
    list_display = ["id", "name", "workspace", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    search_fields = ["name", "prefix", "user__email", "workspace__name"]
    list_filter = ["workspace", ("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    fields = ["workspace", "user", "name", "expires_at", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    autocomplete_fields = ["user", "workspace"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False  # a token is issued and revoked, never edited

    def save_model(self, request, obj, form, change):
        messages.warning(request, f"Token created. Copy it now, it will not be shown again: {form.plaintext}")

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("workspace"):
            revoked += self.call(request, services.token_revoke, workspace=token.workspace,
                                 actor=self.actor(request), token=token)
        self.message_user(request, f"Revoked {revoked} token(s).")


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    """Read-only: keys are written by the API (crm.idempotency) and deleted
    when they expire (crm.purge_idempotency_keys). The stored body is not
    shown: it may hold a secret shown once (a new API token)."""

    list_display = ("key", "workspace", "method", "path", "response_status", "claimed_at", "expires_at")
    list_filter = ("method", "response_status", "workspace")
    search_fields = ("key", "path")
    list_select_related = ("workspace",)
    fields = ("workspace", "key", "method", "path", "user", "fingerprint", "response_status", "response_headers",
              "claimed_at", "locked_until", "completed_at", "expires_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
