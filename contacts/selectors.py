"""Reads for contacts: lists, lookups by id, and the batch loading of
everything a page of contacts shows (a constant number of queries per page).

What a caller may see is decided by the one access policy,
contacts.services.access, with the caller's actor.
"""
from collections import defaultdict
from collections.abc import Iterable, Sequence

import orjson
from django.db import connection
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.db.models.expressions import RawSQL, Window
from django.db.models.functions import Lower, RowNumber

from crm.actors import Actor
from crm.db import AnyOf, prepared_statement
from crm.errors import NotFound
from crm.models import Membership, Workspace

from .models import Contact, ContactTag, CustomFieldDefinition
from .services import access

# The search text lives in contacts_contactsearch, kept by the triggers of
# migration 0008 (trigram-indexed on PostgreSQL): lower(name) ' '
# lower(surname) ' ' email ' ' phone ' ' lower(code).
SEARCH_SQL = "SELECT contact_id FROM contacts_contactsearch WHERE document LIKE %s ESCAPE '\\'"


def contacts_visible(*, workspace: Workspace, actor: Actor) -> QuerySet:
    """Every contact of the workspace the actor may see (archived included)."""
    return access.visible_contacts(workspace=workspace, actor=actor)


# The columns a response row is built from (contacts.serializers.ContactRenderer).
ROW_FIELDS = (
    "id", "workspace_id", "type", "name", "surname", "local_name", "email", "country_code", "phone",
    "secondary_phone", "address", "city", "country", "code", "title", "note", "logo", "label_id", "stage_id",
    "external_client_id", "default_agent_id", "owner_id", "visibility_type", "visibility_ids", "organization_id",
    "custom_fields", "integration_meta", "disabled", "created_at", "updated_at", "created_by_id", "updated_by_id",
    "deleted_at", "archived_by", "merged_into_id", "version", "media", "cover_photo", "company_namespace", "creator",
    "editor",
    # one LEFT JOIN each, read into the same row (no model instances)
    "label__name", "label__color", "label__icon",
    "organization__name", "organization__surname", "organization__email", "organization__phone",
    "organization__visibility_type", "organization__owner_id",
    "owner__first_name", "owner__last_name", "owner__email", "owner__is_active",
)
TAG_ORDER = ("tag__order", "tag__tag", "tag_id")


def _row_annotations() -> dict:
    """Per-row values read by the row query itself. On PostgreSQL the tags
    and sub-owner ids come as arrays of correlated subqueries, so a page
    costs one query instead of three; elsewhere page_relations loads them."""
    annotations = {
        "owner_role": Subquery(
            Membership.objects.filter(workspace_id=OuterRef("workspace_id"), user_id=OuterRef("owner_id")).values(
                "role"
            )[:1]
        ),
    }
    if connection.vendor == "postgresql":
        from django.contrib.postgres.expressions import ArraySubquery

        annotations["tag_values"] = ArraySubquery(
            ContactTag.objects.filter(contact_id=OuterRef("pk")).order_by(*TAG_ORDER).values("tag__tag")
        )
        annotations["sub_owner_list"] = ArraySubquery(
            Contact.sub_owners.through.objects.filter(contact_id=OuterRef("pk")).order_by("id").values("user_id")
        )
    return annotations


def contact_rows(queryset: QuerySet) -> QuerySet:
    """Named tuples instead of model instances (about 3x cheaper per row);
    sort annotations come along so cursor pagination can read them."""
    sort_keys = list(queryset.query.annotation_select)
    annotations = _row_annotations()
    return queryset.annotate(**annotations).values_list(*ROW_FIELDS, *sort_keys, *annotations, named=True)


def contact_search(queryset: QuerySet, text: str) -> QuerySet:
    """Case-insensitive substring over name, surname, email, phone and code;
    served by the trigram index on PostgreSQL. A phone-looking text is
    matched by its digits (the stored phones are E.164)."""
    text = text.strip().lower()
    stripped = text.replace(" ", "").replace("-", "").replace("(", "").replace(")", "").replace(".", "")
    if stripped.lstrip("+").isdigit() and len(stripped.lstrip("+")) >= 3:
        text = stripped
    pattern = f"%{connection.ops.prep_for_like_query(text)}%"
    return queryset.filter(id__in=RawSQL(SEARCH_SQL, [pattern]))


_ROWS_SQL: dict = {}
_WS_SENTINEL, _ID_SENTINEL = -7_301_911, -7_301_912
_JSON_FIELDS = ("visibility_ids", "custom_fields", "integration_meta", "media", "company_namespace", "creator", "editor")
DEFINITIONS_COLUMN = "custom_field_definitions"


def _definitions_subquery():
    """The workspace's custom field definitions as one JSON array, in the
    shape page_relations loads them: a single-contact response then needs
    no query of its own for them."""
    from django.contrib.postgres.aggregates import JSONBAgg
    from django.db.models.functions import JSONObject

    return Subquery(
        CustomFieldDefinition.objects.filter(workspace_id=OuterRef("workspace_id"))
        .order_by()
        .values("workspace_id")
        .annotate(d=JSONBAgg(JSONObject(code="code", label="label", short_name="short_name", module="module"),
                             order_by="id"))
        .values("d")
    )


def _rows_sql(with_definitions: bool, single: bool):
    """The row query for `workspace_id = %s AND id = ANY(%s)` (or `id = %s`
    when `single`), compiled once per process: building it through the ORM
    (40 columns, 3 joins, 4 subqueries) costs ~5 ms a request, several times
    its execution. The single-id form lets PostgreSQL settle on a generic
    plan for the prepared statement; with ANY it re-plans every call."""
    key = (with_definitions, single)
    if key not in _ROWS_SQL:
        from django.db.models.utils import create_namedtuple_class

        queryset = Contact.objects.filter(workspace_id=_WS_SENTINEL, pk__in=[_ID_SENTINEL]).order_by()
        if with_definitions:
            queryset = queryset.annotate(**{DEFINITIONS_COLUMN: _definitions_subquery()})
        queryset = contact_rows(queryset)
        sql, params = queryset.query.sql_with_params()
        clause = '"contacts_contact"."id" IN (%s)'
        if params.count(_WS_SENTINEL) != 1 or params.count(_ID_SENTINEL) != 1 or sql.count(clause) != 1:
            raise RuntimeError("unexpected contact row query shape")
        query = queryset.query
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        row_class = create_namedtuple_class(*names)
        json_fields = _JSON_FIELDS + ((DEFINITIONS_COLUMN,) if with_definitions else ())
        _ROWS_SQL[key] = (
            sql.replace(clause, '"contacts_contact"."id" = %s' if single else '"contacts_contact"."id" = ANY(%s)'),
            # the parameters: the two sentinels' slots, and constants (JSON keys) kept as compiled
            [{_WS_SENTINEL: "ws", _ID_SENTINEL: "ids"}.get(p, (p,)) if isinstance(p, int) else (p,) for p in params],
            row_class,
            [row_class._fields.index(name) for name in json_fields],
        )
    return _ROWS_SQL[key]


def _load_json(text: str):
    # Most rows hold empty objects and lists: skip the parser for them.
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return orjson.loads(text)


def rows_by_ids(*, workspace_id: int, ids: Sequence[int], with_definitions: bool = False) -> list:
    """contact_rows() rows of `ids` in the workspace, in the order of `ids`
    (unknown ids left out): one query. Callers pass ids they may show.
    `with_definitions` (PostgreSQL) adds the workspace's custom field
    definitions to each row, for single-contact responses."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return []
    if connection.vendor != "postgresql":
        rows = list(contact_rows(Contact.objects.filter(workspace_id=workspace_id, pk__in=ids)))
    else:
        single = len(ids) == 1
        sql, order, row_class, json_positions = _rows_sql(with_definitions, single)
        values = {"ws": workspace_id, "ids": ids[0] if single else ids}
        with connection.cursor() as cursor, prepared_statement(connection):
            cursor.execute(sql, [slot[0] if isinstance(slot, tuple) else values[slot] for slot in order])
            fetched = cursor.fetchall()
        rows = []
        for raw in fetched:
            raw = list(raw)
            for i in json_positions:
                if isinstance(raw[i], str):
                    raw[i] = _load_json(raw[i])
            rows.append(row_class(*raw))
    by_id = {row.id: row for row in rows}
    return [by_id[i] for i in ids if i in by_id]


def contacts_by_ids(*, workspace: Workspace, actor: Actor, ids: Sequence[int]) -> list:
    """The contacts of `ids` the actor may see, in the order asked (others are left out)."""
    if actor.restricted:
        allowed = set(
            contacts_visible(workspace=workspace, actor=actor).filter(AnyOf("id", ids)).values_list("pk", flat=True)
        )
        ids = [i for i in ids if i in allowed]
    return rows_by_ids(workspace_id=workspace.pk, ids=ids)


def contact_row(*, workspace: Workspace, actor: Actor | None, pk: int):
    """The row of contact `pk` with the workspace's custom field definitions,
    or None when it does not exist or `actor` may not see it. Without an
    actor (a writer reading back what it just wrote) nothing is hidden."""
    if actor is not None and actor.restricted and not contacts_visible(workspace=workspace, actor=actor).filter(
        pk=pk
    ).exists():
        return None
    rows = rows_by_ids(workspace_id=workspace.pk, ids=[pk], with_definitions=True)
    return rows[0] if rows else None


class PageRelations:
    """Everything rows of a page show beyond their own columns, loaded with
    one query per kind whatever the number of rows."""

    def __init__(self):
        self.tags: dict[int, list[str]] = defaultdict(list)
        self.sub_owner_ids: dict[int, list[int]] = defaultdict(list)
        self.users: dict[int, dict] = {}
        self.persons: dict[int, list[dict]] = defaultdict(list)
        self.definitions: list[dict] = []
        self.hidden_organizations: set[int] = set()


PERSON_FIELDS = ("id", "name", "surname", "email", "phone")
PERSONS_SHOWN = 100


def page_relations(
    *, workspace: Workspace, contacts: Sequence[Contact], need: Iterable[str], actor: Actor
) -> PageRelations:
    """`need` names what to load: tags, sub_owners, users, persons,
    custom_fields, organizations. `contacts` are contact_rows() rows. The
    persons and organizations shown are only those the actor may see (a
    visible contact can link to a hidden one)."""
    need = set(need)
    relations = PageRelations()
    if not contacts:
        return relations
    ids = [c.id for c in contacts]
    arrays = connection.vendor == "postgresql"  # tags and sub-owner ids came with the rows
    if "tags" in need and not arrays:
        rows = ContactTag.objects.filter(AnyOf("contact_id", ids)).order_by(*TAG_ORDER).values_list("contact_id", "tag__tag")
        for contact_id, tag in rows:
            relations.tags[contact_id].append(tag)
    if "sub_owners" in need or "users" in need:
        if arrays:
            relations.sub_owner_ids.update({c.id: c.sub_owner_list for c in contacts if c.sub_owner_list})
        else:
            rows = Contact.sub_owners.through.objects.filter(contact_id__in=ids).order_by("id").values_list(
                "contact_id", "user_id"
            )
            for contact_id, user_id in rows:
                relations.sub_owner_ids[contact_id].append(user_id)
    if "users" in need:
        # Owners come with the rows; sub-owners' details need one query.
        user_ids = {u for ids_ in relations.sub_owner_ids.values() for u in ids_}
        if user_ids:
            rows = Membership.objects.filter(workspace=workspace, user_id__in=user_ids).values(
                "user_id", "role", "user__first_name", "user__last_name", "user__email", "user__is_active"
            )
            for row in rows:
                relations.users[row["user_id"]] = {
                    "id": row["user_id"],
                    "first_name": row["user__first_name"],
                    "last_name": row["user__last_name"],
                    "email": row["user__email"],
                    "contact": "",
                    "role": row["role"],
                    "status": "active" if row["user__is_active"] else "inactive",
                }
    if "persons" in need:
        organization_ids = [c.id for c in contacts if c.type == Contact.Type.ORGANIZATION]
        if organization_ids:
            # At most PERSONS_SHOWN per organization: a page stays bounded
            # whatever an organization's size (GET /contacts?... lists them all).
            persons = Contact.objects.filter(organization_id__in=organization_ids, deleted_at__isnull=True)
            persons = access.restrict(persons, actor)
            rows = (
                persons
                .annotate(position=Window(RowNumber(), partition_by=[F("organization_id")], order_by=F("id").asc()))
                .filter(position__lte=PERSONS_SHOWN)
                .order_by("id")
                .values("organization_id", *PERSON_FIELDS)
            )
            for row in rows:
                relations.persons[row.pop("organization_id")].append(row)
    if "organizations" in need and actor.restricted:
        # Only a private organization someone else owns may be hidden: a query only then.
        candidates = {
            c.organization_id for c in contacts
            if c.organization_id and c.organization__visibility_type == Contact.Visibility.PRIVATE
            and c.organization__owner_id != actor.user_id
        }
        if candidates:
            seen = set(
                contacts_visible(workspace=workspace, actor=actor)
                .filter(AnyOf("id", list(candidates))).values_list("id", flat=True)
            )
            relations.hidden_organizations = candidates - seen
    if "custom_fields" in need and hasattr(contacts[0], DEFINITIONS_COLUMN):
        relations.definitions = contacts[0].custom_field_definitions or []
    elif "custom_fields" in need:
        relations.definitions = list(
            CustomFieldDefinition.objects.filter(workspace=workspace).order_by("id").values(
                "code", "label", "short_name", "module"
            )
        )
    return relations


def contact_history(*, workspace: Workspace, actor: Actor, contact_id: int) -> QuerySet:
    """A contact's events, newest first, if the actor may see the contact
    (404 otherwise, as for an unknown id). An erased contact has no row to
    ask: its history (scrubbed, ending with contact.erased) is for actors
    whom visibility does not limit."""
    from events.selectors import subject_events

    history = subject_events(workspace=workspace, subject_type="contact", subject_id=contact_id)
    if access.visible_contacts(workspace=workspace, actor=actor).filter(pk=contact_id).exists():
        return history
    if not actor.restricted and not Contact.objects.filter(pk=contact_id).exists() and history.exists():
        return history
    raise NotFound("No contact with this id.")


# -- duplicates ------------------------------------------------------------------------
# kind in contacts_duplicatekey (migration 0014) -> the reason on the wire
DUPLICATE_REASONS = {"email": "email", "phone": "phone", "external_id": "external_client_id"}
DUPLICATE_FIELDS = ("id", "name", "surname", "email", "phone", "external_client_id", "updated_at")
GROUP_MEMBERS_MAX = 50


def _key_of(kind: str, row: dict) -> str:
    if kind == "external_id":
        return (row["external_client_id"] or "").strip().lower()
    return row[kind]


def _duplicate_q(keys: dict[str, Iterable[str]]) -> Q:
    """Active contacts having any of the keys ({kind: values}), each kind by its index."""
    condition = Q(pk__in=[])
    if keys.get("email"):
        condition |= Q(email__in=list(keys["email"]))
    if keys.get("phone"):
        condition |= Q(phone__in=list(keys["phone"]))
    if keys.get("external_id"):
        condition |= Q(external_client_id__isnull=False, _ext_lower__in=list(keys["external_id"]))
    return condition


def _duplicate_candidates(workspace: Workspace, actor: Actor, keys: dict) -> QuerySet:
    return (access.visible_contacts(workspace=workspace, actor=actor)
            .annotate(_ext_lower=Lower("external_client_id"))
            .filter(_duplicate_q(keys), deleted_at__isnull=True))


def contact_duplicates(*, workspace: Workspace, actor: Actor, contact_id, limit: int = 100) -> list[dict]:
    """The active contacts the actor may see that share a normalized email,
    an E.164 phone or an external id (ignoring case) with the contact, each
    with its `reasons`; at most `limit`, by id. 404 for a contact the actor
    may not see. Two queries, served by the email, phone and
    lower(external_client_id) indexes."""
    contact = (access.visible_contacts(workspace=workspace, actor=actor).filter(pk=contact_id)
               .values("id", "email", "phone", "external_client_id").first() if access._is_id(contact_id) else None)
    if contact is None:
        raise NotFound("No contact with this id.")
    mine = {kind: _key_of(kind, contact) for kind in DUPLICATE_REASONS}
    keys = {kind: [value] for kind, value in mine.items() if value}
    if not keys:
        return []
    rows = list(_duplicate_candidates(workspace, actor, keys).exclude(pk=contact["id"]).order_by("id")
                .values(*DUPLICATE_FIELDS)[:limit])
    for row in rows:
        row["reasons"] = [DUPLICATE_REASONS[k] for k in DUPLICATE_REASONS if mine[k] and _key_of(k, row) == mine[k]]
    return rows


_GROUPS_SQL = (
    "SELECT kind, value, contacts FROM contacts_duplicatekey "
    "WHERE workspace_id = %s AND contacts > 1 AND (kind, value) > (%s, %s) ORDER BY kind, value LIMIT %s"
)


def duplicate_groups(*, workspace: Workspace, actor: Actor, after: tuple[str, str] | None,
                     limit: int) -> tuple[list[dict], tuple[str, str] | None]:
    """A page of the workspace's duplicate groups after the keyset `after`
    ((kind, value); None: the first page), in (reason, value) order: each
    {reason, value, contacts: [the active contacts the actor may see, by id,
    at most 50]}; a group with fewer than two contacts the actor may see is
    left out. Returns (groups, the next cursor or None). Two queries: the
    page of keys from the partial index of contacts_duplicatekey (keys
    shared by more than one active contact), then their contacts."""
    kind, value = after or ("", "")
    with connection.cursor() as cursor:
        cursor.execute(_GROUPS_SQL, [workspace.pk, kind, value, limit + 1])
        keys = cursor.fetchall()
    has_next = len(keys) > limit
    keys = keys[:limit]
    if not keys:
        return [], None
    wanted: dict[str, set[str]] = defaultdict(set)
    for kind, value, _ in keys:
        wanted[kind].add(value)
    members: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in _duplicate_candidates(workspace, actor, wanted).order_by("id").values(*DUPLICATE_FIELDS):
        for kind in DUPLICATE_REASONS:
            value = _key_of(kind, row)
            if value in wanted.get(kind, ()):
                members[(kind, value)].append(row)
    groups = []
    for kind, value, _ in keys:
        contacts = members.get((kind, value), [])
        if len(contacts) < 2:
            continue  # the others are hidden from the actor (or the count is being updated)
        groups.append({"reason": DUPLICATE_REASONS[kind], "value": value, "size": len(contacts),
                       "contacts": contacts[:GROUP_MEMBERS_MAX]})
    last = keys[-1]
    return groups, ((last[0], last[1]) if has_next else None)
IDENTIFIER_FIELDS = ("email", "phone", "secondary_phone", "external_client_id")


def contacts_identified_by(*, workspace: Workspace, actor: Actor, contact_id: int | None = None, email: str = "",
                           phone: str = "", external_client_id: str = "") -> list[dict]:
    """Every contact (archived too) the actor may see that one identifier
    names: the id, the email (any case), the phone (as phone, secondary
    phone, or the external id messaging keys phone contacts by; give it
    E.164) or the external_client_id. Rows {id, email, phone,
    secondary_phone, external_client_id}, by id."""
    from django.db.models import Q

    queryset = contacts_visible(workspace=workspace, actor=actor)
    if contact_id is not None:
        match = Q(pk=contact_id)
    elif email:
        match = Q(email__iexact=email.strip())
    elif phone:
        match = Q(phone=phone) | Q(secondary_phone=phone) | Q(external_client_id=phone)
    elif external_client_id:
        match = Q(external_client_id=external_client_id.strip())
    else:
        return []
    return list(queryset.filter(match).order_by("id").values("id", *IDENTIFIER_FIELDS))
