"""Writes of many contacts at once, as set operations (one statement per
kind of change, whatever the count).

contact_bulk_update: PATCH /contacts, the same changes to up to 10,000
contacts, all or nothing. Access is checked by the UPDATE itself (it only
matches the contacts the actor may edit); only when it matches fewer rows
than asked does a second query say which ids are unknown (404) or read-only
(403), and raising rolls the UPDATE back.

contacts_bulk_upsert: the writer behind CSV imports, one small interface and
one implementation per database.

    contacts_bulk_upsert(workspace=, actor=, rows=[{field: value}], tags=[[tag ids] | None], defaults=)

Each row holds the normalized non-empty values of one contact (column
attnames: name, email, label_id, owner_id...). A row whose
external_client_id already exists updates that contact: the fields it
carries change, an empty cell keeps the stored value, version goes up and
updated_at/updated_by are stamped. Any other row creates a contact from
`defaults` (default label, owner) plus its values, stamped created/updated
and version 1. A non-empty tag list replaces the contact's tags.

PostgreSQL: COPY of the carried columns (and the tag ids) into a temporary
staging table whose ids come from the contacts' sequence, then one statement
that inserts the rows with defaults filled in by the server
(ON CONFLICT (workspace_id, external_client_id) DO NOTHING), links the tags
of the inserted ones and returns the rows that conflicted. Only those take
the slower path: a locked lookup of the existing contacts and
INSERT ... ON CONFLICT DO UPDATE (about 31,000 upserted rows/s measured
here; the ORM's bulk_create manages 3,000-8,000). SQLite (the quickstart)
has no COPY: multi-row INSERT ... VALUES ... ON CONFLICT DO UPDATE in batches.

A row that would update a contact the actor may not change (a member's
import meeting a private contact of someone else) is not written: it comes
back in `rejected` with the reason, as a row error.

Call it inside a transaction (the import commits each chunk with its job
checkpoint); it locks the existing contacts it updates.
"""
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypedDict, Unpack

from django.db import connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from crm.actors import Actor
from crm.db import AnyOf
from crm.errors import DomainError, ErrorItem, ValidationFailed, field_error
from crm.models import Workspace
from events import services as events
from tags.models import Tag

from ..models import Contact, ContactTag
from . import access, references, rules, suppression
from . import changes as history
from .lifecycle import EXTERNAL_ID_TAKEN

BULK_UPDATE_MAX = 10_000


class BulkChanges(TypedDict, total=False):
    """What a bulk update may change. An absent key leaves the field as it
    is; label_id None means the default label, owner_id/stage_id None clear."""

    label_id: int | None
    owner_id: int | None
    visibility_type: str
    visibility_ids: list[int]
    stage_id: int | None
    tags_add: list[str]
    tags_remove: list[str]


@transaction.atomic
def contact_bulk_update(
    *, workspace: Workspace, actor: Actor, ids: Sequence[int], **changes: Unpack[BulkChanges]
) -> int:
    """Applies `changes` to every contact of `ids`, all or nothing: ids not in
    the workspace (or hidden from the actor) are a 404 listing them, visible
    but read-only ones a 403. The scalar fields, version and stamps change in
    one UPDATE; tags in one INSERT and one DELETE. Returns the count."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise field_error("ids", "At least one id is required.", code="required")
    if len(ids) > BULK_UPDATE_MAX:
        raise field_error("ids", f"At most {BULK_UPDATE_MAX} ids.", code="max_length")
    unknown = set(changes) - set(BulkChanges.__annotations__)
    if unknown:
        raise TypeError(f"Not bulk-updatable: {sorted(unknown)}")
    add = rules.clean_as("tags", changes.get("tags_add"), field="tags_add")
    remove = rules.clean_as("tags", changes.get("tags_remove"), field="tags_remove")
    scalars = {k: changes[k] for k in ("visibility_type", "visibility_ids", "owner_id", "label_id", "stage_id")
               if k in changes}
    cleaned, errors = rules.check(scalars, region=workspace.default_phone_region)
    if errors:
        raise ValidationFailed(errors=errors)
    both = {v.lower() for v in add} & {v.lower() for v in remove}
    if both:
        raise field_error("tags_remove", f"A tag cannot be both added and removed: {sorted(both)}.")
    if not cleaned and not add and not remove:
        raise DomainError("Nothing to update: give at least one field besides ids.", code="invalid")

    values: dict = {}
    references.check_members(workspace, {
        "owner_id": [cleaned["owner_id"]] if cleaned.get("owner_id") else (),
        "visibility_ids": cleaned.get("visibility_ids", ()),
    })
    for name in ("owner_id", "visibility_type", "visibility_ids"):
        if name in cleaned:
            values[name] = cleaned[name]
    if "label_id" in cleaned:
        values["label"] = references.label(workspace, cleaned["label_id"])
    if "stage_id" in cleaned:
        values["stage"] = references.stage(workspace, cleaned["stage_id"])

    # Optimistic: the UPDATE itself only matches the contacts the actor may
    # edit, and a short count means some id is unknown, hidden or read-only;
    # only then is it worth a query to say which (raising rolls the UPDATE back).
    # events: the editable rows' values before, locked, in one query
    columns = [f"{name}_id" if name in ("label", "stage") else name for name in values]
    editable = access.editable_contacts(workspace=workspace, actor=actor, ids=ids)
    before = {row["id"]: row for row in editable.select_for_update().values("id", "version", *columns)}
    updated = editable.update(
        **values, version=F("version") + 1, updated_at=timezone.now(), updated_by=actor.user, editor=actor.stamp
    )
    if updated != len(ids):
        access.raise_for_inaccessible(workspace=workspace, actor=actor, ids=ids)
    added_names = []
    if add:
        tags = references.tags(workspace, actor, add, field="tags_add")
        added_names = [tag.tag for tag in tags]
    old_tags = history.tag_names(ids) if add or remove else {}
    if add:
        _link_tags(ids, [tag.pk for tag in tags])
    if remove:
        tag_ids = Tag.objects.annotate(tag_lower=Lower("tag")).filter(
            workspace=workspace, type__in=[Tag.Type.CLIENT, Tag.Type.COMMON], tag_lower__in=[v.lower() for v in remove]
        ).values("id")
        ContactTag.objects.filter(AnyOf("contact_id", ids), tag_id__in=tag_ids).delete()
    after = {column: getattr(value, "pk", value) for column, value in zip(columns, values.values())}
    _record_bulk_update(workspace, actor, before, after, old_tags if add or remove else None, added_names,
                        {v.lower() for v in remove})
    return len(ids)


def _record_bulk_update(workspace, actor, before: dict, after: dict, old_tags: dict | None, added: list[str],
                        removed: set[str]) -> None:
    """contact.updated for each contact of a bulk update, in one statement."""
    rows = []
    for contact_id, old in before.items():
        change = history.diff(old, after)
        if old_tags is not None:
            previous = old_tags.get(contact_id, [])
            kept = {t.lower(): t for t in previous if t.lower() not in removed}
            for name in added:
                kept.setdefault(name.lower(), name)
            now = sorted(kept.values())
            if now != previous:
                change["tags"] = {"old": previous, "new": now}
        rows.append((contact_id, old["version"] + 1, {"changes": change}))
    events.record_many(workspace=workspace, actor=actor, type="contact.updated", subject_type=history.SUBJECT,
                       rows=rows)


def _link_tags(contact_ids: list[int], tag_ids: list[int]) -> None:
    """Every contact x every tag, existing links kept: one statement."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {_TAG_TABLE} (contact_id, tag_id) "
                "SELECT c, t FROM unnest(%s::bigint[]) AS c CROSS JOIN unnest(%s::bigint[]) AS t "
                "ON CONFLICT DO NOTHING",
                [contact_ids, tag_ids],
            )
        return
    ContactTag.objects.bulk_create(
        [ContactTag(contact_id=c, tag_id=t) for c in contact_ids for t in tag_ids], ignore_conflicts=True
    )


# -- the import's bulk upsert ------------------------------------------------------

# Fields an import may carry (attnames).
WRITABLE = (
    "type", "name", "surname", "local_name", "email", "country_code", "phone", "secondary_phone", "address", "city",
    "country", "code", "title", "note", "external_client_id", "visibility_type", "label_id", "stage_id", "owner_id",
)
_TABLE = Contact._meta.db_table
_TAG_TABLE = ContactTag._meta.db_table
_FIELDS = [f for f in Contact._meta.concrete_fields if f.attname != "id"]
COLUMNS = ["id", *(f.attname for f in _FIELDS)]
_JSON = {f.attname for f in _FIELDS if f.get_internal_type() == "JSONField"}
_STAMPS = ("updated_at", "updated_by_id", "editor")


@dataclass
class BulkResult:
    created: int = 0
    updated: int = 0
    # (index in `rows`, why) of rows not written: they would change a contact the actor may not
    rejected: list[tuple[int, ErrorItem]] = field(default_factory=list)
    # with_ids=True: {index in `rows`: contact id} of the rows written, and the indexes that updated
    ids: dict[int, int] = field(default_factory=dict)
    updated_rows: set[int] = field(default_factory=set)


def _new_row_template() -> dict:
    row = {}
    for f in _FIELDS:
        value = f.get_default()
        row[f.attname] = json.dumps(value) if f.attname in _JSON else value
    row["archived_by"] = ""
    return row


def contacts_bulk_upsert(
    *,
    workspace: Workspace,
    actor: Actor,
    rows: Sequence[dict],
    tags: Sequence[list[int] | None] | None = None,
    defaults: dict | None = None,
    fields: Sequence[str] = WRITABLE,
    with_ids: bool = False,
) -> BulkResult:
    """Writes `rows` (see the module doc); `fields` are the columns the import
    carries (an update only touches those). Returns created/updated counts
    and, `with_ids` (the JSON batch), the contact id of each row written.
    A row that would create a person erased on request (the suppression
    list) is not written: it comes back in `rejected` (`suppressed`)."""
    refused = suppression.refused(workspace, rows) if rows else {}
    if not refused:
        return _bulk_upsert(workspace=workspace, actor=actor, rows=rows, tags=tags, defaults=defaults, fields=fields,
                            with_ids=with_ids)
    keep = [i for i in range(len(rows)) if i not in refused]
    inner = _bulk_upsert(
        workspace=workspace, actor=actor, rows=[rows[i] for i in keep],
        tags=[tags[i] for i in keep] if tags is not None else None, defaults=defaults, fields=fields,
        with_ids=with_ids,
    )
    return BulkResult(
        created=inner.created, updated=inner.updated,
        rejected=sorted([(keep[i], why) for i, why in inner.rejected] + list(refused.items()), key=lambda r: r[0]),
        ids={keep[i]: pk for i, pk in inner.ids.items()}, updated_rows={keep[i] for i in inner.updated_rows},
    )


def _bulk_upsert(*, workspace, actor, rows, tags, defaults, fields, with_ids) -> BulkResult:
    if not rows:
        return BulkResult()
    unknown = set().union(*rows) - set(WRITABLE)
    if unknown:
        raise ValueError(f"Not importable contact columns: {', '.join(sorted(unknown))}.")
    fields = [f for f in WRITABLE if f in set(fields)]
    if "external_client_id" not in fields:
        fields.append("external_client_id")
    writer = _PostgresWriter() if connection.vendor == "postgresql" else _SqliteWriter()
    now = timezone.now()
    user_id = actor.user_id

    template = _new_row_template()
    stamp = json.dumps(actor.stamp)
    template.update(workspace_id=workspace.pk, created_at=now, updated_at=now, created_by_id=user_id,
                    updated_by_id=user_id, creator=stamp, editor=stamp, version=1)
    template.update(defaults or {})

    # Most rows of an import are new: insert them all first, skipping
    # conflicts, and look up (locked) only the external ids that conflicted.
    # The lookup for every row cost more than the writes (24 s of 49 s for
    # 100,000 new rows).
    inserted: dict[int, int] | None = {} if with_ids else None
    pending = writer.insert_new(rows, tags, template, inserted)
    writer.record_created(workspace, actor, pending, template, tags)
    total = len(rows)
    if not pending:
        return BulkResult(created=total, ids=inserted or {})
    rows = [rows[i] for i in pending]
    tags = [tags[i] for i in pending] if tags is not None else None
    full_rows = []
    for values, pk in zip(rows, writer.allocate_ids(len(rows))):
        row = dict(template)
        row["id"] = pk
        row.update(values)
        full_rows.append(row)
    # Existing contacts of those external ids, with the current values of
    # the import's columns (an empty cell keeps them).
    external_ids = [values["external_client_id"] for values in rows if values.get("external_client_id")]
    existing = writer.existing(workspace.pk, external_ids, [*fields, "version"]) if external_ids else {}
    rejected = _refused(workspace, actor, rows, pending, existing)
    if rejected:
        refused = {index for index, _ in rejected}
        keep = [k for k, index in enumerate(pending) if index not in refused]
        rows, full_rows = [rows[k] for k in keep], [full_rows[k] for k in keep]
        tags = [tags[k] for k in keep] if tags is not None else None
        pending = [pending[k] for k in keep]
        total -= len(rejected)
    for i, values in enumerate(rows):
        current = existing.get(values.get("external_client_id"))
        if current is not None:
            row = dict(template)
            row.update(current)
            row.update(values)
            full_rows[i] = row
    # {external id: id} of rows that conflicted or carry one
    returned = writer.upsert(full_rows, fields)
    updated = sum(1 for values in rows if values.get("external_client_id") in existing)
    result = BulkResult(created=total - updated, updated=updated, rejected=rejected)
    if with_ids:
        result.ids = dict(inserted or {})
        for index, values, row in zip(pending, rows, full_rows):
            ext = row["external_client_id"]
            result.ids[index] = returned.get(ext, row["id"]) if ext else row["id"]
            if values.get("external_client_id") in existing:
                result.updated_rows.add(index)
    _record_upserted(workspace, actor, rows, full_rows, tags, existing, returned)

    if tags is not None:
        pairs, replace = [], []
        for row, tag_ids in zip(full_rows, tags):
            if not tag_ids:
                continue
            contact_id = returned.get(row["external_client_id"], row["id"]) if row["external_client_id"] else row["id"]
            if row["external_client_id"] in existing or contact_id != row["id"]:
                replace.append(contact_id)
            pairs.extend((contact_id, tag_id) for tag_id in tag_ids)
        writer.set_tags(replace, pairs)
    return result


def _tag_names(tags) -> dict[int, str]:
    ids = {tag_id for tag_ids in tags or () if tag_ids for tag_id in tag_ids}
    return dict(Tag.objects.filter(id__in=ids).values_list("id", "tag")) if ids else {}


def _record_upserted(workspace, actor: Actor, rows, full_rows, tags, existing, returned) -> None:
    """Events of the rows that went through the upsert: contact.updated with
    the changed values (the old ones were read, locked, with `existing`) and,
    where the rows were not there yet, contact.created. Two statements at most."""
    names = _tag_names(tags)
    replaced = [existing[v["external_client_id"]]["id"] for i, v in enumerate(rows)
                if v.get("external_client_id") in existing and tags is not None and tags[i]]
    old_tags = history.tag_names(replaced) if replaced else {}
    created, updated = [], []
    for i, (values, row) in enumerate(zip(rows, full_rows)):
        new_tags = sorted(names[t] for t in tags[i]) if tags is not None and tags[i] else None
        current = existing.get(values.get("external_client_id"))
        if current is None:
            contact_id = returned.get(row["external_client_id"], row["id"]) if row["external_client_id"] else row["id"]
            data = {k: v for k, v in values.items() if v not in (None, "")}
            if new_tags:
                data["tags"] = new_tags
            created.append((contact_id, 1, {"contact": data}))
            continue
        change = {k: {"old": current.get(k), "new": v} for k, v in values.items()
                  if k != "external_client_id" and current.get(k) != v}
        if new_tags is not None and old_tags.get(current["id"], []) != new_tags:
            change["tags"] = {"old": old_tags.get(current["id"], []), "new": new_tags}
        updated.append((current["id"], current["version"] + 1, {"changes": change}))
    events.record_many(workspace=workspace, actor=actor, type="contact.created", subject_type=history.SUBJECT,
                       rows=created)
    events.record_many(workspace=workspace, actor=actor, type="contact.updated", subject_type=history.SUBJECT,
                       rows=updated)


def _refused(workspace, actor: Actor, rows, pending, existing) -> list[tuple[int, ErrorItem]]:
    """The rows that would update a contact a member may not change: one
    that is hidden from them answers as a create would (the id is taken),
    one they see read-only is a permission error."""
    if not actor.restricted or not existing:
        return []
    rights = access.access_map(workspace=workspace, actor=actor, ids=[c["id"] for c in existing.values()])
    refused = []
    for values, index in zip(rows, pending):
        current = existing.get(values.get("external_client_id"))
        if current is None or rights.get(current["id"]):
            continue
        if current["id"] in rights:
            why = ErrorItem("permission_denied", "You may view but not edit this contact.", "external_client_id")
        else:
            why = ErrorItem("external_client_id_taken", EXTERNAL_ID_TAKEN, "external_client_id")
        refused.append((index, why))
    return refused


class _PostgresWriter:
    def existing(self, workspace_id, external_ids, fields) -> dict[str, dict]:
        columns = ["id", *(f for f in fields if f != "external_client_id")]
        # One unique-index probe per id. A plain `external_client_id = ANY(...)`
        # let the planner, misled by statistics that lag far behind a big
        # import, scan the whole workspace once per chunk (measured: 45 s of
        # a 1M-row import); a lateral lookup per id (LIMIT 1 keeps it from
        # being flattened into a hash join) pins the unique index.
        sql = (
            f'SELECT c.external_client_id, {", ".join("c." + c for c in columns)} '
            f"FROM unnest(%s::text[]) AS v(ext) CROSS JOIN LATERAL "
            f"(SELECT * FROM {_TABLE} WHERE workspace_id = %s AND external_client_id = v.ext LIMIT 1 FOR UPDATE) AS c"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [external_ids, workspace_id])
            return {r[0]: dict(zip(columns, r[1:])) for r in cursor.fetchall()}

    def allocate_ids(self, n: int) -> list[int]:
        if not n:
            return []
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [_TABLE, n]
            )
            return [r[0] for r in cursor.fetchall()]

    def _stage(self, cursor, rows) -> None:
        # ON COMMIT DELETE ROWS: the staging table empties itself with each chunk's commit.
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS import_contact_stage "
            f"(LIKE {_TABLE} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        cursor.execute("TRUNCATE import_contact_stage")
        with cursor.cursor.copy(f"COPY import_contact_stage ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in COLUMNS])

    def insert_new(self, rows, tags, template, inserted: dict | None = None) -> list[int]:
        """Inserts the rows whose external id is not taken, with their tags;
        returns the indexes of the other rows (and fills `inserted`, when
        given, with {index: id} of the rows inserted).

        Only the columns the rows carry travel (COPY of a few values a row
        instead of every column); the server fills in the rest from
        `template`, takes the ids from the contacts' sequence and links the
        tags, all in one statement, so no id or row goes back and forth."""
        carried = set().union(*rows)
        staged = [c for c in WRITABLE if c in carried]
        self._staged = staged
        with connection.cursor() as cursor:
            self._create_new_stage(cursor)
            with cursor.cursor.copy(
                f"COPY import_contact_new (n, tag_ids, {', '.join(staged)}) FROM STDIN"
            ) as copy:
                literals: dict[int, str] = {}
                for n, values in enumerate(rows):
                    tag_ids = tags[n] if tags is not None else None
                    if tag_ids:
                        # An array literal (psycopg's list adapter cost more than the rest of the
                        # row), made once for each list object: rows of a chunk share few lists.
                        literal = literals.get(id(tag_ids))
                        if literal is None:
                            literal = literals[id(tag_ids)] = "{" + ",".join(map(str, tag_ids)) + "}"
                        tag_ids = literal
                    copy.write_row([n, tag_ids or None, *map(values.get, staged)])
            # A row carries only non-empty values: NULL in the stage means "the default".
            select, params = [], []
            for f in _FIELDS:
                if f.attname in staged:
                    select.append(f"COALESCE(s.{f.attname}, CAST(%s AS {f.db_type(connection)}))")
                else:
                    select.append(f"CAST(%s AS {f.db_type(connection)})")
                params.append(template[f.attname])
            link = (
                f", linked AS (INSERT INTO {_TAG_TABLE} (contact_id, tag_id) "
                "SELECT s.id, t.tag_id FROM import_contact_new s JOIN inserted USING (id), "
                "unnest(s.tag_ids) AS t(tag_id) ON CONFLICT DO NOTHING)"
                if tags is not None else ""
            )
            cursor.execute(
                f"WITH inserted AS (INSERT INTO {_TABLE} ({', '.join(COLUMNS)}) "
                f"SELECT s.id, {', '.join(select)} FROM import_contact_new s "
                "ON CONFLICT (workspace_id, external_client_id) DO NOTHING RETURNING id)"
                f"{link} "
                + ("SELECT s.n, i.id FROM import_contact_new s LEFT JOIN inserted i USING (id) ORDER BY s.n"
                   if inserted is not None else
                   "SELECT s.n FROM import_contact_new s WHERE NOT EXISTS "
                   "(SELECT FROM inserted WHERE inserted.id = s.id) ORDER BY s.n"),
                params,
            )
            if inserted is None:
                return [r[0] for r in cursor.fetchall()]
            pending = []
            for n, pk in cursor.fetchall():
                if pk is None:
                    pending.append(n)
                else:
                    inserted[n] = pk
            return pending

    def record_created(self, workspace, actor: Actor, pending: list[int], template: dict, tags) -> None:
        """contact.created for the rows insert_new inserted: one INSERT ...
        SELECT from its staging table (the values each row carried, the
        defaults it got, its tags' names)."""
        names = _tag_names(tags)
        staged = [c for c in WRITABLE if c in self._staged]
        pairs = ", ".join(f"'{c}', s.{c}" for c in staged)
        defaults = {k: template[k] for k in ("label_id", "owner_id") if k not in staged and template.get(k)}
        events.record_select(
            workspace=workspace, actor=actor, type="contact.created", subject_type=history.SUBJECT,
            sql=("SELECT s.id, 1, jsonb_build_object('contact', jsonb_strip_nulls(jsonb_build_object("
                 f"{pairs}, 'tags', (SELECT jsonb_agg(n ORDER BY n) FROM (SELECT %s::jsonb ->> t::text AS n "
                 "FROM unnest(s.tag_ids) t) names))) || %s::jsonb) "
                 "FROM import_contact_new s WHERE NOT (s.n = ANY(%s::int[]))"),
            params=[json.dumps({str(k): v for k, v in names.items()}), json.dumps(defaults), pending],
        )

    def _create_new_stage(self, cursor) -> None:
        # Nullable columns (CREATE TABLE ... AS copies no NOT NULL), ids from
        # the contacts' own sequence; created once a session, emptied by each
        # chunk's commit (and here, for a second call in one transaction).
        cursor.execute(
            "DO $$ BEGIN "
            "IF to_regclass('pg_temp.import_contact_new') IS NULL THEN "
            "CREATE TEMP TABLE import_contact_new ON COMMIT DELETE ROWS AS "
            f"SELECT 0 AS n, id, NULL::bigint[] AS tag_ids, {', '.join(WRITABLE)} FROM {_TABLE} WITH NO DATA; "
            "EXECUTE format('ALTER TABLE import_contact_new ALTER COLUMN id SET DEFAULT nextval(%L::regclass)', "
            f"pg_get_serial_sequence('{_TABLE}', 'id')); "
            "END IF; "
            "DELETE FROM import_contact_new; "
            "END $$"
        )

    def upsert(self, rows, fields) -> dict[str, int]:
        with connection.cursor() as cursor:
            self._stage(cursor, rows)
            cursor.execute(_upsert_sql("SELECT {cols} FROM import_contact_stage".format(cols=", ".join(COLUMNS)), fields))
            return {ext: pk for pk, ext in cursor.fetchall() if ext is not None}

    def set_tags(self, replace: list[int], pairs: list[tuple[int, int]]) -> None:
        with connection.cursor() as cursor:
            if replace:
                cursor.execute(f"DELETE FROM {_TAG_TABLE} WHERE contact_id = ANY(%s)", [replace])
            if pairs:
                cursor.execute(
                    f"INSERT INTO {_TAG_TABLE} (contact_id, tag_id) SELECT * FROM unnest(%s::bigint[], %s::bigint[]) "
                    "ON CONFLICT DO NOTHING",
                    [[p[0] for p in pairs], [p[1] for p in pairs]],
                )


def _upsert_sql(source: str, fields) -> str:
    updates = [f"{f} = EXCLUDED.{f}" for f in fields if f != "external_client_id"]
    updates += [f"{f} = EXCLUDED.{f}" for f in _STAMPS]
    updates.append(f"version = {_TABLE}.version + 1")
    return (
        f"INSERT INTO {_TABLE} ({', '.join(COLUMNS)}) {source} "
        f"ON CONFLICT (workspace_id, external_client_id) DO UPDATE SET {', '.join(updates)} "
        "RETURNING id, external_client_id"
    )


class _SqliteWriter(_PostgresWriter):
    BATCH = 500  # 30-odd columns per row stays under SQLite's bound-parameter limit

    def insert_new(self, rows, tags, template, inserted=None) -> list[int]:
        return list(range(len(rows)))  # the quickstart's database: every row goes through upsert()

    def record_created(self, workspace, actor, pending, template, tags) -> None:
        """Nothing inserted yet: _record_upserted records them."""

    def existing(self, workspace_id, external_ids, fields) -> dict[str, dict]:
        columns = ["id", *(f for f in fields if f != "external_client_id")]
        found = {}
        with connection.cursor() as cursor:
            for start in range(0, len(external_ids), self.BATCH):
                part = external_ids[start:start + self.BATCH]
                cursor.execute(
                    f'SELECT external_client_id, {", ".join(columns)} FROM {_TABLE} '
                    f"WHERE workspace_id = %s AND external_client_id IN ({', '.join(['%s'] * len(part))})",
                    [workspace_id, *part],
                )
                found.update({r[0]: dict(zip(columns, r[1:])) for r in cursor.fetchall()})
        return found

    def allocate_ids(self, n: int) -> list[int]:
        # Callers hold SQLite's write lock (the chunk's transaction has
        # written the job row first), so nobody else can take these ids.
        if not n:
            return []
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_TABLE}")
            top = cursor.fetchone()[0]
            cursor.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [_TABLE])
            top = max(top, cursor.fetchone()[0])
        return list(range(top + 1, top + 1 + n))

    def upsert(self, rows, fields) -> dict[str, int]:
        returned = {}
        placeholder = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
        with connection.cursor() as cursor:
            for start in range(0, len(rows), self.BATCH):
                part = rows[start:start + self.BATCH]
                params = [_sqlite_value(row[c]) for row in part for c in COLUMNS]
                cursor.execute(_upsert_sql("VALUES " + ", ".join([placeholder] * len(part)), fields), params)
                returned.update({ext: pk for pk, ext in cursor.fetchall() if ext is not None})
        return returned

    def set_tags(self, replace: list[int], pairs: list[tuple[int, int]]) -> None:
        with connection.cursor() as cursor:
            for start in range(0, len(replace), self.BATCH):
                part = replace[start:start + self.BATCH]
                cursor.execute(f"DELETE FROM {_TAG_TABLE} WHERE contact_id IN ({', '.join(['%s'] * len(part))})", part)
            for start in range(0, len(pairs), self.BATCH):
                part = pairs[start:start + self.BATCH]
                cursor.execute(
                    f"INSERT INTO {_TAG_TABLE} (contact_id, tag_id) VALUES {', '.join(['(%s, %s)'] * len(part))} "
                    "ON CONFLICT DO NOTHING",
                    [v for p in part for v in p],
                )


def _sqlite_value(value):
    if hasattr(value, "isoformat") and hasattr(value, "tzinfo"):
        return connection.ops.adapt_datetimefield_value(value)
    return value


# -- the JSON batch: matching keys and updates by id -----------------------------

# What an upsert may match existing contacts on (`match_on`, in order).
MATCH_KEYS = ("external_client_id", "email", "phone")
AMBIGUOUS = "ambiguous_match"


@dataclass
class Match:
    """What one row matched: the contact (id, and its current WRITABLE
    values with version, read locked) or the error that keeps it unwritten."""

    contact_id: int | None = None
    current: dict | None = None
    error: ErrorItem | None = None


def contacts_bulk_match(*, workspace: Workspace, actor: Actor, rows: Sequence[dict],
                        match_on: Sequence[str]) -> list[Match]:
    """The existing contact each row describes, by the keys of `match_on` in
    order (external_client_id is always tried last when not listed: it is
    unique, so a row carrying a taken one cannot create). email matches
    case-insensitively (emails are stored lower-cased), phone in E.164;
    those two only match active contacts the actor may see (a hidden one is
    as if it did not exist). One query, the matched rows locked in id order.

    A row is an error when the first key that finds anything finds two
    contacts, or its external_client_id belongs to another contact than the
    one it matched (`ambiguous_match`, never a guess); when it matches a
    contact the actor may not edit (403 `permission_denied`; a hidden one
    by external id: `external_client_id_taken`); when an earlier row of the
    batch matched the same contact (`duplicate`)."""
    keys = [k for k in match_on if k in MATCH_KEYS]
    if "external_client_id" not in keys:
        keys.append("external_client_id")
    wanted = {k: {r[k] for r in rows if r.get(k)} for k in keys}
    found: list[dict] = []
    if any(wanted.values()):
        condition = Q(external_client_id__in=wanted["external_client_id"]) if wanted["external_client_id"] else None
        soft = Q()
        for key in ("email", "phone"):
            if wanted.get(key):
                soft |= Q(**{f"{key}__in": wanted[key]})
        if soft:
            soft = Q(deleted_at__isnull=True) & soft & access.visible_q(actor)
            condition = soft if condition is None else condition | soft
        queryset = Contact.objects.filter(condition, workspace=workspace).order_by("id").select_for_update()
        if actor.restricted:
            queryset = queryset.annotate(_visible=ExpressionWrapper(access.visible_q(actor), output_field=BooleanField()),
                                         _editable=access.editable_annotation(actor))
        found = list(queryset.values("id", "deleted_at", "version", *WRITABLE,
                                     *(("_visible", "_editable") if actor.restricted else ())))
    index: dict[str, dict[str, list[dict]]] = {k: {} for k in keys}
    for contact in found:
        for key in keys:
            value = contact[key]
            if value and (key == "external_client_id" or contact["deleted_at"] is None):
                if key != "external_client_id" and actor.restricted and not contact["_visible"]:
                    continue
                index[key].setdefault(value, []).append(contact)
    out, taken = [], {}
    for n, row in enumerate(rows):
        match = Match()
        target = None
        for key in keys:
            value = row.get(key)
            candidates = index[key].get(value, []) if value else []
            if not candidates:
                continue
            if len({c["id"] for c in candidates}) > 1:
                match.error = ErrorItem(AMBIGUOUS, f"The {key} {value!r} matches contacts "
                                        f"{', '.join(str(c['id']) for c in candidates)}.", key)
            target = candidates[0]
            break
        ext = row.get("external_client_id")
        owner = index["external_client_id"].get(ext, [None])[0] if ext else None
        if match.error is None and target is not None and owner is not None and owner["id"] != target["id"]:
            match.error = ErrorItem(AMBIGUOUS, f"The row matches contact {target['id']}, but its external_client_id "
                                    f"belongs to contact {owner['id']}.", "external_client_id")
        if match.error is None and target is not None:
            if actor.restricted and not target["_visible"]:
                match.error = ErrorItem("external_client_id_taken", EXTERNAL_ID_TAKEN, "external_client_id")
            elif actor.restricted and not target["_editable"]:
                match.error = ErrorItem("permission_denied", "You may view but not edit this contact.", None)
            elif target["id"] in taken:
                match.error = ErrorItem("duplicate", f"Item {taken[target['id']]} matches the same contact.", None)
            else:
                taken[target["id"]] = n
                match.contact_id = target["id"]
                match.current = {k: target[k] for k in ("version", *WRITABLE)}
        out.append(match)
    return out


def contacts_bulk_update_rows(*, workspace: Workspace, actor: Actor, updates: Sequence[tuple[int, dict, dict]],
                              tags: Sequence[list[int] | None] | None = None) -> None:
    """Writes rows onto existing contacts by id: `updates` holds (id, values,
    current) with `current` the contact's WRITABLE values and version read
    locked (contacts_bulk_match, or the batch's read of its ids). One UPDATE
    FROM unnest(...) for every row, whatever the count; a tag list (even
    empty) replaces the contact's tags; contact.updated events in one
    statement. Call it in a transaction, after checking access."""
    if not updates:
        return
    columns = [c for c in WRITABLE if any(c in values for _, values, _ in updates)]
    ids = [pk for pk, _, _ in updates]
    now = timezone.now()
    if columns:
        merged = [{c: values[c] if c in values else current.get(c) for c in columns} for _, values, current in updates]
        if connection.vendor == "postgresql":
            types = {f.attname: f.db_type(connection) for f in _FIELDS}
            arrays = ", ".join(f"%s::{types[c]}[]" for c in columns)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {_TABLE} AS c SET {', '.join(f'{c} = v.{c}' for c in columns)}, "
                    "version = c.version + 1, updated_at = %s, updated_by_id = %s, editor = %s::jsonb "
                    f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(columns)}) WHERE c.id = v.id",
                    [now, actor.user_id, json.dumps(actor.stamp), ids, *([row[c] for row in merged] for c in columns)],
                )
        else:  # the quickstart's SQLite: one UPDATE a row
            for pk, row in zip(ids, merged):
                Contact.objects.filter(pk=pk).update(**row, version=F("version") + 1, updated_at=now,
                                                     updated_by=actor.user, editor=actor.stamp)
    else:
        Contact.objects.filter(AnyOf("id", ids)).update(version=F("version") + 1, updated_at=now, updated_by=actor.user,
                                                        editor=actor.stamp)
    replace = [pk for n, pk in enumerate(ids) if tags is not None and tags[n] is not None]
    old_tags = history.tag_names(replace) if replace else {}
    if replace:
        pairs = [(pk, tag_id) for n, pk in enumerate(ids) if tags[n] for tag_id in tags[n]]
        (_PostgresWriter() if connection.vendor == "postgresql" else _SqliteWriter()).set_tags(replace, pairs)
    names = _tag_names(tags)
    rows = []
    for n, (pk, values, current) in enumerate(updates):
        change = {k: {"old": current.get(k), "new": v} for k, v in values.items() if current.get(k) != v}
        if tags is not None and tags[n] is not None:
            new = sorted(names[t] for t in tags[n])
            if new != old_tags.get(pk, []):
                change["tags"] = {"old": old_tags.get(pk, []), "new": new}
        rows.append((pk, current["version"] + 1, {"changes": change}))
    events.record_many(workspace=workspace, actor=actor, type="contact.updated", subject_type=history.SUBJECT,
                       rows=rows)


def contacts_bulk_upsert_matching(
    *, workspace: Workspace, actor: Actor, rows: Sequence[dict], match_on: Sequence[str],
    tags: Sequence[list[int] | None] | None = None, defaults: dict | None = None, fields: Sequence[str] = WRITABLE,
) -> BulkResult:
    """contacts_bulk_upsert with matching keys (a CSV import's `match_on`):
    the rows that match an existing contact (contacts_bulk_match) update it
    by id, the others go through contacts_bulk_upsert; a row that matches
    ambiguously, or a contact the actor may not change, comes back in
    `rejected`. A constant number of statements whatever the count."""
    matches = contacts_bulk_match(workspace=workspace, actor=actor, rows=rows, match_on=match_on)
    result = BulkResult()
    updates, update_tags, new = [], [], []
    for n, (row, match) in enumerate(zip(rows, matches)):
        if match.error:
            result.rejected.append((n, match.error))
        elif match.contact_id is not None:
            updates.append((match.contact_id, row, match.current))
            update_tags.append(tags[n] or None if tags is not None else None)
            result.ids[n] = match.contact_id
            result.updated_rows.add(n)
        else:
            new.append(n)
    contacts_bulk_update_rows(workspace=workspace, actor=actor, updates=updates,
                              tags=update_tags if tags is not None else None)
    result.updated = len(updates)
    if new:
        inserted = contacts_bulk_upsert(
            workspace=workspace, actor=actor, rows=[rows[n] for n in new],
            tags=[tags[n] for n in new] if tags is not None else None, defaults=defaults, fields=fields,
            with_ids=True,
        )
        result.created += inserted.created
        result.updated += inserted.updated
        result.rejected.extend((new[k], why) for k, why in inserted.rejected)
        result.ids.update({new[k]: pk for k, pk in inserted.ids.items()})
        result.updated_rows.update(new[k] for k in inserted.updated_rows)
    result.rejected.sort(key=lambda item: item[0])
    return result
