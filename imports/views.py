from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import StreamingHttpResponse
from django.utils.functional import classproperty
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from crm.errors import PayloadTooLarge
from crm.openapi import ErrorSerializer
from crm.viewsets import WorkspaceViewSet

from . import selectors, services
from .models import ImportFile, ImportJob
from .serializers import (
    ImportFileSerializer,
    ImportFileUploadSerializer,
    ImportJobCreatedSerializer,
    ImportJobCreateSerializer,
    ImportJobSerializer,
    ImportValidateSerializer,
    ImportValidationResultSerializer,
)

TAGS = ["imports"]
# Room for the multipart envelope around the file itself.
MULTIPART_OVERHEAD = 64 * 1024


class CappedUploadHandler(FileUploadHandler):
    """First in the chain: counts the bytes of the streamed upload and stops
    it with a 413 once past the cap (a chunked body has no Content-Length
    for the middleware to check); the temporary file is discarded."""

    def __init__(self, limit: int, request=None):
        super().__init__(request)
        self.limit = limit

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            raise PayloadTooLarge(f"The file is larger than the {self.limit} bytes an import accepts.")
        return raw_data

    def file_complete(self, file_size):
        return None


@extend_schema_view(
    list=extend_schema(operation_id="import_files_list", summary="List uploaded CSV files", tags=TAGS),
    destroy=extend_schema(
        operation_id="import_files_destroy", summary="Delete an uploaded CSV file", tags=TAGS,
        responses={
            204: OpenApiResponse(description="Deleted."),
            409: OpenApiResponse(ErrorSerializer, description="A queued or running job uses the file."),
        },
    ),
)
class ImportFileViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, WorkspaceViewSet):
    queryset = ImportFile.objects.all()
    serializer_class = ImportFileSerializer
    parser_classes = [MultiPartParser]
    lookup_field = "file_name"
    filter_backends = []

    @classproperty
    def max_body_bytes(cls):
        return settings.IMPORT_MAX_FILE_BYTES + MULTIPART_OVERHEAD

    def scope_queryset(self, queryset):
        return queryset.order_by("-id")

    @extend_schema(
        operation_id="import_files_upload",
        summary="Upload a CSV file",
        description=(
            "Multipart upload, field `file`. Stored under the workspace with a generated `file_name` (pass it to "
            "validate and import). Over IMPORT_MAX_FILE_BYTES (100 MB by default): 413 and nothing is kept; "
            "binary content (NUL bytes outside UTF-16): 400."
        ),
        request={"multipart/form-data": ImportFileUploadSerializer},
        responses={201: ImportFileSerializer, 413: OpenApiResponse(ErrorSerializer, description="File too large.")},
        tags=TAGS,
    )
    def create(self, request):
        request._request.upload_handlers.insert(0, CappedUploadHandler(settings.IMPORT_MAX_FILE_BYTES, request._request))
        serializer = ImportFileUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        uploaded = serializer.validated_data["file"]
        import_file = services.import_file_upload(
            workspace=self.workspace, actor=self.actor, uploaded=uploaded, original_name=uploaded.name
        )
        return Response(ImportFileSerializer(import_file).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        services.import_file_delete(workspace=self.workspace, actor=self.actor, import_file=instance)


@extend_schema_view(
    list=extend_schema(operation_id="import_jobs_list", summary="List import jobs", tags=TAGS),
    retrieve=extend_schema(
        operation_id="import_jobs_retrieve", summary="Get an import job",
        description="Status, counters, progress (0..100) and the first 1,000 errors.", tags=TAGS,
    ),
)
class ImportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    filter_backends = []

    def scope_queryset(self, queryset):
        return queryset.select_related("created_by").order_by("-id")

    @extend_schema(
        operation_id="import_jobs_create",
        summary="Import contacts from an uploaded CSV file",
        description=(
            "Answers 202 `{job_id}` with a `Location` header and runs the job on a worker. Rows with an "
            "`external_client_id` create or update the contact that has it (an empty cell keeps the stored value); "
            "other rows create contacts. `skip_errors: false`: any invalid row fails the job and nothing is "
            "written; `true`: valid rows are written, invalid ones reported (GET .../errors.csv). "
            "`validate_only: true`: the job writes nothing and its `result` is what POST /imports/validate answers."
        ),
        request=ImportJobCreateSerializer,
        responses={202: ImportJobCreatedSerializer, 404: OpenApiResponse(ErrorSerializer, description="No uploaded file of this `file_name` in the workspace."),},
        tags=TAGS,
    )
    def create(self, request):
        serializer = ImportJobCreateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        job = services.import_job_create(workspace=self.workspace, actor=self.actor, **serializer.validated_data)
        return Response({"job_id": job.pk}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/v1/crm/imports/{job.pk}"})

    @extend_schema(
        operation_id="imports_validate",
        summary="Validate an uploaded CSV file",
        description=(
            "Checks every row with the contacts API's rules (email, phone, enums, label/stage/owner references, "
            "lengths) plus header problems, duplicate external_client_id in the file and ragged rows; writes "
            "nothing. `row` is the spreadsheet row number (header = 1). An unreadable encoding is a 400. Files "
            "over IMPORT_VALIDATE_SYNC_MAX_BYTES (10 MiB by default, about 200,000 rows) are a 413 "
            "`validate_in_a_job`: start a job with `validate_only: true` instead, whose `result` is this report."
        ),
        request=ImportValidateSerializer,
        responses={200: ImportValidationResultSerializer, 404: OpenApiResponse(ErrorSerializer, description="No uploaded file of this `file_name` in the workspace."),
                   413: OpenApiResponse(ErrorSerializer, description="Too large to validate within a request: use a validate_only job.")},
        tags=TAGS,
    )
    def validate(self, request):
        serializer = ImportValidateSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        result = services.import_validate(workspace=self.workspace, actor=self.actor, sync=True,
                                          **serializer.validated_data)
        return Response(result)

    @extend_schema(
        operation_id="import_jobs_cancel",
        summary="Cancel an import job",
        description="Stops a queued or running job; chunks already committed stay. A finished job: 409.",
        request=None,
        responses={200: ImportJobSerializer, 409: OpenApiResponse(ErrorSerializer, description="Already finished.")},
        tags=TAGS,
    )
    def cancel(self, request, pk=None):
        job = services.import_job_cancel(workspace=self.workspace, actor=self.actor, job=self.get_object())
        return Response(ImportJobSerializer(job).data)

    @extend_schema(
        operation_id="import_jobs_errors_csv",
        summary="Download a job's rejected rows",
        description=(
            "CSV: `row`, `error`, then the file's own columns, one line per rejected row as it was. Cells a "
            "spreadsheet would run as a formula (= + - @ tab CR) are prefixed with a quote."
        ),
        responses={(200, "text/csv"): OpenApiTypes.STR},
        tags=TAGS,
    )
    def errors_csv(self, request, pk=None):
        job = self.get_object()
        response = StreamingHttpResponse(selectors.import_job_errors_csv(job=job), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
        return response
