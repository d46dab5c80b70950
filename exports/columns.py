"""The columns an export can write, as ORM expressions, and how each kind
of column becomes a CSV cell or a JSON value.

The CSV headers are the import's field names (imports.validation:
`label`, `stage` and `owner_email` by name, `tags` joined by `;`), so an
exported file imported back into the workspace updates the contacts it
came from (matched by external_client_id; the other columns, such as
`id` and the stamps, are ignored by the import as unknown columns).

Formula injection: text cells a spreadsheet would evaluate are prefixed
with a quote, by the rule of imports' errors.csv (imports.selectors:
`FORMULA_PREFIXES`, `neutralize`). On PostgreSQL the export is a COPY, so
the same rule runs in SQL (`Neutralized`, built from the same prefixes;
tests/exports check it gives neutralize()'s answer cell for cell). The
exception is the phone columns: they hold validated E.164 numbers, whose
leading `+` is meaningful and cannot start a formula with what follows
(digits only), so they are written as stored.
"""
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from django.db.models import Case, F, Func, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce

from contacts.models import Contact, ContactTag
from imports.selectors import FORMULA_PREFIXES, neutralize
from tags.models import Tag

TEXT, PHONE, INT, BOOL, INSTANT, JSON, TAGS = "text", "phone", "int", "bool", "instant", "json", "tags"
TAG_SEPARATOR = ";"  # what imports split a tags cell on (imports.validation.TAG_SPLIT)


class Neutralized(Func):
    """neutralize() in SQL: '' for NULL, a quote before a text starting
    with one of FORMULA_PREFIXES."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        value = f"COALESCE({sql}, '')"
        marks = ", ".join(["%s"] * len(FORMULA_PREFIXES))
        return (f"CASE WHEN substr({value}, 1, 1) IN ({marks}) THEN '''' || {value} ELSE {value} END",
                [*params, *FORMULA_PREFIXES, *params, *params])


class IsoInstant(Func):
    """A timestamp as ISO 8601 in UTC with microseconds (PostgreSQL)."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"""to_char({sql} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""", params


def _tags_expression(neutralized: bool = False):
    """The contact's tags joined by `;`, in the order contacts show them.
    `neutralized`: the finished CSV cell, neutralised inside the subquery (a
    CASE around the subquery would run it twice a row)."""
    link, tag = ContactTag._meta.db_table, Tag._meta.db_table
    contact = Contact._meta.db_table
    joined = (f'SELECT string_agg(t.tag, %s ORDER BY t."order", t.tag, t.id) AS v FROM {link} ct '
              f'JOIN {tag} t ON t.id = ct.tag_id WHERE ct.contact_id = {contact}.id')
    if not neutralized:
        return RawSQL(f"({joined})", [TAG_SEPARATOR], output_field=TextField())
    marks = ", ".join(["%s"] * len(FORMULA_PREFIXES))
    return RawSQL(
        f"(SELECT CASE WHEN substr(v, 1, 1) IN ({marks}) THEN '''' || v ELSE COALESCE(v, '') END "
        f"FROM ({joined}) tags)",
        [*FORMULA_PREFIXES, TAG_SEPARATOR], output_field=TextField(),
    )


def _tags_expression_sqlite():
    link, tag = ContactTag._meta.db_table, Tag._meta.db_table
    contact = Contact._meta.db_table
    return RawSQL(
        f'(SELECT group_concat(tag, %s) FROM (SELECT t.tag FROM {link} ct JOIN {tag} t ON t.id = ct.tag_id '
        f'WHERE ct.contact_id = {contact}.id ORDER BY t."order", t.tag, t.id))',
        [TAG_SEPARATOR], output_field=TextField(),
    )


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    source: str  # a field path, or "" for a computed column

    def expression(self, vendor: str):
        if self.kind == TAGS:
            return _tags_expression() if vendor == "postgresql" else _tags_expression_sqlite()
        return F(self.source)

    def sql_cell(self, vendor: str):
        """The expression of this column's finished CSV cell (PostgreSQL's COPY)."""
        if self.kind == TAGS:
            return _tags_expression(neutralized=True)
        value = self.expression(vendor)
        if self.kind == TEXT:
            return Neutralized(value)
        if self.kind == PHONE:
            return Coalesce(value, Value(""), output_field=TextField())
        if self.kind == INSTANT:
            return IsoInstant(value)
        if self.kind == JSON:
            return Cast(value, TextField())
        if self.kind == BOOL:
            return Case(When(**{self.source: True}, then=Value("true")), default=Value("false"),
                        output_field=TextField())
        return value

    def cell(self, value) -> str:
        """A value read by the ORM as a CSV cell (the SQLite path)."""
        if value is None:
            return ""
        if self.kind in (TEXT, TAGS):
            return neutralize(value)
        if self.kind == INSTANT:
            return iso(value)
        if self.kind == JSON:
            return orjson.dumps(value).decode()
        if self.kind == BOOL:
            return "true" if value else "false"
        return str(value)

    def json_value(self, value):
        """A value read by the ORM as a JSON Lines value (nothing to neutralise)."""
        if self.kind == INSTANT and value is not None:
            return iso(value)
        if self.kind == TAGS:
            return value.split(TAG_SEPARATOR) if value else []
        return value


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


COLUMNS = {c.name: c for c in (
    Column("id", INT, "id"),
    Column("external_client_id", TEXT, "external_client_id"),
    Column("type", TEXT, "type"),
    Column("name", TEXT, "name"),
    Column("surname", TEXT, "surname"),
    Column("local_name", TEXT, "local_name"),
    Column("email", TEXT, "email"),
    Column("country_code", TEXT, "country_code"),
    Column("phone", PHONE, "phone"),
    Column("secondary_phone", PHONE, "secondary_phone"),
    Column("address", TEXT, "address"),
    Column("city", TEXT, "city"),
    Column("country", TEXT, "country"),
    Column("code", TEXT, "code"),
    Column("title", TEXT, "title"),
    Column("note", TEXT, "note"),
    Column("logo", TEXT, "logo"),
    Column("visibility_type", TEXT, "visibility_type"),
    Column("label", TEXT, "label__name"),
    Column("stage", TEXT, "stage__tag"),
    Column("owner_email", TEXT, "owner__email"),
    Column("tags", TAGS, ""),
    Column("organization_id", INT, "organization_id"),
    Column("custom_fields", JSON, "custom_fields"),
    Column("disabled", BOOL, "disabled"),
    Column("created_at", INSTANT, "created_at"),
    Column("updated_at", INSTANT, "updated_at"),
    Column("deleted_at", INSTANT, "deleted_at"),
)}
DEFAULT_COLUMNS = tuple(COLUMNS)
