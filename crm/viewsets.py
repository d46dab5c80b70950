"""The one place tenancy is enforced for the HTTP API.

Every viewset of every app derives from WorkspaceViewSet. Its get_queryset
filters the model by the token's workspace and cannot be overridden (the
class refuses it); a subclass narrows further in `scope_queryset`, which
receives the already-scoped queryset. Objects of another workspace are thus
invisible: a 404 on detail routes and custom actions, absent from lists.
"""
from django.utils import timezone
from rest_framework import mixins, viewsets


class WorkspaceViewSet(viewsets.GenericViewSet):
    workspace_field = "workspace"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Resolved through the MRO, so a mixin listed before this class cannot bypass it either.
        if cls.get_queryset is not WorkspaceViewSet.get_queryset:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset(); override scope_queryset(queryset) "
                "instead so workspace scoping cannot be lost."
            )

    # -- tenancy ----------------------------------------------------------
    @property
    def workspace(self):
        return self.request.auth.workspace

    @property
    def membership_role(self) -> str:
        return self.request.auth.role

    def get_queryset(self):
        queryset = self.queryset.all()
        if getattr(self, "swagger_fake_view", False) or self.request.auth is None:
            return queryset.none()
        queryset = queryset.filter(**{f"{self.workspace_field}_id": self.request.auth.workspace_id})
        return self.scope_queryset(queryset)

    def scope_queryset(self, queryset):
        """Hook: narrow the workspace-scoped queryset (visibility, select_related...)."""
        return queryset

    # -- stamping on writes -------------------------------------------------
    def perform_create(self, serializer):
        user = self.request.user
        serializer.save(workspace=self.workspace, created_by=user, updated_by=user)

    def perform_update(self, serializer):
        serializer.save(updated_by=self.request.user, updated_at=timezone.now())


class WorkspaceModelViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    WorkspaceViewSet,
):
    """CRUD over a workspace-scoped model."""
