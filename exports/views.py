from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from crm.openapi import ErrorSerializer
from crm.viewsets import WorkspaceViewSet

from . import selectors, services
from .models import ExportJob
from .serializers import ExportJobCreatedSerializer, ExportJobCreateSerializer, ExportJobSerializer

TAGS = ["exports"]
NOT_READY = OpenApiResponse(ErrorSerializer, description="`export_not_ready`: the job has not succeeded; "
                                                         "`export_expired`: its file was deleted.")


@extend_schema_view(
    list=extend_schema(operation_id="export_jobs_list", summary="List export jobs", tags=TAGS,
                       description="Admins see every export of the workspace; members their own."),
    retrieve=extend_schema(operation_id="export_jobs_retrieve", summary="Get an export job", tags=TAGS,
                           description="Status, rows written, total rows of the snapshot, progress (0..100)."),
)
class ExportJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceViewSet):
    """Contact exports: enqueue, follow, cancel, download."""

    queryset = ExportJob.objects.all()
    serializer_class = ExportJobSerializer
    bodyless_actions = frozenset({"cancel"})
    filter_backends = []

    def scope_queryset(self, queryset):
        # an export holds what its starter could see: a member sees only their own
        return (queryset & selectors.export_jobs(workspace=self.workspace, actor=self.actor)).order_by("-id")

    @extend_schema(
        operation_id="export_jobs_create", summary="Export contacts to CSV or JSON Lines",
        description=(
            "Answers 202 `{job_id}` with a `Location` header; a worker writes the file. The export is a snapshot "
            "of one moment, in id order: a contact changed meanwhile appears once, as it was when the export "
            "started. Only contacts the caller may see. CSV headers are the import's field names, so the file "
            "imports back (matched by external_client_id). Text cells a spreadsheet would run as a formula "
            "(= + - @ tab CR) are prefixed with a quote; phones (E.164) keep their `+`."
        ),
        request=ExportJobCreateSerializer, tags=TAGS,
        responses={202: ExportJobCreatedSerializer,
                   404: OpenApiResponse(ErrorSerializer, description="No saved view with this `view_id` that you may see.")},
    )
    def create(self, request):
        payload = ExportJobCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        job = services.export_job_create(workspace=self.workspace, actor=self.actor, **payload.validated_data)
        return Response({"job_id": job.pk}, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": f"/v1/crm/exports/{job.pk}"})

    @extend_schema(
        operation_id="export_jobs_cancel", summary="Cancel an export job", request=None,
        description="Stops a queued or running export; it keeps no file. A finished job: 409 `job_finished`.",
        responses={200: ExportJobSerializer, 409: OpenApiResponse(ErrorSerializer, description="Already finished.")},
        tags=TAGS,
    )
    def cancel(self, request, pk=None):
        job = services.export_job_cancel(workspace=self.workspace, actor=self.actor, job=self.get_object())
        return Response(ExportJobSerializer(job).data)

    @extend_schema(
        operation_id="export_jobs_download", summary="Download an export's file",
        description="Streamed from the file storage. 409 until the job has succeeded.",
        responses={(200, "text/csv"): OpenApiTypes.STR, (200, "application/x-ndjson"): OpenApiTypes.STR,
                   409: NOT_READY},
        tags=TAGS,
    )
    def download(self, request, pk=None):
        job = self.get_object()
        handle = services.export_job_file(job=job)
        response = FileResponse(handle, content_type=services.CONTENT_TYPES[job.format], as_attachment=True,
                                filename=f"contacts-export-{job.pk}.{job.format}")
        response["Content-Length"] = str(job.size)
        return response
