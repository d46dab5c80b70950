from django.contrib import admin

from crm.admin import ServiceAdminForm, ServiceModelAdmin

from . import services
from .models import Tag


class TagForm(ServiceAdminForm):
    class Meta:
        model = Tag
        fields = ["workspace", "tag", "type", "order", "description"]

    def write(self, tag, data):
        changes = {name: data[name] for name in ("tag", "type", "order", "description")}
        if tag is None:
            return services.tag_create(workspace=data["workspace"], actor=self.actor, **changes)
        return services.tag_update(workspace=tag.workspace, actor=self.actor, tag=tag, changes=changes)


@admin.register(Tag)
class TagAdmin(ServiceModelAdmin):
    form = TagForm
    list_display = ["id", "tag", "type", "order", "workspace", "created_at"]
    search_fields = ["tag", "description", "workspace__name"]
    list_filter = ["type", "workspace"]
    list_select_related = ["workspace"]
    autocomplete_fields = ["workspace"]
    ordering = ["workspace", "type", "order", "tag"]

    # Through the service so the contacts concerned get a new version.
    def delete_model(self, request, obj):
        self.call(request, services.tag_delete, workspace=obj.workspace, actor=self.actor(request), tag=obj)
