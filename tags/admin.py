from django.contrib import admin

from . import services
from .models import Tag


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["id", "tag", "type", "order", "workspace", "created_at"]
    search_fields = ["tag", "description", "workspace__name"]
    list_filter = ["type", "workspace"]
    list_select_related = ["workspace"]
    autocomplete_fields = ["workspace"]
    readonly_fields = ["created_at", "updated_at", "created_by", "updated_by"]
    ordering = ["workspace", "type", "order", "tag"]

    # Through the service so the contacts concerned get a new version.
    def delete_model(self, request, obj):
        services.tag_delete(workspace=obj.workspace, tag=obj)

    def delete_queryset(self, request, queryset):
        for tag in queryset.select_related("workspace"):
            services.tag_delete(workspace=tag.workspace, tag=tag)
