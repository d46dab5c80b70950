from django.db import models
from django.db.models import Q

from crm.models import VersionedModel, WorkspaceScopedModel


class Integration(VersionedModel, WorkspaceScopedModel):
    """A channel messages go out through. `config` holds the provider's
    non-secret settings (validated by the provider class); `secret` signs
    outbound webhooks and inbound status reports and is never returned."""

    class Provider(models.TextChoices):
        CONSOLE = "console", "Console (log only)"
        WEBHOOK = "webhook", "Signed JSON webhook"

    name = models.CharField(max_length=100)
    provider = models.CharField(max_length=20, choices=Provider.choices, default=Provider.CONSOLE)
    config = models.JSONField(default=dict, blank=True)
    secret = models.CharField(max_length=255, blank=True, default="")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["workspace", "provider"], name="integration_ws_provider_idx")
        ]

    def __str__(self):
        return f"{self.name} ({self.provider})"


class Conversation(VersionedModel, WorkspaceScopedModel):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.CASCADE, related_name="conversations"
    )
    integration = models.ForeignKey(
        Integration, on_delete=models.PROTECT, related_name="conversations"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    last_message_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # sendNotification finds-or-opens: at most one open conversation per
            # contact and channel, even under concurrent notifications.
            models.UniqueConstraint(
                fields=["contact", "integration"],
                condition=Q(status="open"),
                name="uniq_open_conversation",
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "contact"], name="conv_ws_contact_idx"),
            models.Index(
                fields=["workspace", "integration", "status"], name="conv_ws_integration_idx"
            ),
        ]

    def __str__(self):
        return f"Conversation {self.pk} ({self.status})"


class Message(WorkspaceScopedModel):
    class Type(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image"
        AUDIO = "audio", "Audio"
        DOCUMENT = "document", "Document"
        VIDEO = "video", "Video"
        LOCATION = "location", "Location"
        INTERACTIVE = "interactive", "Interactive"
        TEMPLATE = "template", "Template"
        CONTACTS = "contacts", "Contacts"
        NOTE = "note", "Note"

    MEDIA_TYPES = frozenset({Type.IMAGE, Type.AUDIO, Type.DOCUMENT, Type.VIDEO})

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"
        INTERNAL = "internal", "Internal (note, never sent)"

    # indexed by msg_conv_newest_idx (conversation first)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    integration = models.ForeignKey(Integration, on_delete=models.PROTECT, related_name="messages")
    content = models.TextField(blank=True, default="")
    type = models.CharField(max_length=12, choices=Type.choices, default=Type.TEXT)
    note_type = models.CharField(max_length=50, blank=True, default="")
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_agent = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    external_message_id = models.CharField(max_length=255, blank=True, default="")
    error = models.TextField(blank=True, default="")
    tags = models.ManyToManyField(
        "tags.Tag", through="MessageTag", related_name="messages", blank=True
    )
    template_name = models.CharField(max_length=255, blank=True, default="")
    template_lang = models.CharField(max_length=20, blank=True, default="")
    template_components = models.JSONField(null=True, blank=True)
    trunk = models.CharField(max_length=100, blank=True, default="")
    sender_id = models.CharField(max_length=100, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    # Delivery bookkeeping: a task claims the row (claimed_until in the future)
    # before calling the provider, so a redelivered task never sends twice.
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # the conversation's messages newest first (list and keyset pages)
            models.Index(fields=["conversation", "-created_at", "-id"], name="msg_conv_newest_idx"),
            # provider status reports look messages up by their external id
            models.Index(
                fields=["integration", "external_message_id"],
                condition=~Q(external_message_id=""),
                name="msg_integration_external_idx",
            ),
        ]

    def __str__(self):
        return f"Message {self.pk} ({self.type}, {self.status})"


class MessageTag(models.Model):
    # uniq_message_tag and message_tag_by_tag_idx serve both directions
    message = models.ForeignKey(Message, on_delete=models.CASCADE, db_index=False)
    tag = models.ForeignKey("tags.Tag", on_delete=models.CASCADE, db_index=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "tag"], name="uniq_message_tag")]
        indexes = [models.Index(fields=["tag", "message"], name="message_tag_by_tag_idx")]
