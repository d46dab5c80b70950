"""Every 4xx/5xx answers JSON in the one error format, DEBUG or not."""
import uuid

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.decorators import api_view, authentication_classes, permission_classes

from config.urls import urlpatterns as base_urlpatterns


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def boom(request):
    raise RuntimeError("kaboom")


def django_boom(request):
    raise RuntimeError("kaboom")


urlpatterns = [path("boom", boom), path("django-boom", django_boom), *base_urlpatterns]
handler404 = "crm.middleware.handler404"
handler500 = "crm.middleware.handler500"


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= {"type", "code", "message", "errors"}
    if code:
        assert body["code"] == code
    return body


def test_malformed_json(api_client):
    response = api_client.post("/v1/crm/tokens", data='{"name": ', content_type="application/json")
    body = assert_error(response, 400, "parse_error")
    assert "JSON" in body["message"]


def test_validation_error_has_field(api_client):
    body = assert_error(api_client.post("/v1/crm/tokens", {"name": ""}), 400, "blank")
    assert body["type"] == "validation_error"
    assert body["errors"][0]["field"] == "name"


def test_wrong_type(api_client):
    body = assert_error(api_client.post("/v1/crm/tokens", {"name": "x", "expires_at": 12}), 400)
    assert body["errors"][0]["field"] == "expires_at"
    # a number is not coerced to a string (schemathesis)
    body = assert_error(api_client.post("/v1/crm/tokens", {"name": 12}, format="json"), 400, "invalid")
    assert body["errors"][0]["field"] == "name"


@pytest.mark.parametrize("debug", [False, True])
def test_unknown_route(api_client, debug):
    with override_settings(DEBUG=debug):
        assert_error(api_client.get("/v1/crm/no-such-thing"), 404, "not_found")
        assert_error(api_client.get("/nowhere"), 404, "not_found")


def test_wrong_method(api_client):
    response = api_client.put("/v1/crm/me", {})
    assert_error(response, 405, "method_not_allowed")


def test_options_on_collection_put_route(api_client, member_client):
    """OPTIONS of a collection route that takes PUT (upsert) described the route
    instead of failing on the missing object id (was a 500)."""
    response = api_client.options("/v1/crm/contacts/upsert")
    assert response.status_code == 200, response.content
    assert "PUT" in response.json()["actions"]
    assert member_client.options("/v1/crm/contacts/upsert").status_code == 200
    # a detail route still checks the object: another workspace's id is not described
    assert api_client.options("/v1/crm/contacts/999999").status_code == 200


def test_too_many_query_parameters_is_400(api_client, settings):
    """More than DATA_UPLOAD_MAX_NUMBER_FIELDS parameters raised TooManyFieldsSent
    inside DRF, which answered 500 (schemathesis, ?id= repeated 1,001 times)."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    query = "&".join(["id=1"] * 6)
    for url in ("/v1/crm/contacts", "/v1/crm/me", "/v1/crm/tags"):
        body = assert_error(api_client.get(f"{url}?{query}"), 400, "too_many_fields")
        assert body["message"] == "Too many parameters (at most 5)."


def test_request_data_too_big_is_413(api_client, settings):
    """A form body over DATA_UPLOAD_MAX_MEMORY_SIZE without a usable Content-Length check."""
    from django.core.exceptions import RequestDataTooBig

    from crm.errors import CrmExceptionHandler

    response = CrmExceptionHandler(RequestDataTooBig("big"), {"view": None, "request": None}).run()
    assert response.status_code == 413 and response.data["code"] == "payload_too_large"


def test_unsupported_media_type(api_client):
    response = api_client.post("/v1/crm/tokens", data="name=x", content_type="text/plain")
    assert_error(response, 415, "unsupported_media_type")


def test_oversized_body(api_client, settings):
    settings.MAX_REQUEST_BODY_BYTES = 1000
    response = api_client.post("/v1/crm/tokens", {"name": "x" * 2000})
    assert_error(response, 413, "payload_too_large")


def test_throttled(api_client, other_client, monkeypatch, settings):
    """A fixed window per token: the third call of a 2/min token in the same
    minute is a 429 with Retry-After up to the window's end; another token
    keeps its own count; the next window starts afresh. Every response says
    where the caller stands."""
    from crm.throttling import TokenRateThrottle

    settings.RATE_LIMIT_KEY_PREFIX = f"test-{uuid.uuid4().hex}"
    now = [1_000_040.0]  # 20 s into a minute window (16,667 x 60 = 1,000,020)
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "2/min", "workspace": "100/hour"})
    monkeypatch.setattr(TokenRateThrottle, "timer", lambda self: now[0])
    first = api_client.get("/v1/crm/me")
    assert first.status_code == 200
    assert first["RateLimit-Policy"] == '"token";q=2;w=60, "workspace";q=100;w=3600'
    assert first["RateLimit"] == '"token";r=1;t=40'
    assert (first["X-RateLimit-Limit"], first["X-RateLimit-Remaining"], first["X-RateLimit-Reset"]) == ("2", "1", "40")
    assert api_client.get("/v1/crm/me")["RateLimit"] == '"token";r=0;t=40'
    response = api_client.get("/v1/crm/me")
    assert_error(response, 429, "throttled")
    assert response["Retry-After"] == "40"
    assert response["RateLimit"] == '"token";r=0;t=40'
    other = other_client.get("/v1/crm/me")
    assert other.status_code == 200 and other["RateLimit"] == '"token";r=1;t=40'
    now[0] += 40
    assert api_client.get("/v1/crm/me").status_code == 200


def test_workspace_limit_spans_its_tokens(api_client, client_for, monkeypatch, settings):
    """Two tokens of one workspace share its limit; when it binds, the headers name it."""
    from crm.throttling import TokenRateThrottle

    settings.RATE_LIMIT_KEY_PREFIX = f"test-{uuid.uuid4().hex}"
    monkeypatch.setattr(TokenRateThrottle, "THROTTLE_RATES", {"token": "10/min", "workspace": "3/min"})
    second = client_for(api_client.workspace)
    assert api_client.get("/v1/crm/me").status_code == 200
    assert second.get("/v1/crm/me")["RateLimit"].startswith('"workspace";r=1;')
    assert api_client.get("/v1/crm/me").status_code == 200
    response = second.get("/v1/crm/me")
    assert_error(response, 429, "throttled")
    assert response["RateLimit"].startswith('"workspace";r=0;') and int(response["Retry-After"]) >= 1


@pytest.mark.urls("tests.crm.test_errors")
@pytest.mark.parametrize("debug", [False, True])
def test_server_error_is_json_without_trace(client, debug, settings):
    settings.DEBUG = debug
    client.raise_request_exception = False
    for url in ("/boom", "/django-boom"):
        response = client.get(url)
        body = assert_error(response, 500)
        assert "kaboom" not in response.content.decode()
        assert "Traceback" not in response.content.decode()
        assert body["type"] == "server_error"


def test_a_url_over_the_request_line_limit_is_a_json_414(api_client, settings):
    settings.MAX_REQUEST_LINE_BYTES = 1000
    assert api_client.get("/v1/crm/contacts?" + "id=1&" * 150).status_code == 200
    body = assert_error(api_client.get("/v1/crm/contacts?" + "id=1&" * 250), 414, "uri_too_long")
    assert "1000 bytes" in body["message"]


def test_options_describes_the_write_read_only_keys_read_only(api_client):
    """OPTIONS /contacts listed every key, id included, as required and writable."""
    post = api_client.options("/v1/crm/contacts").json()["actions"]["POST"]
    for name in ("id", "tenant_id", "created_at", "version", "label", "owner_details", "view_only"):
        assert post[name]["read_only"] is True and post[name]["required"] is False, name
    for name in ("name", "email", "phone", "label_id", "custom_field"):
        assert post[name]["read_only"] is False and post[name]["required"] is False, name
    tag = api_client.options("/v1/crm/tags").json()["actions"]["POST"]
    assert tag["id"]["read_only"] is True and tag["tag"]["required"] is True and tag["order"]["required"] is False
