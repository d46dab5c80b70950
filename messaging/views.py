from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from crm.actors import Actor
from crm.openapi import ErrorSerializer
from crm.permissions import IsWorkspaceAdminOrReadOnly
from crm.throttling import TokenRateThrottle
from crm.viewsets import CrmAPIView, WorkspaceModelViewSet, WorkspaceViewSet

from . import selectors, services
from .authentication import IntegrationSignatureAuthentication, IsSignedByIntegration
from .filters import ConversationFilter, MessageFilter
from .models import Conversation, Integration, Message
from .pagination import CursorOnlyPagination
from .serializers import (
    ConversationSerializer,
    ConversationUpdateSerializer,
    IntegrationSerializer,
    MessageAddedSerializer,
    MessageAddSerializer,
    MessageSerializer,
    InboundMessageSerializer,
    InboundResultSerializer,
    NotificationSentSerializer,
    NotificationSerializer,
    StatusReportResultSerializer,
    StatusReportSerializer,
)


CONVERSATION_EXISTS = OpenApiResponse(
    ErrorSerializer,
    description="`conversation_exists`: the contact has an open conversation on this integration "
                "(its id in `conversation_id` when creating).",
)


@extend_schema(tags=["integrations"])
@extend_schema_view(
    destroy=extend_schema(responses={
        204: None,
        409: OpenApiResponse(ErrorSerializer, description="`in_use`: the integration has conversations; "
                                                          "deactivate it (active=false) instead."),
    }),
)
class IntegrationViewSet(WorkspaceModelViewSet):
    """Channels messages go out through. Members read; admins write. The
    secret is write-only."""

    queryset = Integration.objects.all()
    serializer_class = IntegrationSerializer
    permission_classes = [IsWorkspaceAdminOrReadOnly]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scope_queryset(self, queryset):
        return selectors.integrations(queryset=queryset)

    def perform_create(self, serializer):
        serializer.instance = services.integration_create(
            workspace=self.workspace, actor=self.actor, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = services.integration_update(
            workspace=self.workspace, actor=self.actor, integration=serializer.instance,
            changes=serializer.validated_data, expected_version=self.expected_version(),
        )

    def perform_destroy(self, instance):
        services.integration_delete(
            workspace=self.workspace, actor=self.actor, integration=instance, expected_version=self.expected_version()
        )


@extend_schema(tags=["conversations"])
@extend_schema_view(
    create=extend_schema(responses={201: ConversationSerializer, 409: CONVERSATION_EXISTS}),
    partial_update=extend_schema(
        request=ConversationUpdateSerializer, responses={200: ConversationSerializer, 409: CONVERSATION_EXISTS}
    ),
)
class ConversationViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    WorkspaceViewSet,
):
    queryset = Conversation.objects.all()
    serializer_class = ConversationSerializer
    filterset_class = ConversationFilter
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scope_queryset(self, queryset):
        return selectors.conversations(queryset=queryset, workspace=self.workspace, actor=self.actor)

    def perform_create(self, serializer):
        serializer.instance = services.conversation_create(
            workspace=self.workspace, actor=self.actor, **serializer.validated_data
        )

    def partial_update(self, request, *args, **kwargs):
        conversation = self.get_object()
        payload = ConversationUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        conversation = services.conversation_update(
            workspace=self.workspace, actor=self.actor, conversation=conversation,
            expected_version=self.expected_version(), **payload.validated_data,
        )
        return Response(ConversationSerializer(conversation).data)


CONVERSATION_ID = OpenApiParameter(
    "conversation_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The conversation."
)


@extend_schema(tags=["messages"])
@extend_schema_view(
    list=extend_schema(
        parameters=[CONVERSATION_ID],
        operation_id="conversation_messages_list",
        summary="A conversation's messages, newest first (keyset pages: pass nextCursor as cursor)",
    ),
    create=extend_schema(
        parameters=[CONVERSATION_ID],
        operation_id="conversation_messages_add",
        summary="addMessage: add a message (a note is stored, never sent)",
        request=MessageAddSerializer,
        responses={201: MessageAddedSerializer},
    ),
)
class ConversationMessageViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, WorkspaceViewSet):
    queryset = Message.objects.all()
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    pagination_class = CursorOnlyPagination

    def get_conversation(self) -> Conversation:
        # 404 for an unknown conversation, one of another workspace or of a contact the caller may not see
        conversations = selectors.conversations(
            queryset=Conversation.objects.filter(workspace=self.workspace).select_related("integration"),
            workspace=self.workspace, actor=self.actor,
        )
        return get_object_or_404(conversations, pk=self.kwargs["conversation_id"])

    def scope_queryset(self, queryset):
        return selectors.messages_with_tags(
            queryset.filter(conversation_id=self.kwargs["conversation_id"]).order_by(
                "-created_at", "-id"
            )
        )

    def list(self, request, *args, **kwargs):
        self.get_conversation()
        return super().list(request, *args, **kwargs)

    def create(self, request, *args, **kwargs):
        conversation = self.get_conversation()
        payload = MessageAddSerializer(data=request.data, context={
            "request": request,
            "path": {"conversation_id": conversation.pk, "integration_id": conversation.integration_id},
        })
        payload.is_valid(raise_exception=True)
        message = services.message_add(
            workspace=self.workspace, actor=self.actor, conversation=conversation, **payload.validated_data
        )
        return Response(MessageAddedSerializer(message).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=["messages"])
class MessageViewSet(mixins.RetrieveModelMixin, WorkspaceViewSet):
    queryset = Message.objects.all()
    serializer_class = MessageSerializer

    def scope_queryset(self, queryset):
        return selectors.messages(queryset=queryset, workspace=self.workspace, actor=self.actor)


class NotificationView(CrmAPIView):
    @extend_schema(
        operation_id="notifications_send",
        summary="sendNotification: send a template to a contact (by client_id or phone)",
        tags=["messages"],
        request=NotificationSerializer,
        responses={201: NotificationSentSerializer},
    )
    def post(self, request):
        payload = NotificationSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        message = services.notification_send(
            workspace=request.auth.workspace,
            actor=Actor.from_token(request.auth),
            **{
                ("integration" if key == "integration_id" else key): value
                for key, value in payload.validated_data.items()
            },
        )
        return Response(NotificationSentSerializer(message).data, status=status.HTTP_201_CREATED)


class IntegrationRateThrottle(TokenRateThrottle):
    """The token rate, counted per integration (not shared with the token of the same id)."""

    def get_cache_key(self, request, view):
        ident = request.auth.pk if request.auth is not None else self.get_ident(request)
        return self.cache_format % {"scope": "integration", "ident": ident}


class IntegrationStatusView(CrmAPIView):
    """A provider reports a message's status change, signed with the integration's secret."""

    authentication_classes = [IntegrationSignatureAuthentication]
    permission_classes = [IsSignedByIntegration]
    throttle_classes = [IntegrationRateThrottle]
    max_body_bytes = 64 * 1024

    @extend_schema(
        operation_id="integrations_status_report",
        summary="A provider reports delivered / read / failed (statuses only move forward)",
        tags=["integrations"],
        request=StatusReportSerializer,
        responses={200: StatusReportResultSerializer},
    )
    def post(self, request, pk):
        payload = StatusReportSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        integration = request.auth
        message, updated = services.message_status_report(
            workspace=integration.workspace, actor=Actor.integration(integration), integration=integration,
            **payload.validated_data,
        )
        return Response({"message_id": message.pk, "status": message.status, "updated": updated})


class IntegrationInboundView(CrmAPIView):
    """A contact wrote to us: the provider posts the message, signed like status reports."""

    authentication_classes = [IntegrationSignatureAuthentication]
    permission_classes = [IsSignedByIntegration]
    throttle_classes = [IntegrationRateThrottle]

    @extend_schema(
        operation_id="integrations_inbound_message",
        summary="A provider posts a message a contact sent (idempotent on external_message_id)",
        tags=["integrations"],
        request=InboundMessageSerializer,
        responses={201: InboundResultSerializer, 200: InboundResultSerializer},
    )
    def post(self, request, pk):
        payload = InboundMessageSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        integration = request.auth
        message, created = services.message_receive(
            workspace=integration.workspace, actor=Actor.integration(integration), integration=integration,
            sender=data.pop("from"), **data,
        )
        body = {"message_id": message.pk, "conversation_id": message.conversation_id,
                "contact_id": message.conversation.contact_id, "status": message.status, "created": created}
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
