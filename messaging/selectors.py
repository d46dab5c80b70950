"""Reads for messaging."""

from django.db.models import Prefetch, Q, QuerySet

from contacts.models import Contact
from crm.models import Workspace
from tags.models import Tag

from .models import Conversation, Integration, Message


def contact_get(*, workspace: Workspace, contact_id: int):
    """A live (not archived) contact of the workspace, or None."""
    return Contact.objects.filter(
        workspace=workspace, pk=contact_id, deleted_at__isnull=True
    ).first()


def contact_by_phone(*, workspace: Workspace, phone: str):
    """The live contact whose phone or external_client_id is `phone` (E.164), oldest first."""
    if not phone:
        return None
    return (
        Contact.objects.filter(workspace=workspace, deleted_at__isnull=True)
        .filter(Q(phone=phone) | Q(external_client_id=phone))
        .order_by("id")
        .first()
    )


def integrations(*, queryset: QuerySet | None = None) -> QuerySet:
    return (queryset if queryset is not None else Integration.objects.all()).order_by("-id")


def conversations(*, queryset: QuerySet | None = None) -> QuerySet:
    return (queryset if queryset is not None else Conversation.objects.all()).order_by("-id")


def messages_with_tags(queryset: QuerySet) -> QuerySet:
    """Messages with their tag names loaded in one extra query, whatever the page size."""
    return queryset.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("id", "tag").order_by("tag", "id"))
    )


def conversation_messages(*, conversation: Conversation) -> QuerySet:
    """A conversation's messages newest first (served by msg_conv_newest_idx)."""
    return messages_with_tags(
        Message.objects.filter(
            workspace_id=conversation.workspace_id, conversation=conversation
        ).order_by("-created_at", "-id")
    )
