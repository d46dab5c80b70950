"""Placeholder rendering for template notifications (seed 001).

Pure functions, no database: every string value anywhere inside the
template components (nested lists and objects) has ``{{field}}`` replaced
for the allowed fields; a missing value becomes ""; an unsupported
placeholder such as ``{{age}}`` is left as written; keys and non-string
values are untouched. Whitespace inside the braces is allowed
(``{{ name }}``); field names are case-sensitive.
"""

import re
from collections.abc import Mapping
from typing import Any

ALLOWED_FIELDS = (
    "name",
    "surname",
    "fullName",
    "email",
    "phone",
    "address",
    "code",
    "city",
    "country",
)
_ALLOWED = frozenset(ALLOWED_FIELDS)
# Non-greedy, no braces inside, so adjacent placeholders ({{name}}{{city}}) split.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")


def placeholder_values(contact: Any) -> dict[str, str]:
    """The allowed fields of a contact (a model instance or a mapping);
    fullName is name and surname joined by a space, trimmed."""

    def get(field):
        value = (
            contact.get(field) if isinstance(contact, Mapping) else getattr(contact, field, None)
        )
        return "" if value is None else str(value)

    values = {field: get(field) for field in ALLOWED_FIELDS if field != "fullName"}
    values["fullName"] = f"{values['name'].strip()} {values['surname'].strip()}".strip()
    return values


def render_string(text: str, values: Mapping[str, Any]) -> str:
    def replace(match: re.Match) -> str:
        field = match.group(1)
        if field not in _ALLOWED:
            return match.group(0)
        value = values.get(field)
        return "" if value is None else str(value)

    return PLACEHOLDER.sub(replace, text)


def render_components(components: Any, values: Mapping[str, Any]) -> Any:
    """A new structure with every string leaf rendered; the input is not modified."""
    if isinstance(components, str):
        return render_string(components, values)
    if isinstance(components, Mapping):
        return {key: render_components(value, values) for key, value in components.items()}
    if isinstance(components, (list, tuple)):
        return [render_components(item, values) for item in components]
    return components
