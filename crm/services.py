"""Writes for the core: workspaces, members and API tokens."""
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from . import tokens
from .errors import DomainError
from .models import ApiToken, Membership, Workspace
from .signals import workspace_created

User = get_user_model()


@transaction.atomic
def workspace_create(*, name: str, slug: str | None = None, default_phone_region: str = "US") -> Workspace:
    workspace = Workspace.objects.create(
        name=name, slug=slug or slugify(name)[:100] or "workspace", default_phone_region=default_phone_region.upper()
    )
    workspace_created.send(sender=Workspace, workspace=workspace)
    return workspace


def workspace_get_or_create(*, name: str) -> tuple[Workspace, bool]:
    slug = slugify(name)[:100] or "workspace"
    existing = Workspace.objects.filter(slug=slug).first()
    if existing:
        return existing, False
    return workspace_create(name=name, slug=slug), True


def user_get_or_create(*, email: str, password: str | None = None, first_name: str = "", last_name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "first_name": first_name, "last_name": last_name}
    )
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def membership_set(*, workspace: Workspace, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    return membership


def token_create(
    *, workspace: Workspace, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Returns the token row and its plaintext, which is never stored."""
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("expires_at must be in the future.", code="invalid")
    plaintext, prefix, digest = tokens.generate()
    token = ApiToken.objects.create(
        workspace=workspace, user=user, name=name, prefix=prefix, digest=digest, expires_at=expires_at
    )
    return token, plaintext


def token_revoke(*, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token
