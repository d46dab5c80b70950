from django.db import models

from crm.models import WorkspaceScopedModel


class ImportFile(WorkspaceScopedModel):
    """An uploaded CSV. The bytes live in Django's default storage under
    `imports/<workspace id>/<file_name>`; `file_name` is generated, never the
    client's name (kept in `original_name` for display only)."""

    file_name = models.CharField(max_length=64)
    original_name = models.CharField(max_length=255, blank=True, default="")
    size = models.BigIntegerField()

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["workspace", "file_name"], name="uniq_import_file_name")]

    def __str__(self):
        return f"{self.file_name} ({self.original_name})"


class ImportJob(WorkspaceScopedModel):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    file_name = models.CharField(max_length=64)
    skip_errors = models.BooleanField(default=False)
    validate_only = models.BooleanField(default=False, help_text="Validates the file, writes no contact")
    result = models.JSONField(null=True, blank=True, help_text="A validate_only job's report (POST /imports/validate's)")
    mapping = models.JSONField(default=dict, blank=True)
    # Keys a row matches an existing contact by, in order (contacts.services.MATCH_KEYS);
    # [] : by external_client_id, as before match_on existed.
    match_on = models.JSONField(default=list, blank=True)
    headers = models.JSONField(default=list, blank=True, help_text="The file's header row, for errors.csv")
    total_rows = models.PositiveIntegerField(null=True, blank=True, help_text="Known once the file is read through")
    processed_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    progress = models.PositiveSmallIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True, help_text="The first 1,000 {row, column, code, message}")
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True, default="", help_text="Why the job failed or stopped")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Resume state: data records of the file consumed by committed chunks, and
    # whether the all-or-nothing validation pass (skip_errors=false) passed.
    checkpoint = models.PositiveIntegerField(default=0)
    validated = models.BooleanField(default=False)
    # The lease: the one task run allowed to work on the job until it expires.
    lease_owner = models.CharField(max_length=32, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["workspace", "id"], name="import_job_ws_idx")]

    def __str__(self):
        return f"Import {self.pk} of {self.file_name} ({self.status})"


class ImportJobError(models.Model):
    """A rejected row as it was in the file, for the errors.csv report."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rejected_rows")
    row = models.PositiveIntegerField()
    cells = models.JSONField(default=list)
    message = models.TextField()

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="import_error_job_row_idx")]
