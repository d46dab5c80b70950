from rest_framework import serializers

from crm.aliases import SeedAliases
from crm.serializers import StrictBooleanField, StrictCharField

from .models import ImportFile, ImportJob
from .validation import IMPORT_FIELDS

MAPPING_HELP = (
    "Overrides the header matching: {header: field}; a field of "
    f"{', '.join(IMPORT_FIELDS)}, or \"\"/null to ignore the column."
)


class ImportFileSerializer(serializers.ModelSerializer):
    uploaded_at = serializers.DateTimeField(source="created_at", read_only=True)

    class Meta:
        model = ImportFile
        fields = ["id", "file_name", "original_name", "size", "uploaded_at"]
        read_only_fields = fields


class ImportFileUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A CSV file (UTF-8 with or without BOM, or UTF-16 with BOM).")


class MappingField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.ChoiceField(choices=[*IMPORT_FIELDS, ""], allow_null=True, allow_blank=True),
            required=False, help_text=MAPPING_HELP, **kwargs,
        )


class ImportValidateSerializer(SeedAliases, serializers.Serializer):
    """The validateBulkImportContacts input (seed 000)."""

    aliases = {"fileName": "file_name"}
    file_name = StrictCharField(max_length=64, help_text="A file_name answered by POST /imports/files.")
    mapping = MappingField()


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="Row number as a spreadsheet shows it (header = 1).")
    column = serializers.CharField(allow_null=True, help_text="The column's header, or null for the whole row.")
    code = serializers.CharField()
    message = serializers.CharField()


class ImportValidationResultSerializer(serializers.Serializer):
    total_rows = serializers.IntegerField()
    valid_rows = serializers.IntegerField()
    invalid_rows = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True, help_text="The first 1,000 errors, by row.")
    errors_truncated = serializers.BooleanField()
    error_count = serializers.IntegerField()
    unknown_columns = serializers.ListField(child=serializers.CharField(), help_text="Headers matching no field (ignored).")
    columns = serializers.DictField(child=serializers.CharField(), help_text="{header: field} as matched.")
    encoding = serializers.CharField()
    delimiter = serializers.CharField()


class ImportJobCreateSerializer(SeedAliases, serializers.Serializer):
    """The bulkImportContacts input (seed 000)."""

    aliases = {"fileName": "file_name", "skipErrors": "skip_errors", "validateOnly": "validate_only"}
    file_name = StrictCharField(max_length=64)
    skip_errors = StrictBooleanField(
        default=False, help_text="false: any invalid row fails the job and nothing is written."
    )
    validate_only = StrictBooleanField(
        default=False,
        help_text="true: the job validates the file in the background and writes nothing; its `result` is what "
                  "POST /imports/validate answers, for a file of any size.",
    )
    mapping = MappingField()
    match_on = serializers.ListField(
        child=serializers.ChoiceField(choices=["external_client_id", "email", "phone"]), required=False,
        allow_empty=False, max_length=3,
        help_text="The keys a row matches an existing contact by, in order (default external_client_id): a file "
                  "without external ids updates the contacts its emails or phones name. A row matching two "
                  "contacts is a row error `ambiguous_match`.",
    )

    def validate_match_on(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("Each key at most once.")
        return value


class ImportJobCreatedSerializer(serializers.Serializer):
    job_id = serializers.IntegerField()


class ImportJobSerializer(serializers.ModelSerializer):
    job_id = serializers.IntegerField(source="id", read_only=True)
    errors = ImportErrorSerializer(many=True, read_only=True)
    created_by = serializers.PrimaryKeyRelatedField(read_only=True)
    result = ImportValidationResultSerializer(
        read_only=True, allow_null=True,
        help_text="A validate_only job's report once it succeeded (what POST /imports/validate answers); else null.",
    )

    class Meta:
        model = ImportJob
        fields = [
            "id", "job_id", "status", "file_name", "skip_errors", "validate_only", "result", "mapping", "match_on",
            "total_rows", "processed_rows", "created",
            "updated", "skipped", "progress", "errors", "error_count", "message", "started_at", "finished_at",
            "created_at", "updated_at", "created_by",
        ]
        read_only_fields = fields
