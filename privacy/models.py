from django.db import models

from crm.models import WorkspaceScopedModel


class ErasureReceipt(WorkspaceScopedModel):
    """What a privacy erase removed, when and by whom (`created_at`,
    `created_by`). It names no one: the identifier's kind is kept, never its
    value, so the receipt outlives the data without holding it."""

    class Identifier(models.TextChoices):
        CONTACT_ID = "contact_id", "Contact id"
        EMAIL = "email", "Email"
        PHONE = "phone", "Phone"
        EXTERNAL_CLIENT_ID = "external_client_id", "External client id"

    identifier = models.CharField(max_length=20, choices=Identifier.choices)
    contacts = models.PositiveIntegerField(default=0)
    conversations = models.PositiveIntegerField(default=0)
    messages = models.PositiveIntegerField(default=0)
    import_rows = models.PositiveIntegerField(default=0)
    suppress = models.BooleanField(default=False)
    suppressed = models.PositiveIntegerField(default=0, help_text="Identifiers now on the suppression list")

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["workspace", "id"], name="erasure_receipt_ws_idx")]

    def __str__(self):
        return f"Erasure {self.pk} by {self.identifier} ({self.contacts} contacts)"
