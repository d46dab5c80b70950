"""The tests every API resource shares (issue 11, deliverable 8), after
NetBox's APIViewTestCases: a resource's test class says what the resource
is, as data, and inherits the checks.

    class TestTags(APIResourceTests):
        model = Tag
        list_url = "/v1/crm/tags"
        detail_url = "/v1/crm/tags/{obj.pk}"
        update_payload = {"description": "changed"}

        def make(self, workspace):
            return TagFactory(workspace=workspace)

        def create_payload(self, workspace):
            return {"type": "client", "tag": "created"}

URLs are str.format templates: `{obj}` is the object a detail route names;
other names are the objects `parents(workspace)` returns (a conversation's
messages: "/v1/crm/conversations/{conversation.pk}/messages").

What every resource gets: list (its own rows, none of another workspace),
retrieve, create, update (PATCH, and PUT where `put`), delete, bulk where
`bulk` is set and custom `actions`; an operation the resource does not
offer on a route it has answers 405. A 401 without a token on every route;
a member's 403 where writes (or reads) are admin-only; a 404 in the error
format for another workspace's object on every detail route; an unknown
body key on every write, a 400 `unknown_field` with nothing written
(assert_unknown_key_rejected); a GET body sent back with PUT or PATCH;
hostile bodies (HOSTILE_BODIES: deep nesting, NULs, huge numbers, wrong
JSON types) on every write, a 4xx and nothing written; on versioned resources an ETag on
every single-object response, a 412 for a stale If-Match and, with
REQUIRE_IF_MATCH, a 428 for an unconditional PATCH or DELETE; the same
number of queries for a page of 1 and of 50 rows (lists and bulk writes);
and every create, update, delete and bulk write sent twice with one
Idempotency-Key runs once, the second answer being the first replayed
(crm/idempotency.py).

tests/test_routes.py fails when an API route has no test class built on
this mixin (it maps classes to routes through list_url, detail_url and
the actions' URLs).
"""
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.services import is_versioned
from crm.viewsets import etag
from tests.tenancy import assert_tenant_isolated

# A body key no resource has: every write answers it with a 400 `unknown_field`.
UNKNOWN_KEY = "no_such_field"
SMALL_PAGE, BIG_PAGE = 1, 50
# Bodies no write may answer with a 500 or a 2xx: (raw JSON text, the code expected or None for any 4xx).
HOSTILE_BODIES = (
    ("[" * 1000 + "]" * 1000, "too_deep"),
    ('{"a":' * 100 + "1" + "}" * 100, "too_deep"),
    ("[" * 5000, "parse_error"),
    ('{"name": "a\\u0000b"}', "null_characters_not_allowed"),
    ('{"na\\u0000me": "x"}', "null_characters_not_allowed"),
    ('{"name": ["x", {"deep": "\\u0000"}]}', "null_characters_not_allowed"),
    ('{"name": 1e999}', "parse_error"),
    ('{"name": NaN}', "parse_error"),
    ('{"name": ' + "9" * 5000 + "}", "parse_error"),
    ('{"name": 99999999999999999999999999999}', None),
    ("[]", None),
    ('"text"', None),
    ("123", None),
    ("null", None),
    ("true", None),
    ('{"name": {"first": "x"}}', None),
    ('{"name": ["x"]}', None),
)
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Bulk:
    """A bulk write on the list URL: `payload(objects)` changes each object
    of `objects`; `changed(obj)` says a re-read object carries the change."""

    payload: Callable[[list], dict]
    changed: Callable[[Any], bool]
    method: str = "patch"
    status: int = 200


@dataclass(frozen=True)
class Action:
    """Another route of the resource (a custom action). Checked: its answer
    to an admin, a 401 without a token, and a 404 for another workspace's
    object when the URL names {obj}. `payload(obj)` is the body."""

    method: str
    url: str
    status: int
    payload: Callable[[Any], dict] | None = None


class APIResourceTests:
    """Mixin of the shared resource tests; configure in a `Test...` class."""

    # -- what the resource is (set by each test class) -------------------------
    model: Any = None
    list_url: str | None = None  # GET list, POST create, bulk
    detail_url: str | None = None  # GET, PATCH, PUT, DELETE of {obj}
    retrieve = True
    create_status: int | None = 201  # None: POST on list_url is a 405
    multipart = False  # create uploads a file (multipart/form-data)
    update_payload: dict | None = None  # None: PATCH on detail_url is a 405
    put = False  # PUT replaces (with the create payload plus update_payload)
    delete_status: int | None = 204  # None: DELETE on detail_url is a 405
    admin_only_writes = False  # a member's POST/PATCH/PUT/DELETE is a 403
    admin_only_reads = False  # a member's GET is a 403 too
    bulk: Bulk | None = None
    actions: tuple[Action, ...] = ()

    # -- hooks -----------------------------------------------------------------
    def make(self, workspace):
        """One object of the resource in `workspace` (a factory)."""
        raise NotImplementedError

    def parents(self, workspace) -> dict:
        """Objects the URLs name besides {obj}, made once per workspace and test."""
        return {}

    def create_payload(self, workspace) -> dict:
        raise NotImplementedError

    def created_id(self, body: dict):
        """The id of the object a create answered with."""
        return body["id"]

    def assert_updated(self, obj) -> None:
        """`obj` (re-read) carries update_payload."""
        for name, value in self.update_payload.items():
            assert getattr(obj, name) == value, (name, getattr(obj, name), value)

    def assert_deleted(self, obj) -> None:
        assert not self.model._default_manager.filter(pk=obj.pk).exists()

    def assert_unknown_key_rejected(self, response, *, written: bool, what: str = "") -> None:
        """An unknown body key is a 400 `unknown_field` naming the key, and
        the refused write changed nothing (crm.serializers.StrictInputMixin)."""
        assert response.status_code == 400, f"{what}: {response.status_code} {response.content[:300]}"
        body = response.json()
        assert body["code"] == "unknown_field", (what, body)
        assert {"code": "unknown_field", "field": UNKNOWN_KEY} in [
            {"code": e["code"], "field": e["field"]} for e in body["errors"]
        ], (what, body)
        assert not written, f"{what}: a refused write changed something"

    # -- helpers ---------------------------------------------------------------
    def __init_subclass__(cls, **kwargs):
        """Drops the tests of what the resource has no route for (a route it
        has answers 405 for an operation it lacks: those tests stay)."""
        super().__init_subclass__(**kwargs)
        absent = set()
        if cls.list_url is None:
            absent |= {"test_list", "test_list_query_count", "test_create", "test_member_reads",
                       "test_create_is_replayed"}
        if cls.detail_url is None:
            absent |= {"test_retrieve", "test_update", "test_replace", "test_delete", "test_stale_if_match_is_412",
                       "test_update_is_replayed", "test_delete_is_replayed",
                       "test_unconditional_write_is_428_when_if_match_is_required"}
        if cls.model is None or not is_versioned(cls.model) or cls.update_payload is None:
            absent |= {"test_stale_if_match_is_412", "test_unconditional_write_is_428_when_if_match_is_required"}
        if cls.detail_url is None or not cls.retrieve or cls.update_payload is None:
            absent.add("test_get_modify_put_round_trip")
        if cls.bulk is None:
            absent |= {"test_bulk", "test_bulk_query_count", "test_bulk_of_another_workspace_is_404",
                       "test_bulk_is_replayed"}
        if not cls.actions:
            absent.add("test_actions")
        if cls.create_status is None:
            absent.add("test_create_is_replayed")
        if cls.update_payload is None:
            absent.add("test_update_is_replayed")
        if cls.delete_status is None:
            absent.add("test_delete_is_replayed")
        for name in absent:
            setattr(cls, name, None)

    @property
    def versioned(self) -> bool:
        return is_versioned(self.model)

    def _parents(self, workspace) -> dict:
        cache = self.__dict__.setdefault("_parent_cache", {})
        if workspace.pk not in cache:
            cache[workspace.pk] = self.parents(workspace)
        return cache[workspace.pk]

    def url(self, template: str, workspace, obj=None) -> str:
        return template.format(obj=obj, **self._parents(workspace))

    def list_for(self, workspace) -> str:
        return self.url(self.list_url, workspace)

    def detail_for(self, obj, workspace) -> str:
        return self.url(self.detail_url, workspace, obj)

    def reread(self, obj):
        return self.model._default_manager.get(pk=obj.pk)

    def count(self, workspace) -> int:
        return self.model._default_manager.filter(workspace=workspace).count()

    def state(self, obj):
        """What a refused write must leave as it was."""
        return self.model._default_manager.filter(pk=obj.pk).values().first()

    def detail_methods(self) -> dict[str, bool]:
        """{method: offered} on the detail route."""
        return {
            "get": self.retrieve,
            "patch": self.update_payload is not None,
            "put": self.put,
            "delete": self.delete_status is not None,
        }

    def post(self, client, url, payload):
        return client.post(url, payload, format="multipart" if self.multipart else "json")

    @staticmethod
    def items(response) -> list[dict]:
        body = response.json()
        return body["data"] if isinstance(body, dict) else body

    def assert_etag(self, response, pk=None) -> None:
        """A versioned resource's single-object response names its version."""
        if not self.versioned:
            assert "ETag" not in response, "an ETag on a resource without a version"
            return
        body = response.json()
        if pk is not None:
            assert body["id"] == pk
        assert response["ETag"] == etag(body["id"], body["version"]), response.get("ETag")

    # -- list ------------------------------------------------------------------
    def test_list(self, api_client, other_workspace):
        mine = [self.make(api_client.workspace) for _ in range(2)]
        theirs = self.make(other_workspace)
        response = api_client.get(self.list_for(api_client.workspace))
        assert response.status_code == 200, response.content[:300]
        ids = {item["id"] for item in self.items(response)}
        assert {obj.pk for obj in mine} <= ids
        assert theirs.pk not in ids

    def test_list_query_count(self, api_client, django_assert_num_queries):
        """A page of 50 rows costs the queries of a page of one (plus what the
        workspace lists anyway, such as its default labels or the caller's token)."""
        workspace = api_client.workspace
        url = self.list_for(workspace) + f"?limit={BIG_PAGE}"
        base = len(self.items(api_client.get(url)))  # also warms one-off lookups
        self.make(workspace)
        with CaptureQueriesContext(connection) as small:
            response = api_client.get(url)
        assert response.status_code == 200 and len(self.items(response)) == base + SMALL_PAGE
        for _ in range(BIG_PAGE - base - SMALL_PAGE):
            self.make(workspace)
        with django_assert_num_queries(len(small)):
            response = api_client.get(url)
        assert len(self.items(response)) == BIG_PAGE

    def test_member_reads(self, member_client):
        response = member_client.get(self.list_for(member_client.workspace))
        if self.admin_only_reads:
            assert response.status_code == 403 and response.json()["code"] == "permission_denied"
        else:
            assert response.status_code == 200, response.content[:300]

    # -- one object ------------------------------------------------------------
    def test_retrieve(self, api_client):
        obj = self.make(api_client.workspace)
        response = api_client.get(self.detail_for(obj, api_client.workspace))
        if not self.retrieve:
            assert response.status_code == 405
            return
        assert response.status_code == 200, response.content[:300]
        assert response.json()["id"] == obj.pk
        self.assert_etag(response, obj.pk)

    def test_create(self, api_client):
        workspace = api_client.workspace
        before = self.count(workspace)
        response = self.post(api_client, self.list_for(workspace), self.create_payload(workspace))
        if self.create_status is None:
            assert response.status_code == 405
            assert self.count(workspace) == before
            return
        assert response.status_code == self.create_status, response.content[:300]
        assert self.count(workspace) == before + 1
        created = self.model._default_manager.get(pk=self.created_id(response.json()))
        assert created.workspace_id == workspace.pk
        if "id" in response.json():
            self.assert_etag(response, created.pk)

    def test_update(self, api_client):
        workspace = api_client.workspace
        obj = self.make(workspace)
        url = self.detail_for(obj, workspace)
        if self.update_payload is None:
            before = self.state(obj)
            assert api_client.patch(url, {}, format="json").status_code == 405
            assert self.state(obj) == before
            return
        version = getattr(self.reread(obj), "version", None)
        response = api_client.patch(url, self.update_payload, format="json")
        assert response.status_code == 200, response.content[:300]
        updated = self.reread(obj)
        self.assert_updated(updated)
        if self.versioned:
            assert updated.version == version + 1
        self.assert_etag(response, obj.pk)

    def test_replace(self, api_client):
        workspace = api_client.workspace
        obj = self.make(workspace)
        url = self.detail_for(obj, workspace)
        if not self.put:
            before = self.state(obj)
            assert api_client.put(url, {}, format="json").status_code == 405
            assert self.state(obj) == before
            return
        payload = {**self.create_payload(workspace), **self.update_payload}
        response = api_client.put(url, payload, format="json")
        assert response.status_code == 200, response.content[:300]
        self.assert_updated(self.reread(obj))
        self.assert_etag(response, obj.pk)

    def test_delete(self, api_client):
        obj = self.make(api_client.workspace)
        response = api_client.delete(self.detail_for(obj, api_client.workspace))
        if self.delete_status is None:
            assert response.status_code == 405
            assert self.model._default_manager.filter(pk=obj.pk).exists()
            return
        assert response.status_code == self.delete_status, response.content[:300]
        self.assert_deleted(obj)
        if response.status_code == 200:  # answers the archived/revoked object
            self.assert_etag(response, obj.pk)

    def test_stale_if_match_is_412(self, api_client):
        workspace = api_client.workspace
        obj = self.make(workspace)
        url = self.detail_for(obj, workspace)
        current = self.reread(obj).version
        stale = {"HTTP_IF_MATCH": etag(obj.pk, current + 1)}
        before = self.state(obj)
        response = api_client.patch(url, self.update_payload, format="json", **stale)
        assert response.status_code == 412 and response.json()["code"] == "precondition_failed", response.content
        if self.delete_status is not None:
            response = api_client.delete(url, **stale)
            assert response.status_code == 412 and response.json()["code"] == "precondition_failed"
        assert self.state(obj) == before
        fresh = api_client.patch(url, self.update_payload, format="json", HTTP_IF_MATCH=etag(obj.pk, current))
        assert fresh.status_code == 200, fresh.content[:300]
        assert fresh["ETag"] == etag(obj.pk, current + 1)

    def test_unconditional_write_is_428_when_if_match_is_required(self, api_client, settings):
        settings.REQUIRE_IF_MATCH = True
        workspace = api_client.workspace
        obj = self.make(workspace)
        url = self.detail_for(obj, workspace)
        before = self.state(obj)
        calls = [("patch", self.update_payload)] + ([("delete", None)] if self.delete_status is not None else [])
        for method, payload in calls:
            response = getattr(api_client, method)(url, payload, format="json")
            assert response.status_code == 428, f"{method.upper()} {url} -> {response.status_code}"
            assert response.json()["code"] == "precondition_required"
        assert self.state(obj) == before
        version = self.reread(obj).version
        response = api_client.patch(url, self.update_payload, format="json", HTTP_IF_MATCH=etag(obj.pk, version))
        assert response.status_code == 200, response.content[:300]

    # -- who may call ----------------------------------------------------------
    def test_needs_a_token(self, api_client, anon_client):
        workspace = api_client.workspace
        obj = self.make(workspace)
        before = self.state(obj)
        calls = []
        if self.list_url is not None:
            calls += [("get", self.list_for(workspace)), ("post", self.list_for(workspace))]
        if self.detail_url is not None:
            calls += [(m, self.detail_for(obj, workspace)) for m, offered in self.detail_methods().items() if offered]
        calls += [(a.method, self.url(a.url, workspace, obj)) for a in self.actions]
        for method, url in calls:
            response = getattr(anon_client, method)(url, {}, format="json")
            assert response.status_code == 401, f"{method.upper()} {url} -> {response.status_code}"
            assert response.json()["code"] == "not_authenticated"
        assert self.state(obj) == before

    def test_member_writes(self, member_client):
        """Members write what the resource lets them; admin-only writes are a
        403 in the error format, and nothing changes."""
        workspace = member_client.workspace
        obj = self.make(workspace)
        before, count = self.state(obj), self.count(workspace)
        if not self.admin_only_writes:
            if self.list_url is not None and self.create_status is not None:
                response = self.post(member_client, self.list_for(workspace), self.create_payload(workspace))
                assert response.status_code == self.create_status, response.content[:300]
                assert self.count(workspace) == count + 1
            return
        calls = []
        if self.list_url is not None and self.create_status is not None:
            calls.append(("post", self.list_for(workspace), self.create_payload(workspace)))
        if self.detail_url is not None:
            if self.update_payload is not None:
                calls.append(("patch", self.detail_for(obj, workspace), self.update_payload))
            if self.delete_status is not None:
                calls.append(("delete", self.detail_for(obj, workspace), None))
        assert calls, "admin_only_writes on a resource with no write"
        for method, url, payload in calls:
            if method == "post":
                response = self.post(member_client, url, payload)
            else:
                response = getattr(member_client, method)(url, payload, format="json")
            assert response.status_code == 403, f"{method.upper()} {url} -> {response.status_code}"
            assert response.json()["code"] == "permission_denied"
        assert self.state(obj) == before and self.count(workspace) == count

    def test_another_workspaces_object_is_404(self, api_client, other_client):
        workspace = api_client.workspace
        obj = self.make(workspace)
        before = self.state(obj)
        detail_urls, actions, list_url = [], [], None
        if self.detail_url is not None:
            detail_urls.append(self.detail_for(obj, workspace))
        if self.list_url is not None:
            own_list = self.list_for(workspace)
            if PLACEHOLDER.search(self.list_url):
                # the list belongs to a parent of this workspace: a detail route for anyone else
                actions += [("get", own_list), ("post", own_list)]
            else:
                list_url = own_list
        actions += [(a.method, self.url(a.url, workspace, obj)) for a in self.actions if "{obj" in a.url]
        assert_tenant_isolated(
            other_client, list_url=list_url, detail_urls=detail_urls, hidden_ids=[obj.pk], actions=actions,
            methods=[m for m, offered in self.detail_methods().items() if offered],
        )
        assert self.state(obj) == before

    # -- bad input -------------------------------------------------------------
    def test_unknown_body_key(self, api_client):
        """Every write (create, PATCH, PUT, DELETE, bulk, write actions)
        refuses a body with a key it does not know, and writes nothing."""
        workspace = api_client.workspace
        extra = {UNKNOWN_KEY: "x"}
        if self.list_url is not None and self.create_status is not None:
            before = self.count(workspace)
            response = self.post(api_client, self.list_for(workspace), {**self.create_payload(workspace), **extra})
            self.assert_unknown_key_rejected(response, written=self.count(workspace) != before, what="create")
        writes = []
        if self.detail_url is not None:
            if self.update_payload is not None:
                writes.append(("patch", self.detail_url, lambda obj: self.update_payload))
            if self.put:
                writes.append(("put", self.detail_url, lambda obj: {**self.create_payload(workspace),
                                                                     **self.update_payload}))
            if self.delete_status is not None:
                writes.append(("delete", self.detail_url, lambda obj: {}))
        writes += [(a.method, a.url, a.payload or (lambda obj: {})) for a in self.actions if a.method != "get"]
        for method, template, payload in writes:
            obj = self.make(workspace)
            body = {**payload(obj), **extra}  # before the state is read: a payload may make objects
            before, count = self.state(obj), self.count(workspace)
            response = getattr(api_client, method)(self.url(template, workspace, obj), body, format="json")
            written = self.state(obj) != before or self.count(workspace) != count
            self.assert_unknown_key_rejected(response, written=written, what=f"{method.upper()} {template}")
        if self.bulk is not None:
            objects = [self.make(workspace) for _ in range(2)]
            before = [self.state(obj) for obj in objects]
            response = getattr(api_client, self.bulk.method)(
                self.list_for(workspace), {**self.bulk.payload(objects), **extra}, format="json"
            )
            written = [self.state(obj) for obj in objects] != before
            self.assert_unknown_key_rejected(response, written=written, what="bulk")

    def test_get_modify_put_round_trip(self, api_client):
        """A body read with GET, changed and sent back (PUT where the resource
        has it, else PATCH) is accepted: its read-only keys are ignored."""
        workspace = api_client.workspace
        obj = self.make(workspace)
        url = self.detail_for(obj, workspace)
        body = api_client.get(url).json()
        body.update(self.update_payload)
        response = getattr(api_client, "put" if self.put else "patch")(url, body, format="json")
        assert response.status_code == 200, response.content[:500]
        self.assert_updated(self.reread(obj))

    def test_hostile_bodies(self, api_client):
        """Deep nesting, NULs, huge numbers and wrong JSON types sent to every
        write: a 4xx in the error format (the parser's own code where it has
        one), never a 500, nothing written. A multipart create refuses any
        JSON body unread (415)."""
        workspace = api_client.workspace
        writes = []  # (method, URL template, the code every hostile body gets, or None: each body's own)
        if self.list_url is not None and self.create_status is not None:
            writes.append(("post", self.list_url, "unsupported_media_type" if self.multipart else None))
        if self.detail_url is not None:
            writes += [(m, self.detail_url, None) for m, offered in self.detail_methods().items()
                       if offered and m != "get"]
        if self.bulk is not None:
            writes.append((self.bulk.method, self.list_url, None))
        writes += [(a.method, a.url, None) for a in self.actions if a.method != "get"]
        obj = self.make(workspace)
        before, count = self.state(obj), self.count(workspace)
        for method, template, route_code in writes:
            url = self.url(template, workspace, obj)
            for body, code in HOSTILE_BODIES:
                response = getattr(api_client, method)(url, body, content_type="application/json")
                what = f"{method.upper()} {template} {body[:40]!r}"
                assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.content[:200]}"
                if route_code or code:
                    assert response.json()["code"] == (route_code or code), f"{what}: {response.content[:200]}"
        assert self.state(obj) == before and self.count(workspace) == count

    # -- bulk ------------------------------------------------------------------
    def _bulk(self, client, workspace, objects):
        bulk = self.bulk
        return getattr(client, bulk.method)(self.list_for(workspace), bulk.payload(objects), format="json")

    def test_bulk(self, api_client):
        workspace = api_client.workspace
        objects = [self.make(workspace) for _ in range(3)]
        response = self._bulk(api_client, workspace, objects)
        assert response.status_code == self.bulk.status, response.content[:300]
        assert all(self.bulk.changed(self.reread(obj)) for obj in objects)

    def test_bulk_query_count(self, api_client, django_assert_num_queries):
        workspace = api_client.workspace
        objects = [self.make(workspace) for _ in range(BIG_PAGE)]
        self._bulk(api_client, workspace, objects[-1:])  # warm
        with CaptureQueriesContext(connection) as small:
            assert self._bulk(api_client, workspace, objects[:SMALL_PAGE]).status_code == self.bulk.status
        with django_assert_num_queries(len(small)):
            assert self._bulk(api_client, workspace, objects).status_code == self.bulk.status
        assert all(self.bulk.changed(self.reread(obj)) for obj in objects)

    def test_bulk_of_another_workspace_is_404(self, api_client, other_workspace):
        workspace = api_client.workspace
        mine, theirs = self.make(workspace), self.make(other_workspace)
        before = (self.state(mine), self.state(theirs))
        response = self._bulk(api_client, workspace, [mine, theirs])
        assert response.status_code == 404, response.content[:300]
        body = response.json()
        assert body["code"] == "not_found" and body["ids"] == [theirs.pk], body
        assert (self.state(mine), self.state(theirs)) == before

    # -- Idempotency-Key -----------------------------------------------------------
    def _twice(self, send) -> tuple:
        """Sends a write twice with one Idempotency-Key: the second answer
        must be the first, replayed."""
        key = f"test-{self.__class__.__name__}-{id(send)}"
        first, second = send({"HTTP_IDEMPOTENCY_KEY": key}), send({"HTTP_IDEMPOTENCY_KEY": key})
        assert first.status_code < 300, first.content[:300]
        assert "Idempotent-Replayed" not in first
        assert second.get("Idempotent-Replayed") == "true", (second.status_code, second.content[:300])
        assert (second.status_code, second.content) == (first.status_code, first.content)
        assert second.get("ETag") == first.get("ETag") and second.get("Location") == first.get("Location")
        return first, second

    def test_create_is_replayed(self, api_client):
        workspace = api_client.workspace
        before = self.count(workspace)
        payload = self.create_payload(workspace)

        def send(headers):
            for value in payload.values():  # an upload is read again from its start
                if hasattr(value, "seek"):
                    value.seek(0)
            if self.multipart:
                return api_client.post(self.list_for(workspace), payload, format="multipart", **headers)
            return api_client.post(self.list_for(workspace), payload, format="json", **headers)

        self._twice(send)
        assert self.count(workspace) == before + 1

    def test_update_is_replayed(self, api_client):
        workspace = api_client.workspace
        obj = self.make(workspace)
        version = getattr(self.reread(obj), "version", None)
        self._twice(lambda headers: api_client.patch(self.detail_for(obj, workspace), self.update_payload,
                                                     format="json", **headers))
        self.assert_updated(self.reread(obj))
        if self.versioned:
            assert self.reread(obj).version == version + 1, "the replay wrote again"

    def test_delete_is_replayed(self, api_client):
        workspace = api_client.workspace
        obj = self.make(workspace)
        first, _ = self._twice(lambda headers: api_client.delete(self.detail_for(obj, workspace), **headers))
        assert first.status_code == self.delete_status
        self.assert_deleted(obj)

    def test_bulk_is_replayed(self, api_client):
        workspace = api_client.workspace
        objects = [self.make(workspace) for _ in range(2)]
        bulk = self.bulk
        first, _ = self._twice(lambda headers: getattr(api_client, bulk.method)(
            self.list_for(workspace), bulk.payload(objects), format="json", **headers))
        assert first.status_code == bulk.status
        assert all(bulk.changed(self.reread(obj)) for obj in objects)

    # -- other routes ------------------------------------------------------------
    def test_actions(self, api_client):
        workspace = api_client.workspace
        for action in self.actions:
            obj = self.make(workspace)
            payload = action.payload(obj) if action.payload else {}
            response = getattr(api_client, action.method)(self.url(action.url, workspace, obj), payload, format="json")
            assert response.status_code == action.status, f"{action.method.upper()} {action.url}: {response.content[:300]}"


def route_templates(cls) -> list[str]:
    """The URL templates a test class covers (for tests/test_routes.py)."""
    return [t for t in (cls.list_url, cls.detail_url, *(a.url for a in cls.actions)) if t]


def sample_url(template: str) -> str:
    """A concrete URL of a template, to resolve: every {...} becomes 1."""
    return PLACEHOLDER.sub("1", template)
