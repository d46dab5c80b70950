"""Contact search: a validated spec, compiled to one queryset.

    {"filter_groups": [{"filters": [{"field", "operator", "value"}]}],
     "query": "text", "sort": ["-created_at"], "columns": [...], "limit": 25, "cursor": null}

Groups are OR'ed, the filters of a group AND'ed (at most MAX_GROUPS groups of
MAX_FILTERS filters). `parse_search` checks every field, operator and value
against the field's type (a contact column, a relation, tags, or a custom
field by its shortName, compared by its declared type) and raises one
ValidationFailed naming each misfit (`filter_groups.0.filters.1.value`).
`contacts_search` compiles a spec to a queryset of the contacts the actor may
see (contacts.services.access: fail closed); `search_page` reads one keyset
page of it. Exports iterate `contacts_search(...)` by id.

Negated operators (neq, not_in, not_contains, has_none) also match contacts
that have no value. Archived contacts are left out unless a filter names
`deleted_at`. Custom field filters and sorts read contacts_contactfieldvalue
(one row a value, kept by triggers, indexed by workspace, code and value).
"""
from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django import forms
from django.db import connection
from django.db.models import Exists, F, FilteredRelation, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Left, Lower
from django.db.models.lookups import Contains, Exact, In, StartsWith

from crm.actors import Actor
from crm.errors import ErrorItem, ValidationFailed
from crm.models import Workspace
from crm.serializers import MAX_ID

from .filters import SORTS
from .models import Contact, ContactFieldValue, ContactTag, CustomFieldDefinition
from .selectors import SEARCH_SQL, contact_search, rows_by_ids
from .services import access

MAX_GROUPS = 5
MAX_FILTERS = 10
MAX_VALUES = 100
MAX_TEXT = 2000
MAX_QUERY = 200
MAX_SORT_KEYS = 3
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
COUNT_CAP = 1_000
TEXT_KEY_CHARS = 200  # custom text values sort (and are indexed) by their first 200 characters

SPEC_KEYS = ("filter_groups", "query", "sort", "columns", "limit", "cursor")

EQ_OPS = ("eq", "neq", "in", "not_in")
RANGE_OPS = ("gt", "gte", "lt", "lte", "between")
TEXT_OPS = (*EQ_OPS, "contains", "not_contains", "starts_with")
EMPTY_OPS = ("is_empty", "is_not_empty")
SET_OPS = ("has_any", "has_all", "has_none")
OPERATORS = (*TEXT_OPS, *RANGE_OPS, *EMPTY_OPS, *SET_OPS)

# kind -> the operators it takes
KIND_OPS = {
    "text": (*TEXT_OPS, *EMPTY_OPS),
    "enum": EQ_OPS,
    "bool": ("eq", "neq"),
    "int": (*EQ_OPS, *RANGE_OPS),
    "ref": (*EQ_OPS, *EMPTY_OPS),
    "instant": (*RANGE_OPS, *EMPTY_OPS),
    "tags": (*SET_OPS, *EMPTY_OPS),
    "users": (*SET_OPS, *EMPTY_OPS),
    # custom fields, by declared type
    "c_text": (*TEXT_OPS, *EMPTY_OPS),
    "c_number": (*EQ_OPS, *RANGE_OPS, *EMPTY_OPS),
    "c_date": (*EQ_OPS, *RANGE_OPS, *EMPTY_OPS),
    "c_checkbox": ("eq", "neq", *EMPTY_OPS),
    "c_dropdown": (*EQ_OPS, *EMPTY_OPS),
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: str
    column: str = ""
    # text columns: compared lower-cased (False: the column is stored lower-cased or is exact, like phones)
    lower: bool = True
    nullable: bool = False
    searchable: bool = False  # in contacts_contactsearch's document: contains is prefiltered by its trigram index
    definition: CustomFieldDefinition | None = None


def _text(name, **kw):
    return FieldSpec(name, "text", name, **kw)


# Every scalar contact field, the relations, tags and the timestamps.
CONTACT_FIELDS: dict[str, FieldSpec] = {
    f.name: f
    for f in (
        FieldSpec("id", "int", "id"),
        FieldSpec("version", "int", "version"),
        FieldSpec("type", "enum", "type"),
        _text("name", searchable=True),
        _text("surname", searchable=True),
        _text("local_name"),
        _text("email", lower=False, searchable=True),
        _text("country_code", lower=False),
        _text("phone", lower=False, searchable=True),
        _text("secondary_phone", lower=False),
        _text("address"),
        _text("city"),
        _text("country"),
        _text("code", searchable=True),
        _text("title"),
        _text("note"),
        _text("logo", lower=False),
        _text("external_client_id", lower=False, nullable=True),
        _text("archived_by", lower=False),
        FieldSpec("visibility_type", "enum", "visibility_type"),
        FieldSpec("disabled", "bool", "disabled"),
        FieldSpec("label", "ref", "label_id"),
        FieldSpec("stage", "ref", "stage_id"),
        FieldSpec("owner", "ref", "owner_id"),
        FieldSpec("default_agent", "ref", "default_agent_id"),
        FieldSpec("organization", "ref", "organization_id"),
        FieldSpec("created_by", "ref", "created_by_id"),
        FieldSpec("updated_by", "ref", "updated_by_id"),
        FieldSpec("sub_owners", "users"),
        FieldSpec("tags", "tags"),
        FieldSpec("created_at", "instant", "created_at"),
        FieldSpec("updated_at", "instant", "updated_at"),
        FieldSpec("deleted_at", "instant", "deleted_at", nullable=True),
    )
}
FIELD_ALIASES = {
    "label_id": "label", "stage_id": "stage", "owner_id": "owner", "default_agent_id": "default_agent",
    "organization_id": "organization", "sub_owner_ids": "sub_owners", "created_by_id": "created_by",
    "updated_by_id": "updated_by", "createdAt": "created_at", "updatedAt": "updated_at",
}
ENUMS = {"type": Contact.Type.values, "visibility_type": Contact.Visibility.values}
CUSTOM_PREFIX = "c_field."
# sorts: the list's own (contacts.filters.SORTS), or one custom field
CUSTOM_SORT_KEY = "sort_custom"


@dataclass(frozen=True)
class Condition:
    field: FieldSpec
    operator: str
    value: Any  # cleaned: str, number, bool, datetime, list...
    path: str


@dataclass(frozen=True)
class SortKey:
    name: str
    descending: bool
    field: FieldSpec | None = None  # a custom field

    def wire(self) -> str:
        prefix = "-" if self.descending else ""
        return f"{prefix}{CUSTOM_PREFIX}{self.field.name}" if self.field else f"{prefix}{self.name}"


@dataclass(frozen=True)
class SearchSpec:
    filter_groups: tuple[tuple[Condition, ...], ...] = ()
    query: str = ""
    sort: tuple[SortKey, ...] = ()
    columns: tuple[str, ...] | None = None
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None
    raw: dict = field(default_factory=dict)  # the validated wire form (what a saved view or an export keeps)

    @property
    def custom_sort(self) -> SortKey | None:
        return self.sort[0] if self.sort and self.sort[0].field is not None else None

    def names_deleted_at(self) -> bool:
        return any(c.field.name == "deleted_at" for group in self.filter_groups for c in group)


# -- parsing -----------------------------------------------------------------------
class _Errors:
    def __init__(self):
        self.items: list[ErrorItem] = []

    def add(self, path: str, message: str, code: str = "invalid"):
        self.items.append(ErrorItem(code, message, path))

    def raise_any(self):
        if self.items:
            raise ValidationFailed(errors=self.items)


def custom_field_definitions(workspace: Workspace) -> dict[str, CustomFieldDefinition]:
    return {d.short_name: d for d in CustomFieldDefinition.objects.filter(workspace=workspace)}


def resolve_field(name: Any, definitions: dict[str, CustomFieldDefinition]) -> FieldSpec | None:
    if not isinstance(name, str):
        return None
    if name.startswith(CUSTOM_PREFIX):
        definition = definitions.get(name[len(CUSTOM_PREFIX):])
    else:
        builtin = CONTACT_FIELDS.get(FIELD_ALIASES.get(name, name))
        if builtin is not None:
            return builtin
        definition = definitions.get(name)
    if definition is None:
        return None
    return FieldSpec(definition.short_name, f"c_{definition.type}", definition.code, definition=definition)


def parse_search(data: Any, *, workspace: Workspace, keys=SPEC_KEYS, definitions=None, path: str = "") -> SearchSpec:
    """The validated spec of `data` (the wire dict), or ValidationFailed
    naming every key that does not fit. `keys` are the keys allowed."""
    errors = _Errors()
    at = (lambda key: f"{path}.{key}" if path else key)
    if not isinstance(data, dict):
        raise ValidationFailed("Expected a JSON object.", code="invalid", field=path or None)
    for key in data:
        if key not in keys:
            errors.add(at(key), f"Unknown key {key!r}. Expected: {', '.join(keys)}.", "unknown_field")
    errors.raise_any()
    if definitions is None:
        definitions = custom_field_definitions(workspace)
    groups = _parse_groups(data.get("filter_groups"), definitions, errors, at("filter_groups"))
    query = data.get("query")
    if query is None:
        query = ""
    elif not isinstance(query, str) or "\x00" in query or len(query) > MAX_QUERY:
        errors.add(at("query"), f"Expected text of at most {MAX_QUERY} characters.")
        query = ""
    sort = _parse_sort(data.get("sort"), definitions, errors, at("sort"))
    columns = _parse_columns(data.get("columns"), errors, at("columns"))
    limit = data.get("limit", DEFAULT_LIMIT)
    if limit is None:
        limit = DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        errors.add(at("limit"), f"Must be an integer between 1 and {MAX_LIMIT}.")
        limit = DEFAULT_LIMIT
    cursor = data.get("cursor")
    if cursor is not None and (not isinstance(cursor, str) or len(cursor) > 4000):
        errors.add(at("cursor"), "Invalid cursor. Use the nextCursor of a previous page.")
        cursor = None
    errors.raise_any()
    raw = {
        "filter_groups": [
            {"filters": [_wire_filter(c) for c in group]} for group in groups
        ],
        "query": query,
        "sort": [key.wire() for key in sort],
        "columns": list(columns) if columns is not None else None,
    }
    return SearchSpec(groups, query.strip(), sort, columns, limit, cursor or None, raw)


def _wire_filter(condition: Condition) -> dict:
    field_spec, value = condition.field, condition.value
    name = f"{CUSTOM_PREFIX}{field_spec.name}" if field_spec.definition else field_spec.name

    def plain(v):
        return v.isoformat() if isinstance(v, (datetime, date)) else v

    if isinstance(value, (list, tuple)):
        value = [plain(v) for v in value]
    out = {"field": name, "operator": condition.operator}
    if condition.operator not in EMPTY_OPS:
        out["value"] = plain(value)
    return out


def _parse_groups(groups, definitions, errors: _Errors, path: str) -> tuple:
    if groups is None:
        return ()
    if not isinstance(groups, list):
        errors.add(path, "Expected a list of groups: [{\"filters\": [...]}].")
        return ()
    if len(groups) > MAX_GROUPS:
        errors.add(path, f"At most {MAX_GROUPS} groups.", "max_length")
        return ()
    out = []
    for g, group in enumerate(groups):
        gpath = f"{path}.{g}"
        if not isinstance(group, dict):
            errors.add(gpath, "Expected an object {\"filters\": [...]}.")
            continue
        for key in group:
            if key != "filters":
                errors.add(f"{gpath}.{key}", f"Unknown key {key!r}. Expected: filters.", "unknown_field")
        filters = group.get("filters")
        if not isinstance(filters, list) or not filters:
            errors.add(f"{gpath}.filters", "Expected a non-empty list of filters.")
            continue
        if len(filters) > MAX_FILTERS:
            errors.add(f"{gpath}.filters", f"At most {MAX_FILTERS} filters in a group.", "max_length")
            continue
        conditions = []
        for f, raw in enumerate(filters):
            condition = _parse_filter(raw, definitions, errors, f"{gpath}.filters.{f}")
            if condition is not None:
                conditions.append(condition)
        out.append(tuple(conditions))
    return tuple(out)


def _parse_filter(raw, definitions, errors: _Errors, path: str) -> Condition | None:
    if not isinstance(raw, dict):
        errors.add(path, "Expected an object {\"field\", \"operator\", \"value\"}.")
        return None
    bad = [key for key in raw if key not in ("field", "operator", "value")]
    for key in bad:
        errors.add(f"{path}.{key}", f"Unknown key {key!r}. Expected: field, operator, value.", "unknown_field")
    field_spec = resolve_field(raw.get("field"), definitions)
    if field_spec is None:
        errors.add(f"{path}.field", f"Unknown field {raw.get('field')!r}: a contact field or a custom field's shortName.",
                   "unknown_field" if isinstance(raw.get("field"), str) else "invalid")
        return None
    operator = raw.get("operator")
    allowed = KIND_OPS[field_spec.kind]
    if operator not in allowed:
        errors.add(f"{path}.operator",
                   f"Operator {operator!r} does not apply to {field_spec.name!r}. Use one of: {', '.join(allowed)}.",
                   "invalid_operator")
        return None
    if bad:
        return None
    try:
        value = _clean_value(field_spec, operator, raw)
    except ValueError as exc:
        errors.add(f"{path}.value", f"{field_spec.name} {operator}: {exc}", "invalid_value")
        return None
    return Condition(field_spec, operator, value, path)


def _clean_value(f: FieldSpec, operator: str, raw: dict):
    value = raw.get("value")
    if operator in EMPTY_OPS:
        if value not in (None, True):
            raise ValueError("takes no value.")
        return None
    if "value" not in raw or value is None:
        raise ValueError("a value is required.")
    if operator in ("in", "not_in") or operator in SET_OPS:
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_VALUES:
            raise ValueError(f"expected a list of 1 to {MAX_VALUES} values.")
        return list(dict.fromkeys(_scalar(f, operator, v) for v in value))
    if operator == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError("expected [low, high].")
        low, high = (_scalar(f, operator, v) for v in value)
        if low > high:
            raise ValueError("low is greater than high.")
        return [low, high]
    if isinstance(value, list):
        raise ValueError("expected a single value, not a list.")
    return _scalar(f, operator, value)


def _text_value(value) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError("expected text.")
    value = str(value)
    if "\x00" in value or len(value) > MAX_TEXT:
        raise ValueError(f"expected text of at most {MAX_TEXT} characters, without NUL.")
    return value


def _number(value) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("expected a number.") from None
    if not math.isfinite(number) or abs(number) >= 1e300:
        raise ValueError("expected a finite number.")
    return number


def _id(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise ValueError(f"expected an id (1..{MAX_ID}).")
    return value


def _instant(value) -> datetime:
    from .filters import InstantField

    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("expected an ISO 8601 date-time or epoch milliseconds.")
    try:
        parsed = InstantField().clean(str(value))
    except forms.ValidationError as exc:
        raise ValueError(exc.messages[0]) from None
    if parsed is None:
        raise ValueError("expected an ISO 8601 date-time or epoch milliseconds.")
    return parsed


def _scalar(f: FieldSpec, operator: str, value):
    kind = f.kind
    if kind in ("text", "c_text"):
        text = _text_value(value)
        if operator in ("contains", "not_contains", "starts_with") and not text:
            raise ValueError("expected non-empty text.")
        return text
    if kind == "enum":
        if not isinstance(value, str) or value.lower() not in ENUMS[f.name]:
            raise ValueError(f"expected one of {', '.join(ENUMS[f.name])}.")
        return value.lower()
    if kind == "bool" or kind == "c_checkbox":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise ValueError("expected true or false.")
    if kind in ("int", "ref", "users"):
        return _id(value)
    if kind == "instant":
        return _instant(value)
    if kind == "tags":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValueError("expected tag names or ids.")
        if isinstance(value, int):
            return _id(value)
        return _text_value(value).strip().lower()
    if kind == "c_number":
        return _number(value)
    if kind == "c_date":
        if not isinstance(value, str):
            raise ValueError("expected a date as YYYY-MM-DD.")
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise ValueError("expected a date as YYYY-MM-DD.") from None
    if kind == "c_dropdown":
        options = {str(o).lower(): str(o) for o in f.definition.options}
        text = _text_value(value)
        if text.lower() not in options:
            raise ValueError(f"{text!r} is not one of {list(options.values())}.")
        return text
    raise ValueError("unsupported.")  # pragma: no cover: every kind is above


def _parse_sort(sort, definitions, errors: _Errors, path: str) -> tuple[SortKey, ...]:
    if sort is None or sort == "" or sort == []:
        return ()
    if isinstance(sort, str):
        items = [part.strip() for part in sort.split(",") if part.strip()]
    elif isinstance(sort, list) and all(isinstance(s, str) for s in sort):
        items = [s.strip() for s in sort]
    else:
        errors.add(path, "Expected sort keys: a list of names, `-` prefix for descending.")
        return ()
    if len(items) > MAX_SORT_KEYS:
        errors.add(path, f"At most {MAX_SORT_KEYS} sort keys.", "max_length")
        return ()
    keys = []
    for i, item in enumerate(items):
        descending = item.startswith("-")
        name = item.lstrip("-+")
        name = FIELD_ALIASES.get(name, name)
        if name in SORTS:
            keys.append(SortKey(name, descending))
            continue
        f = resolve_field(name, definitions)
        if f is None or f.definition is None:
            errors.add(path, f"Unknown sort field {name!r}. Use one of: {', '.join(SORTS)}, or a custom field's "
                             "shortName.", "unknown_field")
            return ()
        keys.append(SortKey(f.name, descending, f))
    if any(k.field for k in keys) and len(keys) > 1:
        errors.add(path, "A custom field sorts alone (ties are broken by id).")
        return ()
    return tuple(keys)


def _parse_columns(columns, errors: _Errors, path: str):
    from .serializers import CONTACT_KEYS

    if columns is None or columns == []:
        return None
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",") if c.strip()]
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        errors.add(path, "Expected a list of contact keys.")
        return None
    unknown = [c for c in columns if c not in CONTACT_KEYS]
    if unknown:
        errors.add(path, f"Unknown columns: {', '.join(unknown)}.", "unknown_field")
        return None
    return tuple(dict.fromkeys(columns))


def search_spec_for(data: Any, *, workspace: Workspace, actor: Actor, path: str = "") -> SearchSpec:
    """The spec of a search body that may name a saved view (`view_id`): the
    view's search, sort and columns, with the body's own keys on top. A view
    the actor may not see is a 404, as an unknown id."""
    from .services.saved_views import view_get, view_search_data

    if isinstance(data, dict) and "view_id" in data:
        data = dict(data)
        view = view_get(workspace=workspace, actor=actor, view_id=data.pop("view_id"))
        data = view_search_data(view, data)
    return parse_search(data, workspace=workspace, path=path)


# -- compiling -------------------------------------------------------------------------
def _field_values(workspace_id: int, code: str) -> QuerySet:
    return ContactFieldValue.objects.filter(workspace_id=workspace_id, code=code)


TEXT_KEY = Left(Lower("text"), TEXT_KEY_CHARS)


def _custom_q(workspace_id: int, c: Condition) -> Q:
    f, op, value = c.field, c.operator, c.value
    code, kind = f.column, f.kind
    values = _field_values(workspace_id, code)

    having = _having

    if op == "is_empty":
        return _lacking(values)
    if op == "is_not_empty":
        return having(values)
    negate = op in ("neq", "not_in", "not_contains")
    positive = {"neq": "eq", "not_in": "in", "not_contains": "contains"}.get(op, op)
    if kind == "c_date" and connection.vendor == "postgresql":
        # dates are also numbers there (yyyymmdd, migration 0015): an index-only range
        kind = "c_number"
        value = [_date_number(v) for v in value] if isinstance(value, list) else _date_number(value)
    if kind == "c_number":
        lookups = {"eq": "number", "in": "number__in", "gt": "number__gt", "gte": "number__gte", "lt": "number__lt",
                   "lte": "number__lte"}
        if positive == "between":
            matched = values.filter(number__gte=value[0], number__lte=value[1])
        else:
            matched = values.filter(**{lookups[positive]: value})
    elif kind == "c_checkbox":
        matched = values.filter(text="true" if value else "false")
    else:
        # text, dropdown and date values compare by their lower-cased first
        # characters (the index), then exactly (case-insensitive) when longer
        keyed = values.alias(key=TEXT_KEY)

        def key(v: str) -> str:
            return v.lower()[:TEXT_KEY_CHARS]

        if positive == "eq":
            matched = keyed.filter(key=key(value))
            if len(value) > TEXT_KEY_CHARS:
                matched = matched.alias(full=Lower("text")).filter(full=value.lower())
        elif positive == "in":
            matched = keyed.filter(key__in=[key(v) for v in value])
            long = [v.lower() for v in value if len(v) > TEXT_KEY_CHARS]
            if long:
                matched = matched.alias(full=Lower("text")).filter(Q(full__in=long) | Q(key__in=[
                    key(v) for v in value if len(v) <= TEXT_KEY_CHARS]))
        elif positive == "contains":
            matched = values.alias(full=Lower("text")).filter(full__contains=value.lower())
        elif positive == "starts_with":
            matched = values.alias(full=Lower("text")).filter(full__startswith=value.lower())
        elif positive == "between":
            matched = keyed.filter(key__gte=key(value[0]), key__lte=key(value[1]))
        else:  # gt, gte, lt, lte (dates)
            matched = keyed.filter(**{f"key__{positive}": key(value)})
    return _lacking(matched) if negate else having(matched)


def _having(rows: QuerySet) -> Q:
    """Contacts with a row in `rows` (a queryset with contact_id): EXISTS.
    In a group of its own PostgreSQL makes it a semi-join (driven from the
    side table's index when that is selective); inside an OR of groups it is
    one probe of the (contact_id, ...) unique index a row, where IN would
    rescan or hash the whole subquery."""
    return Q(Exists(rows.filter(contact_id=OuterRef("pk"))))


def _date_number(value: str) -> float:
    return float(value.replace("-", ""))


def _lacking(rows: QuerySet) -> Q:
    """Contacts with no row in `rows` (a queryset with contact_id): NOT
    EXISTS, an anti-join, where NOT IN would hash every row of the subquery."""
    return ~Q(Exists(rows.filter(contact_id=OuterRef("pk"))))


def _column_q(c: Condition, workspace: Workspace, tag_ids: dict) -> Q:
    f, op, value = c.field, c.operator, c.value
    column = f.column
    if f.kind == "tags":
        return _set_q(op, value, lambda ids: ContactTag.objects.filter(tag_id__in=ids),
                      resolve=lambda v: tag_ids.get(v), every=ContactTag.objects.all())
    if f.kind == "users":
        through = Contact.sub_owners.through.objects
        return _set_q(op, value, lambda ids: through.filter(user_id__in=ids), resolve=lambda v: v, every=through.all())
    if op == "is_empty":
        if f.kind == "text":
            return Q(**{f"{column}__isnull": True}) | Q(**{column: ""}) if f.nullable else Q(**{column: ""})
        return Q(**{f"{column}__isnull": True})
    if op == "is_not_empty":
        if f.kind == "text":
            q = ~Q(**{column: ""})
            return q & Q(**{f"{column}__isnull": False}) if f.nullable else q
        return Q(**{f"{column}__isnull": False})
    negate = op in ("neq", "not_in", "not_contains")
    positive = {"neq": "eq", "not_in": "in", "not_contains": "contains"}.get(op, op)
    if f.kind == "text":
        q = _text_q(f, positive, value, workspace)
    else:
        lookup = {"eq": "", "in": "__in", "gt": "__gt", "gte": "__gte", "lt": "__lt", "lte": "__lte",
                  "between": "__range"}[positive]
        q = Q(**{f"{column}{lookup}": value})
    if negate:
        # a negation also matches an empty (NULL) value, as documented
        return ~q | Q(**{f"{column}__isnull": True}) if f.nullable else ~q
    return q


def _text_q(f: FieldSpec, op: str, value, workspace: Workspace) -> Q:
    from .validators import normalize_phone_query

    column = f.column
    if f.name in ("phone", "secondary_phone") and op in ("eq", "in"):
        region = workspace.default_phone_region
        value = ([normalize_phone_query(v, region=region) for v in value] if op == "in"
                 else normalize_phone_query(value, region=region))
    if f.lower or f.name == "email":
        # compared lower-cased: lower(column) has an index for the list's text filters
        target = Lower(column) if f.lower else F(column)
        value = [v.lower() for v in value] if isinstance(value, list) else value.lower()
    else:
        target = F(column)
    lookup_class = {"eq": Exact, "in": In, "contains": Contains, "starts_with": StartsWith}[op]
    q = Q(lookup_class(target, value))
    if op == "contains" and f.searchable and connection.vendor == "postgresql":
        # contacts_contactsearch's document holds this column (lower-cased): its
        # trigram index finds the candidates, checked against the column in the
        # subquery itself, so the contacts are walked in order against a small
        # set of ids (never a scan of every contact's column)
        pattern = f"%{connection.ops.prep_for_like_query(value.lower())}%"
        candidates = Contact.objects.filter(id__in=RawSQL(SEARCH_SQL, [pattern])).filter(q).values("id")
        return Q(id__in=candidates)
    return q


def _set_q(op: str, values, rows_of, *, resolve, every: QuerySet) -> Q:
    """rows_of(ids): the link rows (contact_id) of those tags / users."""
    if op == "is_empty":
        return _lacking(every)
    if op == "is_not_empty":
        return _having(every)
    ids = [resolve(v) for v in values]
    known = [i for i in ids if i is not None]
    if op == "has_any":
        return _having(rows_of(known)) if known else Q(pk__in=[])
    if op == "has_none":
        return _lacking(rows_of(known)) if known else Q()
    # has_all: one semi-join a value (each served by the (tag, contact) index)
    if len(known) < len(ids):
        return Q(pk__in=[])
    q = Q()
    for i in dict.fromkeys(known):
        q &= _having(rows_of([i]))
    return q


def _tag_ids(spec: SearchSpec, workspace: Workspace) -> dict:
    """{name or id: tag id} of every tag the spec names, in one query."""
    from tags.models import Tag

    wanted = {v for group in spec.filter_groups for c in group if c.field.kind == "tags" for v in (c.value or [])}
    if not wanted:
        return {}
    names = [v for v in wanted if isinstance(v, str)]
    ids = [v for v in wanted if isinstance(v, int)]
    rows = (
        Tag.objects.filter(workspace=workspace, type__in=[Tag.Type.CLIENT, Tag.Type.COMMON])
        .annotate(_lower=Lower("tag"))
        .filter(Q(_lower__in=names) | Q(pk__in=ids))
        .values_list("pk", "_lower")
    )
    found = {}
    for pk, lower in rows:
        found[pk] = pk
        found[lower] = pk
    return {v: found[v] for v in wanted if v in found}


def contacts_search(*, workspace: Workspace, actor: Actor, spec: SearchSpec) -> QuerySet:
    """The contacts of `workspace` that `actor` may see and `spec` matches,
    unordered (search_page orders them; an export iterates by id)."""
    queryset = access.visible_contacts(workspace=workspace, actor=actor)
    if not spec.names_deleted_at():
        queryset = queryset.filter(deleted_at__isnull=True)
    if spec.filter_groups:
        tag_ids = _tag_ids(spec, workspace)
        where = Q()
        for group in spec.filter_groups:
            both = Q()
            for c in group:
                both &= _custom_q(workspace.pk, c) if c.field.definition else _column_q(c, workspace, tag_ids)
            where |= both
        queryset = queryset.filter(where)
    if spec.query:
        queryset = contact_search(queryset, spec.query)
    return queryset.order_by()


# -- one page ------------------------------------------------------------------------------
@dataclass
class SearchPage:
    rows: list  # contacts.selectors.rows_by_ids rows, in order
    total: int
    total_is_estimate: bool
    next_cursor: str | None
    limit: int

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    def pagination_info(self) -> dict:
        return {
            "limit": self.limit,
            "nextCursor": self.next_cursor,
            "hasNextPage": self.has_next,
            "totalRecords": self.total,
            "totalRecordsIsEstimate": self.total_is_estimate,
        }


def _invalid_cursor(field_path: str = "cursor") -> ValidationFailed:
    return ValidationFailed("Invalid cursor. Use the nextCursor of a previous page.", code="invalid", field=field_path)


def _encode(payload: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(raw: str, size: int) -> dict:
    try:
        payload = json.loads(base64.urlsafe_b64decode((raw + "=" * (-len(raw) % 4)).encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise _invalid_cursor() from None
    keys = payload.get("k") if isinstance(payload, dict) else None
    if (
        not isinstance(keys, list) or payload.get("p") not in ("v", "n") or not 1 <= len(keys) <= size
        or any(isinstance(v, bool) or not isinstance(v, (str, int, float)) for v in keys)
        or any(isinstance(v, str) and "\x00" in v for v in keys)
        or not isinstance(keys[-1], int)
    ):
        raise _invalid_cursor()
    return payload


def _ordering(spec: SearchSpec) -> tuple[list[str], dict]:
    """The ORM ordering (ending with id) and its annotations, for built-in sorts."""
    keys, annotations = [], {}
    for key in spec.sort:
        name, expression = SORTS[key.name]
        if expression is not None:
            annotations[name] = expression
        keys.append(f"-{name}" if key.descending else name)
    if not keys:
        return ["-id"], {}
    if keys[-1].lstrip("-") != "id":
        keys.append("-id" if keys[-1].startswith("-") else "id")
    return keys, annotations


def _after(ordering: list[str], position: list) -> Q:
    from crm.pagination import PagePagination

    return PagePagination._after(ordering, position)


def _count(queryset: QuerySet) -> tuple[int, bool]:
    capped = queryset[: COUNT_CAP + 1].count()
    if capped <= COUNT_CAP:
        return capped, False
    if connection.vendor != "postgresql":
        return queryset.count(), False
    plan = json.loads(queryset.explain(format="json"))
    return max(int(plan[0]["Plan"]["Plan Rows"]), capped), True


def _cursor_value(value):
    return value.isoformat() if isinstance(value, datetime) else value


def search_keys(*, workspace: Workspace, queryset: QuerySet, spec: SearchSpec) -> tuple[list[int], str | None]:
    """The ids of one keyset page of `queryset` (from contacts_search) in the
    spec's order, and the next page's cursor (None on the last page). Each
    page costs the same at any depth: the cursor holds the last row's sort
    values. A custom-field sort walks the contacts that have a value in its
    index order, then those without one by id (nulls last both ways)."""
    limit = spec.limit
    custom = spec.custom_sort
    if custom is None:
        ordering, annotations = _ordering(spec)
        names = [o.lstrip("-") for o in ordering]
        keys = queryset.annotate(**annotations).order_by(*ordering)
        if spec.cursor:
            position = _decode(spec.cursor, len(ordering))["k"]
            if len(position) != len(ordering):
                raise _invalid_cursor()
            try:
                keys = keys.filter(_after(ordering, position))
            except (ValueError, TypeError):
                raise _invalid_cursor() from None
        rows = list(keys.values_list(*names)[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = _encode({"p": "v", "k": [_cursor_value(v) for v in rows[-1]]}) if more else None
        return [row[names.index("id")] for row in rows], cursor

    direction = "-" if custom.descending else ""
    code, kind = custom.field.column, custom.field.kind
    join = FilteredRelation("field_values", condition=Q(field_values__workspace_id=workspace.pk,
                                                          field_values__code=code))
    if kind == "c_number" or (kind == "c_date" and connection.vendor == "postgresql"):
        having = queryset.annotate(_cf=join).filter(_cf__number__isnull=False).annotate(
            **{CUSTOM_SORT_KEY: F("_cf__number")})
        present = _field_values(workspace.pk, code).filter(number__isnull=False)
    else:
        having = queryset.annotate(_cf=join).filter(_cf__contact_id__isnull=False).annotate(
            **{CUSTOM_SORT_KEY: Left(Lower("_cf__text"), TEXT_KEY_CHARS)})
        present = _field_values(workspace.pk, code)
    having = having.order_by(f"{direction}{CUSTOM_SORT_KEY}", f"{direction}id")
    missing = queryset.filter(_lacking(present)).order_by(f"{direction}id")
    phase, position = "v", None
    if spec.cursor:
        payload = _decode(spec.cursor, 2)
        phase, position = payload["p"], payload["k"]
        if len(position) != (2 if phase == "v" else 1):
            raise _invalid_cursor()
    rows: list[tuple[str, tuple]] = []
    try:
        if phase == "v":
            if position is not None:
                having = having.filter(_after([f"{direction}{CUSTOM_SORT_KEY}", f"{direction}id"], position))
            rows = [("v", r) for r in having.values_list(CUSTOM_SORT_KEY, "id")[: limit + 1]]
            position = None
        if len(rows) <= limit:
            if position is not None:
                missing = missing.filter(**{"id__lt" if custom.descending else "id__gt": position[0]})
            rows += [("n", (r,)) for r in missing.values_list("id", flat=True)[: limit + 1 - len(rows)]]
    except (ValueError, TypeError):
        raise _invalid_cursor() from None
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = _encode({"p": rows[-1][0], "k": list(rows[-1][1])}) if more else None
    return [row[-1] for _, row in rows], cursor


def search_page(*, workspace: Workspace, actor: Actor, spec: SearchSpec) -> SearchPage:
    """One page of the search: its rows (contacts.selectors.rows_by_ids), the
    capped count (exact up to COUNT_CAP, the planner's estimate beyond it)
    and the next cursor. A constant number of queries whatever the page."""
    queryset = contacts_search(workspace=workspace, actor=actor, spec=spec)
    ids, cursor = search_keys(workspace=workspace, queryset=queryset, spec=spec)
    total, estimate = _count(queryset)
    rows = rows_by_ids(workspace_id=workspace.pk, ids=ids)
    return SearchPage(rows=rows, total=total, total_is_estimate=estimate, next_cursor=cursor, limit=spec.limit)
