from django import forms
from django.contrib import admin

from crm.admin import ReadOnlyModelAdmin, ServiceAdminForm, ServiceModelAdmin

from . import services
from .models import Conversation, Integration, Message


class IntegrationAdminForm(ServiceAdminForm):
    # The secret is write-only here too: an empty field keeps the stored one.
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the current secret.",
    )

    class Meta:
        model = Integration
        fields = ["workspace", "name", "provider", "config", "secret", "active"]

    def write(self, integration, data):
        changes = {name: data[name] for name in ("name", "provider", "config", "active")}
        if data["secret"]:
            changes["secret"] = data["secret"]
        if integration is None:
            return services.integration_create(workspace=data["workspace"], actor=self.actor, **changes)
        return services.integration_update(
            workspace=integration.workspace, actor=self.actor, integration=integration, changes=changes
        )


@admin.register(Integration)
class IntegrationAdmin(ServiceModelAdmin):
    form = IntegrationAdminForm
    list_display = ["id", "name", "provider", "workspace", "active", "created_at"]
    search_fields = ["name", "workspace__name"]
    list_filter = ["provider", "active", "workspace"]

    def delete_model(self, request, obj):
        self.call(request, services.integration_delete, workspace=obj.workspace, actor=self.actor(request),
                  integration=obj)


class ConversationForm(ServiceAdminForm):
    class Meta:
        model = Conversation
        fields = ["status"]

    def write(self, conversation, data):
        return services.conversation_update(
            workspace=conversation.workspace, actor=self.actor, conversation=conversation, status=data["status"]
        )


@admin.register(Conversation)
class ConversationAdmin(ServiceModelAdmin):
    """Conversations open through the API (a contact and a channel); staff may close or reopen them."""

    form = ConversationForm
    list_display = ["id", "contact", "integration", "workspace", "status", "last_message_at", "created_at"]
    search_fields = ["contact__name", "contact__surname", "contact__phone", "contact__email"]
    list_filter = ["status", "workspace"]
    list_select_related = ["contact", "integration", "workspace"]
    readonly_fields = ["contact", "integration", "last_message_at"]

    def has_add_permission(self, request):
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyModelAdmin):
    """Messages are added through the API and delivered by the workers."""

    list_display = ["id", "conversation", "type", "status", "is_agent", "external_message_id", "created_at", "sent_at"]
    search_fields = ["content", "external_message_id"]
    list_filter = ["status", "type", "is_agent", "workspace"]
    list_select_related = ["conversation"]
