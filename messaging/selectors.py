"""Reads for messaging. Conversations and messages belong to a contact, and
a member sees only those of contacts they may see (contacts.services.access)."""

from django.db.models import Prefetch, QuerySet

from contacts.services import access
from crm.actors import Actor
from crm.models import Workspace
from tags.models import Tag



def integrations(*, queryset: QuerySet) -> QuerySet:
    return queryset.order_by("-id")


def conversations(*, queryset: QuerySet, workspace: Workspace, actor: Actor) -> QuerySet:
    """`queryset` (workspace-scoped) narrowed to the conversations of contacts the actor sees."""
    visible = access.visible_contact_ids(workspace=workspace, actor=actor)
    if visible is not None:
        queryset = queryset.filter(contact_id__in=visible)
    return queryset.order_by("-id")


def messages(*, queryset: QuerySet, workspace: Workspace, actor: Actor) -> QuerySet:
    """`queryset` (workspace-scoped) narrowed to the messages of conversations the actor sees."""
    visible = access.visible_contact_ids(workspace=workspace, actor=actor)
    if visible is not None:
        queryset = queryset.filter(conversation__contact_id__in=visible)
    return messages_with_tags(queryset)


def messages_with_tags(queryset: QuerySet) -> QuerySet:
    """Messages with their tag names loaded in one extra query, whatever the page size."""
    return queryset.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.only("id", "tag").order_by("tag", "id"))
    )
