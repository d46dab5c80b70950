from django.db import models
from django.db.models.functions import Lower

from crm.models import VersionedModel, WorkspaceScopedModel


class Tag(VersionedModel, WorkspaceScopedModel):
    class Type(models.TextChoices):
        COMMON = "common", "Common"
        CLIENT = "client", "Client"
        MESSAGE = "message", "Message"
        CONVERSATION = "conversation", "Conversation"
        CLIENT_STAGE = "clientStage", "Client stage"
        CONV_STAGE = "convStage", "Conversation stage"

    tag = models.CharField(max_length=100)
    type = models.CharField(max_length=20, choices=Type.choices)
    order = models.IntegerField(default=0)
    description = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["order", "tag", "id"]
        constraints = [
            models.UniqueConstraint("workspace", "type", Lower("tag"), name="uniq_tag_type_name_ci"),
        ]
        indexes = [models.Index(fields=["workspace", "type", "order", "tag"], name="tag_list_idx")]

    def __str__(self):
        return f"{self.tag} ({self.type})"
