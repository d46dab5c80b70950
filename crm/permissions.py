from rest_framework import permissions

from .models import Membership


class IsWorkspaceMember(permissions.BasePermission):
    """Any valid token: its user is a member of the token's workspace."""

    def has_permission(self, request, view):
        return bool(request.auth is not None and getattr(request.auth, "role", None))


class IsWorkspaceAdmin(permissions.BasePermission):
    message = "Only workspace admins may do this."

    def has_permission(self, request, view):
        return bool(request.auth is not None and request.auth.role == Membership.Role.ADMIN)


class IsWorkspaceAdminOrReadOnly(IsWorkspaceAdmin):
    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return IsWorkspaceMember().has_permission(request, view)
        return super().has_permission(request, view)
