"""The contact rule set: typed values in, cleaned values or violations out.

One set of rules for every way a contact is written: the API's services,
the CSV import (per row, in the import's validation step, with no database)
and the Django admin's form all call `check()`, so a value is accepted or
refused with the same error code whichever way it arrives. Rules that need
the workspace's data (labels, stages, members, custom field definitions,
visibility) live in contacts.services.references and .access.

Values arrive typed (the API's serializer has turned JSON into str, int,
list, dict and bool; a CSV cell is a str): the rules trim, bound, normalize
(E.164 phones, lower-cased emails and enums) and name what is wrong.
"""
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple, TypedDict

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from crm.errors import ErrorItem, ValidationFailed
from crm.serializers import has_nul

from ..models import Contact, CustomFieldDefinition
from ..validators import normalize_email, normalize_phone

# Longest text a field takes, characters after trimming (the columns' own
# limits; address and note are text columns with a limit of ours).
MAX_LENGTH = {
    "name": 255, "surname": 255, "local_name": 255, "email": 254, "country_code": 10,
    # any input format, stored E.164 (at most 16 characters)
    "phone": 40, "secondary_phone": 40,
    "address": 5000, "city": 100, "country": 100, "code": 100, "title": 255, "note": 20000, "logo": 500,
    "external_client_id": 255, "person_names": 255, "tags": 100, "stage": 100, "organization_name": 255,
    "media": 2000, "cover_photo": 2000, "company_namespace": 100,
}
MAX_ITEMS = {"tags": 200, "person_names": 1000, "visibility_ids": 1000, "sub_owner_ids": 1000, "person_ids": 1000,
             "media": 50, "company_namespace": 100}
CUSTOM_TEXT_MAX = 2000
ENUMS = {"type": Contact.Type, "visibility_type": Contact.Visibility}


class CustomFieldValue(NamedTuple):
    """One custom field value as given: `key` is a definition's code or
    shortName; `field` is where the input carried it, for errors."""

    key: str
    value: Any
    field: str = "custom_field"


class ContactValues(TypedDict, total=False):
    """What a contact write may carry, typed. An absent key leaves the field
    as it is (or at its default on create); ids of 0 never get here (the wire
    format's "none" is None)."""

    type: str
    name: str
    surname: str
    local_name: str
    email: str
    country_code: str
    phone: str
    secondary_phone: str
    address: str
    city: str
    country: str
    code: str
    title: str
    note: str
    logo: str
    external_client_id: str | None
    visibility_type: str
    visibility_ids: list[int]
    integration_meta: dict
    disabled: bool
    media: list[str]
    cover_photo: str
    company_namespace: list[str]
    label_id: int | None
    stage_id: int | None
    owner_id: int | None
    default_agent_id: int | None
    organization_id: int | None
    # by name (seed 000's `stage`, seed 003's `organization_name`): found or created
    stage: str
    organization_name: str
    tags: list[str]
    sub_owner_ids: list[int]
    person_ids: list[int]
    person_names: list[str]
    custom_fields: list[CustomFieldValue]


FIELDS = tuple(ContactValues.__annotations__)
# Columns that are plain values on the row (the rest are references, links or custom fields).
SCALAR_FIELDS = (
    "type", "name", "surname", "local_name", "email", "country_code", "phone", "secondary_phone", "address", "city",
    "country", "code", "title", "note", "logo", "external_client_id", "visibility_type", "visibility_ids",
    "integration_meta", "disabled", "media", "cover_photo", "company_namespace",
)


class Violation(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _text(name: str):
    limit = MAX_LENGTH[name]

    def clean(value, context) -> str:
        if value is None:
            return ""
        if not isinstance(value, str):
            raise Violation("invalid", "Not a valid string.")
        if "\x00" in value:
            raise Violation("null_characters_not_allowed", "Null characters are not allowed.")
        value = value.strip()
        if len(value) > limit:
            raise Violation("max_length", f"Ensure this field has no more than {limit} characters.")
        return value

    return clean


_external_id_text = _text("external_client_id")
_email_text = _text("email")


def _external_id(value, context):
    return _external_id_text(value, context) or None


def _email(value, context) -> str:
    value = _email_text(value, context)
    try:
        return normalize_email(value)
    except ValueError as exc:
        raise Violation("invalid", str(exc)) from None


def _phone(name: str):
    text = _text(name)

    def clean(value, context) -> str:
        value = text(value, context)
        try:
            return normalize_phone(value, country_code=context.country_code, region=context.region)
        except ValueError as exc:
            raise Violation("invalid", str(exc)) from None

    return clean


def _enum(name: str):
    # Read once: an enum's `values` is rebuilt on every access (a measurable
    # part of a million-row import's validation).
    values = frozenset(ENUMS[name].values)
    allowed = ", ".join(ENUMS[name].values)
    default = str(Contact.Visibility.PUBLIC) if name == "visibility_type" else None

    def clean(value, context) -> str:
        if (value is None or value == "") and default:
            return default
        if not isinstance(value, str):
            raise Violation("invalid", "Not a valid string.")
        lowered = value.strip().lower()
        if lowered not in values:
            raise Violation("invalid_choice", f'"{value}" is not a valid choice ({allowed}).')
        return lowered

    return clean


_http_url = URLValidator(schemes=["http", "https"])


def _url(name: str):
    """An http(s) URL (trimmed, bounded); "" for none."""
    text = _text(name)

    def clean(value, context) -> str:
        value = text(value, context)
        if value:
            try:
                _http_url(value)
            except DjangoValidationError:
                raise Violation("invalid", "Enter a valid http(s) URL.") from None
        return value

    return clean


def _urls(name: str):
    """A list of http(s) URLs, trimmed, empty ones and repeats dropped."""
    strings, url = _strings(name), _url(name)

    def clean(values, context) -> list[str]:
        return list(dict.fromkeys(url(value, context) for value in strings(values, context)))

    return clean


def _unique(rule):
    def clean(values, context) -> list:
        return list(dict.fromkeys(rule(values, context)))

    return clean


def _boolean(value, context) -> bool:
    if not isinstance(value, bool):
        raise Violation("invalid", "Must be a valid boolean.")
    return value


def _object(value, context) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Violation("not_a_dict", f'Expected a dictionary of items but got type "{type(value).__name__}".')
    if has_nul(value):
        raise Violation("null_characters_not_allowed", "Null characters are not allowed.")
    return value


def _strings(name: str):
    """A list of short strings, trimmed, empty ones dropped; tags are also
    unique ignoring case (the first spelling stays)."""
    limit, most, unique = MAX_LENGTH[name], MAX_ITEMS[name], name == "tags"

    def clean(values, context) -> list[str]:
        if values is None:
            return []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise Violation("not_a_list", "Expected a list of strings.")
        if len(values) > most:
            raise Violation("max_length", f"At most {most} items.")
        result, seen = [], set()
        for value in values:
            value = value.strip()
            if "\x00" in value:
                raise Violation("null_characters_not_allowed", "Null characters are not allowed.")
            if len(value) > limit:
                raise Violation("max_length", f"Each item has at most {limit} characters: {value[:40]}...")
            if not value or (unique and value.lower() in seen):
                continue
            seen.add(value.lower())
            result.append(value)
        return result

    return clean


def _ids(name: str):
    most = MAX_ITEMS[name]

    def clean(values, context) -> list[int]:
        if values is None:
            return []
        if not isinstance(values, list) or not all(type(v) is int and v > 0 for v in values):
            raise Violation("invalid", "Expected a list of ids.")
        if len(values) > most:
            raise Violation("max_length", f"At most {most} ids.")
        return list(dict.fromkeys(values))

    return clean


def _id(value, context) -> int | None:
    if value is None:
        return None
    if type(value) is not int or value <= 0:
        raise Violation("invalid", "A valid integer is required.")
    return value


CLEANERS = {
    **{name: _text(name) for name in (
        "name", "surname", "local_name", "country_code", "address", "city", "country", "code", "title", "note", "logo",
        "stage", "organization_name",
    )},
    "external_client_id": _external_id,
    "email": _email,
    "phone": _phone("phone"),
    "secondary_phone": _phone("secondary_phone"),
    "type": _enum("type"),
    "visibility_type": _enum("visibility_type"),
    "disabled": _boolean,
    "integration_meta": _object,
    "tags": _strings("tags"),
    "person_names": _strings("person_names"),
    "company_namespace": _unique(_strings("company_namespace")),
    "media": _urls("media"),
    "cover_photo": _url("cover_photo"),
    "visibility_ids": _ids("visibility_ids"),
    "sub_owner_ids": _ids("sub_owner_ids"),
    "person_ids": _ids("person_ids"),
    **{name: _id for name in ("label_id", "stage_id", "owner_id", "default_agent_id", "organization_id")},
}


class Context(NamedTuple):
    region: str  # the workspace's default phone region
    country_code: str  # the calling code phones are parsed with ("" : the region)


def check(values: Mapping[str, Any], *, region: str, country_code: str = "") -> tuple[dict, list[ErrorItem]]:
    """Cleans each value of `values` by its field's rule: (cleaned values,
    violations). Phones are parsed with the `country_code` among the values,
    else the given one (the contact's), else the workspace's region. Custom
    field values are checked by custom_field_value, against their definitions."""
    if "country_code" in values:
        code = values["country_code"]
        country_code = code.strip() if isinstance(code, str) else ""
    context = Context(region, country_code)
    cleaned: dict = {}
    errors: list[ErrorItem] = []
    for name, value in values.items():
        clean = CLEANERS.get(name)
        if clean is None:
            cleaned[name] = value
            continue
        try:
            cleaned[name] = clean(value, context)
        except Violation as violation:
            errors.append(ErrorItem(violation.code, violation.message, name))
    return cleaned, errors


def clean_as(rule: str, value, *, field: str, region: str = ""):
    """`value` cleaned by the rule of the field `rule`, its error named
    `field` (a bulk update's tags_add follows the rule of tags)."""
    try:
        return CLEANERS[rule](value, Context(region, ""))
    except Violation as violation:
        raise ValidationFailed(violation.message, code=violation.code, field=field) from None


def custom_field_value(definition: CustomFieldDefinition, value):
    """The stored form of a custom field value, checked against its
    definition's type; None clears it ("" and null do)."""
    if value is None or value == "":
        return None
    kind = definition.type
    if kind == CustomFieldDefinition.Type.TEXT:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise Violation("invalid", "Expected text.")
        value = str(value)
        if "\x00" in value:
            raise Violation("null_characters_not_allowed", "Null characters are not allowed.")
        if len(value) > CUSTOM_TEXT_MAX:
            raise Violation("max_length", f"At most {CUSTOM_TEXT_MAX} characters.")
        return value
    if kind == CustomFieldDefinition.Type.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise Violation("invalid", "Expected a number.")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise Violation("invalid", "Expected a number.") from None
        if not number.is_finite():
            raise Violation("invalid", "Expected a number.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == CustomFieldDefinition.Type.DATE:
        try:
            return date.fromisoformat(str(value).strip()).isoformat()
        except ValueError:
            raise Violation("invalid", "Expected a date as YYYY-MM-DD.") from None
    if kind == CustomFieldDefinition.Type.DROPDOWN:
        if str(value) not in [str(o) for o in definition.options]:
            raise Violation("invalid_choice", f'"{value}" is not one of {definition.options}.')
        return str(value)
    if kind == CustomFieldDefinition.Type.CHECKBOX:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise Violation("invalid", "Expected true or false.")
    return value
