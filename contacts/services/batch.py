"""POST /contacts/batch: create, upsert, update or archive up to 1,000
contacts in one request, with one result per item.

Each item is checked by the rule set every contact write uses
(contacts.services.rules: the same verdict and error code as a single
write), its references (label, stage, owner) in one query per kind for the
whole batch, then the valid items are written as set operations: the
import's bulk upsert (contacts.services.bulk: COPY into a staging table and
one INSERT ... ON CONFLICT), one UPDATE ... FROM unnest(...) for updates by
id, one UPDATE for archives, and their events in one statement per type.
So a batch costs the same number of queries whatever its size (see
tests/contacts/test_batch.py).

Items are independent unless `all_or_nothing`: then one failing item fails
the whole batch (422 `batch_failed`, with every item's result) and nothing
is written.
"""
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from crm.actors import Actor
from crm.errors import Conflict, ErrorItem, ValidationFailed, field_error
from crm.models import Membership, Workspace
from events import services as events
from labels.models import ContactLabel
from labels.services import label_get_default
from tags.models import Tag
from tags.services import tags_resolve

from ..models import Contact
from . import access, bulk, rules
from . import changes as history
from .lifecycle import EXTERNAL_ID_TAKEN

BATCH_MAX = 1000
ACTIONS = ("create", "upsert", "update", "archive")
# What an item may carry: the columns the set-based writer takes, and tags.
ITEM_FIELDS = (*bulk.WRITABLE, "tags")


@dataclass
class ItemResult:
    index: int
    status: str = "error"  # created | updated | archived | error | not_written (all_or_nothing)
    id: int | None = None
    errors: list[ErrorItem] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"index": self.index, "status": self.status, "id": self.id,
                "errors": [e.as_dict() for e in self.errors]}


class BatchFailed(ValidationFailed):
    """all_or_nothing and some item failed: nothing was written."""

    status = 422

    def __init__(self, *, errors, failed_items: int, results: list[dict]):
        super().__init__(errors=errors, failed_items=failed_items, results=results)
        # the batch's own code first; `errors` name each failing item's field (items.3.email)
        self.code, self.field = "batch_failed", None
        self.message = f"{failed_items} of {len(results)} items failed; nothing was written (all_or_nothing)."


@dataclass
class _Item:
    index: int
    values: dict
    contact_id: int | None = None
    current: dict | None = None  # an existing contact's values (update, matched upsert)
    tags: list[str] | None = None


def contacts_batch(
    *, workspace: Workspace, actor: Actor, action: str, items: Sequence[dict], all_or_nothing: bool = False,
    match_on: Sequence[str] | None = None,
) -> list[ItemResult]:
    """Runs one batch; returns a result per item, in input order. `items`
    hold typed values (ContactValues keys of ITEM_FIELDS; `id` for update and
    archive). Raises BatchFailed when `all_or_nothing` and an item fails."""
    if action not in ACTIONS:
        raise field_error("action", f'"{action}" is not a valid choice ({", ".join(ACTIONS)}).', code="invalid_choice")
    if not items:
        raise field_error("items", "At least one item is required.", code="required")
    if len(items) > BATCH_MAX:
        raise field_error("items", f"At most {BATCH_MAX} items.", code="max_length")
    if match_on is not None:
        if action != "upsert":
            raise field_error("match_on", "match_on applies to upserts only.")
        bad = [k for k in match_on if k not in bulk.MATCH_KEYS]
        if bad or not match_on or len(set(match_on)) != len(match_on):
            raise field_error("match_on", f"An ordered list of distinct keys among {', '.join(bulk.MATCH_KEYS)}.")
    for n, item in enumerate(items):
        unknown = set(item) - set(ITEM_FIELDS) - ({"id"} if action in ("update", "archive") else set())
        if unknown or (action == "archive" and set(item) - {"id"}):
            raise field_error(f"items.{n}", f"Not accepted in a {action} batch: {', '.join(sorted(unknown or item))}.",
                              code="unknown_field")
    results = [ItemResult(n) for n in range(len(items))]
    with transaction.atomic():
        if action == "archive":
            _archive(workspace, actor, items, results, all_or_nothing)
        else:
            _write(workspace, actor, action, items, results, all_or_nothing, list(match_on or ()))
    return results


def _fail(results: list[ItemResult], n: int, *errors: ErrorItem) -> None:
    results[n].status = "error"
    results[n].errors.extend(errors)


def _raise_if_failed(results: list[ItemResult], all_or_nothing: bool) -> None:
    failed = [r for r in results if r.errors]
    if not (all_or_nothing and failed):
        return
    for r in results:
        if not r.errors:
            r.status, r.id = "not_written", None
    errors = [ErrorItem(e.code, e.message, f"items.{r.index}" + (f".{e.field}" if e.field else ""))
              for r in failed for e in r.errors]
    raise BatchFailed(errors=errors[:100], results=[r.as_dict() for r in results],
                      failed_items=len(failed))


def _ids(items, results) -> dict[int, int]:
    """{index: id} of the items with a valid id, the first of each id."""
    seen: dict[int, int] = {}
    out = {}
    for n, item in enumerate(items):
        pk = item.get("id")
        if pk is None:
            _fail(results, n, ErrorItem("required", "This field is required.", "id"))
        elif type(pk) is not int or not 0 < pk < 2**63:
            _fail(results, n, ErrorItem("invalid", "A valid integer is required.", "id"))
        elif pk in seen:
            _fail(results, n, ErrorItem("duplicate", f"Item {seen[pk]} names the same contact.", "id"))
        else:
            seen[pk] = n
            out[n] = pk
    return out


# -- archive -----------------------------------------------------------------------
def _archive(workspace, actor: Actor, items, results, all_or_nothing) -> None:
    ids = _ids(items, results)
    rights = access.access_map(workspace=workspace, actor=actor, ids=list(ids.values()))
    for n, pk in ids.items():
        if pk not in rights:
            _fail(results, n, ErrorItem("not_found", "No contact with this id.", "id"))
        elif not rights[pk]:
            _fail(results, n, ErrorItem("permission_denied", "You may view but not edit this contact.", "id"))
    _raise_if_failed(results, all_or_nothing)
    good = {pk: n for n, pk in ids.items() if not results[n].errors}
    now = timezone.now()
    # Locked in id order; archiving an archived contact changes nothing (as DELETE /contacts/{id}).
    live = list(Contact.objects.filter(workspace=workspace, id__in=list(good), deleted_at__isnull=True)
                .order_by("id").select_for_update().values_list("id", "version"))
    if live:
        Contact.objects.filter(id__in=[pk for pk, _ in live]).update(
            deleted_at=now, archived_by=actor.archived_by[:20], updated_at=now, updated_by=actor.user,
            editor=actor.stamp, version=F("version") + 1,
        )
        events.record_many(workspace=workspace, actor=actor, type="contact.archived", subject_type=history.SUBJECT,
                           rows=[(pk, version + 1, {"changes": {"deleted_at": {"old": None, "new": now}}})
                                 for pk, version in live])
    for pk, n in good.items():
        results[n].status, results[n].id = "archived", pk


# -- create / upsert / update -----------------------------------------------------------
def _write(workspace, actor: Actor, action: str, items, results, all_or_nothing, match_on: list[str]) -> None:
    region = workspace.default_phone_region
    batch: list[_Item] = []
    current: dict[int, dict] = {}
    ids = {}
    if action == "update":
        ids = _ids(items, results)
        current = _current(workspace, actor, list(ids.values()))
    for n, raw in enumerate(items):
        if results[n].errors:
            continue
        values = {k: v for k, v in raw.items() if k != "id"}
        contact = None
        if action == "update":
            contact = current.get(ids[n])
            if contact is None:
                _fail(results, n, ErrorItem("not_found", "No contact with this id.", "id"))
                continue
            if not contact.get("_editable", True):
                _fail(results, n, ErrorItem("permission_denied", "You may view but not edit this contact.", "id"))
                continue
        cleaned, errors = rules.check(values, region=region,
                                      country_code=contact["country_code"] if contact else "")
        if errors:
            _fail(results, n, *errors)
            continue
        tags = cleaned.pop("tags", None)
        batch.append(_Item(n, cleaned, ids.get(n), contact, tags))
    _check_references(workspace, batch, results)
    batch = [item for item in batch if not results[item.index].errors]
    _check_external_ids(workspace, action, batch, results, match_on)
    batch = [item for item in batch if not results[item.index].errors]
    if action == "upsert" and match_on and match_on != ["external_client_id"]:
        matches = bulk.contacts_bulk_match(workspace=workspace, actor=actor, rows=[i.values for i in batch],
                                           match_on=match_on)
        for item, match in zip(batch, matches):
            if match.error:
                _fail(results, item.index, match.error)
            else:
                item.contact_id, item.current = match.contact_id, match.current
        batch = [item for item in batch if not results[item.index].errors]
    _raise_if_failed(results, all_or_nothing)
    if not batch:
        return
    tag_ids = _tag_ids(workspace, actor, batch)
    default_label = label_get_default(workspace=workspace).pk
    for item in batch:
        if "label_id" in item.values and item.values["label_id"] is None:
            item.values["label_id"] = default_label
    try:
        with transaction.atomic():
            _apply(workspace, actor, action, batch, tag_ids, default_label, results)
    except IntegrityError as exc:
        # A concurrent write took an external id between the check and the write.
        if "uniq_contact_external_id" in str(exc):
            raise Conflict(EXTERNAL_ID_TAKEN, code="external_client_id_taken") from None
        raise
    _raise_if_failed(results, all_or_nothing)


def _apply(workspace, actor, action, batch: list[_Item], tag_ids, default_label, results) -> None:
    by_id = [(item, tags) for item, tags in zip(batch, tag_ids) if item.contact_id is not None]
    new = [(item, tags) for item, tags in zip(batch, tag_ids) if item.contact_id is None]
    if by_id:
        bulk.contacts_bulk_update_rows(
            workspace=workspace, actor=actor, updates=[(i.contact_id, i.values, i.current) for i, _ in by_id],
            tags=[tags for _, tags in by_id],
        )
        for item, _ in by_id:
            results[item.index].status, results[item.index].id = "updated", item.contact_id
    if not new:
        return
    # The import's writer: rows carry their non-empty values (None: the default).
    rows = [{"type": Contact.Type.PERSON, **{k: v for k, v in item.values.items() if v is not None}}
            for item, _ in new]
    carried = {k for row in rows for k in row}
    result = bulk.contacts_bulk_upsert(
        workspace=workspace, actor=actor, rows=rows, tags=[tags or None for _, tags in new],
        defaults={"label_id": default_label, "owner_id": actor.user_id},
        fields=[f for f in bulk.WRITABLE if f in carried], with_ids=True,
    )
    for k, why in result.rejected:
        _fail(results, new[k][0].index, why)
    for k, (item, _) in enumerate(new):
        if k in result.ids:
            results[item.index].status = "updated" if k in result.updated_rows else "created"
            results[item.index].id = result.ids[k]


def _current(workspace, actor: Actor, ids: list[int]) -> dict[int, dict]:
    """The contacts of an update batch the actor may see, locked in id order,
    with the values the rules and the events need."""
    queryset = access.visible_contacts(workspace=workspace, actor=actor).filter(id__in=ids).order_by("id")
    if actor.restricted:
        queryset = queryset.annotate(_editable=access.editable_annotation(actor))
    fields = ("id", "version", *bulk.WRITABLE, *(("_editable",) if actor.restricted else ()))
    return {row["id"]: row for row in queryset.select_for_update().values(*fields)}


def _check_references(workspace, batch: list[_Item], results) -> None:
    """Labels, stages and owners named by the batch: one query per kind."""
    wanted = {name: {i.values[name] for i in batch if i.values.get(name)} for name in ("label_id", "stage_id", "owner_id")}
    known = {
        "label_id": set(ContactLabel.objects.filter(workspace=workspace, id__in=wanted["label_id"])
                        .values_list("id", flat=True)) if wanted["label_id"] else set(),
        "stage_id": set(Tag.objects.filter(workspace=workspace, type=Tag.Type.CLIENT_STAGE, id__in=wanted["stage_id"])
                        .values_list("id", flat=True)) if wanted["stage_id"] else set(),
        "owner_id": set(Membership.objects.filter(workspace=workspace, user_id__in=wanted["owner_id"])
                        .values_list("user_id", flat=True)) if wanted["owner_id"] else set(),
    }
    what = {"label_id": "No label with id {} in this workspace.", "stage_id": "No clientStage tag with id {}.",
            "owner_id": "Not a member of this workspace: {}."}
    for item in batch:
        for name in known:
            value = item.values.get(name)
            if value and value not in known[name]:
                _fail(results, item.index, ErrorItem("does_not_exist", what[name].format(value), name))


def _check_external_ids(workspace, action, batch: list[_Item], results, match_on) -> None:
    """An external id twice in the batch, or (create, update) taken by
    another contact: one query."""
    seen: dict[str, int] = {}
    for item in batch:
        ext = item.values.get("external_client_id")
        if not ext:
            continue
        if ext in seen:
            _fail(results, item.index, ErrorItem("duplicate", f"The external_client_id {ext!r} is also on item "
                                                              f"{seen[ext]}.", "external_client_id"))
        else:
            seen[ext] = item.index
    if action == "upsert" or not seen:
        return
    taken = dict(Contact.objects.filter(workspace=workspace, external_client_id__in=list(seen))
                 .values_list("external_client_id", "id"))
    for item in batch:
        ext = item.values.get("external_client_id")
        if ext in taken and taken[ext] != item.contact_id and not results[item.index].errors:
            _fail(results, item.index, ErrorItem("external_client_id_taken", EXTERNAL_ID_TAKEN, "external_client_id"))


def _tag_ids(workspace, actor, batch: list[_Item]) -> list[list[int] | None]:
    """Each item's tag ids (None: tags not given), the unknown ones created as
    client tags: one resolution for the whole batch."""
    names: dict[str, str] = {}
    for item in batch:
        for name in item.tags or ():
            names.setdefault(name.lower(), name)
    by_name = {}
    if names:
        for tag in tags_resolve(workspace=workspace, actor=actor, values=list(names.values())):
            by_name[tag.tag.lower()] = tag.pk
        for lowered, value in names.items():
            if lowered not in by_name:  # the database's lower() merged it with another spelling
                (tag,) = tags_resolve(workspace=workspace, actor=actor, values=[value])
                by_name[lowered] = tag.pk
    return [None if item.tags is None else [by_name[t.lower()] for t in item.tags] for item in batch]
