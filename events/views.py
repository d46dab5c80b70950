"""Events feed and webhook endpoints (admins only: events carry every
contact's data, whatever its visibility; a contact's history is read
through /contacts/{id}/history, which follows visibility)."""
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.openapi import ErrorSerializer
from crm.pagination import PagePagination, parse_bounded_int
from crm.permissions import IsWorkspaceAdmin
from crm.viewsets import WorkspaceModelViewSet, WorkspaceViewSet

from . import selectors, webhooks
from .models import Event, WebhookEndpoint
from .serializers import (
    FeedEventSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointSerializer,
)

FEED_MAX_LIMIT = 1000


class FeedPagination(PagePagination):
    """`after` (an event id) and `limit` (1..1,000, default 100)."""

    def paginate_queryset(self, queryset, request, view=None):
        self.limit = parse_bounded_int(request.query_params, ("limit",), 100, 1, FEED_MAX_LIMIT)
        rows = list(queryset[: self.limit + 1])
        self.has_next = len(rows) > self.limit
        rows = rows[: self.limit]
        self.after = rows[-1].pk if rows else view.after
        return rows

    def get_pagination_info(self):
        return {"limit": self.limit, "after": self.after, "hasNextPage": self.has_next}

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["properties"]["paginationInfo"] = {
            "type": "object",
            "properties": {
                "limit": {"type": "integer", "example": 100},
                "after": {"type": "integer", "nullable": True, "description": "Pass it back as `after` to resume."},
                "hasNextPage": {"type": "boolean"},
            },
        }
        return response

    def get_schema_operation_parameters(self, view):
        return [{"name": "limit", "required": False, "in": "query", "description": "1..1,000 (default 100).",
                 "schema": {"type": "integer", "minimum": 1, "maximum": FEED_MAX_LIMIT}}]


@extend_schema(tags=["events"])
@extend_schema_view(list=extend_schema(
    operation_id="events_feed", summary="The events feed, in commit order (resume with after=<last id>)",
    parameters=[
        OpenApiParameter("after", OpenApiTypes.INT, description="The id of the last event you received; "
                                                                "absent: from the oldest kept (EVENTS_RETENTION_DAYS)."),
        OpenApiParameter("type", {"type": "array", "items": {"type": "string", "enum": list(webhooks.EVENT_TYPES)}},
                         description="Only these event types (repeat, or comma-separated).", explode=False),
    ],
))
class EventViewSet(mixins.ListModelMixin, WorkspaceViewSet):
    queryset = Event.objects.all()
    serializer_class = FeedEventSerializer
    pagination_class = FeedPagination
    permission_classes = [IsWorkspaceAdmin]

    def list(self, request, *args, **kwargs):
        params = request.query_params
        self.after = parse_bounded_int(params, ("after",), 0, 0, 2**63 - 1) or None
        types = [t.strip() for value in params.getlist("type") for t in value.split(",") if t.strip()]
        unknown = sorted(set(types) - set(webhooks.EVENT_TYPES))
        if unknown:
            raise serializers.ValidationError({"type": [f"Unknown event types: {', '.join(unknown)}."]})
        page = self.paginate_queryset(selectors.feed(workspace=self.workspace, after=self.after, types=types))
        return self.get_paginated_response(FeedEventSerializer(page, many=True).data)


DELIVERY_ID = OpenApiParameter("delivery_id", OpenApiTypes.INT, OpenApiParameter.PATH)


@extend_schema(tags=["webhooks"])
@extend_schema_view(
    create=extend_schema(operation_id="webhooks_create", responses={201: WebhookEndpointCreatedSerializer}),
    destroy=extend_schema(responses={204: None}),
)
class WebhookViewSet(WorkspaceModelViewSet):
    """Webhook endpoints (admins only). The secret is shown once: in the
    creation's answer and in rotate-secret's."""

    queryset = WebhookEndpoint.objects.all()
    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsWorkspaceAdmin]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    bodyless_actions = frozenset({"destroy", "rotate_secret", "test", "retry"})

    def create(self, request, *args, **kwargs):
        payload = WebhookEndpointSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        endpoint, secret = webhooks.webhook_create(workspace=self.workspace, actor=self.actor,
                                                   **payload.validated_data)
        endpoint.secret = secret
        return Response(WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer):
        serializer.instance = webhooks.webhook_update(
            workspace=self.workspace, actor=self.actor, endpoint=serializer.instance,
            changes=serializer.validated_data, expected_version=self.expected_version())

    def perform_destroy(self, instance):
        webhooks.webhook_delete(workspace=self.workspace, actor=self.actor, endpoint=instance,
                                expected_version=self.expected_version())

    @extend_schema(operation_id="webhooks_rotate_secret", request=None,
                   responses={200: WebhookEndpointCreatedSerializer},
                   summary="A new signing secret; the old one keeps signing beside it for 24 hours")
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        endpoint = self.get_object()
        secret = webhooks.webhook_rotate_secret(workspace=self.workspace, actor=self.actor, endpoint=endpoint)
        endpoint.refresh_from_db()
        endpoint.secret = secret
        return Response(WebhookEndpointCreatedSerializer(endpoint).data)

    @extend_schema(operation_id="webhooks_test", request=None, responses={
        202: WebhookDeliverySerializer,
        400: OpenApiResponse(ErrorSerializer, description="`inactive`: the endpoint is disabled."),
    }, summary="Send a webhook.test event to this endpoint")
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        delivery = webhooks.webhook_test(workspace=self.workspace, actor=self.actor, endpoint=self.get_object())
        delivery = selectors.webhook_deliveries(endpoint=delivery.endpoint).get(pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(operation_id="webhooks_deliveries", responses={200: WebhookDeliverySerializer(many=True)},
                   summary="The endpoint's deliveries, newest first, each with its attempts")
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        queryset = selectors.webhook_deliveries(endpoint=self.get_object())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(operation_id="webhooks_delivery_retry", request=None, parameters=[DELIVERY_ID],
                   responses={202: WebhookDeliverySerializer}, summary="Send a delivery again now")
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>\d+)/retry")
    def retry(self, request, pk=None, delivery_id=None):
        endpoint = self.get_object()
        delivery = webhooks.webhook_delivery_retry(workspace=self.workspace, actor=self.actor, endpoint=endpoint,
                                                   delivery_id=int(delivery_id))
        delivery = get_object_or_404(selectors.webhook_deliveries(endpoint=endpoint), pk=delivery.pk)
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
