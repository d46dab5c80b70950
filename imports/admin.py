from django.contrib import admin

from .models import ImportFile, ImportJob


@admin.register(ImportFile)
class ImportFileAdmin(admin.ModelAdmin):
    list_display = ["id", "file_name", "original_name", "size", "workspace", "created_by", "created_at"]
    search_fields = ["file_name", "original_name", "workspace__name"]
    list_filter = ["workspace", "created_at"]
    readonly_fields = ["file_name", "size"]


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "id", "workspace", "file_name", "status", "progress", "processed_rows", "created", "updated", "skipped",
        "error_count", "created_by", "created_at", "finished_at",
    ]
    search_fields = ["file_name", "workspace__name", "message"]
    list_filter = ["status", "skip_errors", "workspace", "created_at"]
    readonly_fields = [
        "status", "file_name", "skip_errors", "mapping", "headers", "total_rows", "processed_rows", "created",
        "updated", "skipped", "progress", "errors", "error_count", "message", "started_at", "finished_at",
        "checkpoint", "validated", "lease_owner", "lease_expires_at",
    ]
