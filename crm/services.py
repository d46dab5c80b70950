"""Writes for the core: workspaces, members and API tokens."""
import logging
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from . import tokens
from .errors import Conflict, DomainError
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


# -- members and their tokens (admins, through /v1/crm/users and /tokens) ----
audit_logger = logging.getLogger("crm.audit")


def _member_event(action: str, *, workspace: Workspace, actor_user: User, **data) -> None:
    """Every member-management action passes here. The hook for the events
    outbox (issue 14: write the event in this same transaction once events
    exist); until then one audit log line once the change is committed
    (ids only: no email or other personal data in logs)."""
    fields = {"action": action, "workspace_id": workspace.pk, "actor_user_id": actor_user.pk, **data}
    transaction.on_commit(lambda: audit_logger.info("member %s", action, extra=fields))


def _locked_membership(*, workspace: Workspace, user: User) -> tuple[Membership, list[int]]:
    """The member's row and the ids of the workspace's admins, all locked (admins
    first, always in id order), so two admins demoting or removing each other at
    once cannot leave the workspace without one."""
    admin_ids = list(
        Membership.objects.select_for_update()
        .filter(workspace=workspace, role=Membership.Role.ADMIN)
        .order_by("id")
        .values_list("user_id", flat=True)
    )
    membership = Membership.objects.select_for_update().filter(workspace=workspace, user=user).first()
    if membership is None:
        raise NotFound(NO_MEMBER)
    return membership, admin_ids


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"
    default_detail = "Not found."


NO_MEMBER = "No member of this workspace has this id."


def _refuse_last_admin(membership: Membership, admin_ids: list[int], doing: str) -> None:
    if membership.role == Membership.Role.ADMIN and admin_ids == [membership.user_id]:
        raise Conflict(f"Cannot {doing} the workspace's last admin; make another member admin first.", code="last_admin")


@transaction.atomic
def membership_add(
    *, workspace: Workspace, actor_user: User, email: str, role: str, first_name: str = "", last_name: str = ""
) -> User:
    """Adds a member by email, creating the user (with no password: they use
    API tokens) when no user has it. 409 when they are a member already.
    Returns the user annotated with `role`."""
    user = user_get_or_create(email=email, first_name=first_name, last_name=last_name)
    _, created = Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": role})
    if not created:
        raise Conflict("This user is already a member of the workspace.", code="already_member")
    _member_event("added", workspace=workspace, actor_user=actor_user, user_id=user.pk, role=role)
    user.role = role
    return user


@transaction.atomic
def membership_change_role(*, workspace: Workspace, actor_user: User, user: User, role: str) -> User:
    """Changes a member's role; demoting the last admin is a 409."""
    membership, admin_ids = _locked_membership(workspace=workspace, user=user)
    if role != Membership.Role.ADMIN:
        _refuse_last_admin(membership, admin_ids, "demote")
    if membership.role != role:
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        _member_event("role_changed", workspace=workspace, actor_user=actor_user, user_id=user.pk,
                      role=role, previous_role=previous)
    user.role = role
    return user


@transaction.atomic
def membership_remove(*, workspace: Workspace, actor_user: User, user: User) -> None:
    """Removes a member and revokes their tokens for this workspace (they
    already answer 401 without the membership; revoking makes it permanent
    should they be added again). Removing the last admin is a 409."""
    membership, admin_ids = _locked_membership(workspace=workspace, user=user)
    _refuse_last_admin(membership, admin_ids, "remove")
    membership.delete()
    revoked = ApiToken.objects.filter(workspace=workspace, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _member_event("removed", workspace=workspace, actor_user=actor_user, user_id=user.pk, tokens_revoked=revoked)


@transaction.atomic
def member_token_create(
    *, workspace: Workspace, actor_user: User, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """An admin issues a token for a member (or themselves)."""
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        raise NotFound(NO_MEMBER)
    token, plaintext = token_create(workspace=workspace, user=user, name=name, expires_at=expires_at)
    _member_event("token_created", workspace=workspace, actor_user=actor_user, user_id=user.pk, token_id=token.pk)
    return token, plaintext


@transaction.atomic
def member_token_revoke(*, workspace: Workspace, actor_user: User, token: ApiToken) -> ApiToken:
    """An admin revokes any token of the workspace."""
    if token.workspace_id != workspace.pk:
        raise NotFound("No token of this workspace has this id.")
    token_revoke(token=token)
    _member_event("token_revoked", workspace=workspace, actor_user=actor_user, user_id=token.user_id, token_id=token.pk)
    return token
