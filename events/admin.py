from django.contrib import admin

from crm.admin import ReadOnlyModelAdmin

from .models import Event, WebhookDelivery, WebhookEndpoint


class NoDeleteAdmin(ReadOnlyModelAdmin):
    """Events and deliveries go by retention; endpoints through the API's service."""

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(NoDeleteAdmin):
    list_display = ("id", "workspace", "type", "subject_type", "subject_id", "subject_version", "actor_type",
                    "actor_name", "occurred_at")
    list_filter = ("type", "subject_type", "actor_type")
    search_fields = ("=subject_id", "type")


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(NoDeleteAdmin):
    list_display = ("id", "workspace", "url", "active", "failing_since", "disabled_reason")
    list_filter = ("active",)
    search_fields = ("url",)
    exclude = ("secret", "previous_secret")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(NoDeleteAdmin):
    list_display = ("id", "endpoint", "event", "status", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("status",)
