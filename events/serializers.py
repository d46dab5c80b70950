from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.serializers import (
    ModelSerializer,
    Serializer,
    StrictBooleanField,
    StrictCharField,
    WorkspaceModelSerializer,
)

from .models import Event, WebhookDelivery, WebhookEndpoint


def event_body(event: Event) -> dict:
    """The one representation of an event: the feed, a contact's history and
    every webhook delivery send exactly this."""
    return {
        "id": event.pk,
        "type": event.type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "subject": {"type": event.subject_type, "id": event.subject_id, "version": event.subject_version},
        "actor": {"type": event.actor_type, "id": event.actor_id, "name": event.actor_name},
        "data": event.payload,
    }


class SubjectSerializer(Serializer):
    type = serializers.CharField(help_text="contact, label, tag, custom_field, import_job, conversation, "
                                           "message, webhook")
    id = serializers.IntegerField(allow_null=True)
    version = serializers.IntegerField(allow_null=True, help_text="The subject's version after the change: "
                                                                  "discard an event older than what you hold.")


class ActorSerializer(Serializer):
    type = serializers.ChoiceField(choices=["member", "staff", "import", "integration", "system"])
    id = serializers.IntegerField(allow_null=True)
    name = serializers.CharField()


class EventSerializer(Serializer):
    id = serializers.IntegerField()
    type = serializers.CharField(help_text="contact.created, contact.updated, ... (docs/api.md, Events)")
    timestamp = serializers.DateTimeField()
    subject = SubjectSerializer()
    actor = ActorSerializer()
    data = serializers.JSONField(help_text='contact.updated: {"changes": {field: {"old", "new"}}}; '
                                           "created: the new object's values.")

    def to_representation(self, instance):
        return event_body(instance)


class FeedEventSerializer(EventSerializer):
    """An event of the feed (its own name: the feed's pages differ from the history's)."""


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class EventTypesField(serializers.ListField):
    child = StrictCharField(max_length=64)


class WebhookEndpointSerializer(WorkspaceModelSerializer):
    event_types = EventTypesField(required=False, max_length=100,
                                  help_text="Event types to send (`contact.updated`...); empty or omitted: all.")
    active = StrictBooleanField(required=False)
    batch_size = serializers.IntegerField(
        required=False, min_value=1, max_value=100,
        help_text='Opt-in: up to this many events in one request, {"type": "batch", "data": [event, ...]}; 1 '
                  "(default): one event a request.")

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "active", "batch_size", "disabled_reason", "failing_since",
                  "version", "created_at", "updated_at"]
        read_only_fields = ["id", "disabled_reason", "failing_since", "version", "created_at", "updated_at"]


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="The signing secret (whsec_...): shown here only.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookAttemptSerializer(Serializer):
    attempted_at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    duration_ms = serializers.IntegerField()
    error = serializers.CharField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)


class WebhookDeliverySerializer(ModelSerializer):
    webhook_id = serializers.SerializerMethodField(help_text="The webhook-id header: the same on every attempt.")
    event_id = serializers.IntegerField()
    event_type = serializers.CharField(source="event.type")
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "webhook_id", "event_id", "event_type", "status", "attempts", "created_at",
                  "first_attempt_at", "next_attempt_at", "delivered_at", "attempt_log"]
        read_only_fields = fields

    def get_webhook_id(self, delivery) -> str:
        return f"evt_{delivery.event_id}"
