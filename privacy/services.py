"""Erasure on request: everything stored about a person goes, and with
`suppress` the person may not be created again.

privacy_erase finds the contacts one identifier names, erases each with
contacts.services.contact_erase (cascade: its conversations and messages;
its events keep only that it was erased, and by whom), removes the rows of
stored import files and error reports that hold the person's identifiers
(imports.services.import_rows_erase), and, with `suppress`, puts digests of
every identifier involved on the suppression list
(contacts.services.suppression), which every contact creation checks. It
keeps a receipt of the counts. Running it again erases nothing more and
answers a receipt of zeros (an unknown contact_id is a 404)."""
from django.db import transaction

from contacts import selectors as contact_selectors
from contacts import services as contacts
from contacts.services import suppression
from contacts.validators import normalize_phone
from crm.actors import Actor
from crm.errors import NotFound, PermissionDenied, field_error
from crm.models import Workspace
from events import services as events
from imports.services import import_rows_erase
from messaging.models import Conversation, Message

from .models import ErasureReceipt

KINDS = {"email": "email", "phone": "phone", "secondary_phone": "phone", "external_client_id": "external_client_id"}


def privacy_erase(*, workspace: Workspace, actor: Actor, contact_id: int | None = None, email: str = "",
                  phone: str = "", external_client_id: str = "", suppress: bool = False) -> ErasureReceipt:
    """Erases every contact the one identifier given names (see the module
    doc). Workspace admins only."""
    if not actor.is_workspace_admin:
        raise PermissionDenied("Only workspace admins may erase personal data.")
    given = [name for name, value in (("contact_id", contact_id), ("email", email), ("phone", phone),
                                      ("external_client_id", external_client_id)) if value not in (None, "")]
    if len(given) != 1:
        raise field_error("contact_id", "Give exactly one of contact_id, email, phone, external_client_id.",
                          code="invalid")
    if phone:
        try:
            phone = normalize_phone(phone, region=workspace.default_phone_region)
        except ValueError as exc:
            raise field_error("phone", str(exc)) from None
    if email:
        email = email.strip().lower()
    external_client_id = (external_client_id or "").strip()
    found = contact_selectors.contacts_identified_by(
        workspace=workspace, actor=actor, contact_id=contact_id, email=email, phone=phone,
        external_client_id=external_client_id,
    )
    if contact_id is not None and not found:
        raise NotFound("No contact with this id.")
    # every identifier of the person: the one given and those of the contacts it names
    identifiers = {(KINDS[name], row[name]) for row in found for name in KINDS if row[name]}
    for kind, value in (("email", email), ("phone", phone), ("external_client_id", external_client_id)):
        if value:
            identifiers.add((kind, value))
    by_kind = {kind: {value for k, value in identifiers if k == kind} for kind in ("email", "phone",
                                                                                    "external_client_id")}
    # Files first: their rewrite is not transactional, and repeating it is harmless.
    import_rows = import_rows_erase(workspace=workspace, actor=actor, emails=by_kind["email"],
                                    phones=by_kind["phone"], external_ids=by_kind["external_client_id"])
    ids = [row["id"] for row in found]
    with transaction.atomic():
        conversations = Conversation.objects.filter(workspace=workspace, contact_id__in=ids).count()
        messages = Message.objects.filter(workspace=workspace, conversation__contact_id__in=ids).count()
        for pk in ids:
            contacts.contact_erase(workspace=workspace, actor=actor, contact_id=pk, cascade=True)
        suppressed = suppression.suppress(workspace=workspace, actor=actor, identifiers=identifiers) if suppress else 0
        receipt = ErasureReceipt.objects.create(
            workspace=workspace, identifier=given[0], contacts=len(ids), conversations=conversations,
            messages=messages, import_rows=import_rows, suppress=suppress, suppressed=suppressed,
            created_by=actor.user, updated_by=actor.user,
        )
        events.record(workspace=workspace, actor=actor, type="privacy.erased", subject_type="erasure_receipt",
                      subject_id=receipt.pk, data=receipt_data(receipt))
    return receipt


def receipt_data(receipt: ErasureReceipt) -> dict:
    return {"erased": {"contacts": receipt.contacts, "conversations": receipt.conversations,
                       "messages": receipt.messages, "import_rows": receipt.import_rows},
            "identifier": receipt.identifier, "suppressed": receipt.suppressed}
