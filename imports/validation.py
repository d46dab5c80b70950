"""Column matching and row validation for contact imports.

The rules are the contacts API's (contacts.validators for email and phone,
the model's choices and max lengths, labels/stages/owners of the workspace);
they run as plain functions over whole chunks of rows, with one query per
kind of reference per chunk, because a DRF serializer per row manages about
1,500 rows/s and a file has up to a million.
"""
import re
from dataclasses import dataclass, field

from contacts.models import Contact
from contacts.validators import EMAIL_INVALID, normalize_email, normalize_phone

MAX_ERRORS = 1000
TAG_SPLIT = re.compile(r"[;|]")
TEXT_FIELD_MAX = 10_000  # TextFields (address, note) have no column limit; a cell this long is a mistake.

TEXT_FIELDS = (
    "name", "surname", "local_name", "country_code", "address", "city", "country", "code", "title", "note",
    "external_client_id",
)
# Every field a column can feed: the contact's own columns plus references by name.
IMPORT_FIELDS = (
    *TEXT_FIELDS, "email", "phone", "secondary_phone", "type", "visibility_type", "tags", "label", "stage", "owner_email",
)
ALIASES = {"firstname": "name", "lastname": "surname", "labelname": "label", "stagename": "stage", "owner": "owner_email",
           "clientstage": "stage", "tag": "tags"}


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]", "", text).lower()


_BY_KEY = {**{_key(f): f for f in IMPORT_FIELDS}, **ALIASES}


def _max_length(name: str) -> int:
    if name in ("label",):
        return 100
    if name in ("stage", "tags"):
        return 100
    if name == "owner_email":
        return 254
    return Contact._meta.get_field(name).max_length or TEXT_FIELD_MAX


MAX_LENGTHS = {name: _max_length(name) for name in IMPORT_FIELDS}


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
def _enum(values: set[str], label: str):
    allowed = ", ".join(sorted(values))

    def check(value: str):
        lowered = value.lower()
        if lowered not in values:
            raise ValueError(f'"{value}" is not a valid choice ({allowed}).', "invalid_choice")
        return lowered

    return check


_CHECKS = {
    "type": _enum(set(Contact.Type.values), "type"),
    "visibility_type": _enum(set(Contact.Visibility.values), "visibility_type"),
}


def validate_rows(records, plan: ColumnPlan, region: str):
    """Checks each (row, cells) on its own (no database): returns
    [(values | None, issues)] aligned with `records` (only that crosses the
    process boundary when validation runs in worker processes). `values`
    holds the non-empty cells normalized, by field; references (label,
    stage, owner_email) stay names."""
    width = len(plan.header)
    columns = sorted(plan.columns.items())
    header = plan.header
    cc_index = next((i for i, f in columns if f == "country_code"), None)
    out = []
    for row, cells in records:
        if len(cells) != width:
            issue = Issue(
                row, None, "field_count",
                f"The row has {len(cells)} fields; the header has {width}.",
            )
            out.append((None, [issue]))
            continue
        values = {}
        issues = []
        country_code = cells[cc_index].strip() if cc_index is not None else ""
        for index, name in columns:
            value = cells[index].strip()
            if not value:
                continue
            if len(value) > MAX_LENGTHS[name] and name != "tags":
                issues.append(Issue(row, header[index], "max_length",
                                    f"Ensure this field has no more than {MAX_LENGTHS[name]} characters."))
                continue
            try:
                if name == "phone" or name == "secondary_phone":
                    value = normalize_phone(value, country_code=country_code, region=region)
                elif name == "email":
                    value = normalize_email(value)
                elif name == "tags":
                    value = _tags(value)
                elif name in _CHECKS:
                    value = _CHECKS[name](value)
            except ValueError as exc:
                message = exc.args[0]
                code = exc.args[1] if len(exc.args) > 1 else ("max_length" if name == "tags" else "invalid")
                issues.append(Issue(row, header[index], code, message))
                continue
            values[name] = value
        out.append((values if not issues else None, issues))
    return out


def _tags(value: str) -> list[str]:
    seen: dict[str, str] = {}
    for part in TAG_SPLIT.split(value):
        part = part.strip()
        if not part:
            continue
        if len(part) > MAX_LENGTHS["tags"]:
            raise ValueError(f"A tag is at most {MAX_LENGTHS['tags']} characters: {part[:40]}...", "max_length")
        seen.setdefault(part.lower(), part)
    return list(seen.values())


__all__ = ["EMAIL_INVALID", "ColumnPlan", "Issue", "MappingError", "plan_columns", "validate_rows"]
