"""POST /contacts/batch: create, upsert (match_on), update and archive with a
result per item; all_or_nothing; member visibility; events; constant query
count whatever the size."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact, ContactTag
from events.models import Event
from labels.models import ContactLabel

URL = "/v1/crm/contacts/batch"


def post(client, body):
    return client.post(URL, body, format="json")


def test_create_batch_results_in_input_order(api_client):
    response = post(api_client, {"action": "create", "items": [
        {"name": "Ann", "email": "ANN@Example.com", "phone": "+1 415 555 2671", "tags": ["vip"]},
        {"name": "Bad", "email": "not-an-email"},
        {"name": "Bob", "external_client_id": "b-1", "phone1": "+14155552672"},
    ]})
    assert response.status_code == 207, response.content
    body = response.json()
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert [r["status"] for r in body["results"]] == ["created", "error", "created"]
    assert body["results"][1]["errors"][0]["field"] == "email" and body["results"][1]["id"] is None
    assert (body["succeeded"], body["failed"]) == (2, 1)
    ann = Contact.objects.get(pk=body["results"][0]["id"])
    # the single write's rules: lower-cased email, E.164 phone, default label, the caller as owner
    assert (ann.email, ann.phone, ann.owner_id) == ("ann@example.com", "+14155552671", api_client.user.id)
    assert ann.label == ContactLabel.objects.get(workspace=api_client.workspace, name="No label")
    assert list(ann.tags.values_list("tag", flat=True)) == ["vip"]
    bob = Contact.objects.get(pk=body["results"][2]["id"])
    assert (bob.external_client_id, bob.phone) == ("b-1", "+14155552672")
    assert Contact.objects.filter(workspace=api_client.workspace).count() == 2
    created = Event.objects.filter(type="contact.created", subject_id__in=[ann.pk, bob.pk])
    assert created.count() == 2


def test_all_succeeded_is_200(api_client):
    response = post(api_client, {"action": "create", "items": [{"name": "A"}, {"name": "B"}]})
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["created", "created"]


def test_create_with_a_taken_external_id_is_an_item_error(api_client, make_contact):
    make_contact(name="Old", external_client_id="x-1")
    response = post(api_client, {"action": "create", "items": [
        {"name": "New", "external_client_id": "x-1"}, {"name": "Dup", "external_client_id": "x-2"},
        {"name": "Dup again", "external_client_id": "x-2"},
    ]})
    assert response.status_code == 207
    results = response.json()["results"]
    assert results[0]["errors"][0]["code"] == "external_client_id_taken"
    assert results[1]["status"] == "created" and results[2]["errors"][0]["code"] == "duplicate"
    assert Contact.objects.get(external_client_id="x-1").name == "Old"


def test_all_or_nothing_writes_nothing(api_client, make_contact):
    kept = make_contact(name="Kept", external_client_id="e-1")
    before = Contact.objects.count()
    response = post(api_client, {"action": "upsert", "all_or_nothing": True, "items": [
        {"external_client_id": "e-1", "name": "Changed"}, {"external_client_id": "e-2", "name": "New"},
        {"external_client_id": "e-3", "phone": "12"},
    ]})
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "batch_failed" and body["errors"][0]["field"] == "items.2.phone"
    assert [r["status"] for r in body["results"]] == ["not_written", "not_written", "error"]
    assert Contact.objects.count() == before
    kept.refresh_from_db()
    assert kept.name == "Kept" and kept.version == 1
    assert not Event.objects.filter(subject_id=kept.pk, type="contact.updated").exists()


def test_upsert_by_external_id_half_new_half_existing(api_client, make_contact):
    old = make_contact(name="Old", external_client_id="u-1", city="Paris")
    response = post(api_client, {"action": "upsert", "items": [
        {"external_client_id": "u-1", "name": "Renamed"}, {"external_client_id": "u-2", "name": "Fresh"},
    ]})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [(r["status"], r["id"] == old.pk) for r in results] == [("updated", True), ("created", False)]
    old.refresh_from_db()
    assert (old.name, old.city, old.version) == ("Renamed", "Paris", 2)
    event = Event.objects.get(subject_id=old.pk, type="contact.updated")
    assert event.payload["changes"]["name"] == {"old": "Old", "new": "Renamed"}


def test_upsert_match_on_email_and_phone(api_client, make_contact):
    by_email = make_contact(name="E", email="same@example.com")
    by_phone = make_contact(name="P", phone="+14155552671")
    response = post(api_client, {"action": "upsert", "match_on": ["email", "phone"], "items": [
        {"email": "SAME@example.com", "title": "CEO"},
        {"phone": "(415) 555-2671", "title": "CTO"},
        {"email": "new@example.com", "name": "New"},
    ]})
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["updated", "updated", "created"]
    assert [results[0]["id"], results[1]["id"]] == [by_email.pk, by_phone.pk]
    by_email.refresh_from_db()
    by_phone.refresh_from_db()
    assert (by_email.title, by_email.name, by_email.version) == ("CEO", "E", 2)
    assert by_phone.title == "CTO"
    changes = Event.objects.get(subject_id=by_email.pk, type="contact.updated").payload["changes"]
    assert changes == {"title": {"old": "", "new": "CEO"}}


def test_match_on_order_and_ambiguous_match(api_client, make_contact):
    a = make_contact(name="A", email="a@example.com", phone="+14155552671")
    b = make_contact(name="B", email="b@example.com", phone="+14155552672")
    make_contact(name="Twin 1", email="twin@example.com")
    make_contact(name="Twin 2", email="twin@example.com")
    make_contact(name="X", external_client_id="ext-x")
    response = post(api_client, {"action": "upsert", "match_on": ["email", "phone"], "items": [
        # email first: a, even though the phone is b's
        {"email": "a@example.com", "phone": "+14155552672", "title": "first"},
        {"email": "twin@example.com", "title": "which?"},
        # matches b by email, but its external id is X's
        {"email": "b@example.com", "external_client_id": "ext-x"},
    ]})
    assert response.status_code == 207
    results = response.json()["results"]
    assert results[0]["status"] == "updated" and results[0]["id"] == a.pk
    assert results[1]["errors"][0]["code"] == "ambiguous_match"
    assert results[2]["errors"][0]["code"] == "ambiguous_match"
    b.refresh_from_db()
    assert b.version == 1 and b.external_client_id is None
    assert not Contact.objects.filter(title="which?").exists()


def test_update_by_id_and_unknown_ids(api_client, make_contact, other_client):
    first, second = make_contact(name="One", tags=["a"]), make_contact(name="Two")
    foreign = Contact.objects.create(workspace=other_client.workspace, name="F")
    response = post(api_client, {"action": "update", "items": [
        {"id": first.pk, "name": "Uno", "tags": ["b"], "label_id": 0},
        {"id": foreign.pk, "name": "Stolen"},
        {"id": second.pk, "owner_id": 999999},
        {"name": "no id"},
    ]})
    assert response.status_code == 207, response.content
    results = response.json()["results"]
    assert results[0]["status"] == "updated"
    assert [r["errors"][0]["code"] for r in results[1:]] == ["not_found", "does_not_exist", "required"]
    first.refresh_from_db()
    assert first.name == "Uno" and first.version == 2
    assert list(ContactTag.objects.filter(contact=first).values_list("tag__tag", flat=True)) == ["b"]
    foreign.refresh_from_db()
    assert foreign.name == "F"


def test_archive_batch(api_client, make_contact):
    one, two = make_contact(name="1"), make_contact(name="2")
    response = post(api_client, {"action": "archive", "items": [{"id": one.pk}, {"id": two.pk}, {"id": 10**12}]})
    assert response.status_code == 207
    assert [r["status"] for r in response.json()["results"]] == ["archived", "archived", "error"]
    assert Contact.objects.filter(pk__in=[one.pk, two.pk], deleted_at__isnull=False).count() == 2
    assert Event.objects.filter(type="contact.archived", subject_id__in=[one.pk, two.pk]).count() == 2
    response = post(api_client, {"action": "archive", "items": [{"id": one.pk, "name": "x"}]})
    assert response.status_code == 400 and response.json()["code"] == "unknown_field"


def test_member_sees_and_edits_by_the_access_policy(api_client, member_client, make_contact, admin_user):
    hidden = make_contact(name="Hidden", visibility_type="private", email="h@example.com", external_client_id="h-1")
    read_only = make_contact(name="Team", visibility_type="team")
    response = post(member_client, {"action": "update", "items": [
        {"id": hidden.pk, "name": "x"}, {"id": read_only.pk, "name": "x"},
    ]})
    assert [r["errors"][0]["code"] for r in response.json()["results"]] == ["not_found", "permission_denied"]
    # a hidden contact does not match by email: the member's row creates a contact of their own
    response = post(member_client, {"action": "upsert", "match_on": ["email"], "items": [
        {"email": "h@example.com", "name": "Mine"}, {"external_client_id": "h-1", "name": "Take"},
    ]})
    results = response.json()["results"]
    assert results[0]["status"] == "created" and results[0]["id"] != hidden.pk
    assert results[1]["errors"][0]["code"] == "external_client_id_taken"
    hidden.refresh_from_db()
    assert hidden.name == "Hidden"
    response = post(member_client, {"action": "archive", "items": [{"id": hidden.pk}]})
    assert response.json()["results"][0]["errors"][0]["code"] == "not_found"


@pytest.mark.parametrize("body, field", [
    ({"action": "create", "items": [{"name": "A"}], "bogus": 1}, "bogus"),
    ({"action": "create", "items": [{"name": "A", "custom_field": []}]}, "items.0"),
    ({"action": "delete", "items": [{"id": 1}]}, "action"),
    ({"action": "create", "items": []}, "items"),
    ({"action": "create", "items": [{"name": "A"}] * 1001}, "items"),
    ({"action": "create", "items": "x"}, "items"),
    ({"action": "create", "items": [{"name": "A"}], "match_on": ["email"]}, "match_on"),
    ({"action": "upsert", "items": [{"name": "A"}], "match_on": ["name"]}, "match_on.0"),
    ({"action": "create", "items": [{"name": "A"}], "all_or_nothing": "yes"}, "all_or_nothing"),
])
def test_bad_requests_are_400_and_write_nothing(api_client, body, field):
    response = post(api_client, body)
    assert response.status_code == 400, response.content
    assert field in [e["field"] for e in response.json()["errors"]]
    assert not Contact.objects.filter(workspace=api_client.workspace).exists()


def test_wrong_types_in_items_are_item_errors(api_client):
    response = post(api_client, {"action": "create", "items": [
        {"name": 5}, {"label_id": "x"}, {"tags": "vip"}, {"name": "ok"},
    ]})
    assert response.status_code == 207
    assert [r["status"] for r in response.json()["results"]] == ["error"] * 3 + ["created"]


def test_a_nul_anywhere_is_a_400_of_the_parser(api_client):
    """The parser refuses a NUL in any string of any body (crm.parsers), before the items are read."""
    response = post(api_client, {"action": "create", "items": [{"name": "ok"}, {"name": "\x00"}]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "items.1.name"
    assert response.json()["code"] == "null_characters_not_allowed"
    assert not Contact.objects.filter(workspace=api_client.workspace).exists()


def test_malformed_json_is_400(api_client):
    response = api_client.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("action, match_on", [("upsert", None), ("upsert", ["email", "external_client_id"]),
                                              ("update", None), ("archive", None), ("create", None)])
def test_query_count_does_not_grow(api_client, django_assert_num_queries, action, match_on):
    """10 items and 500 cost the same queries (half new, half existing for upserts)."""
    response = post(api_client, {"action": "create", "items": [
        {"name": f"E{i}", "external_client_id": f"e-{i}", "email": f"e{i}@example.com", "tags": ["old"]}
        for i in range(520)]})
    assert response.status_code == 200
    existing = list(Contact.objects.filter(workspace=api_client.workspace).order_by("id"))

    def body(n, offset):
        chunk = existing[offset:offset + n]
        if action == "update":
            items = [{"id": c.pk, "city": "Nice", "tags": ["x"]} for c in chunk]
        elif action == "archive":
            items = [{"id": c.pk} for c in chunk]
        elif action == "create":
            items = [{"name": f"C{offset}-{i}", "email": f"c{offset}-{i}@example.com", "tags": ["t"]} for i in range(n)]
        else:
            key = "email" if match_on else "external_client_id"
            new = [{key: f"new{offset}-{i}@example.com", "name": f"N{i}", "tags": ["t1"]} for i in range(n // 2)]
            old = [{key: getattr(c, key), "city": "Lyon"} for c in chunk[: n - n // 2]]
            items = new + old
        return {"action": action, "items": items, **({"match_on": match_on} if match_on else {})}

    post(api_client, body(2, 515))  # warm-up: the session's temp tables, tags
    with CaptureQueriesContext(connection) as small:
        response = post(api_client, body(10, 0))
    assert response.status_code == 200, response.content[:500]
    with django_assert_num_queries(len(small)):
        response = post(api_client, body(500, 10))
    assert response.status_code == 200, response.content[:500]
    assert response.json()["succeeded"] == 500
