"""The one error format, and the domain errors services raise.

Every 4xx/5xx answers::

    {"type": "validation_error" | "client_error" | "server_error",
     "code": "<machine code of the first error>",
     "message": "<human message of the first error>",
     "errors": [{"code": ..., "message": ..., "field": ... or null}],
     ...extra keys a domain error adds (e.g. "ids" of unknown objects)}

drf-standardized-errors turns every DRF/Django exception into a flat error
list; CrmExceptionFormatter shapes it. Django-level errors that never reach
DRF (unknown routes, DEBUG pages, oversized bodies) are shaped by
crm.middleware with error_payload() below.
"""
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.types import ErrorResponse
from rest_framework import exceptions, status


def error_payload(error_type: str, code: str, message: str, field: str | None = None, **extra) -> dict:
    return {
        "type": error_type,
        "code": code,
        "message": message,
        "errors": [{"code": code, "message": message, "field": field}],
        **extra,
    }


class CrmExceptionFormatter(ExceptionFormatter):
    def format_error_response(self, error_response: ErrorResponse) -> Any:
        errors = [
            {"code": e.code, "message": str(e.detail), "field": e.attr}
            for e in error_response.errors
        ]
        first = errors[0] if errors else {"code": "error", "message": "Error."}
        payload = {
            "type": error_response.type,
            "code": first["code"],
            "message": first["message"],
            "errors": errors,
        }
        payload.update(getattr(self.exc, "extra", None) or {})
        return payload


class CrmExceptionHandler(ExceptionHandler):
    """Django's request errors raised inside a view are client errors, as Django
    answers them outside DRF: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413,
    any other SuspiciousOperation (more than DATA_UPLOAD_MAX_NUMBER_FIELDS query
    parameters, ...) a 400. DRF alone turned them into 500s."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, RequestDataTooBig):
            return PayloadTooLarge()
        if isinstance(exc, TooManyFieldsSent):
            limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
            return exceptions.ParseError(f"Too many parameters (at most {limit}).", code="too_many_fields")
        if isinstance(exc, SuspiciousOperation):
            return exceptions.ParseError("Bad request.", code="bad_request")
        return super().convert_known_exceptions(exc)


class DomainError(exceptions.APIException):
    """Base for errors raised by services; `extra` keys join the payload."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "The request could not be processed."

    def __init__(self, detail=None, code=None, **extra):
        super().__init__(detail, code)
        self.extra = extra


class ObjectsNotFound(DomainError):
    """Some ids of a bulk request are not in the caller's workspace."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Some objects were not found."

    def __init__(self, ids, what="objects"):
        ids = sorted(ids)
        shown = ", ".join(str(i) for i in ids[:50]) + (" ..." if len(ids) > 50 else "")
        super().__init__(f"Unknown {what} ids: {shown}", ids=ids)


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class PreconditionFailed(DomainError):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"
    default_detail = "The object was changed since you read it (If-Match does not match)."


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


def field_error(field: str, message: str, code: str = "invalid") -> exceptions.ValidationError:
    """A validation error on one field, for services to raise."""
    return exceptions.ValidationError({field: [exceptions.ErrorDetail(message, code=code)]})
