import json
import logging
import time

from django.conf import settings
from django.http import HttpResponse

from . import metrics
from .errors import error_payload
from .logs import REQUEST_ID_HEADER, log_context, request_id_from

access_logger = logging.getLogger("crm.request")

_STATUS_CODES = {
    400: ("bad_request", "Bad request."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "Method not allowed."),
    413: ("payload_too_large", "The request body is too large."),
    414: ("uri_too_long", "The request URL is too long."),
    500: ("server_error", "A server error occurred."),
}


def json_error_response(status: int, code: str | None = None, message: str | None = None) -> HttpResponse:
    default_code, default_message = _STATUS_CODES.get(status, ("error", "Error."))
    error_type = "server_error" if status >= 500 else "client_error"
    body = error_payload(error_type, code or default_code, message or default_message)
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


class RequestContextMiddleware:
    """Outermost middleware. Gives every request an id (the client's
    X-Request-ID when well formed, else a new one), binds it to every log
    line of the request, echoes it; logs one access line (route, not the
    query string: no personal data) and records the request's metrics; adds
    the rate-limit headers the throttle left on the request (crm.throttling)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        started = time.perf_counter()
        with log_context(request_id=request_id):
            response = self.get_response(request)
            seconds = time.perf_counter() - started
            match = getattr(request, "resolver_match", None)
            # The URL pattern, not the path: one series per endpoint (router patterns are regexes)
            route = "/" + match.route.replace("^", "").replace("$", "") if match is not None else "unmatched"
            metrics.record_request(route, request.method, response.status_code, seconds)
            access_logger.info(
                "request",
                extra={"method": request.method, "route": route, "path": request.path,
                       "status": response.status_code, "duration_ms": round(seconds * 1000, 1)},
            )
        response[REQUEST_ID_HEADER] = request_id
        for name, value in getattr(request, "rate_limit_headers", ()):
            response[name] = value
        return response


def client_ip(request) -> str:
    """The client's address for the admin login limit: REMOTE_ADDR, or behind
    ADMIN_LOGIN_PROXY_COUNT proxies the address the outermost one saw (the
    N-th from the right of X-Forwarded-For; entries further left come from
    the client and can be forged)."""
    proxies = settings.ADMIN_LOGIN_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


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


class RequestLineLimitMiddleware:
    """Answers a URL (path and query string, as sent) longer than
    MAX_REQUEST_LINE_BYTES with a JSON 414 `uri_too_long`. gunicorn's own
    limit (config/gunicorn.py) is higher, so below it every client gets the
    error format rather than gunicorn's HTML 400."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        length = len(request.META.get("PATH_INFO", "").encode("utf-8", "surrogateescape")) + len(
            request.META.get("QUERY_STRING", ""))
        limit = settings.MAX_REQUEST_LINE_BYTES
        if length > limit:
            return json_error_response(414, message=f"The URL is longer than {limit} bytes. "
                                                    "Send long id lists in a body (POST /v1/crm/contacts/multiple).")
        return self.get_response(request)


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
