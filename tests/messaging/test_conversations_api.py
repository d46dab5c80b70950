from datetime import timedelta

import pytest
from django.utils import timezone

from messaging import services
from messaging.models import Conversation, Message
from tests.tenancy import assert_tenant_isolated
from tests.factories import SYSTEM

URL = "/v1/crm/conversations"


def test_create_list_retrieve_and_filter(api_client, contact, make_contact, console_integration):
    response = api_client.post(
        URL, {"contact_id": contact.pk, "integration_id": console_integration.pk}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["contact_id"] == contact.pk and body["integration_id"] == console_integration.pk
    assert body["status"] == "open" and body["last_message_at"] is None

    other_contact = make_contact(name="Grace")
    second = services.conversation_create(
        workspace=api_client.workspace,
        actor=SYSTEM,
        contact_id=other_contact.pk,
        integration=console_integration,
    )
    services.conversation_update(
        workspace=api_client.workspace, conversation=second, actor=SYSTEM, status="closed"
    )

    def ids(query=""):
        return [c["id"] for c in api_client.get(f"{URL}{query}").json()["data"]]

    assert ids() == [second.pk, body["id"]]
    assert ids(f"?contact_id={contact.pk}") == [body["id"]]
    assert ids(f"?integration_id={console_integration.pk}&status=closed") == [second.pk]
    assert ids("?status=open") == [body["id"]]
    assert ids(f"?integration_id={console_integration.pk + 1000}") == []
    assert api_client.get(f"{URL}?status=archived").status_code == 400
    assert api_client.get(f"{URL}/{body['id']}").json() == body


def test_second_open_conversation_is_409(api_client, conversation):
    response = api_client.post(
        URL, {"contact_id": conversation.contact_id, "integration_id": conversation.integration_id}
    )
    assert response.status_code == 409, response.content
    assert response.json()["conversation_id"] == conversation.pk


def test_patch_status(api_client, conversation):
    response = api_client.patch(f"{URL}/{conversation.pk}", {"status": "closed"})
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert api_client.patch(f"{URL}/{conversation.pk}", {"status": "gone"}).status_code == 400
    # a new conversation can be opened once the old one is closed; reopening the old one then conflicts
    new = api_client.post(
        URL, {"contact_id": conversation.contact_id, "integration_id": conversation.integration_id}
    )
    assert new.status_code == 201
    assert api_client.patch(f"{URL}/{conversation.pk}", {"status": "open"}).status_code == 409


def test_create_with_foreign_or_unknown_ids_is_400(
    api_client, other_client, contact, console_integration
):
    foreign_integration = services.integration_create(
        workspace=other_client.workspace, actor=SYSTEM, name="theirs"
    )
    for payload, field in [
        ({"contact_id": contact.pk, "integration_id": foreign_integration.pk}, "integration_id"),
        ({"contact_id": contact.pk, "integration_id": 999999}, "integration_id"),
        ({"contact_id": 999999, "integration_id": console_integration.pk}, "contact_id"),
    ]:
        response = api_client.post(URL, payload)
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["field"] == field
    # another workspace cannot open a conversation with our contact
    response = other_client.post(
        URL, {"contact_id": contact.pk, "integration_id": foreign_integration.pk}
    )
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "contact_id"
    assert not Conversation.objects.exists()


def test_create_with_empty_or_fractional_ids_is_400(api_client, contact, console_integration):
    """"" is not null and 1.5 is not the id 1 (PrimaryKeyRelatedField took both)."""
    for payload, field in [
        ({"contact_id": contact.pk + 0.5, "integration_id": console_integration.pk}, "contact_id"),
        ({"contact_id": contact.pk, "integration_id": console_integration.pk + 0.5}, "integration_id"),
        ({"contact_id": "", "integration_id": console_integration.pk}, "contact_id"),
    ]:
        response = api_client.post(URL, payload, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["errors"][0]["field"] == field
    assert not Conversation.objects.exists()


def test_conversation_list_constant_queries(
    api_client, make_contact, console_integration, django_assert_num_queries
):
    def add():
        services.conversation_create(
            workspace=api_client.workspace,
            actor=SYSTEM,
            contact_id=make_contact().pk,
            integration=console_integration,
        )

    add()
    with django_assert_num_queries(3):  # auth, count, page
        assert len(api_client.get(URL).json()["data"]) == 1
    for _ in range(4):
        add()
    with django_assert_num_queries(3):
        assert len(api_client.get(URL).json()["data"]) == 5


# -- messages -------------------------------------------------------------
def messages_url(conversation):
    return f"{URL}/{conversation.pk}/messages"


def test_add_message_answers_like_the_seed(api_client, conversation):
    response = api_client.post(
        messages_url(conversation),
        {"content": "Hello world ....", "type": "text", "tags": ["VIP", "tag2"]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "message_id",
        "content",
        "type",
        "is_agent",
        "status",
        "external_message_id",
        "tags",
        "created_at",
    }
    assert (
        body["content"] == "Hello world ...."
        and body["type"] == "text"
        and body["is_agent"] is True
    )
    assert (
        body["status"] == "pending"
        and body["external_message_id"] == ""
        and body["tags"] == ["VIP", "tag2"]
    )
    message = Message.objects.get(pk=body["message_id"])
    assert (
        message.conversation == conversation
        and message.integration_id == conversation.integration_id
    )
    assert sorted(t.type for t in message.tags.all()) == ["message", "message"]
    conversation.refresh_from_db()
    assert conversation.last_message_at == message.created_at


def test_message_tags_reuse_message_and_common_tags(api_client, conversation):
    from tags.models import Tag

    common = Tag.objects.create(workspace=api_client.workspace, tag="Urgent", type="common")
    Tag.objects.create(
        workspace=api_client.workspace, tag="Billing", type="client"
    )  # wrong type: not reused
    body = api_client.post(
        messages_url(conversation), {"content": "x", "type": "text", "tags": ["urgent", "billing"]}
    ).json()
    message = Message.objects.get(pk=body["message_id"])
    tags = {t.tag: t.type for t in message.tags.all()}
    assert tags == {"Urgent": "common", "billing": "message"}
    assert common in message.tags.all()


def test_note_is_internal_and_not_enqueued(
    api_client, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post(
            messages_url(conversation),
            {"content": "Called, no answer", "type": "note", "note_type": "call"},
        )
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "internal"
    assert callbacks == []  # never sent
    assert Message.objects.get(pk=response.json()["message_id"]).note_type == "call"


def test_non_note_is_enqueued_on_commit(
    api_client, conversation, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        api_client.post(messages_url(conversation), {"content": "hi", "type": "text"})
    assert len(callbacks) == 1


@pytest.mark.parametrize("media", ["image", "audio", "document", "video"])
def test_media_needs_an_http_url(api_client, conversation, media):
    bad = api_client.post(messages_url(conversation), {"content": "cat.png", "type": media})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "content"
    assert (
        api_client.post(
            messages_url(conversation), {"content": "ftp://x.example/cat.png", "type": media}
        ).status_code
        == 400
    )
    good = api_client.post(
        messages_url(conversation), {"content": "https://cdn.example.com/cat.png", "type": media}
    )
    assert good.status_code == 201, good.content


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"content": "x", "type": "fax"}, "type"),
        ({"content": "x"}, "type"),
        ({"type": "text"}, "content"),
        ({"content": "", "type": "text"}, "content"),
        ({"content": "x", "type": "text", "note_type": "call"}, "note_type"),
        ({"content": "x", "type": "text", "reply_to_message_id": "abc"}, "reply_to_message_id"),
        ({"content": "x", "type": "text", "reply_to_message_id": 999999}, "reply_to_message_id"),
        ({"content": "x", "type": "text", "tags": "VIP"}, "tags"),
        # a number was coerced to a string (schemathesis)
        ({"content": 5, "type": "text"}, "content"),
        ({"content": "x", "type": "text", "tags": [1]}, "tags"),
    ],
)
def test_add_message_validation(api_client, conversation, payload, field):
    response = api_client.post(messages_url(conversation), payload)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"].split(".")[0] == field
    assert not Message.objects.exists()


def test_malformed_json_is_400(api_client, conversation):
    response = api_client.generic(
        "POST", messages_url(conversation), "{not json", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "parse_error"


def test_reply_to_must_be_in_the_same_conversation(
    api_client, conversation, make_contact, other_client
):
    first = api_client.post(messages_url(conversation), {"content": "first", "type": "text"}).json()
    reply = api_client.post(
        messages_url(conversation),
        {"content": "re", "type": "text", "reply_to_message_id": first["message_id"]},
    )
    assert reply.status_code == 201
    assert Message.objects.get(pk=reply.json()["message_id"]).reply_to_id == first["message_id"]

    elsewhere = services.conversation_create(
        workspace=api_client.workspace,
        actor=SYSTEM,
        contact_id=make_contact().pk,
        integration=conversation.integration,
    )
    response = api_client.post(
        messages_url(elsewhere),
        {"content": "x", "type": "text", "reply_to_message_id": first["message_id"]},
    )
    assert (
        response.status_code == 400
        and response.json()["errors"][0]["field"] == "reply_to_message_id"
    )

    # a message of another workspace is not a reply target either
    their_integration = services.integration_create(
        workspace=other_client.workspace, actor=SYSTEM, name="t"
    )
    from contacts.services import contact_create

    their_contact = contact_create(workspace=other_client.workspace, actor=SYSTEM, name="T")
    theirs = services.conversation_create(
        workspace=other_client.workspace,
        actor=SYSTEM,
        contact_id=their_contact.pk,
        integration=their_integration,
    )
    their_message = services.message_add(
        workspace=other_client.workspace, conversation=theirs, actor=SYSTEM, content="x", type="text"
    )
    response = api_client.post(
        messages_url(conversation),
        {"content": "x", "type": "text", "reply_to_message_id": their_message.pk},
    )
    assert (
        response.status_code == 400
        and response.json()["errors"][0]["field"] == "reply_to_message_id"
    )


def test_inactive_integration_accepts_only_notes(api_client, conversation):
    services.integration_update(
        workspace=api_client.workspace,
        integration=conversation.integration,
        actor=SYSTEM, changes={"active": False}
    )
    assert (
        api_client.post(messages_url(conversation), {"content": "x", "type": "text"}).status_code
        == 400
    )
    assert (
        api_client.post(messages_url(conversation), {"content": "x", "type": "note"}).status_code
        == 201
    )


def _seed_messages(conversation, count):
    base = timezone.now() - timedelta(hours=1)
    created = []
    for i in range(count):
        message = services.message_add(
            workspace=conversation.workspace,
            conversation=conversation,
            actor=SYSTEM,
            content=f"m{i}",
            type="note" if i % 3 == 0 else "text",
            tags=["t1", "t2"] if i % 2 else [],
        )
        Message.objects.filter(pk=message.pk).update(created_at=base + timedelta(seconds=i))
        created.append(message.pk)
    return created


def test_list_messages_newest_first_with_cursor(api_client, conversation):
    ids = _seed_messages(conversation, 7)
    seen, cursor = [], None
    for _ in range(5):
        query = "?limit=3" + (f"&cursor={cursor}" if cursor else "")
        body = api_client.get(messages_url(conversation) + query).json()
        assert set(body["paginationInfo"]) == {"limit", "nextCursor", "hasNextPage"}
        seen += [m["id"] for m in body["data"]]
        cursor = body["paginationInfo"]["nextCursor"]
        if not cursor:
            break
    assert seen == list(reversed(ids))
    first = api_client.get(messages_url(conversation)).json()["data"][0]
    assert (
        first["content"] == "m6"
        and first["tags"] == []
        and first["conversation_id"] == conversation.pk
    )
    assert api_client.get(messages_url(conversation) + "?cursor=bogus").status_code == 400


def test_list_messages_filters(api_client, conversation):
    _seed_messages(conversation, 6)
    notes = api_client.get(messages_url(conversation) + "?type=note").json()["data"]
    assert [m["content"] for m in notes] == ["m3", "m0"] and all(
        m["status"] == "internal" for m in notes
    )
    pending = api_client.get(messages_url(conversation) + "?status=pending&type=text").json()[
        "data"
    ]
    assert [m["content"] for m in pending] == ["m5", "m4", "m2", "m1"]
    assert api_client.get(messages_url(conversation) + "?type=fax").status_code == 400
    assert api_client.get(messages_url(conversation) + "?status=lost").status_code == 400


def test_list_messages_constant_queries(api_client, conversation, django_assert_num_queries):
    _seed_messages(conversation, 1)
    with django_assert_num_queries(4):  # auth, conversation, page, tags of the page
        assert len(api_client.get(messages_url(conversation)).json()["data"]) == 1
    _seed_messages(conversation, 20)
    with django_assert_num_queries(4):
        data = api_client.get(messages_url(conversation) + "?limit=50").json()["data"]
    assert len(data) == 21 and any(m["tags"] == ["t1", "t2"] for m in data)


def test_get_message(api_client, conversation):
    message = services.message_add(
        workspace=api_client.workspace,
        conversation=conversation,
        actor=SYSTEM,
        content="x",
        type="text",
        tags=["a"],
    )
    body = api_client.get(f"/v1/crm/messages/{message.pk}").json()
    assert body["id"] == body["message_id"] == message.pk and body["tags"] == ["a"]
    assert body["status"] == "pending" and body["integration_id"] == conversation.integration_id
    assert api_client.get("/v1/crm/messages/999999").status_code == 404


def test_tenancy_on_every_conversation_and_message_route(api_client, other_client, conversation):
    message = services.message_add(
        workspace=api_client.workspace,
        conversation=conversation,
        actor=SYSTEM,
        content="secret",
        type="text",
    )
    assert_tenant_isolated(
        other_client,
        list_url=URL,
        detail_urls=[f"{URL}/{conversation.pk}"],
        hidden_ids=[conversation.pk],
        methods=("get", "patch"),
        actions=[
            ("get", messages_url(conversation)),
            ("post", messages_url(conversation)),
            ("get", f"/v1/crm/messages/{message.pk}"),
        ],
        payload={"content": "x", "type": "text", "status": "closed"},
    )
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.messages.count() == 1


def test_member_can_use_conversations(member_client, contact, console_integration):
    response = member_client.post(
        URL, {"contact_id": contact.pk, "integration_id": console_integration.pk}
    )
    assert response.status_code == 201
    assert (
        member_client.post(
            f"{URL}/{response.json()['id']}/messages", {"content": "x", "type": "text"}
        ).status_code
        == 201
    )


def test_anonymous_is_401(anon_client, conversation):
    for url in (URL, messages_url(conversation), "/v1/crm/integrations"):
        assert anon_client.get(url).status_code == 401


def test_add_message_queries_do_not_grow_with_tags(api_client, conversation):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = messages_url(conversation)
    with CaptureQueriesContext(connection) as one:
        assert (
            api_client.post(url, {"content": "x", "type": "text", "tags": ["a"]}).status_code == 201
        )
    with CaptureQueriesContext(connection) as many:
        tags = [f"t{i}" for i in range(30)]
        assert (
            api_client.post(url, {"content": "x", "type": "text", "tags": tags}).status_code == 201
        )
    assert len(many) == len(one)
