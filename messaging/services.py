"""Writes for messaging: integrations, conversations, messages, template
notifications, delivery through a provider and provider status reports."""

import logging
from collections.abc import Sequence
from datetime import timedelta
from enum import Enum
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError, Q
from django.utils import timezone

from contacts import services as contacts
from crm import metrics
from crm.actors import Actor
from crm.errors import Conflict, ObjectsNotFound, field_error
from crm.models import Workspace
from crm.services import lock_version, model_update
from events import services as events

from .models import Conversation, Integration, Message, MessageTag
from .providers import ConfigError, DeliveryError, get_provider
from .templating import placeholder_values, render_components

logger = logging.getLogger("messaging")

# A claimed row stays claimed this long: far beyond any provider timeout, so a
# redelivered task cannot send while the first is still talking to the provider.
CLAIM_LEASE = timedelta(minutes=5)
_url_validator = URLValidator(schemes=["http", "https"])

# Statuses only move forward; `failed` is reachable from pending or sent.
_FORWARD_FROM = {
    Message.Status.SENT: [Message.Status.PENDING],
    Message.Status.DELIVERED: [Message.Status.PENDING, Message.Status.SENT],
    Message.Status.READ: [Message.Status.PENDING, Message.Status.SENT, Message.Status.DELIVERED],
    Message.Status.FAILED: [Message.Status.PENDING, Message.Status.SENT],
}


# -- integrations -----------------------------------------------------------
def _clean_integration(*, provider: str, config: dict, secret: str) -> dict:
    try:
        cleaned = get_provider(provider).validate_config(config or {})
    except ConfigError as exc:
        field, message = next(iter(exc.errors.items()))
        raise field_error(f"config.{field}", message)
    if get_provider(provider).requires_secret and not secret:
        raise field_error(
            "secret",
            f"The {provider} provider signs its requests: a secret is required.",
            code="required",
        )
    return cleaned


@transaction.atomic
def integration_create(
    *,
    workspace: Workspace,
    actor: Actor,
    name: str,
    provider: str = Integration.Provider.CONSOLE,
    config: dict | None = None,
    secret: str = "",
    active: bool = True,
) -> Integration:
    cleaned = _clean_integration(provider=provider, config=config or {}, secret=secret)
    return Integration.objects.create(
        workspace=workspace,
        name=name,
        provider=provider,
        config=cleaned,
        secret=secret,
        active=active,
        created_by=actor.user,
        updated_by=actor.user,
    )


INTEGRATION_UPDATABLE = ("name", "provider", "config", "secret", "active")


@transaction.atomic
def integration_update(
    *, workspace: Workspace, actor: Actor, integration: Integration, changes: dict,
    expected_version: int | None = None,
) -> Integration:
    changes = dict(changes)
    provider = changes.get("provider", integration.provider)
    if "config" in changes or "provider" in changes:
        config = changes.get(
            "config", integration.config if provider == integration.provider else {}
        )
    else:
        config = integration.config
    secret = changes.get("secret", integration.secret)
    changes["config"] = _clean_integration(provider=provider, config=config, secret=secret)
    return model_update(instance=integration, changes=changes, updatable=INTEGRATION_UPDATABLE, actor=actor,
                        expected_version=expected_version)


@transaction.atomic
def integration_delete(
    *, workspace: Workspace, actor: Actor, integration: Integration, expected_version: int | None = None
) -> None:
    lock_version(integration, expected_version)
    try:
        with transaction.atomic():
            integration.delete()
    except ProtectedError:
        raise Conflict(
            "The integration has conversations; deactivate it (active=false) instead.",
            code="in_use",
        )


# -- conversations ----------------------------------------------------------
def _open_conversation(
    *, workspace: Workspace, actor: Actor, contact, integration: Integration
) -> tuple[Conversation, bool]:
    """The open conversation of contact and integration, opened if none.
    The partial unique constraint makes concurrent callers agree on one."""
    existing = Conversation.objects.filter(
        workspace=workspace,
        contact=contact,
        integration=integration,
        status=Conversation.Status.OPEN,
    ).first()
    if existing:
        return existing, False
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                workspace=workspace,
                contact=contact,
                integration=integration,
                created_by=actor.user,
                updated_by=actor.user,
            )
            events.record_object(workspace=workspace, actor=actor, type="conversation.opened",
                                 subject_type="conversation", instance=conversation,
                                 fields=("contact", "integration", "status"),
                                 data={"contact_id": conversation.contact_id})
            return conversation, True
    except IntegrityError:
        return Conversation.objects.get(
            workspace=workspace,
            contact=contact,
            integration=integration,
            status=Conversation.Status.OPEN,
        ), False


@transaction.atomic
def conversation_create(
    *, workspace: Workspace, actor: Actor, contact_id: int, integration: Integration
) -> Conversation:
    """Opens a conversation with a contact the actor may see (any other id
    is a 400 "does not exist" on contact_id, as for an unknown one)."""
    contact = contacts.contact_for_messaging(workspace=workspace, actor=actor, contact_id=contact_id)
    conversation, created = _open_conversation(
        workspace=workspace, actor=actor, contact=contact, integration=integration
    )
    if not created:
        raise Conflict(
            f"An open conversation of this contact on this integration exists (id {conversation.pk}).",
            code="conversation_exists",
            conversation_id=conversation.pk,
        )
    return conversation


@transaction.atomic
def conversation_update(
    *, workspace: Workspace, actor: Actor, conversation: Conversation, status: str,
    expected_version: int | None = None,
) -> Conversation:
    before = events.snapshot(conversation, ("status",))
    model_update(
        instance=conversation, changes={"status": status}, updatable=("status",), actor=actor,
        expected_version=expected_version,
        duplicate=Conflict(
            "Another open conversation of this contact on this integration exists; close it first.",
            code="conversation_exists",
        ),
    )
    if before["status"] != status:
        closed = status == Conversation.Status.CLOSED
        events.record_object(workspace=workspace, actor=actor, type="conversation.closed" if closed
                             else "conversation.opened", subject_type="conversation", instance=conversation,
                             fields=("contact", "integration", "status"),
                                 data={"contact_id": conversation.contact_id})
    return conversation


# -- messages ---------------------------------------------------------------
def _enqueue_delivery(message: Message) -> None:
    from .tasks import enqueue_delivery

    enqueue_delivery(message.pk)


MESSAGE_FIELDS = ("conversation", "integration", "type", "content", "is_agent", "status", "external_message_id",
                  "reply_to", "template_name")


def _record_message(workspace: Workspace, actor: Actor, subject: Message, type: str, **data) -> None:
    """A message's event; its contact_id lets an erase scrub it."""
    events.record(workspace=workspace, actor=actor, type=type, subject_type="message", subject_id=subject.pk,
                  data={"contact_id": subject.conversation.contact_id, **data})


def _touch_conversation(conversation: Conversation, at) -> None:
    Conversation.objects.filter(pk=conversation.pk).filter(
        Q(last_message_at__isnull=True) | Q(last_message_at__lt=at)
    ).update(last_message_at=at, updated_at=at)
    conversation.last_message_at = at


@transaction.atomic
def message_add(
    *,
    workspace: Workspace,
    actor: Actor,
    conversation: Conversation,
    content: str,
    type: str,
    note_type: str = "",
    reply_to_message_id: int | None = None,
    tags: Sequence[str] = (),
) -> Message:
    """The addMessage operation. A note is stored as `internal` and never
    sent; anything else starts `pending` and is delivered after commit."""
    is_note = type == Message.Type.NOTE
    if type in Message.MEDIA_TYPES:
        try:
            _url_validator(content)
        except DjangoValidationError:
            raise field_error(
                "content", f"A {type} message's content is the http(s) URL of the media file."
            )
    if note_type and not is_note:
        raise field_error("note_type", "note_type applies to messages of type note only.")
    integration = conversation.integration
    if not is_note and not integration.active:
        raise field_error(
            "type",
            "The conversation's integration is not active; only notes can be added.",
            code="inactive",
        )
    reply_to = None
    if reply_to_message_id is not None:
        reply_to = Message.objects.filter(
            workspace=workspace, conversation=conversation, pk=reply_to_message_id
        ).first()
        if reply_to is None:
            raise field_error(
                "reply_to_message_id", "Not a message of this conversation.", code="does_not_exist"
            )
    now = timezone.now()
    message = Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        integration=integration,
        content=content,
        type=type,
        note_type=note_type,
        reply_to=reply_to,
        is_agent=True,
        status=Message.Status.INTERNAL if is_note else Message.Status.PENDING,
        created_at=now,
        updated_at=now,
        created_by=actor.user,
        updated_by=actor.user,
    )
    _set_tags(workspace=workspace, actor=actor, message=message, values=tags)
    _touch_conversation(conversation, now)
    _record_message(workspace, actor, message, "message.created", message=events.snapshot(message, MESSAGE_FIELDS))
    if not is_note:
        _enqueue_delivery(message)
    return message


def _set_tags(*, workspace: Workspace, actor: Actor, message: Message, values: Sequence[str]) -> None:
    from tags.services import tags_resolve

    resolved = (
        tags_resolve(
            workspace=workspace,
            actor=actor,
            values=list(values),
            types=("message", "common"),
            create_type="message",
        )
        if values
        else []
    )
    if resolved:
        MessageTag.objects.bulk_create([MessageTag(message=message, tag=tag) for tag in resolved])
    # the response shows them without another query
    message._prefetched_objects_cache = {"tags": resolved}


@transaction.atomic
def notification_send(
    *,
    workspace: Workspace,
    actor: Actor,
    integration: Integration,
    template_name: str,
    client_id: int | None = None,
    phone: str | None = None,
    template_lang: str = "",
    template_components: Any = None,
    trunk: str = "",
    sender_id: str = "",
) -> Message:
    """The sendNotification operation: finds (or creates, by phone) a
    contact the actor may see, finds or opens its conversation on the
    integration, renders the placeholders, stores a template message and
    enqueues its delivery."""
    if client_id is None and not phone:
        raise field_error("client_id", "Give client_id or phone.", code="required")
    if not integration.active:
        raise field_error("integration_id", "The integration is not active.", code="inactive")
    if client_id is not None:
        contact = contacts.contact_for_messaging(workspace=workspace, actor=actor, contact_id=client_id,
                                                 field="client_id")
    else:
        contact = contacts.contact_for_phone(workspace=workspace, actor=actor, phone=phone)
    conversation, _ = _open_conversation(
        workspace=workspace, actor=actor, contact=contact, integration=integration
    )
    components = (
        render_components(template_components, placeholder_values(contact))
        if template_components is not None
        else None
    )
    now = timezone.now()
    message = Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        integration=integration,
        content=template_name,
        type=Message.Type.TEMPLATE,
        is_agent=True,
        status=Message.Status.PENDING,
        template_name=template_name,
        template_lang=template_lang,
        template_components=components,
        trunk=trunk,
        sender_id=sender_id,
        created_at=now,
        updated_at=now,
        created_by=actor.user,
        updated_by=actor.user,
    )
    _touch_conversation(conversation, now)
    _record_message(workspace, actor, message, "message.created", message=events.snapshot(message, MESSAGE_FIELDS))
    _enqueue_delivery(message)
    return message


# -- inbound ----------------------------------------------------------------
@transaction.atomic
def message_receive(
    *, workspace: Workspace, actor: Actor, integration: Integration, sender: str, content: str,
    external_message_id: str, type: str = Message.Type.TEXT, timestamp=None, reply_to_external_id: str = "",
) -> tuple[Message, bool]:
    """A message a contact sent us through the integration: its contact is
    found by phone or external id (created if none, through
    contacts.services), its open conversation reused or opened, and the
    message stored with is_agent false and status `received`. Idempotent on
    external_message_id: a second report of it returns the first message
    (created False)."""
    inbound = Message.objects.filter(integration=integration, is_agent=False, external_message_id=external_message_id)
    existing = inbound.first()
    if existing is not None:
        return existing, False
    contact = contacts.contact_for_sender(workspace=workspace, actor=actor, sender=sender)
    conversation, _ = _open_conversation(workspace=workspace, actor=actor, contact=contact, integration=integration)
    reply_to = None
    if reply_to_external_id:
        reply_to = Message.objects.filter(conversation=conversation, external_message_id=reply_to_external_id).first()
    now = timezone.now()
    try:
        with transaction.atomic():
            message = Message.objects.create(
                workspace=workspace, conversation=conversation, integration=integration, content=content, type=type,
                reply_to=reply_to, is_agent=False, status=Message.Status.RECEIVED,
                external_message_id=external_message_id, sent_at=timestamp, created_at=now, updated_at=now,
            )
    except IntegrityError:  # the same message reported twice at once: the first one stands
        return inbound.get(), False
    _touch_conversation(conversation, now)
    _record_message(workspace, actor, message, "message.received", message=events.snapshot(message, MESSAGE_FIELDS))
    return message, True


# -- delivery ---------------------------------------------------------------
class DeliveryOutcome(str, Enum):
    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"
    SKIPPED = "skipped"  # not pending, or claimed by another run


def message_payload(message: Message) -> dict:
    """What a provider sends: the message and who it is for."""
    contact = message.conversation.contact
    payload = {
        "message_id": message.pk,
        "workspace_id": message.workspace_id,
        "integration_id": message.integration_id,
        "conversation_id": message.conversation_id,
        "type": message.type,
        "content": message.content,
        "reply_to_message_id": message.reply_to_id,
        "to": {
            "contact_id": contact.pk,
            "phone": contact.phone,
            "email": contact.email,
            "external_client_id": contact.external_client_id,
        },
        "created_at": message.created_at.isoformat(),
    }
    if message.type == Message.Type.TEMPLATE:
        payload["template"] = {
            "name": message.template_name,
            "lang": message.template_lang,
            "components": message.template_components,
        }
        payload["trunk"] = message.trunk
        payload["sender_id"] = message.sender_id
    return payload


def message_deliver(*, message_id: int, final_attempt: bool, actor: Actor) -> DeliveryOutcome:
    """Sends one pending message through its integration's provider (see
    _message_deliver), then counts the outcome by provider
    (crm_message_deliveries_total) and logs it with the message's id and
    workspace."""
    outcome, message = _message_deliver(message_id=message_id, final_attempt=final_attempt, actor=actor)
    provider = message.integration.provider if message is not None else None
    if provider:  # not a skipped redelivery
        metrics.record_delivery(provider, outcome.value)
    logger.info("delivery %s", outcome.value, extra={
        "message_id": message_id, "workspace_id": getattr(message, "workspace_id", None), "provider": provider,
        "outcome": outcome.value,
    })
    return outcome


def _message_deliver(
    *, message_id: int, final_attempt: bool, actor: Actor
) -> tuple[DeliveryOutcome, Message | None]:
    """Sends one pending message through its integration's provider.

    Check-and-claim: one UPDATE takes the row only if it is still pending and
    not claimed by a live run, so a redelivered task never sends twice. No
    transaction is held while the provider is called. `actor`: the system
    (the delivery task), stamped on the message's status changes."""
    now = timezone.now()
    claimed = (
        Message.objects.filter(pk=message_id, status=Message.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + CLAIM_LEASE, delivery_attempts=F("delivery_attempts") + 1)
    )
    if not claimed:
        return DeliveryOutcome.SKIPPED, None
    message = Message.objects.select_related("workspace", "integration", "conversation__contact").get(
        pk=message_id
    )
    pending = Message.objects.filter(pk=message_id, status=Message.Status.PENDING)
    if not message.integration.active:
        with transaction.atomic():
            if pending.update(status=Message.Status.FAILED, error="The integration is not active.", claimed_until=None):
                _record_message(message.workspace, actor, message, "message.failed", status="failed",
                                error="The integration is not active.")
        return DeliveryOutcome.FAILED, message
    try:
        result = get_provider(message.integration.provider).send(
            message.integration, message_payload(message)
        )
    except DeliveryError as exc:
        error = str(exc)[:2000]
        if exc.transient and not final_attempt:
            pending.update(error=error, claimed_until=None, updated_at=timezone.now(), updated_by=actor.user)
            return DeliveryOutcome.RETRY, message
        with transaction.atomic():
            if pending.update(status=Message.Status.FAILED, error=error, claimed_until=None,
                              updated_at=timezone.now(), updated_by=actor.user):
                _record_message(message.workspace, actor, message, "message.failed", status="failed", error=error)
        logger.warning("message %s failed: %s", message_id, error)
        return DeliveryOutcome.FAILED, message
    sent_at = timezone.now()
    with transaction.atomic():
        if pending.update(status=Message.Status.SENT, external_message_id=result.external_message_id, sent_at=sent_at,
                          error="", claimed_until=None, updated_at=sent_at, updated_by=actor.user):
            _record_message(message.workspace, actor, message, "message.sent", status="sent",
                            external_message_id=result.external_message_id)
    return DeliveryOutcome.SENT, message


# -- provider status reports ------------------------------------------------
def message_status_report(
    *, workspace: Workspace, actor: Actor, integration: Integration, external_message_id: str, status: str,
    error: str = "",
) -> tuple[Message, bool]:
    """Applies a provider's status report. Returns the message and whether it
    changed: a report that would move the status backwards is ignored."""
    messages = Message.objects.filter(
        workspace=workspace,
        integration=integration,
        external_message_id=external_message_id,
    )
    changes = {"status": status, "updated_at": timezone.now(), "updated_by": actor.user}
    if status == Message.Status.FAILED:
        changes["error"] = error[:2000]
    with transaction.atomic():
        updated = messages.filter(status__in=_FORWARD_FROM[status]).update(**changes)
        message = messages.select_related("conversation").first()
        if message is None:
            raise ObjectsNotFound([external_message_id], what="external message")
        if updated:
            _record_message(workspace, actor, message, f"message.{status}", status=status,
                            **({"error": changes["error"]} if "error" in changes else {}))
    return message, bool(updated)
