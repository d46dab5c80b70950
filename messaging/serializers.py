from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.aliases import SeedAliases
from crm.serializers import MAX_ID, StrictCharField, WorkspaceModelSerializer, WorkspaceRelatedField, no_nul_in_json

from .models import Conversation, Integration, Message


# -- integrations -----------------------------------------------------------
@extend_schema_field({"type": "object", "additionalProperties": True})
class ConfigField(serializers.JSONField):
    """A JSON object (validate_config refuses anything else)."""


class IntegrationSerializer(WorkspaceModelSerializer):
    config = ConfigField(
        required=False,
        validators=[no_nul_in_json],
        help_text='Provider settings. webhook: {"url": "https://...", "timeout": 10}; console: {}.',
    )
    secret = StrictCharField(
        write_only=True,
        required=False,
        allow_blank=True,
        max_length=255,
        trim_whitespace=False,
        help_text="Signs outbound webhooks and inbound status reports (HMAC-SHA256). Write-only.",
    )
    has_secret = serializers.SerializerMethodField()
    status_url = serializers.SerializerMethodField(
        help_text="Where the provider POSTs status reports."
    )

    class Meta:
        model = Integration
        fields = [
            "id",
            "name",
            "provider",
            "config",
            "secret",
            "has_secret",
            "active",
            "status_url",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "created_at", "updated_at"]

    def get_has_secret(self, obj) -> bool:
        return bool(obj.secret)

    def get_status_url(self, obj) -> str:
        return f"/v1/crm/integrations/{obj.pk}/status"

    def validate_config(self, value):
        if not isinstance(value, dict):
            raise serializers.ValidationError("An object is required.")
        return value


# -- conversations ----------------------------------------------------------
class ConversationSerializer(WorkspaceModelSerializer):
    contact_id = serializers.IntegerField(
        min_value=1, max_value=MAX_ID, help_text="A live contact you may see."
    )
    integration_id = WorkspaceRelatedField(source="integration", queryset=Integration.objects.all())

    class Meta:
        model = Conversation
        fields = [
            "id",
            "contact_id",
            "integration_id",
            "status",
            "last_message_at",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "last_message_at", "version", "created_at", "updated_at"]
        # the service answers a second open conversation with 409 and its id
        validators = []


class ConversationUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Conversation.Status.choices)


# -- messages ---------------------------------------------------------------
class TagNamesField(serializers.ListField):
    child = serializers.CharField()

    def to_representation(self, tags):
        return [tag.tag for tag in tags.all()]


class MessageSerializer(serializers.ModelSerializer):
    message_id = serializers.IntegerField(
        source="id", read_only=True, help_text="Same as id (the seed's messageId)."
    )
    conversation_id = serializers.IntegerField(read_only=True)
    integration_id = serializers.IntegerField(read_only=True)
    reply_to_message_id = serializers.IntegerField(
        source="reply_to_id", read_only=True, allow_null=True
    )
    tags = TagNamesField(read_only=True)
    template_components = serializers.JSONField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "message_id",
            "conversation_id",
            "integration_id",
            "content",
            "type",
            "note_type",
            "reply_to_message_id",
            "is_agent",
            "status",
            "external_message_id",
            "error",
            "tags",
            "template_name",
            "template_lang",
            "template_components",
            "trunk",
            "sender_id",
            "created_at",
            "sent_at",
        ]
        read_only_fields = fields


class MessageAddSerializer(SeedAliases, serializers.Serializer):
    """The addMessage input (workspace, conversation and integration come from the token and the URL:
    given in the body, `workspaceId` must be the token's, `convId` and `integrationId` the URL's
    conversation and its integration)."""

    aliases = {"noteType": "note_type", "replyToMessageId": "reply_to_message_id",
               "convId": "conversation_id", "integrationId": "integration_id"}
    path_fields = ("conversation_id", "integration_id")

    content = StrictCharField(
        trim_whitespace=False,
        max_length=65536,
        help_text="The text, or for image/audio/document/video the http(s) URL of the media file.",
    )
    type = serializers.ChoiceField(choices=Message.Type.choices)
    note_type = StrictCharField(required=False, allow_blank=True, max_length=50, default="")
    reply_to_message_id = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, default=None
    )
    tags = serializers.ListField(
        child=StrictCharField(allow_blank=True, trim_whitespace=False),
        required=False,
        default=list,
        max_length=100,
        help_text="Tag names (message or common tags); unknown names are created as message tags.",
    )


class MessageAddedSerializer(MessageSerializer):
    class Meta(MessageSerializer.Meta):
        fields = [
            "message_id",
            "content",
            "type",
            "is_agent",
            "status",
            "external_message_id",
            "tags",
            "created_at",
        ]
        read_only_fields = fields


# -- notifications ----------------------------------------------------------
class NotificationSerializer(SeedAliases, serializers.Serializer):
    """The sendNotification input: client_id or phone is required."""

    aliases = {"integrationId": "integration_id", "clientId": "client_id", "templateName": "template_name",
               "templateLang": "template_lang", "templateComponents": "template_components", "senderId": "sender_id"}

    integration_id = WorkspaceRelatedField(queryset=Integration.objects.all())
    client_id = serializers.IntegerField(required=False, allow_null=True, min_value=1, default=None)
    phone = StrictCharField(required=False, allow_blank=True, max_length=40, default="")
    template_name = StrictCharField(max_length=255)
    template_lang = StrictCharField(
        required=False, allow_blank=True, max_length=20, default=""
    )
    template_components = serializers.JSONField(
        required=False,
        allow_null=True,
        default=None,
        validators=[no_nul_in_json],
        help_text="Template variables; {{name}}, {{surname}}, {{fullName}}, {{email}}, {{phone}}, {{address}}, "
        "{{code}}, {{city}}, {{country}} in any string value are replaced from the contact.",
    )
    trunk = StrictCharField(required=False, allow_blank=True, max_length=100, default="")
    sender_id = StrictCharField(required=False, allow_blank=True, max_length=100, default="")

    def validate(self, attrs):
        if attrs.get("client_id") is None and not attrs.get("phone"):
            raise serializers.ValidationError(
                {"client_id": ["Give client_id or phone."]}, code="required"
            )
        return attrs


class NotificationSentSerializer(MessageSerializer):
    contact_id = serializers.IntegerField(source="conversation.contact_id", read_only=True)

    class Meta(MessageSerializer.Meta):
        fields = [
            "message_id",
            "content",
            "type",
            "status",
            "external_message_id",
            "created_at",
            "conversation_id",
            "contact_id",
        ]
        read_only_fields = fields


# -- provider status reports ------------------------------------------------
# What a provider may report (named in SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]).
REPORTED_STATUS_CHOICES = [
    (s.value, s.label)
    for s in (Message.Status.DELIVERED, Message.Status.READ, Message.Status.FAILED)
]


class StatusReportSerializer(serializers.Serializer):
    external_message_id = StrictCharField(max_length=255)
    status = serializers.ChoiceField(choices=REPORTED_STATUS_CHOICES)
    error = StrictCharField(required=False, allow_blank=True, max_length=2000, default="")


class StatusReportResultSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    status = serializers.ChoiceField(
        choices=Message.Status.choices, help_text="The message's status now."
    )
    updated = serializers.BooleanField(
        help_text="False when the report would have moved the status backwards."
    )


# -- inbound messages -------------------------------------------------------
INBOUND_TYPES = [(t.value, t.label) for t in Message.Type if t != Message.Type.NOTE]


class InboundMessageSerializer(serializers.Serializer):
    """What a provider posts when a contact writes to us (`from` is a phone
    number or the contact's external id)."""

    content = StrictCharField(trim_whitespace=False, max_length=65536, allow_blank=True)
    type = serializers.ChoiceField(choices=INBOUND_TYPES, default=Message.Type.TEXT)
    external_message_id = StrictCharField(max_length=255, help_text="The provider's id: a repeat is ignored.")
    timestamp = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                          help_text="When the contact sent it.")
    reply_to_external_id = StrictCharField(required=False, allow_blank=True, max_length=255, default="")


# `from` is a Python keyword: declared after the class.
InboundMessageSerializer._declared_fields = {
    "from": StrictCharField(max_length=255, help_text="The sender: a phone number or the contact's external id."),
    **InboundMessageSerializer._declared_fields,
}


class InboundResultSerializer(serializers.Serializer):
    message_id = serializers.IntegerField()
    conversation_id = serializers.IntegerField()
    contact_id = serializers.IntegerField()
    status = serializers.CharField()
    created = serializers.BooleanField(help_text="False when external_message_id was received before.")
