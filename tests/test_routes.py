"""A meta-test over the URL resolver (issue 11, deliverable 8): every route
of the API is a WorkspaceViewSet (tenancy, actor, ETag in one place) with a
test class built on the shared resource tests (tests/resources.py), or is
on ALLOWED below with the reason and the tests that cover it instead.

A new route fails here until it has one or the other; a stale entry (an
allowed route that is gone, a test class naming a URL no route serves)
fails too."""
import importlib
from pathlib import Path
from typing import NamedTuple

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404

from crm.viewsets import WorkspaceViewSet
from tests.resources import PLACEHOLDER, APIResourceTests, route_templates, sample_url

TESTS = Path(__file__).parent
API_PREFIX = "v1/crm/"
# The Django admin is staff's, not the API; its routes are Django's own.
NOT_API = ("admin/",)


class Allowed(NamedTuple):
    reason: str
    covered_by: str  # a test module (relative to tests/) that calls the route


ALLOWED = {
    "/healthz": Allowed("Readiness probe: no token, no workspace, no resource.", "crm/test_bootstrap_health.py"),
    "/livez": Allowed("Liveness probe: no token, no workspace, no resource.", "crm/test_bootstrap_health.py"),
    "/metrics": Allowed("Prometheus metrics of the process, behind METRICS_TOKEN: no workspace.", "crm/test_metrics.py"),
    "/v1/redoc/redoc.standalone.js": Allowed("ReDoc's script (the sidecar's, logo from this site), public.",
                                             "crm/test_production_settings.py"),
    "/v1/schema/": Allowed("The OpenAPI document (drf-spectacular), public.", "crm/test_schema.py"),
    "/v1/docs/": Allowed("Swagger UI over the schema, public.", "crm/test_schema.py"),
    "/v1/redoc/": Allowed("ReDoc over the schema, public.", "crm/test_schema.py"),
    "/v1/crm/me": Allowed("The caller's own user, workspace and role: no queryset to scope.", "crm/test_auth.py"),
    "/v1/crm/users": Allowed("The workspace's members, read through crm.selectors: no model of the workspace "
                             "to scope or version.", "crm/test_auth.py"),
    "/v1/crm/users/{id}": Allowed("One member: users are not rows of a workspace (a membership joins them), read "
                                  "through crm.selectors.workspace_member and written by crm.services' "
                                  "membership_* services.", "crm/test_members.py"),
    "/v1/crm/integrations/{id}/status": Allowed(
        "A provider's signed callback: authenticated by the integration's HMAC signature, not a token, "
        "so it cannot be a WorkspaceViewSet (whose workspace is the token's).", "messaging/test_status_api.py"),
    "/v1/crm/integrations/{id}/inbound": Allowed(
        "A provider's signed post of a message a contact sent: authenticated by the integration's HMAC "
        "signature, not a token (like /status).", "events/test_inbound.py"),
    "/v1/crm/notifications": Allowed(
        "sendNotification is an operation, not a resource: nothing to list or retrieve; the workspace comes "
        "from the token and the contact's visibility is checked in contacts.services.lifecycle.",
        "messaging/test_notifications_api.py"),
}


def walk(patterns=None, prefix=""):
    """(route, callback) of every URL pattern, the route joined as Django's
    ResolverMatch.route joins it."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = URLResolver._join_route(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            yield from walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback


def api_routes() -> dict[str, object]:
    return {route: callback for route, callback in walk() if not route.startswith(NOT_API)}


def route_of(path: str) -> str:
    return resolve(path).route


def resource_test_classes() -> list[type]:
    """Every test class built on APIResourceTests, found by importing each
    test module that names it (an app's test_resource_api module, and any
    other), so the check gives the same answer run alone or in the suite."""
    for module in sorted(TESTS.glob("**/test_*.py")):
        if "APIResourceTests" not in module.read_text():
            continue
        dotted = ".".join(module.relative_to(TESTS.parent).with_suffix("").parts)
        importlib.import_module(dotted)
    found, pending = [], list(APIResourceTests.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def covered_routes() -> dict[str, list[str]]:
    """{route: [test classes whose configured URLs resolve to it]}."""
    covered: dict[str, list[str]] = {}
    for cls in resource_test_classes():
        for template in route_templates(cls):
            covered.setdefault(route_of(sample_url(template)), []).append(f"{cls.__module__}.{cls.__qualname__}")
    return covered


def view_class(callback):
    return getattr(callback, "cls", None)


def test_the_walk_matches_the_resolver():
    routes = api_routes()
    assert route_of("/v1/crm/contacts/1") in routes and route_of("/v1/crm/tokens") in routes
    assert any(route.startswith(API_PREFIX) for route in routes)


def test_every_api_route_is_a_workspace_viewset_or_allowed():
    allowed = {route_of(sample_url(path)) for path in ALLOWED}
    offenders = []
    for route, callback in api_routes().items():
        cls = view_class(callback)
        is_resource = route.startswith(API_PREFIX) and isinstance(cls, type) and issubclass(cls, WorkspaceViewSet)
        if not is_resource and route not in allowed:
            offenders.append(f"{route} ({getattr(cls, '__name__', callback)})")
    assert not offenders, (
        "Routes that are neither a WorkspaceViewSet under /v1/crm/ nor in ALLOWED (with why): " + ", ".join(offenders)
    )


def test_every_workspace_viewset_route_has_resource_tests():
    covered = covered_routes()
    missing = [
        route for route, callback in api_routes().items()
        if isinstance(view_class(callback), type) and issubclass(view_class(callback), WorkspaceViewSet)
        and route not in covered
    ]
    assert not missing, (
        "Routes no test class built on tests/resources.APIResourceTests covers (list_url, detail_url or "
        f"actions): {missing}"
    )


def test_resource_test_classes_name_real_routes():
    classes = resource_test_classes()
    assert len(classes) >= 9, [c.__name__ for c in classes]
    for cls in classes:
        assert cls.__name__.startswith("Test"), f"{cls.__name__} would not be collected"
        for template in route_templates(cls):
            try:
                callback = resolve(sample_url(template)).func
            except Resolver404:
                pytest.fail(f"{cls.__name__} names {template}, which no route serves")
            assert issubclass(view_class(callback), WorkspaceViewSet), f"{cls.__name__}: {template}"


@pytest.mark.parametrize("path", sorted(ALLOWED))
def test_allowed_routes_exist_and_are_tested(path):
    entry = ALLOWED[path]
    route = route_of(sample_url(path))
    assert route in api_routes(), f"ALLOWED names {path}, which is not a route any more"
    assert entry.reason.strip()
    cls = view_class(api_routes()[route])
    assert not (isinstance(cls, type) and issubclass(cls, WorkspaceViewSet)), (
        f"{path} is a WorkspaceViewSet now: give it a resource test class and drop it from ALLOWED"
    )
    source = (TESTS / entry.covered_by).read_text()
    static_parts = [part for part in PLACEHOLDER.split(path) if part]
    assert all(part in source for part in static_parts), f"{entry.covered_by} never calls {path}"


def test_every_api_route_taking_an_unsafe_method_honours_idempotency_keys():
    """An Idempotency-Key is handled in one place (crm.idempotency.IdempotentMixin,
    a base of WorkspaceViewSet and CrmAPIView): a route whose view lacks it fails here."""
    from crm.idempotency import IdempotentMixin

    unsafe = {"post", "put", "patch", "delete"}
    offenders, checked = [], 0
    for route, callback in api_routes().items():
        cls = view_class(callback)
        if not route.startswith(API_PREFIX) or not isinstance(cls, type):
            continue
        actions = getattr(callback, "actions", None)
        methods = set(actions) if actions is not None else {m for m in unsafe if hasattr(cls, m)}
        if methods & unsafe:
            checked += 1
            if not issubclass(cls, IdempotentMixin):
                offenders.append(f"{route} ({cls.__name__})")
    assert checked >= 20
    assert not offenders, f"Routes taking POST/PUT/PATCH/DELETE without Idempotency-Key handling: {offenders}"
