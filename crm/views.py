import uuid

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from kombu import Connection
from rest_framework import mixins, serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.response import Response

from config.celery import app as celery_app

from . import selectors, services
from .actors import Actor
from .errors import NotFound
from .models import ApiToken
from .openapi import ErrorSerializer
from .permissions import IsWorkspaceAdmin, IsWorkspaceAdminOrReadOnly
from .serializers import (
    MAX_ID,
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    MemberCreateSerializer,
    MemberUpdateSerializer,
    MeSerializer,
    UserSerializer,
)
from .viewsets import CrmAPIView, WorkspaceViewSet


class MeView(CrmAPIView):
    @extend_schema(operation_id="me_retrieve", responses=MeSerializer, tags=["account"])
    def get(self, request):
        user = request.user
        user.role = request.auth.role
        data = {"user": user, "workspace": request.auth.workspace, "role": request.auth.role}
        return Response(MeSerializer(data).data)


class UsersView(CrmAPIView):
    """The workspace's members: the ids that owner_id and default_agent_id
    refer to. Admins add members."""

    permission_classes = [IsWorkspaceAdminOrReadOnly]

    @extend_schema(operation_id="users_list", responses=UserSerializer(many=True), tags=["account"])
    def get(self, request):
        users = selectors.workspace_members(workspace=request.auth.workspace)
        return Response(UserSerializer(users, many=True).data)

    @extend_schema(
        operation_id="users_create", tags=["account"], request=MemberCreateSerializer,
        responses={201: UserSerializer, 409: OpenApiResponse(ErrorSerializer, description="`already_member`.")},
    )
    def post(self, request):
        """Adds a member by email with a role, creating the user if no user has that email."""
        payload = MemberCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.membership_add(
            workspace=request.auth.workspace, actor=Actor.from_token(request.auth), **payload.validated_data
        )
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


_LAST_ADMIN = OpenApiResponse(ErrorSerializer, description="`last_admin`: the workspace's only admin.")


class UserDetailView(CrmAPIView):
    """One member. Admins change the role (PATCH) or remove the member (DELETE)."""

    permission_classes = [IsWorkspaceAdminOrReadOnly]

    def _member(self, request, pk):
        user = selectors.workspace_member(workspace=request.auth.workspace, user_id=pk) if pk <= MAX_ID else None
        if user is None:
            raise NotFound(services.NO_MEMBER)
        return user

    @extend_schema(operation_id="users_retrieve", responses=UserSerializer, tags=["account"])
    def get(self, request, pk):
        return Response(UserSerializer(self._member(request, pk)).data)

    @extend_schema(
        operation_id="users_partial_update", tags=["account"], request=MemberUpdateSerializer,
        responses={200: UserSerializer, 409: _LAST_ADMIN},
    )
    def patch(self, request, pk):
        """Changes the member's role. Demoting the last admin is a 409."""
        payload = MemberUpdateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        user = services.membership_change_role(
            workspace=request.auth.workspace, actor=Actor.from_token(request.auth), user=self._member(request, pk),
            role=payload.validated_data["role"],
        )
        return Response(UserSerializer(user).data)

    @extend_schema(operation_id="users_destroy", tags=["account"], responses={204: None, 409: _LAST_ADMIN})
    def delete(self, request, pk):
        """Removes the member from the workspace and revokes their tokens for it.
        Removing the last admin is a 409."""
        services.membership_remove(
            workspace=request.auth.workspace, actor=Actor.from_token(request.auth), user=self._member(request, pk)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["tokens"])
class TokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, WorkspaceViewSet):
    """API tokens of the workspace (admins only). DELETE revokes."""

    queryset = ApiToken.objects.all()
    serializer_class = ApiTokenSerializer
    permission_classes = [IsWorkspaceAdmin]

    @extend_schema(request=ApiTokenCreateSerializer, responses={201: ApiTokenCreatedSerializer})
    def create(self, request):
        payload = ApiTokenCreateSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        token, plaintext = services.token_create(
            workspace=self.workspace, actor=self.actor, user=data.pop("user_id", request.user), **data
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


def _storage_ok() -> bool:
    """Writes, reads back and deletes a small file through the uploads'
    storage (local disk or object storage): what an upload and an import do."""
    try:
        name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
        try:
            with default_storage.open(name) as stored:
                return stored.read() == b"ok"
        finally:
            default_storage.delete(name)
    except Exception:
        return False


def _worker_status() -> str:
    """"ok" when at least one Celery worker answers a ping within a second."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "eager"
    if not settings.HEALTHZ_CHECK_WORKERS:
        return "unchecked"
    try:
        return "ok" if celery_app.control.ping(timeout=1.0, limit=1) else "down"
    except Exception:
        return "down"


_HEALTH_FIELDS = {name: serializers.CharField() for name in ("status", "database", "broker", "storage", "worker")}


@extend_schema(
    operation_id="healthz",
    auth=[],
    tags=["health"],
    responses={
        (200, "application/json"): inline_serializer("Health", _HEALTH_FIELDS),
        (503, "application/json"): inline_serializer("HealthDown", _HEALTH_FIELDS),
    },
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def healthz(request):
    """Readiness: 200 when the database, the broker and the file storage
    answer and a worker answers a ping (`worker` is "unchecked" with
    HEALTHZ_CHECK_WORKERS=false), 503 otherwise."""
    checks = {
        "database": "ok" if _database_ok() else "down",
        "broker": "ok" if _broker_ok() else "down",
        "storage": "ok" if _storage_ok() else "down",
    }
    checks["worker"] = _worker_status() if checks["broker"] == "ok" else "down"
    ready = all(value != "down" for value in checks.values())
    return JsonResponse({"status": "ok" if ready else "unavailable", **checks}, status=200 if ready else 503)


@extend_schema(
    operation_id="livez", auth=[], tags=["health"],
    responses={(200, "application/json"): inline_serializer("Live", {"status": serializers.CharField()})},
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
@throttle_classes([])
def livez(request):
    """Liveness: the process answers. Touches nothing else, so it is cheap to
    poll and does not restart the API when the database is down."""
    return JsonResponse({"status": "ok"})
