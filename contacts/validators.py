"""Field rules shared by the contacts API and CSV imports: one code path.

Pure functions: each takes a raw value and returns the normalized value or
raises ValueError with the wire message. The API serializer and the import
validator both call these, so a row is accepted by an import exactly when the
same values would be accepted by POST /contacts.
"""
import phonenumbers
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator

PHONE_INVALID = "Phone number is invalid"
EMAIL_INVALID = "Enter a valid email address."

_email_validator = EmailValidator(message=EMAIL_INVALID)


def normalize_phone(value: str | None, *, country_code: str | None = None, region: str | None = None) -> str:
    """Returns the E.164 form of `value`, or "" for an empty value.

    `country_code` is the contact's calling code as given ("+91", "91"); when
    absent, `region` (the workspace's default, e.g. "US") is used.
    """
    value = (value or "").strip()
    if not value:
        return ""
    calling_code = (country_code or "").strip().lstrip("+")
    try:
        if calling_code and not value.startswith("+"):
            if not calling_code.isdigit():
                raise ValueError(PHONE_INVALID)
            number = phonenumbers.parse(f"+{calling_code}{value.lstrip('0') if len(value) > 6 else value}")
        else:
            number = phonenumbers.parse(value, (region or "US").upper())
    except phonenumbers.NumberParseException:
        raise ValueError(PHONE_INVALID) from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError(PHONE_INVALID)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone_query(value: str, *, country_code: str | None = None, region: str | None = None) -> str:
    """For filters: the E.164 form when the text parses (with `country_code`
    or `region` exactly as normalize_phone does on write), else the digits
    typed (so a partial or odd number still matches nothing, not an error)."""
    try:
        return normalize_phone(value, country_code=country_code, region=region)
    except ValueError:
        digits = "".join(ch for ch in value if ch.isdigit())
        return f"+{digits}" if digits else value


def normalize_email(value: str | None) -> str:
    """Lower-cased, trimmed email, or "" when empty; ValueError when invalid."""
    value = (value or "").strip()
    if not value:
        return ""
    try:
        _email_validator(value)
    except DjangoValidationError:
        raise ValueError(EMAIL_INVALID) from None
    return value.lower()
