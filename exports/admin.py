from django.contrib import admin

from crm.admin import ReadOnlyModelAdmin

from . import services
from .models import ExportJob


# Exports are started through the API (a job added by hand would read as
# nobody); here they are looked at and cancelled, through the service.
@admin.register(ExportJob)
class ExportJobAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "workspace", "format", "status", "progress", "rows", "total_rows", "size", "created_by",
                    "created_at", "finished_at"]
    search_fields = ["file_name", "workspace__name", "message"]
    list_filter = ["status", "format", "workspace", "created_at"]
    list_select_related = ["workspace", "created_by"]
    actions = ["cancel_selected"]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Cancel selected queued or running exports")
    def cancel_selected(self, request, queryset):
        cancelled = sum(
            bool(self.call(request, services.export_job_cancel, workspace=job.workspace, actor=self.actor(request),
                           job=job))
            for job in queryset.filter(status__in=ExportJob.ACTIVE).select_related("workspace")
        )
        self.message_user(request, f"Cancelled {cancelled} export(s).")
