from django import forms
from django.contrib import admin

from .models import Conversation, Integration, Message


class IntegrationAdminForm(forms.ModelForm):
    # The secret is write-only here too: an empty field keeps the stored one.
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current secret.",
    )

    class Meta:
        model = Integration
        fields = ["workspace", "name", "provider", "config", "secret", "active"]

    def clean_secret(self):
        return self.cleaned_data.get("secret") or (self.instance.secret if self.instance.pk else "")


@admin.register(Integration)
class IntegrationAdmin(admin.ModelAdmin):
    form = IntegrationAdminForm
    list_display = ["id", "name", "provider", "workspace", "active", "created_at"]
    search_fields = ["name", "workspace__name"]
    list_filter = ["provider", "active", "workspace"]


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "contact",
        "integration",
        "workspace",
        "status",
        "last_message_at",
        "created_at",
    ]
    search_fields = ["contact__name", "contact__surname", "contact__phone", "contact__email"]
    list_filter = ["status", "workspace"]
    raw_id_fields = ["contact", "integration", "workspace", "created_by", "updated_by"]
    list_select_related = ["contact", "integration", "workspace"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "conversation",
        "type",
        "status",
        "is_agent",
        "external_message_id",
        "created_at",
        "sent_at",
    ]
    search_fields = ["content", "external_message_id"]
    list_filter = ["status", "type", "is_agent", "workspace"]
    raw_id_fields = [
        "conversation",
        "integration",
        "reply_to",
        "workspace",
        "created_by",
        "updated_by",
    ]
    readonly_fields = ["delivery_attempts", "claimed_until", "sent_at"]
    list_select_related = ["conversation"]
