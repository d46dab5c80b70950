"""The events of the transactional outbox, and the webhook endpoints and
deliveries that read it (docs/architecture.md, "Events")."""
from django.db import models
from django.db.models import Q

from crm.models import VersionedModel, WorkspaceScopedModel
from crm.secrets import EncryptedTextField


class Event(models.Model):
    """One change, written in the same transaction as the change
    (events.services.record / record_many). `txid` is the writing
    transaction's id (PostgreSQL): the feed serves events in (txid, id)
    order, and only those of transactions older than every one still
    running, so an event committed late is never skipped."""

    workspace = models.ForeignKey("crm.Workspace", on_delete=models.CASCADE, related_name="+", db_index=False)
    type = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=32)
    subject_id = models.BigIntegerField(null=True)
    subject_version = models.PositiveIntegerField(null=True, blank=True)
    actor_type = models.CharField(max_length=16)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=255, blank=True, default="")
    occurred_at = models.DateTimeField()
    txid = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # the feed: a workspace's events in transaction order
            models.Index(fields=["workspace", "txid", "id"], name="event_feed_idx"),
            # a contact's history, newest first
            models.Index(fields=["subject_id", "id"], name="event_contact_history_idx",
                         condition=Q(subject_type="contact")),
        ]

    def __str__(self):
        return f"{self.type} {self.subject_type} {self.subject_id} ({self.pk})"

    @property
    def actor(self) -> dict:
        return {"type": self.actor_type, "id": self.actor_id, "name": self.actor_name}


class WebhookEndpoint(VersionedModel, WorkspaceScopedModel):
    """Where a workspace's events are POSTed (Standard Webhooks). The secret
    (whsec_...) is encrypted at rest; after a rotation the previous one keeps
    signing beside the new one until `previous_secret_expires_at`."""

    url = models.CharField(max_length=2000)
    description = models.CharField(max_length=255, blank=True, default="")
    event_types = models.JSONField(default=list, blank=True, help_text="Event types to send; empty: all.")
    active = models.BooleanField(default=True)
    # An opt-in for receivers of high volumes: up to this many events in one
    # request ({"type": "batch", "data": [...]}); 1, the default, is one event a request.
    batch_size = models.PositiveSmallIntegerField(default=1)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, default="")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["workspace", "active"], name="webhook_ws_active_idx")]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """An event to send to an endpoint: at least once, the same webhook-id
    on every attempt, retried with backoff until it succeeds or
    WEBHOOK_RETRY_WINDOW has passed since its first attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries",
                                 db_index=False)
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="+", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["endpoint", "id"], name="delivery_endpoint_idx"),
            # what the delivery tasks and the sweeper look for
            models.Index(fields=["endpoint", "next_attempt_at"], name="delivery_due_idx",
                         condition=Q(status="pending")),
            models.Index(fields=["event"], name="delivery_event_idx"),
        ]


class WebhookAttempt(models.Model):
    """One try of a delivery, for the delivery log (admins only): the status
    code, how long it took, our error text with at most a short sanitised
    excerpt of the receiver's body, and when the next try is due."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log",
                                 db_index=False)
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["delivery", "id"], name="attempt_delivery_idx")]
