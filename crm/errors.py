"""The one error format, and the one domain error services raise.

Every 4xx/5xx answers::

    {"type": "validation_error" | "client_error" | "server_error",
     "code": "<machine code of the first error>",
     "message": "<human message of the first error>",
     "errors": [{"code": ..., "message": ..., "field": ... or null}],
     ...extra keys a domain error adds (e.g. "ids" of unknown objects)}

`DomainError` is a plain exception, not an HTTP one: services raise it, the
worker and the CLI read `.code` and `.message` from it, and the exception
handler below is the only place that turns it into a response.
drf-standardized-errors shapes every DRF/Django exception the same way
(CrmExceptionFormatter). Django-level errors that never reach DRF (unknown
routes, DEBUG pages, oversized bodies) are shaped by crm.middleware with
error_payload() below.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from drf_standardized_errors.formatter import ExceptionFormatter
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.types import ErrorResponse
from rest_framework.response import Response
from rest_framework.views import set_rollback


def error_payload(error_type: str, code: str, message: str, field: str | None = None, **extra) -> dict:
    return {
        "type": error_type,
        "code": code,
        "message": message,
        "errors": [{"code": code, "message": message, "field": field}],
        **extra,
    }


@dataclass(frozen=True)
class ErrorItem:
    code: str
    message: str
    field: str | None = None

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "field": self.field}


class DomainError(Exception):
    """What a service raises when a request cannot be carried out: an HTTP
    status, a machine code, a human message and, for a validation error, the
    field (dotted path) it concerns. Several field errors travel together in
    `errors`; `extra` keys join the payload (e.g. the `ids` of unknown objects)."""

    status = 400
    code = "invalid"
    message = "The request could not be processed."
    error_type = "client_error"

    def __init__(self, message: str | None = None, *, code: str | None = None, field: str | None = None,
                 errors: Iterable[ErrorItem] = (), **extra: Any):
        self.message = message or self.message
        self.code = code or self.code
        self.field = field
        self.errors = list(errors) or [ErrorItem(self.code, self.message, field)]
        if errors:
            first = self.errors[0]
            self.code, self.message, self.field = first.code, first.message, first.field
        self.extra = extra
        super().__init__(self.message)

    def payload(self) -> dict:
        return {
            "type": self.error_type,
            "code": self.code,
            "message": self.message,
            "errors": [e.as_dict() for e in self.errors],
            **self.extra,
        }


class ValidationFailed(DomainError):
    """One or more fields of the input break a rule."""

    error_type = "validation_error"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    message = "Not found."


class ObjectsNotFound(NotFound):
    """Some ids of a request are not in the caller's workspace (or not visible to them)."""

    message = "Some objects were not found."

    def __init__(self, ids, what="objects"):
        ids = sorted(ids, key=lambda i: (isinstance(i, str), i))
        shown = ", ".join(str(i) for i in ids[:50]) + (" ..." if len(ids) > 50 else "")
        super().__init__(f"Unknown {what} ids: {shown}", ids=ids)


class PermissionDenied(DomainError):
    status = 403
    code = "permission_denied"
    message = "You do not have permission to perform this action."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = "The request conflicts with the current state."


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    message = "The object was changed since you read it (If-Match does not match)."


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"
    message = "The request body is too large."


class PreconditionRequired(DomainError):
    status = 428
    code = "precondition_required"
    message = "This write needs an If-Match header with the ETag of the version you read."


class IdempotencyKeyInvalid(DomainError):
    code = "idempotency_key_invalid"
    message = ("Idempotency-Key must be 1 to 255 visible ASCII characters (a bare token, or a quoted "
               "Structured Field string).")


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still being processed; retry once it has completed."


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used for another request (another method, path, body or caller)."


def field_error(field: str, message: str, code: str = "invalid") -> ValidationFailed:
    """A validation error on one field, for services to raise."""
    return ValidationFailed(message, code=code, field=field)


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
    """A DomainError becomes its own payload and status. Django's request
    errors raised inside a view are client errors, as Django answers them
    outside DRF: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, any other
    SuspiciousOperation (more than DATA_UPLOAD_MAX_NUMBER_FIELDS query
    parameters, ...) a 400. DRF alone turned them into 500s."""

    def run(self) -> Response | None:
        exc = _request_error(self.exc) or self.exc
        if isinstance(exc, DomainError):
            set_rollback()
            return Response(exc.payload(), status=exc.status)
        return super().run()


def _request_error(exc: Exception) -> DomainError | None:
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return DomainError(f"Too many parameters (at most {limit}).", code="too_many_fields")
    if isinstance(exc, SuspiciousOperation):
        return DomainError("Bad request.", code="bad_request")
    return None
