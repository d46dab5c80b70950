from django.conf import settings
from django.db import connection
from kombu import Connection
from django.http import JsonResponse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import api_view, authentication_classes, permission_classes, throttle_classes
from rest_framework.response import Response
from rest_framework.views import APIView


from . import selectors, services
from .models import ApiToken
from .permissions import IsWorkspaceAdmin
from .serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    MeSerializer,
    UserSerializer,
)
from .viewsets import WorkspaceViewSet


class MeView(APIView):
    @extend_schema(operation_id="me_retrieve", responses=MeSerializer, tags=["account"])
    def get(self, request):
        user = request.user
        user.role = request.auth.role
        data = {"user": user, "workspace": request.auth.workspace, "role": request.auth.role}
        return Response(MeSerializer(data).data)


class UsersView(APIView):
    """The workspace's members: the ids that owner_id and default_agent_id refer to."""

    @extend_schema(operation_id="users_list", responses=UserSerializer(many=True), tags=["account"])
    def get(self, request):
        users = selectors.workspace_members(workspace=request.auth.workspace)
        return Response(UserSerializer(users, many=True).data)


@extend_schema(tags=["tokens"])
class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, WorkspaceViewSet):
    """API tokens of the workspace (admins only). DELETE revokes."""

    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenSerializer
    permission_classes = [IsWorkspaceAdmin]

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        payload = ApiTokenCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        token, plaintext = services.token_create(
            workspace=self.workspace, actor=self.actor, user=request.user, **payload.validated_data
        )
        token.token = plaintext
        return Response(ApiTokenCreatedSerializer(token).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: ApiTokenSerializer})
    def destroy(self, request, *args, **kwargs):
        token = services.token_revoke(workspace=self.workspace, actor=self.actor, token=self.get_object())
        return Response(ApiTokenSerializer(token).data)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        return False


def _broker_ok() -> bool:
    try:
        with Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:
        return False


@extend_schema(
    operation_id="healthz",
    auth=[],
    tags=["health"],
    responses={
        (200, "application/json"): inline_serializer(
            "Health",
            {"status": serializers.CharField(), "database": serializers.CharField(), "broker": serializers.CharField()},
        ),
        (503, "application/json"): inline_serializer(
            "HealthDown",
            {"status": serializers.CharField(), "database": serializers.CharField(), "broker": serializers.CharField()},
        ),
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def healthz(request):
    """Liveness and readiness: 200 when the database and the broker answer, 503 otherwise."""
    database, broker = _database_ok(), _broker_ok()
    body = {
        "status": "ok" if database and broker else "unavailable",
        "database": "ok" if database else "down",
        "broker": "ok" if broker else "down",
    }
    return JsonResponse(body, status=200 if database and broker else 503)
