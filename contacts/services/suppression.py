"""The suppression list: people erased on request (privacy erase with
`suppress`) whom no write may create again.

The one rule, `refused(workspace, rows)`, is asked by the two writers every
contact creation goes through: `lifecycle._insert` (create, upsert,
notifications and inbound messages by phone or sender) and
`bulk.contacts_bulk_upsert` (CSV imports, JSON batches). A row that would
create a contact and carries a suppressed email, phone, secondary phone or
external_client_id is refused with the code `suppressed` (a 400 on the API,
a row error in an import or a batch). A row that updates a contact that
exists is not a re-creation and passes.

Only digests are stored: SHA-256 of the workspace id and the normalized
value (emails lowercased, phones E.164, external ids trimmed), so the list
itself holds no personal data in the clear. The value is hashed without
its kind: a phone the messaging lookups used as external_client_id is
refused either way.
"""
import hashlib
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from crm.actors import Actor
from crm.errors import ErrorItem
from crm.models import Workspace

from ..models import Contact, SuppressedIdentifier

# contact field -> the kind of identifier it holds
FIELDS = {
    "email": SuppressedIdentifier.Kind.EMAIL,
    "phone": SuppressedIdentifier.Kind.PHONE,
    "secondary_phone": SuppressedIdentifier.Kind.PHONE,
    "external_client_id": SuppressedIdentifier.Kind.EXTERNAL_CLIENT_ID,
}
MESSAGE = "This person's data was erased on request and may not be stored again (suppressed)."


def normalized(kind: str, value) -> str:
    value = str(value or "").strip()
    return value.lower() if kind == SuppressedIdentifier.Kind.EMAIL else value


def digest(workspace_id: int, kind: str, value) -> str:
    return hashlib.sha256(f"{workspace_id}:{normalized(kind, value)}".encode()).hexdigest()


def _row_digests(workspace_id: int, row: dict) -> dict[str, str]:
    """{digest: field} of the identifiers a row carries (the first field of
    a value that two fields hold, as a phone keyed as external id)."""
    digests: dict[str, str] = {}
    for name, kind in FIELDS.items():
        if row.get(name):
            digests.setdefault(digest(workspace_id, kind, row[name]), name)
    return digests


def refused(workspace: Workspace, rows: Sequence[dict]) -> dict[int, ErrorItem]:
    """{index: why} of the rows (contact values, normalized) that would
    create a contact carrying a suppressed identifier. One query; a second
    only when some row carries one and names an external_client_id (whose
    contact, if it exists, is updated, not created)."""
    per_row = [_row_digests(workspace.pk, row) for row in rows]
    wanted = {d for digests in per_row for d in digests}
    if not wanted:
        return {}
    hits = set(SuppressedIdentifier.objects.filter(digest__in=list(wanted), workspace=workspace)
               .values_list("digest", flat=True))
    if not hits:
        return {}
    flagged = {i: next(field for d, field in digests.items() if d in hits)
               for i, digests in enumerate(per_row) if hits & digests.keys()}
    external_ids = [rows[i]["external_client_id"] for i in flagged if rows[i].get("external_client_id")]
    existing = set(
        Contact.objects.filter(external_client_id__in=external_ids, workspace=workspace)
        .values_list("external_client_id", flat=True)
    ) if external_ids else set()
    return {i: ErrorItem("suppressed", MESSAGE, field) for i, field in flagged.items()
            if rows[i].get("external_client_id") not in existing or not rows[i].get("external_client_id")}


@transaction.atomic
def suppress(*, workspace: Workspace, actor: Actor, identifiers: Iterable[tuple[str, str]]) -> int:
    """Adds (kind, value) identifiers to the workspace's list (already
    listed ones are kept); returns how many the list now holds of them."""
    now = timezone.now()
    entries = {digest(workspace.pk, kind, value): kind for kind, value in identifiers if normalized(kind, value)}
    SuppressedIdentifier.objects.bulk_create(
        [SuppressedIdentifier(workspace=workspace, digest=d, kind=kind, created_at=now, created_by=actor.user)
         for d, kind in entries.items()],
        ignore_conflicts=True,
    )
    return len(entries)


def is_suppressed(*, workspace: Workspace, kind: str, value: str) -> bool:
    return SuppressedIdentifier.objects.filter(workspace=workspace, digest=digest(workspace.pk, kind, value)).exists()
