"""The one access policy, walked over every route that touches a contact
(issue 11, deliverable 3).

Five callers, each with the contact they act on:

- a workspace admin, the owner and a sub-owner of a private contact: they
  read and write it;
- a member, of a `team` contact someone else owns: they read it and may
  converse with it or notify it (that is not a write of the contact), but
  writing it is a 403;
- a member who may not see the private contact: every route answers
  exactly what it answers for an id that does not exist (404 on detail
  routes, absent from lists and multi-get, 400 does_not_exist for
  contact_id / client_id, and on the upsert the 409 a create with that
  taken external id gets), and nothing changes.

Expectations come from the KIND of each route (the small table below),
not from hand-written cases. Below the table: notifications by phone (a
phone nobody visible has makes a new contact), the CSV import's upsert by
external id (the job acts with its starter's rights), and contacts seen
through a visible one (an organization's persons, a person's organization).
"""
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from contacts.models import Contact, ContactTag
from contacts.services import contact_archive
from crm.models import Membership
from imports.tasks import import_job_run_task
from messaging.models import Conversation, Message
from tests.factories import SYSTEM
from tests.messaging.factories import ConversationFactory, IntegrationFactory, MessageFactory

from .factories import ContactFactory

pytestmark = pytest.mark.django_db

EDIT, READ, NONE = "edit", "read", "none"

# caller -> (the contact they act on, what the policy lets them do with it)
CALLERS = {
    "admin": ("private", EDIT),
    "owner": ("private", EDIT),
    "sub_owner": ("private", EDIT),
    "team_member": ("team", READ),
    "outsider": ("private", NONE),
}

# route kind -> access -> expected outcome
OK, DENIED, HIDDEN, LISTED, ABSENT = "ok", "denied", "hidden", "listed", "absent"
KINDS = {
    "read": {EDIT: OK, READ: OK, NONE: HIDDEN},
    "list": {EDIT: LISTED, READ: LISTED, NONE: ABSENT},
    "write": {EDIT: OK, READ: DENIED, NONE: HIDDEN},
    # conversing and notifying need sight of the contact, not the right to edit it
    "converse": {EDIT: OK, READ: OK, NONE: HIDDEN},
}


# -- the world ---------------------------------------------------------------
@dataclass
class Target:
    """What a route names of a contact."""

    contact_id: int
    external_client_id: str
    phone: str
    conversation_id: int
    message_id: int
    visibility_type: str = Contact.Visibility.PRIVATE


@dataclass
class World:
    clients: dict
    contacts: dict
    targets: dict
    integration: object  # the conversations' channel (also for notifications)
    spare_integration: object  # where a new conversation may be opened
    unknown: Target

    def target(self, caller) -> Target:
        return self.targets[CALLERS[caller][0]]


@pytest.fixture
def world(api_client, client_for, workspace):
    member = Membership.Role.MEMBER
    clients = {"admin": api_client, **{name: client_for(workspace, member) for name in
                                       ("owner", "sub_owner", "team_member", "outsider")}}
    owner, sub_owner = clients["owner"].user, clients["sub_owner"].user
    contacts = {
        kind: ContactFactory(
            workspace=workspace, name=f"{kind.title()} Person", visibility_type=kind, owner_id=owner.pk,
            sub_owner_ids=[sub_owner.pk], external_client_id=f"ext-{kind}", phone=phone,
        )
        for kind, phone in (("private", "+12025550101"), ("team", "+12025550102"))
    }
    integration = IntegrationFactory(workspace=workspace)
    targets = {}
    for kind, contact in contacts.items():
        conversation = ConversationFactory(workspace=workspace, contact=contact, integration=integration)
        message = MessageFactory(conversation=conversation, type=Message.Type.NOTE)
        targets[kind] = Target(contact.pk, contact.external_client_id, contact.phone, conversation.pk, message.pk,
                               contact.visibility_type)
    beyond = 10_000 + max(Contact.objects.latest("pk").pk, Conversation.objects.latest("pk").pk,
                          Message.objects.latest("pk").pk)
    unknown = Target(beyond, "ext-nobody", "+12025550199", beyond, beyond)
    return World(clients, contacts, targets, integration, IntegrationFactory(workspace=workspace), unknown)


# -- the routes ----------------------------------------------------------------
def contact_url(t: Target) -> str:
    return f"/v1/crm/contacts/{t.contact_id}"


def contact_of(t: Target) -> Contact:
    return Contact.objects.get(pk=t.contact_id)


@dataclass
class Route:
    name: str
    kind: str
    call: Callable  # (client, target, world) -> response
    status: int = 200  # when allowed
    hidden: tuple[int, str] | None = None  # (status, code) for a contact the caller may not see
    done: Callable | None = None  # (response, target) -> bool: the allowed call did its work
    listed: Callable | None = None  # (response) -> ids, for list routes
    prepare: Callable | None = None  # (world, target): state the route needs first
    as_unknown: Callable | None = None  # (client, target, world): what "did not exist" answers; default: unknown ids


def _archive(world, t):
    contact_archive(workspace=contact_of(t).workspace, actor=SYSTEM, contact_id=t.contact_id)


def _json(method, url, body=None):
    return lambda client, t, w: getattr(client, method)(url(t, w), body(t, w) if body else {}, format="json")


def _items(response):
    body = response.json()
    return body["data"] if isinstance(body, dict) else body


def _has_tag(t, value):
    return ContactTag.objects.filter(contact_id=t.contact_id, tag__tag=value).exists()


ROUTES = [
    Route("retrieve", "read", _json("get", lambda t, w: contact_url(t)), hidden=(404, "not_found"),
          done=lambda r, t: r.json()["id"] == t.contact_id),
    Route("history", "read", _json("get", lambda t, w: f"{contact_url(t)}/history"), hidden=(404, "not_found"),
          done=lambda r, t: {e["subject"]["id"] for e in _items(r)} == {t.contact_id}),
    Route("data", "read", _json("get", lambda t, w: f"{contact_url(t)}/data"), hidden=(404, "not_found"),
          done=lambda r, t: r.json()["contact"]["id"] == t.contact_id and len(r.json()["conversations"]) == 1),
    Route("list", "list", _json("get", lambda t, w: f"/v1/crm/contacts?contact_ids={t.contact_id}"),
          listed=lambda r: [c["id"] for c in _items(r)]),
    Route("search", "list", _json("post", lambda t, w: "/v1/crm/contacts/search", lambda t, w: {
        "filter_groups": [{"filters": [{"field": "id", "operator": "eq", "value": t.contact_id}]}]}),
          listed=lambda r: [c["id"] for c in _items(r)]),
    Route("multi_get", "list", _json("post", lambda t, w: "/v1/crm/contacts/multiple",
                                     lambda t, w: {"contact_ids": [t.contact_id]}),
          listed=lambda r: [c["id"] for c in _items(r)]),
    Route("patch", "write", _json("patch", lambda t, w: contact_url(t), lambda t, w: {"name": "Patched"}),
          hidden=(404, "not_found"), done=lambda r, t: contact_of(t).name == "Patched"),
    Route("put", "write", _json("put", lambda t, w: contact_url(t), lambda t, w: {
        "name": "Put", "visibility_type": t.visibility_type, "external_client_id": t.external_client_id,
    }), hidden=(404, "not_found"), done=lambda r, t: contact_of(t).name == "Put"),
    Route("archive", "write", _json("delete", lambda t, w: contact_url(t)), hidden=(404, "not_found"),
          done=lambda r, t: contact_of(t).deleted_at is not None),
    Route("restore", "write", _json("post", lambda t, w: f"{contact_url(t)}/restore"), hidden=(404, "not_found"),
          prepare=_archive, done=lambda r, t: contact_of(t).deleted_at is None),
    Route("upsert", "write", _json("put", lambda t, w: "/v1/crm/contacts/upsert",
                                   lambda t, w: {"external_client_id": t.external_client_id, "name": "Upserted"}),
          hidden=(409, "external_client_id_taken"), done=lambda r, t: contact_of(t).name == "Upserted",
          # a create with a taken external id is a 409 too: the hidden contact answers as that does
          as_unknown=lambda client, t, w: client.post(
              "/v1/crm/contacts", {"external_client_id": t.external_client_id, "name": "Upserted"}, format="json")),
    Route("bulk_update", "write", _json("patch", lambda t, w: "/v1/crm/contacts",
                                        lambda t, w: {"ids": [t.contact_id], "tags_add": ["vip"]}),
          hidden=(404, "not_found"), done=lambda r, t: _has_tag(t, "vip")),
    Route("conversation_create", "converse", _json(
        "post", lambda t, w: "/v1/crm/conversations",
        lambda t, w: {"contact_id": t.contact_id, "integration_id": w.spare_integration.pk}),
        status=201, hidden=(400, "does_not_exist"),
        done=lambda r, t: Conversation.objects.filter(pk=r.json()["id"], contact_id=t.contact_id).exists()),
    Route("conversation_get", "converse", _json("get", lambda t, w: f"/v1/crm/conversations/{t.conversation_id}"),
          hidden=(404, "not_found"), done=lambda r, t: r.json()["contact_id"] == t.contact_id),
    Route("conversation_close", "converse", _json("patch", lambda t, w: f"/v1/crm/conversations/{t.conversation_id}",
                                                  lambda t, w: {"status": "closed"}),
          hidden=(404, "not_found"),
          done=lambda r, t: Conversation.objects.get(pk=t.conversation_id).status == Conversation.Status.CLOSED),
    Route("conversations_list", "list", _json("get", lambda t, w: f"/v1/crm/conversations?contact_id={t.contact_id}"),
          listed=lambda r: [c["contact_id"] for c in _items(r)]),
    Route("messages_list", "converse", _json("get", lambda t, w: f"/v1/crm/conversations/{t.conversation_id}/messages"),
          hidden=(404, "not_found"), done=lambda r, t: [m["id"] for m in _items(r)] == [t.message_id]),
    Route("message_add", "converse", _json(
        "post", lambda t, w: f"/v1/crm/conversations/{t.conversation_id}/messages",
        lambda t, w: {"content": "A note", "type": "note"}),
        status=201, hidden=(404, "not_found"),
        done=lambda r, t: Message.objects.filter(pk=r.json()["message_id"], conversation_id=t.conversation_id).exists()),
    Route("message_get", "converse", _json("get", lambda t, w: f"/v1/crm/messages/{t.message_id}"),
          hidden=(404, "not_found"), done=lambda r, t: r.json()["conversation_id"] == t.conversation_id),
    Route("notify_by_client_id", "converse", _json(
        "post", lambda t, w: "/v1/crm/notifications",
        lambda t, w: {"integration_id": w.integration.pk, "client_id": t.contact_id, "template_name": "welcome"}),
        status=201, hidden=(400, "does_not_exist"), done=lambda r, t: r.json()["contact_id"] == t.contact_id),
]
# notify_by_phone is below: a phone nobody has creates a contact, so "as if it did not exist" is a new contact.
ROUTE = {route.name: route for route in ROUTES}


# -- checks ------------------------------------------------------------------------
def snapshot(t: Target):
    """Everything a refused call must leave as it was."""
    return (
        Contact.objects.filter(pk=t.contact_id).values().get(),
        sorted(ContactTag.objects.filter(contact_id=t.contact_id).values_list("tag_id", flat=True)),
        list(Conversation.objects.filter(contact_id=t.contact_id).order_by("id").values()),
        list(Message.objects.filter(conversation__contact_id=t.contact_id).order_by("id").values_list("id", flat=True)),
    )


def normalized(response, *ids) -> tuple[int, str]:
    """Status and body with the given ids blanked, to compare two answers."""
    text = json.dumps(response.json(), sort_keys=True)
    for value in ids:
        text = re.sub(rf"\b{value}\b", "<id>", text)
    return response.status_code, text


def describe(response) -> str:
    return f"{response.status_code}: {response.content[:300]!r}"


CASES = [(route.name, caller) for route in ROUTES for caller in CALLERS]


@pytest.mark.parametrize(("route_name", "caller"), CASES, ids=[f"{r}-{c}" for r, c in CASES])
def test_access(world, route_name, caller):
    route = ROUTE[route_name]
    client, target = world.clients[caller], world.target(caller)
    expected = KINDS[route.kind][CALLERS[caller][1]]
    if route.prepare:
        route.prepare(world, target)
    before = snapshot(target)
    response = route.call(client, target, world)

    if expected == OK:
        assert response.status_code == route.status, describe(response)
        assert route.done(response, target), response.json()
        if route_name == "retrieve":
            # the renderer reads the same policy as the services
            assert response.json()["view_only"] is (CALLERS[caller][1] == READ)
    elif expected == DENIED:
        assert response.status_code == 403, describe(response)
        assert response.json()["code"] == "permission_denied"
        assert snapshot(target) == before
    elif expected in (LISTED, ABSENT):
        assert response.status_code == 200, describe(response)
        assert (target.contact_id in route.listed(response)) is (expected == LISTED), response.json()
    if expected in (HIDDEN, ABSENT):
        status, code = route.hidden or (200, None)
        assert response.status_code == status, describe(response)
        if code:
            assert response.json()["code"] == code, response.json()
        assert snapshot(target) == before
        as_unknown = route.as_unknown or (lambda c, t, w: route.call(c, w.unknown, w))
        unknown = as_unknown(client, target, world)
        assert normalized(response, target.contact_id, target.conversation_id, target.message_id) == normalized(
            unknown, world.unknown.contact_id
        ), "the hidden contact answers differently from one that does not exist"
        assert "Private Person" not in response.content.decode()


def test_every_caller_and_route_kind_is_in_the_table():
    assert {access for _, access in CALLERS.values()} == {EDIT, READ, NONE}
    assert {route.kind for route in ROUTES} == set(KINDS)
    for route in ROUTES:
        assert (route.listed is not None) is (route.kind == "list"), route.name
        assert route.kind == "list" or (route.hidden and route.done), route.name


# -- notifications by phone ----------------------------------------------------------
def notify_by_phone(client, world, phone):
    return client.post("/v1/crm/notifications", {
        "integration_id": world.integration.pk, "phone": phone, "template_name": "welcome",
    }, format="json")


@pytest.mark.parametrize("caller", [c for c, (_, access) in CALLERS.items() if access != NONE])
def test_notify_by_phone_reaches_the_contact_the_caller_sees(world, caller):
    target = world.target(caller)
    response = notify_by_phone(world.clients[caller], world, target.phone)
    assert response.status_code == 201, describe(response)
    assert response.json()["contact_id"] == target.contact_id


def test_notify_by_phone_of_a_hidden_contact_is_as_for_an_unknown_phone(world):
    """contact_for_phone looks only among the contacts the caller sees: the
    hidden contact's phone is a phone nobody has, so a new contact (the
    caller's) is made for it, exactly as for an unknown phone."""
    outsider, hidden = world.clients["outsider"], world.target("outsider")
    before = snapshot(hidden)
    response = notify_by_phone(outsider, world, hidden.phone)
    unknown = notify_by_phone(outsider, world, world.unknown.phone)
    assert response.status_code == unknown.status_code == 201, describe(response)
    assert response.json().keys() == unknown.json().keys()
    made = Contact.objects.get(pk=response.json()["contact_id"])
    assert made.pk != hidden.contact_id and made.phone == hidden.phone and made.owner_id == outsider.user.pk
    assert snapshot(hidden) == before
    assert "Private Person" not in response.content.decode()


def test_notify_by_phone_keyed_to_a_hidden_contact_reveals_nothing(world, workspace):
    """A contact made by a phone is keyed by it (external_client_id): when
    that contact is hidden, the new one cannot take its key. The answer is
    the 409 an archived contact keyed by the phone gets too (as a create with
    a taken external id is a 409): no id, name or data of the contact."""
    phone = "+12025550177"
    owner = world.clients["owner"]
    keyed = notify_by_phone(owner, world, phone)
    assert keyed.status_code == 201
    hidden_id = keyed.json()["contact_id"]
    Contact.objects.filter(pk=hidden_id).update(visibility_type=Contact.Visibility.PRIVATE, name="Keyed Secret")
    hidden = Target(hidden_id, phone, phone, keyed.json()["conversation_id"], keyed.json()["message_id"])
    before = snapshot(hidden)

    response = notify_by_phone(world.clients["outsider"], world, phone)

    assert response.status_code == 409 and response.json()["code"] == "contact_unavailable", describe(response)
    text = response.content.decode()
    assert "Keyed Secret" not in text and not re.search(rf"\b{hidden_id}\b", text)
    assert snapshot(hidden) == before
    # an archived contact keyed by a phone answers the same: the 409 does not tell hidden from archived
    archived_phone = "+12025550178"
    archived = notify_by_phone(owner, world, archived_phone).json()["contact_id"]
    contact_archive(workspace=workspace, actor=SYSTEM, contact_id=archived)
    same = notify_by_phone(world.clients["outsider"], world, archived_phone)
    assert same.status_code == 409
    assert same.json()["message"].replace(archived_phone, "<phone>") == response.json()["message"].replace(
        phone, "<phone>"
    )


# -- imports: a member's CSV import writes with the member's rights ----------------------
@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def import_rows(client, csv_text: str) -> dict:
    """Uploads, imports (skip_errors) and runs the job as `client`; the finished job."""
    upload = io.BytesIO(csv_text.encode())
    upload.name = "contacts.csv"
    uploaded = client.post("/v1/crm/imports/files", {"file": upload}, format="multipart")
    assert uploaded.status_code == 201, uploaded.content
    started = client.post("/v1/crm/imports", {"file_name": uploaded.json()["file_name"], "skip_errors": True},
                          format="json")
    assert started.status_code == 202, started.content
    job_id = started.json()["job_id"]
    import_job_run_task.apply(args=[job_id]).get()
    return client.get(f"/v1/crm/imports/{job_id}").json()


@pytest.mark.parametrize("caller", list(CALLERS))
def test_import_by_external_id(world, caller, media_root):
    """The import's set-based upsert reads the same policy as PUT
    /contacts/upsert: a row keyed to a hidden contact is refused as a create
    with a taken id would be; one keyed to a read-only contact, a 403's code."""
    target, access = world.target(caller), CALLERS[caller][1]
    before = snapshot(target)
    job = import_rows(world.clients[caller], f"externalClientId,name\n{target.external_client_id},Imported\n")
    assert job["status"] == "succeeded", job
    if access == EDIT:
        assert job["updated"] == 1 and not job["errors"], job
        assert contact_of(target).name == "Imported"
        return
    expected = {READ: "permission_denied", NONE: "external_client_id_taken"}[access]
    assert job["updated"] == job["created"] == 0 and [e["code"] for e in job["errors"]] == [expected], job
    assert snapshot(target) == before
    assert "Private Person" not in json.dumps(job)


# -- a contact seen through another: organizations and their persons ---------------------
def test_a_visible_contact_does_not_reveal_hidden_related_ones(world, workspace):
    """The outsider sees a public organization whose person is the hidden
    contact, and a public person whose organization is hidden: neither the
    person nor the organization shows through."""
    hidden_id = world.target("outsider").contact_id
    organization = ContactFactory(workspace=workspace, type="organization", name="Public Org")
    Contact.objects.filter(pk=hidden_id).update(organization=organization)
    hidden_org = ContactFactory(workspace=workspace, type="organization", name="Private Person Org",
                                visibility_type="private", owner_id=world.clients["owner"].user.pk)
    person = ContactFactory(workspace=workspace, name="Public Pat", organization_id=hidden_org.pk)
    outsider, admin = world.clients["outsider"], world.clients["admin"]

    assert [p["id"] for p in admin.get(f"/v1/crm/contacts/{organization.pk}").json()["persons"]] == [hidden_id]
    seen = outsider.get(f"/v1/crm/contacts/{organization.pk}")
    assert seen.status_code == 200 and seen.json()["persons"] == []
    assert admin.get(f"/v1/crm/contacts/{person.pk}").json()["organization"]["id"] == hidden_org.pk
    seen = outsider.get(f"/v1/crm/contacts/{person.pk}")
    assert seen.status_code == 200 and seen.json()["organization"] is None
    listed = outsider.get(f"/v1/crm/contacts?organization_id={organization.pk}")
    assert listed.status_code == 200 and listed.json()["data"] == []
    assert "Private Person" not in seen.content.decode() + listed.content.decode()
