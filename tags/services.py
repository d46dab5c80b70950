"""Writes for tags: create, update, delete, bulk patch, and the helpers the
contacts, imports and messaging apps call (tags_resolve, stage_validate)."""
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from crm.actors import Actor
from crm.errors import ObjectsNotFound, field_error
from crm.models import Workspace
from crm.services import lock_version, model_update, saved_or

from .models import Tag

TAG_MAX_LENGTH = Tag._meta.get_field("tag").max_length
UNIQUE_TAG_MESSAGE = "A tag with this value and type already exists in the workspace (values are case-insensitive)."
BULK_PATCH_MAX = 1000


def _clean_values(values: Iterable, field: str) -> list[str]:
    """Stripped, non-empty values, checked, in order."""
    cleaned = []
    for value in values:
        if not isinstance(value, str):
            raise field_error(field, "Each tag must be a string.", code="invalid")
        value = value.strip()
        if not value:
            continue
        if len(value) > TAG_MAX_LENGTH:
            raise field_error(field, f"A tag is at most {TAG_MAX_LENGTH} characters: {value[:40]}...", code="max_length")
        if "\x00" in value:
            raise field_error(field, "A tag cannot contain NUL characters.", code="null_characters_not_allowed")
        cleaned.append(value)
    return cleaned


# The SQL below is portable (PostgreSQL, and SQLite for the quickstart):
# VALUES in a CTE, CAST, IN lists, ON CONFLICT and RETURNING. Rows come back
# through raw() so each backend's converters apply (SQLite dates are text).
BATCH = 5000  # bind parameters per statement stay under both backends' limits


def _batched(values: list, run, **kwargs) -> list:
    return [item for start in range(0, len(values), BATCH) for item in run(values=values[start : start + BATCH], **kwargs)]


def _read(*, workspace: Workspace, values: list[str], types: Sequence[str]) -> list[tuple[str, str, Tag | None]]:
    """(value, key, matching tag or None) per value and match, in the order
    given. The key is the database's lower() of the value, the one the unique
    index uses (PostgreSQL's differs from Python's for a few letters, e.g. a
    final sigma), so matching and de-duplicating agree with the constraint."""
    if len(values) > BATCH:
        return _batched(values, _read, workspace=workspace, types=types)
    rows = ", ".join(f"(CAST(%s AS TEXT), {i})" for i in range(len(values)))
    sql = (
        f"WITH v(input_value, input_ord) AS (VALUES {rows}) "
        f"SELECT t.*, v.input_value, lower(v.input_value) AS input_key FROM v LEFT JOIN {Tag._meta.db_table} t "
        f"ON t.workspace_id = %s AND t.type IN ({', '.join(['%s'] * len(types))}) "
        "AND lower(t.tag) = lower(v.input_value) ORDER BY v.input_ord"
    )
    result = []
    for row in Tag.objects.raw(sql, [*values, workspace.pk, *types]):
        tag = None
        if row.pk is not None:
            tag, tag.workspace = row, workspace
        result.append((row.input_value, row.input_key, tag))
    return result


def _insert_missing(
    *, workspace: Workspace, values: list[str], tag_type: str, actor: Actor
) -> list[Tag]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING for the missing values
    (per BATCH). bulk_create(ignore_conflicts=True) cannot return ids, and the
    unique constraint is on lower(tag), which update_conflicts cannot target."""
    if len(values) > BATCH:
        return _batched(values, _insert_missing, workspace=workspace, tag_type=tag_type, actor=actor)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    user_id = actor.user_id
    params: list = []
    for value in values:
        params += [workspace.pk, value, tag_type, now, now, user_id, user_id]
    row = "(%s, %s, %s, 0, '', %s, %s, %s, %s, 1)"
    sql = (
        f'INSERT INTO {Tag._meta.db_table} (workspace_id, tag, type, "order", description, created_at, updated_at, '
        f"created_by_id, updated_by_id, version) VALUES {', '.join([row] * len(values))} ON CONFLICT DO NOTHING RETURNING *"
    )
    tags = list(Tag.objects.raw(sql, params))
    for tag in tags:
        tag.workspace = workspace
    return tags


def tags_resolve(
    *,
    workspace: Workspace,
    actor: Actor,
    values: Sequence[str],
    types: Sequence[str] = (Tag.Type.CLIENT, Tag.Type.COMMON),
    create_type: str = Tag.Type.CLIENT,
    field: str = "tags",
) -> list[Tag]:
    """Resolves tag strings case-insensitively to the workspace's tags of
    `types` (the type listed first wins when two match), creating the unknown
    ones as `create_type`. One query reads, one inserts the missing; a value
    inserted concurrently by another request is re-read, never duplicated.
    Returns one tag per distinct value, in the order given."""
    if create_type not in types:
        raise ValueError("create_type must be one of types")
    cleaned = _clean_values(values, field)
    if not cleaned:
        return []
    rank = {t: i for i, t in enumerate(types)}
    spelling: dict[str, str] = {}  # key -> the first spelling given, in order
    found: dict[str, Tag] = {}
    for value, key, tag in _read(workspace=workspace, values=cleaned, types=types):
        spelling.setdefault(key, value)
        if tag is not None and (key not in found or rank[tag.type] < rank[found[key].type]):
            found[key] = tag
    missing = {value: key for key, value in spelling.items() if key not in found}
    if missing:
        for tag in _insert_missing(workspace=workspace, values=list(missing), tag_type=create_type, actor=actor):
            found[missing[tag.tag]] = tag
        raced = [value for value, key in missing.items() if key not in found]
        if raced:
            for _value, key, tag in _read(workspace=workspace, values=raced, types=[create_type]):
                if tag is not None:
                    found[key] = tag
    return [found[key] for key in spelling]


def stage_validate(*, workspace: Workspace, stage_id) -> Tag:
    """The clientStage tag `stage_id` of the workspace, or a 400 on `stage_id`."""
    try:
        pk = int(stage_id)
    except (TypeError, ValueError):
        raise field_error("stage_id", "A stage id is an integer.", code="invalid")
    tag = None
    if 0 < pk < 2**63:  # beyond bigint the database would raise, not answer "none"
        tag = Tag.objects.filter(workspace=workspace, pk=pk, type=Tag.Type.CLIENT_STAGE).first()
    if tag is None:
        raise field_error(
            "stage_id", f"No clientStage tag with id {stage_id} in this workspace.", code="does_not_exist"
        )
    return tag


def _duplicate():
    return field_error("tag", UNIQUE_TAG_MESSAGE, code="unique")


def _tag_taken(*, workspace: Workspace, tag_type: str, value: str, exclude_id: int | None = None) -> bool:
    queryset = Tag.objects.filter(workspace=workspace, type=tag_type, tag__iexact=value)
    if exclude_id is not None:
        queryset = queryset.exclude(pk=exclude_id)
    return queryset.exists()


@transaction.atomic
def tag_create(
    *,
    workspace: Workspace,
    actor: Actor,
    tag: str,
    type: str,
    order: int = 0,
    description: str = "",
) -> Tag:
    value = tag.strip()
    if _tag_taken(workspace=workspace, tag_type=type, value=value):
        raise _duplicate()
    now = timezone.now()
    obj = Tag(
        workspace=workspace, tag=value, type=type, order=order, description=description,
        created_at=now, updated_at=now, created_by=actor.user, updated_by=actor.user,
    )
    # The savepoint turns a concurrent duplicate into a 400, not a broken transaction.
    with saved_or(_duplicate()):
        obj.save()
    return obj


TAG_UPDATABLE_FIELDS = ("tag", "order", "description")


@transaction.atomic
def tag_update(
    *, workspace: Workspace, actor: Actor, tag: Tag, changes: dict, expected_version: int | None = None
) -> Tag:
    """Applies `changes` (a subset of tag, type, order, description)."""
    changes = dict(changes)
    # Contacts and messages point at a tag for what its type means (a
    # stage, a contact tag...), so the type is fixed once created.
    if "type" in changes:
        if changes.pop("type") != tag.type:
            raise field_error("type", "The type of a tag cannot be changed; create a new tag.", code="immutable")
    if "tag" in changes:
        changes["tag"] = changes["tag"].strip()
        if _tag_taken(workspace=workspace, tag_type=tag.type, value=changes["tag"], exclude_id=tag.pk):
            raise _duplicate()
    return model_update(instance=tag, changes=changes, updatable=TAG_UPDATABLE_FIELDS, actor=actor,
                        expected_version=expected_version, duplicate=_duplicate())


@transaction.atomic
def tag_delete(*, workspace: Workspace, actor: Actor, tag: Tag, expected_version: int | None = None) -> None:
    """Deletes a tag. The through tables cascade (the tag leaves every contact
    and message carrying it) and contact.stage is SET NULL; the contacts
    concerned get a new version and stamp first so syncs and ETags see it."""
    lock_version(tag, expected_version)
    relation = Tag._meta.get_field("contacts")  # tags does not import contacts
    contact_model, through = relation.related_model, relation.through
    # A UNION of two index scans; an OR across the join would scan every contact.
    concerned = (
        contact_model.objects.filter(stage_id=tag.pk).order_by().values("pk")
        .union(through.objects.filter(tag_id=tag.pk).values("contact_id"))
    )
    contact_model.objects.filter(pk__in=concerned).update(
        updated_at=timezone.now(), updated_by=actor.user, version=F("version") + 1
    )
    tag.delete()


@transaction.atomic
def tags_bulk_patch(*, workspace: Workspace, actor: Actor, patches: Sequence[dict]) -> int:
    """Applies [{id, order?, description?}, ...] all or nothing in one
    UPDATE ... FROM (VALUES ...). Ids must be distinct (400) and all in the
    workspace (404 listing the others, nothing written). Returns the count."""
    if not patches:
        return 0
    if len(patches) > BULK_PATCH_MAX:
        raise field_error("patches", f"At most {BULK_PATCH_MAX} patches per request.", code="max_length")
    ids = [p["id"] for p in patches]
    duplicates = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if duplicates:
        raise field_error(
            "patches", f"Each tag id may appear once; repeated: {', '.join(map(str, duplicates))}.", code="duplicate"
        )
    rows, params = [], []
    for patch in patches:
        rows.append("(CAST(%s AS BIGINT), CAST(%s AS BOOLEAN), CAST(%s AS INTEGER), CAST(%s AS BOOLEAN), CAST(%s AS TEXT))")
        params += [
            patch["id"],
            "order" in patch, patch.get("order"),
            "description" in patch, patch.get("description"),
        ]
    sql = (
        f"WITH v(patch_id, has_order, new_order, has_description, new_description) AS (VALUES {', '.join(rows)}) "
        f'UPDATE {Tag._meta.db_table} AS t SET "order" = CASE WHEN v.has_order THEN v.new_order ELSE t."order" END, '
        "description = CASE WHEN v.has_description THEN v.new_description ELSE t.description END, "
        "updated_at = %s, updated_by_id = %s, version = t.version + 1 "
        "FROM v WHERE t.id = v.patch_id AND t.workspace_id = %s RETURNING id"
    )
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, now, actor.user_id, workspace.pk])
        updated = {row[0] for row in cursor.fetchall()}
    unknown = set(ids) - updated
    if unknown:
        # Raising inside the atomic block rolls the UPDATE back: all or nothing.
        raise ObjectsNotFound(unknown, what="tag")
    return len(updated)
