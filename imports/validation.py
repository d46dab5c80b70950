"""Column matching and row validation for contact imports.

A row is checked by the contacts' own rule set (contacts.services.rules,
the one the API and the admin use: lengths, enums in any case, emails,
phones), called per row as a plain function over whole chunks, because a
DRF serializer per row manages about 1,500 rows/s and a file has up to a
million. References by name (label, stage, owner_email) are resolved
against the workspace afterwards, one query per kind per chunk
(imports.pipeline.References).
"""
import re
from dataclasses import dataclass, field

from contacts.services import rules

MAX_ERRORS = 1000
TAG_SPLIT = re.compile(r"[;|]")

# The contact fields a column can feed directly, and the references by name.
CONTACT_FIELDS = (
    "name", "surname", "local_name", "country_code", "address", "city", "country", "code", "title", "note",
    "external_client_id", "email", "phone", "secondary_phone", "type", "visibility_type", "tags",
)
REFERENCES = ("label", "stage", "owner_email")
IMPORT_FIELDS = (*CONTACT_FIELDS, *REFERENCES)
ALIASES = {"firstname": "name", "lastname": "surname", "labelname": "label", "stagename": "stage", "owner": "owner_email",
           "clientstage": "stage", "tag": "tags"}


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


_BY_KEY = {**{_key(f): f for f in IMPORT_FIELDS}, **ALIASES}


@dataclass
class Issue:
    row: int
    column: str | None
    code: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass
class ColumnPlan:
    header: list[str]
    columns: dict[int, str]  # column index -> field
    unknown: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)  # header problems: fatal for the file

    @property
    def fields(self) -> set[str]:
        return set(self.columns.values())

    def header_of(self, name: str) -> str:
        for index, field_name in self.columns.items():
            if field_name == name:
                return self.header[index]
        return name


class MappingError(ValueError):
    pass


def plan_columns(header: list[str] | None, mapping: dict | None = None) -> ColumnPlan:
    """Matches headers to fields (snake_case, camelCase or spaced, any case);
    `mapping` {header: field or ""} overrides the match ("" ignores the column)."""
    if header is None:
        return ColumnPlan([], {}, issues=[Issue(1, None, "missing_header", "The file has no header row.")])
    mapping = mapping or {}
    lowered = {h.strip().lower(): h for h in header}
    overrides: dict[str, str | None] = {}
    for name, target in mapping.items():
        actual = name if name in header else lowered.get(str(name).strip().lower())
        if actual is None:
            raise MappingError(f"mapping names the column {name!r}, which the file does not have.")
        if target and target not in IMPORT_FIELDS:
            raise MappingError(f"mapping maps {name!r} to {target!r}, which is not an importable field.")
        overrides[actual] = target or None
    plan = ColumnPlan(header, {})
    seen_headers: dict[str, int] = {}
    seen_fields: dict[str, str] = {}
    for index, raw in enumerate(header):
        text = raw.strip()
        if not text:
            plan.issues.append(Issue(1, f"#{index + 1}", "missing_header", f"Column {index + 1} has no header."))
            continue
        if text.lower() in seen_headers:
            plan.issues.append(Issue(1, raw, "duplicate_header", f"The header {text!r} appears more than once."))
            continue
        seen_headers[text.lower()] = index
        target = overrides[raw] if raw in overrides else _BY_KEY.get(_key(text))
        if target is None:
            if raw not in overrides:
                plan.unknown.append(raw)
            continue
        if target in seen_fields:
            plan.issues.append(
                Issue(1, raw, "duplicate_header", f"The columns {seen_fields[target]!r} and {text!r} both map to {target}.")
            )
            continue
        seen_fields[target] = text
        plan.columns[index] = target
    if not plan.columns and not plan.issues:
        plan.issues.append(Issue(1, None, "missing_header", "No column of the header matches a contact field."))
    return plan


# -- rows ----------------------------------------------------------------------
def validate_rows(records, plan: ColumnPlan, region: str):
    """Checks each (row, cells) on its own (no database): returns
    [(values | None, issues)] aligned with `records` (only that crosses the
    process boundary when validation runs in worker processes). `values`
    holds the non-empty cells normalized, by field; references (label,
    stage, owner_email) stay names."""
    width = len(plan.header)
    columns = sorted(plan.columns.items())
    header = plan.header
    header_of = {name: header[index] for index, name in columns}
    check = rules.check
    out = []
    for row, cells in records:
        if len(cells) != width:
            issue = Issue(row, None, "field_count", f"The row has {len(cells)} fields; the header has {width}.")
            out.append((None, [issue]))
            continue
        given, references = {}, {}
        for index, name in columns:
            value = cells[index].strip()
            if not value:
                continue  # an empty cell keeps what the contact has
            if name in REFERENCES:
                references[name] = value
            elif name == "tags":
                given[name] = TAG_SPLIT.split(value)
            else:
                given[name] = value
        values, errors = check(given, region=region)
        if errors:
            out.append((None, [Issue(row, header_of[e.field], e.code, e.message) for e in errors]))
            continue
        values.update(references)
        out.append((values, []))
    return out


__all__ = ["ColumnPlan", "Issue", "MappingError", "plan_columns", "validate_rows"]
