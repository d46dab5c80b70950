"""Writes for the core: workspaces, members and API tokens, and the small
helpers every app's services share (model_update, saved_or, version_check)."""
import logging
from collections.abc import Iterable
from contextlib import contextmanager
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from . import tokens
from .actors import Actor
from .errors import Conflict, DomainError, NotFound, PreconditionFailed, field_error
from .models import ApiToken, Membership, Workspace
from .signals import member_changed, workspace_created

User = get_user_model()


@transaction.atomic
def workspace_create(
    *, actor: Actor, name: str, slug: str | None = None, default_phone_region: str = "US"
) -> Workspace:
    """A new workspace with its defaults (the labels app seeds its labels on
    the workspace_created signal). `actor`: staff or the system; a workspace
    has no members yet."""
    with saved_or(field_error("slug", "A workspace with this slug exists.", code="unique")):
        workspace = Workspace.objects.create(
            name=name, slug=slug or slugify(name)[:100] or "workspace",
            default_phone_region=default_phone_region.upper(),
        )
    workspace_created.send(sender=Workspace, workspace=workspace)
    return workspace


WORKSPACE_UPDATABLE = ("name", "slug", "default_phone_region")


@transaction.atomic
def workspace_update(*, actor: Actor, workspace: Workspace, changes: dict) -> Workspace:
    changes = dict(changes)
    if "default_phone_region" in changes:
        changes["default_phone_region"] = changes["default_phone_region"].upper()
    unknown = set(changes) - set(WORKSPACE_UPDATABLE)
    if unknown:
        raise TypeError(f"Workspace cannot update {sorted(unknown)}")
    for name, value in changes.items():
        setattr(workspace, name, value)
    with saved_or(field_error("slug", "A workspace with this slug exists.", code="unique")):
        workspace.save(update_fields=list(changes))
    return workspace


def workspace_get_or_create(*, actor: Actor, name: str) -> tuple[Workspace, bool]:
    slug = slugify(name)[:100] or "workspace"
    existing = Workspace.objects.filter(slug=slug).first()
    if existing:
        return existing, False
    return workspace_create(actor=actor, name=name, slug=slug), True


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


def membership_set(*, workspace: Workspace, actor: Actor, user: User, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    return membership


def token_create(
    *, workspace: Workspace, actor: Actor, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A token of `user` (a member of the workspace) in the workspace; returns
    the row and its plaintext, which is never stored."""
    if expires_at is not None and expires_at <= timezone.now():
        raise field_error("expires_at", "Must be in the future.")
    if not Membership.objects.filter(workspace=workspace, user=user).exists():
        # Authentication refuses a token whose user is not a member: don't issue a dead one.
        raise field_error("user", f"{user} is not a member of {workspace}; add a membership first.",
                          code="not_a_member")
    plaintext, prefix, digest = tokens.generate()
    token = ApiToken.objects.create(
        workspace=workspace, user=user, name=name, prefix=prefix, digest=digest, expires_at=expires_at
    )
    _member_event("token.created", workspace=workspace, actor=actor, user_id=user.pk, token_id=token.pk)
    return token, plaintext


def token_revoke(*, workspace: Workspace, actor: Actor, token: ApiToken) -> ApiToken:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        _member_event("token.revoked", workspace=workspace, actor=actor, user_id=token.user_id, token_id=token.pk)
    return token


# -- members (admins, through /v1/crm/users) -----------------------------------
audit_logger = logging.getLogger("crm.audit")
NO_MEMBER = "No member of this workspace has this id."


def _member_event(action: str, *, workspace: Workspace, actor: Actor, user_id: int, **data) -> None:
    """Every member-management action (members added, changed, removed;
    tokens issued and revoked) passes here: an event in this transaction
    (the events app receives member_changed), and one audit log line once
    committed, with ids only (no email, no name: no personal data in logs)."""
    member_changed.send(sender=Membership, workspace=workspace, actor=actor, action=action, user_id=user_id, data=data)
    fields = {"action": action, "workspace_id": workspace.pk, "actor_kind": actor.kind, "actor_id": actor.id,
              "user_id": user_id, **data}
    transaction.on_commit(lambda: audit_logger.info("%s", action, extra=fields))


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


def _refuse_last_admin(membership: Membership, admin_ids: list[int], doing: str) -> None:
    if membership.role == Membership.Role.ADMIN and admin_ids == [membership.user_id]:
        raise Conflict(f"Cannot {doing} the workspace's last admin; make another member admin first.", code="last_admin")


@transaction.atomic
def membership_add(
    *, workspace: Workspace, actor: Actor, email: str, role: str, first_name: str = "", last_name: str = ""
) -> User:
    """Adds a member by email, creating the user (with no password: they use
    API tokens) when no user has it. 409 when they are a member already.
    Returns the user annotated with `role`."""
    user = user_get_or_create(email=email, first_name=first_name, last_name=last_name)
    _, created = Membership.objects.get_or_create(workspace=workspace, user=user, defaults={"role": role})
    if not created:
        raise Conflict("This user is already a member of the workspace.", code="already_member")
    _member_event("member.added", workspace=workspace, actor=actor, user_id=user.pk, role=role)
    user.role = role
    return user


@transaction.atomic
def membership_change_role(*, workspace: Workspace, actor: Actor, user: User, role: str) -> User:
    """Changes a member's role; demoting the last admin is a 409."""
    membership, admin_ids = _locked_membership(workspace=workspace, user=user)
    if role != Membership.Role.ADMIN:
        _refuse_last_admin(membership, admin_ids, "demote")
    if membership.role != role:
        previous = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        _member_event("member.role_changed", workspace=workspace, actor=actor, user_id=user.pk, role=role,
                      previous_role=previous)
    user.role = role
    return user


@transaction.atomic
def membership_remove(*, workspace: Workspace, actor: Actor, user: User) -> None:
    """Removes a member and revokes their tokens for this workspace (they
    already answer 401 without the membership; revoking makes it permanent
    should they be added again). Removing the last admin is a 409."""
    membership, admin_ids = _locked_membership(workspace=workspace, user=user)
    _refuse_last_admin(membership, admin_ids, "remove")
    membership.delete()
    revoked = ApiToken.objects.filter(workspace=workspace, user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    _member_event("member.removed", workspace=workspace, actor=actor, user_id=user.pk, tokens_revoked=revoked)


# -- helpers shared by every app's services -----------------------------------
@contextmanager
def saved_or(error: DomainError):
    """Runs a write in a savepoint and turns an IntegrityError (a concurrent
    duplicate that slipped past the service's own check) into `error`: the
    caller's transaction stays usable and the client gets a 4xx, not a 500."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError:
        raise error from None


def is_versioned(model) -> bool:
    return any(f.name == "version" for f in model._meta.concrete_fields)


def lock_version(instance: models.Model, expected_version: int | None = None) -> None:
    """Locks the row for this transaction and reads its version into
    `instance`; 412 unless it is `expected_version` (the version an If-Match
    named; None: unconditional). Call it inside the service's transaction."""
    current = type(instance)._default_manager.select_for_update().filter(pk=instance.pk).values_list(
        "version", flat=True
    ).first()
    if expected_version is not None and current != expected_version:
        raise PreconditionFailed()
    if current is not None:
        instance.version = current


def stamp(instance: models.Model, actor: Actor, *, created: bool = False) -> list[str]:
    """Sets who and when on a scoped row and returns the fields it set. An
    update of a versioned row (locked by lock_version) takes the next version."""
    now = timezone.now()
    instance.updated_at, instance.updated_by = now, actor.user
    fields = ["updated_at", "updated_by"]
    if created:
        instance.created_at, instance.created_by = now, actor.user
    elif is_versioned(type(instance)):
        instance.version += 1
        fields.append("version")
    return fields


def model_update(
    *,
    instance: models.Model,
    changes: dict,
    updatable: Iterable[str],
    actor: Actor,
    expected_version: int | None = None,
    duplicate: DomainError | None = None,
) -> models.Model:
    """The one small update every resource shares (HackSoft's model_update):
    only `updatable` fields, checked against If-Match under a row lock,
    stamped, one UPDATE of the changed columns; a unique violation becomes
    `duplicate`. Services check their own rules before calling it."""
    unknown = set(changes) - set(updatable)
    if unknown:
        raise TypeError(f"{type(instance).__name__} cannot update {sorted(unknown)}")
    if is_versioned(type(instance)):
        lock_version(instance, expected_version)
    for name, value in changes.items():
        setattr(instance, name, value)
    fields = [*changes, *stamp(instance, actor)]
    with saved_or(duplicate or DomainError("The change conflicts with another row.", code="conflict")):
        instance.save(update_fields=fields)
    return instance
