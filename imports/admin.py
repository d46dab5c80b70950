from django.contrib import admin

from crm.admin import ReadOnlyModelAdmin

from . import services
from .models import ImportFile, ImportJob


# Files are uploaded and jobs started through the API or the CLI (a job added
# by hand could never run); here they are looked at, files deleted, jobs cancelled.
@admin.register(ImportFile)
class ImportFileAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "file_name", "original_name", "size", "workspace", "created_by", "created_at"]
    search_fields = ["file_name", "original_name", "workspace__name"]
    list_filter = ["workspace", "created_at"]

    # Through the service: the stored file goes too, and a file in use is kept.
    def delete_model(self, request, obj):
        self.call(request, services.import_file_delete, workspace=obj.workspace, actor=self.actor(request),
                  import_file=obj)


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyModelAdmin):
    list_display = [
        "id", "workspace", "file_name", "status", "progress", "processed_rows", "created", "updated", "skipped",
        "error_count", "created_by", "created_at", "finished_at",
    ]
    search_fields = ["file_name", "workspace__name", "message"]
    list_filter = ["status", "skip_errors", "workspace", "created_at"]
    actions = ["cancel_selected"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel selected queued or running jobs")
    def cancel_selected(self, request, queryset):
        cancelled = sum(
            self.call(request, services.import_job_cancel, workspace=job.workspace, actor=self.actor(request), job=job)
            for job in queryset.filter(status__in=ImportJob.ACTIVE).select_related("workspace")
        )
        self.message_user(request, f"Cancelled {cancelled} job(s).")
