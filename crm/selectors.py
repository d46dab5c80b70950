from django.contrib.auth import get_user_model
from django.db.models import F, QuerySet

from .models import ApiToken, Workspace

User = get_user_model()


def workspace_members(*, workspace: Workspace) -> QuerySet:
    """Users of the workspace, each annotated with `role`."""
    return (
        User.objects.filter(memberships__workspace=workspace)
        .annotate(role=F("memberships__role"))
        .order_by("id")
    )


def workspace_tokens(*, workspace: Workspace) -> QuerySet:
    return ApiToken.objects.filter(workspace=workspace)
