from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from crm.models import VersionedModel, WorkspaceScopedModel


class ContactLabel(VersionedModel, WorkspaceScopedModel):
    """A Deskera contact label. Each workspace has exactly one default label
    ("No label") that contacts fall back to."""

    name = models.CharField(max_length=100)
    color = models.CharField(max_length=50, blank=True, default="")
    icon = models.CharField(max_length=50, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint("workspace", Lower("name"), name="uniq_label_name_ci"),
            models.UniqueConstraint(
                fields=["workspace"], condition=models.Q(is_default=True), name="one_default_label"
            ),
        ]

    def __str__(self):
        return self.name
