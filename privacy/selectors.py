"""Reads for privacy: everything stored about one contact, for a data
request (GET /contacts/{id}/data). A constant number of queries whatever
the contact holds: the contact's row, its relations, its conversations,
their messages (with their tags), its history, the import error rows."""
from django.utils import timezone

from contacts import selectors as contacts
from contacts.serializers import CONTACT_KEYS, ContactRenderer, relations_needed
from crm.actors import Actor
from crm.errors import NotFound
from crm.models import Workspace
from events.serializers import EventSerializer
from imports.models import ImportJobError
from imports.services import IdentifierMatcher
from messaging import selectors as messaging
from messaging.models import Conversation, Message
from messaging.serializers import ConversationSerializer, MessageSerializer


def contact_data(*, workspace: Workspace, actor: Actor, contact_id: int) -> dict:
    """The document: `contact` (every field, custom fields and tags as the
    API shows them), `conversations` with their `messages`, `history` (the
    contact's events, oldest first), `import_rows` (rows of import error
    reports that hold the contact's email, phone or external id, as they
    were in the file) and `import_jobs` (the jobs that wrote the contact,
    from its history). 404 for a contact the actor may not see."""
    row = contacts.contact_row(workspace=workspace, actor=actor, pk=contact_id)
    if row is None:
        raise NotFound("No contact with this id.")
    relations = contacts.page_relations(workspace=workspace, contacts=[row], actor=actor,
                                        need=relations_needed(CONTACT_KEYS, actor=actor))
    contact = ContactRenderer(relations=relations, actor=actor).render(row)
    conversations = list(messaging.conversations(
        queryset=Conversation.objects.filter(workspace=workspace, contact_id=row.id), workspace=workspace,
        actor=actor).order_by("id"))
    messages = messaging.messages(
        queryset=Message.objects.filter(workspace=workspace, conversation__contact_id=row.id), workspace=workspace,
        actor=actor).order_by("conversation_id", "id")
    by_conversation: dict[int, list] = {c.pk: [] for c in conversations}
    for message in messages:
        by_conversation.setdefault(message.conversation_id, []).append(MessageSerializer(message).data)
    history = list(contacts.contact_history(workspace=workspace, actor=actor, contact_id=row.id).order_by("id"))
    import_jobs = sorted({e.actor_id for e in history if e.actor_type == "import" and e.actor_id})
    return {
        "id": row.id,
        "generated_at": timezone.now(),
        "contact": contact,
        "conversations": [{**ConversationSerializer(c).data, "messages": by_conversation[c.pk]}
                          for c in conversations],
        "history": EventSerializer(history, many=True).data,
        "import_jobs": import_jobs,
        "import_rows": _import_rows(workspace, row),
    }


def _import_rows(workspace: Workspace, row) -> list[dict]:
    """Rows of the workspace's import error reports that name the contact.
    (Rows of the stored files that named them are not searched here: that is
    a read of every uploaded file; the privacy erase does remove them.)"""
    needles = IdentifierMatcher(emails=[row.email], phones=[p for p in (row.phone, row.secondary_phone) if p],
                       external_ids=[row.external_client_id or ""], region=workspace.default_phone_region)
    if not (needles.texts or needles.phones):
        return []
    found = []
    rows = (ImportJobError.objects.filter(job__workspace=workspace).order_by("job_id", "row", "id")
            .values_list("job_id", "row", "cells", "message").iterator(chunk_size=2000))
    for job_id, number, cells, message in rows:
        if needles.match(cells):
            found.append({"job_id": job_id, "row": number, "cells": cells, "message": message})
    return found
