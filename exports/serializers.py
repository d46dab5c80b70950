from rest_framework import serializers

from crm.serializers import MAX_ID, ModelSerializer, Serializer, StrictCharField

from .columns import COLUMNS
from .models import ExportJob


class ExportJobCreateSerializer(Serializer):
    format = serializers.ChoiceField(choices=ExportJob.Format.choices, default=ExportJob.Format.CSV)
    search = serializers.DictField(
        required=False, allow_empty=True,
        help_text="Which contacts: {filter_groups, query} as POST /v1/crm/contacts/search takes them. Empty or "
                  "absent: every active contact the caller may see.",
    )
    view_id = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False,
                                       help_text="A saved view to run instead of `search` (its search as it is now).")
    columns = serializers.ListField(
        child=serializers.ChoiceField(choices=list(COLUMNS)), required=False, allow_empty=False, max_length=len(COLUMNS),
        help_text="Columns in this order (default: all of them).",
    )


class ExportJobCreatedSerializer(Serializer):
    job_id = serializers.IntegerField()


class ExportJobSerializer(ModelSerializer):
    job_id = serializers.IntegerField(source="id", read_only=True)
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id", "job_id", "status", "format", "search", "view_id", "columns", "rows", "total_rows", "progress",
            "size", "message", "download_url", "started_at", "finished_at", "created_at", "updated_at", "created_by",
        ]
        read_only_fields = fields

    def get_download_url(self, job) -> str | None:
        if job.status != ExportJob.Status.SUCCEEDED:
            return None
        return f"/v1/crm/exports/{job.pk}/download"


__all__ = ["ExportJobCreateSerializer", "ExportJobCreatedSerializer", "ExportJobSerializer"]
