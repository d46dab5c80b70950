from django.db import models

from crm.models import WorkspaceScopedModel


class ExportJob(WorkspaceScopedModel):
    """A contacts export: what to select (`search` or a saved view), which
    columns, in which format; run by a worker into a file of Django's
    default storage under `exports/<workspace id>/<file_name>`."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        JSONL = "jsonl", "JSON Lines"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    format = models.CharField(max_length=5, choices=Format.choices, default=Format.CSV)
    search = models.JSONField(default=dict, blank=True, help_text="What to export (the selection as given)")
    view_id = models.BigIntegerField(null=True, blank=True, help_text="A saved view to run instead of `search`")
    columns = models.JSONField(default=list, blank=True)
    rows = models.PositiveIntegerField(default=0, help_text="Rows written so far")
    total_rows = models.PositiveIntegerField(null=True, blank=True, help_text="Rows of the snapshot, once counted")
    progress = models.PositiveSmallIntegerField(default=0)
    file_name = models.CharField(max_length=64, blank=True, default="")
    size = models.BigIntegerField(default=0)
    message = models.TextField(blank=True, default="", help_text="Why the job failed or stopped")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The lease: the one task run allowed to work on the job until it expires
    # (a redelivered message after a worker died starts the export over).
    lease_owner = models.CharField(max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["workspace", "id"], name="export_job_ws_idx")]

    def __str__(self):
        return f"Export {self.pk} ({self.format}, {self.status})"
