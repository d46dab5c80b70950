from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from . import services, tokens
from .models import ApiToken, Membership, Workspace


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "slug", "default_phone_region", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["default_phone_region", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # The service seeds a new workspace's defaults (labels...).
        created = services.workspace_create(
            name=obj.name, slug=obj.slug, default_phone_region=obj.default_phone_region
        )
        obj.pk = created.pk
        obj.created_at = created.created_at


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "workspace", "role", "created_at"]
    search_fields = ["user__email", "user__username", "workspace__name"]
    list_filter = ["role", "workspace"]
    autocomplete_fields = ["user", "workspace"]


class ApiTokenAdminForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["workspace", "user", "name", "expires_at"]

    def clean(self):
        cleaned = super().clean()
        workspace, user = cleaned.get("workspace"), cleaned.get("user")
        # Authentication refuses a token whose user is not a member: don't issue a dead one.
        if workspace and user and not Membership.objects.filter(workspace=workspace, user=user).exists():
            self.add_error("user", f"{user} is not a member of {workspace}; add a membership first.")
        expires_at = cleaned.get("expires_at")
        if not self.instance.pk and expires_at and expires_at <= timezone.now():
            self.add_error("expires_at", "Must be in the future.")
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    form = ApiTokenAdminForm
    list_display = ["id", "name", "workspace", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    search_fields = ["name", "prefix", "user__email", "workspace__name"]
    list_filter = ["workspace", ("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    fields = ["workspace", "user", "name", "expires_at", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    autocomplete_fields = ["user", "workspace"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        plaintext, obj.prefix, obj.digest = tokens.generate()
        super().save_model(request, obj, form, change)
        messages.warning(
            request, f"Token created. Copy it now, it will not be shown again: {plaintext}"
        )

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {revoked} token(s).")
