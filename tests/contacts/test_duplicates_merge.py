"""Duplicates (GET /contacts/{id}/duplicates, GET /contacts/duplicates, the
trigger-kept contacts_duplicatekey) and merges (POST /contacts/{id}/merge)."""
import threading

import pytest
from django.db import connection

from contacts import services
from contacts.models import Contact, ContactTag
from events.models import Event
from messaging.models import Conversation
from tests.factories import SYSTEM
from tests.messaging.factories import ConversationFactory, IntegrationFactory, MessageFactory

URL = "/v1/crm/contacts"


def duplicate_keys(workspace):
    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, value, contacts FROM contacts_duplicatekey WHERE workspace_id = %s AND contacts > 0 "
                       "ORDER BY kind, value", [workspace.pk])
        return cursor.fetchall()


def recount(workspace):
    """What the triggers should have kept, counted from the contacts."""
    counts = {}
    for c in Contact.objects.filter(workspace=workspace, deleted_at__isnull=True):
        for kind, value in (("email", c.email), ("phone", c.phone),
                            ("external_id", (c.external_client_id or "").strip().lower())):
            if value:
                counts[(kind, value)] = counts.get((kind, value), 0) + 1
    return sorted((k, v, n) for (k, v), n in counts.items())


def test_the_key_table_follows_every_write_path(api_client, make_contact):
    workspace = api_client.workspace
    a = make_contact(name="A", email="dup@example.com", phone="+14155552671", external_client_id="Ext-1")
    make_contact(name="B", email="dup@example.com")
    # the import's writer (COPY + INSERT ... ON CONFLICT) and the batch's update by id
    response = api_client.post(f"{URL}/batch", {"action": "upsert", "items": [
        {"external_client_id": "ext-1 ", "phone": "+14155552671"}, {"external_client_id": "Ext-1", "email": "x@example.com"},
    ]}, format="json")
    assert response.status_code == 200, response.content
    assert duplicate_keys(workspace) == recount(workspace)
    api_client.patch(f"{URL}/{a.pk}", {"email": "other@example.com"}, format="json")
    api_client.delete(f"{URL}/{a.pk}")
    assert duplicate_keys(workspace) == recount(workspace)
    api_client.post(f"{URL}/{a.pk}/restore")
    api_client.delete(f"{URL}/{a.pk}?permanent=true")
    assert duplicate_keys(workspace) == recount(workspace)


def test_duplicates_of_a_contact(api_client, make_contact, member_client):
    me = make_contact(name="Me", email="me@example.com", phone="+14155552671", external_client_id="ABC")
    same_email = make_contact(name="E", email="ME@example.com")
    same_phone = make_contact(name="P", phone="(415) 555-2671")
    same_ext = make_contact(name="X", external_client_id="abc")
    both = make_contact(name="Both", email="me@example.com", phone="+14155552671")
    hidden = make_contact(name="H", email="me@example.com", visibility_type="private")
    archived = make_contact(name="Old", email="me@example.com")
    services.contact_archive(workspace=api_client.workspace, actor=SYSTEM, contact_id=archived.pk)
    make_contact(name="Other", email="else@example.com")

    response = api_client.get(f"{URL}/{me.pk}/duplicates")
    assert response.status_code == 200
    found = {row["id"]: row["reasons"] for row in response.json()["data"]}
    assert found == {same_email.pk: ["email"], same_phone.pk: ["phone"], same_ext.pk: ["external_client_id"],
                     both.pk: ["email", "phone"], hidden.pk: ["email"]}
    # a member does not see the private one
    response = member_client.get(f"{URL}/{me.pk}/duplicates")
    assert hidden.pk not in {row["id"] for row in response.json()["data"]}
    assert member_client.get(f"{URL}/{hidden.pk}/duplicates").status_code == 404
    assert api_client.get(f"{URL}/999999999/duplicates").status_code == 404


def test_duplicate_groups_by_cursor(api_client, make_contact, member_client, other_client, django_assert_num_queries):
    for i in range(5):
        make_contact(name=f"A{i}", email=f"g{i}@example.com")
        make_contact(name=f"B{i}", email=f"g{i}@example.com")
    make_contact(name="P1", phone="+14155552671")
    make_contact(name="P2", phone="+14155552671", visibility_type="private")
    make_contact(name="Single", email="single@example.com")
    seen, cursor = [], ""
    while True:
        with django_assert_num_queries(3):  # the token, the page of keys, their contacts
            response = api_client.get(f"{URL}/duplicates", {"limit": 2, "cursor": cursor})
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [(g["reason"], g["value"], len(g["contacts"])) for g in body["data"]]
        if not body["paginationInfo"]["hasNextPage"]:
            break
        cursor = body["paginationInfo"]["nextCursor"]
    assert seen == [("email", f"g{i}@example.com", 2) for i in range(5)] + [("phone", "+14155552671", 2)]
    # a member: the phone group has one contact they may see, so it is no group for them
    groups = member_client.get(f"{URL}/duplicates", {"limit": 100}).json()["data"]
    assert [g["reason"] for g in groups] == ["email"] * 5
    assert other_client.get(f"{URL}/duplicates").json()["data"] == []
    for bad in ({"cursor": "!!"}, {"cursor": "WzFd"}, {"limit": 0}, {"limit": 101}, {"limit": "x"}):
        response = api_client.get(f"{URL}/duplicates", bad)
        assert response.status_code == 400, bad


@pytest.fixture
def pair(make_contact, api_client):
    from tags.models import Tag

    primary = make_contact(name="Ann", email="ann@example.com", tags=["a"], city="", title="Boss")
    other = make_contact(name="Annie", email="ann@example.com", phone="+14155552671", city="Lyon", title="CEO",
                         tags=["b"], external_client_id="crm-7")
    newer = make_contact(name="A.", city="Paris", sub_owner_ids=[api_client.user.pk])
    return primary, other, newer


def test_merge(api_client, pair):
    primary, other, newer = pair
    integration = IntegrationFactory(workspace=api_client.workspace)
    conversation = ConversationFactory(workspace=api_client.workspace, contact=other, integration=integration)
    MessageFactory(conversation=conversation)
    open_primary = ConversationFactory(workspace=api_client.workspace, contact=primary, integration=integration)
    response = api_client.post(f"{URL}/{primary.pk}/merge", {"ids": [other.pk, newer.pk],
                                                             "prefer": {"title": other.pk}}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    contact = body["contact"]
    # empty fields filled, most recently updated first (newer's city); prefer wins over the primary's title
    assert (contact["name"], contact["city"], contact["phone"], contact["title"]) == ("Ann", "Paris", "+14155552671", "CEO")
    assert contact["external_client_id"] == "crm-7" and sorted(contact["tags"]) == ["a", "b"]
    assert contact["sub_owner_ids"] == [api_client.user.pk]
    assert body["moved"]["conversations"] == [conversation.pk] and body["moved"]["messages"] == 1
    for merged in (other, newer):
        merged.refresh_from_db()
        assert merged.deleted_at is not None and merged.merged_into_id == primary.pk
    assert other.external_client_id is None
    conversation.refresh_from_db()
    assert conversation.contact_id == primary.pk and conversation.status == "closed"  # the primary had one open
    assert Conversation.objects.get(pk=open_primary.pk).status == "open"
    # GET of a merged contact says where it went; both histories show the merge
    assert api_client.get(f"{URL}/{other.pk}").json()["merged_into_id"] == primary.pk
    assert Event.objects.filter(type="contact.merged", subject_id=primary.pk).count() == 1
    history = api_client.get(f"{URL}/{other.pk}/history").json()["data"]
    assert any(e["type"] == "contact.archived" for e in history)
    # merging again: 409
    response = api_client.post(f"{URL}/{primary.pk}/merge", {"ids": [other.pk]}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "already_merged"


def test_dry_run_writes_nothing(api_client, pair):
    primary, other, newer = pair
    before = Event.objects.count()
    response = api_client.post(f"{URL}/{primary.pk}/merge", {"ids": [other.pk], "dry_run": True}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["dry_run"] is True and body["contact"]["phone"] == "+14155552671"
    assert body["moved"]["tags"] == ["b"]
    primary.refresh_from_db()
    other.refresh_from_db()
    assert primary.phone == "" and primary.version == 1
    assert other.deleted_at is None and other.merged_into_id is None
    assert Event.objects.count() == before
    assert sorted(ContactTag.objects.filter(contact=primary).values_list("tag__tag", flat=True)) == ["a"]


@pytest.mark.parametrize("body, status, code", [
    ({"ids": ["self"]}, 400, "self_merge"),
    ({"ids": []}, 400, None),
    ({"ids": list(range(1, 11))}, 400, None),
    ({"ids": [999999999]}, 404, "not_found"),
    ({"ids": ["other"], "prefer": {"type": "other"}}, 400, None),
    ({"ids": ["other"], "prefer": {"title": 999999}}, 400, None),
    ({"ids": ["other"], "extra": 1}, 400, "unknown_field"),
    ({"ids": ["other"], "dry_run": "yes"}, 400, None),
])
def test_bad_merges(api_client, pair, body, status, code):
    primary, other, _ = pair
    body = {**body, "ids": [primary.pk if i == "self" else other.pk if i == "other" else i for i in body["ids"]]}
    if "prefer" in body:
        body["prefer"] = {k: other.pk if v == "other" else v for k, v in body["prefer"].items()}
    response = api_client.post(f"{URL}/{primary.pk}/merge", body, format="json")
    assert response.status_code == status, response.content
    if code:
        assert response.json()["code"] == code
    other.refresh_from_db()
    assert other.merged_into_id is None and other.deleted_at is None


def test_member_may_not_merge_what_they_cannot_edit(member_client, make_contact, other_client):
    mine = make_contact(name="Mine", visibility_type="public")
    team = make_contact(name="Team", visibility_type="team")
    private = make_contact(name="Private", visibility_type="private")
    assert member_client.post(f"{URL}/{mine.pk}/merge", {"ids": [team.pk]}, format="json").status_code == 403
    assert member_client.post(f"{URL}/{mine.pk}/merge", {"ids": [private.pk]}, format="json").status_code == 404
    foreign = Contact.objects.create(workspace=other_client.workspace, name="F")
    assert member_client.post(f"{URL}/{mine.pk}/merge", {"ids": [foreign.pk]}, format="json").status_code == 404
    team.refresh_from_db()
    assert team.deleted_at is None


@pytest.mark.django_db(transaction=True)
def test_crossed_merges_do_not_deadlock(workspace):
    """Two merges naming the same contacts in opposite orders: rows are
    locked in id order, so one waits for the other instead of deadlocking."""
    a, b, c = (services.contact_create(workspace=workspace, actor=SYSTEM, name=n) for n in "abc")
    outcomes, barrier = [], threading.Barrier(2)

    def merge(primary, ids):
        from django.db import connections

        try:
            barrier.wait()
            services.contact_merge(workspace=workspace, actor=SYSTEM, contact_id=primary, ids=ids)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - recorded and asserted below
            outcomes.append(getattr(exc, "code", type(exc).__name__))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=merge, args=(a.pk, [c.pk, b.pk])),
               threading.Thread(target=merge, args=(c.pk, [b.pk, a.pk]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) in (["already_merged", "ok"], ["archived", "ok"]), outcomes
