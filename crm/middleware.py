import json

from django.conf import settings
from django.http import HttpResponse

from .errors import error_payload

_STATUS_CODES = {
    400: ("bad_request", "Bad request."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("payload_too_large", "The request body is too large."),
    500: ("server_error", "A server error occurred."),
}


def json_error_response(status: int, code: str | None = None, message: str | None = None) -> HttpResponse:
    default_code, default_message = _STATUS_CODES.get(status, ("error", "Error."))
    error_type = "server_error" if status >= 500 else "client_error"
    body = error_payload(error_type, code or default_code, message or default_message)
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


class JsonErrorMiddleware:
    """Turns any non-JSON error page (Django's 404/500, DEBUG technical pages,
    CSRF failures) into the one JSON error format. The admin keeps its HTML."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or request.path.startswith("/admin/"):
            return response
        content_type = response.get("Content-Type", "")
        if "json" in content_type:
            return response
        new = json_error_response(response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                new[header] = response[header]
        return new


class RequestSizeLimitMiddleware:
    """Refuses a body larger than MAX_REQUEST_BODY_BYTES with 413 before it is
    read. Upload endpoints that stream to storage declare a larger cap with
    the `max_body_bytes` attribute on their view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = getattr(getattr(view_func, "cls", view_func), "max_body_bytes", settings.MAX_REQUEST_BODY_BYTES)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error_response(400, "invalid_content_length", "Invalid Content-Length header.")
        if length > limit:
            return json_error_response(413, message=f"The request body is larger than {limit} bytes.")
        return None


def handler404(request, exception=None):
    return json_error_response(404, message="No route matches this path.")


def handler500(request):
    return json_error_response(500)


def handler400(request, exception=None):
    return json_error_response(400)


def handler403(request, exception=None):
    return json_error_response(403)
