"""No N+1: list, retrieve, multi-get, bulk update and upsert run the same
number of queries for 1 and for 50 rows (the auth is 1 of them). On
PostgreSQL each row's tags and sub-owner ids come with the row query."""
import pytest
from django.db import connection

from contacts import services
from contacts.models import Contact, ContactTag
from tags.models import Tag
from tests.factories import MembershipFactory, UserFactory, actor_of

URL = "/v1/crm/contacts"

# The counts below are PostgreSQL's (SQLite, the quickstart's database, reads
# tags and sub-owners with one more query each: still constant).
pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL query plan")


@pytest.fixture
def build(api_client, member, dropdown_field):
    ws, user = api_client.workspace, api_client.user
    org = services.contact_create(workspace=ws, actor=actor_of(ws, user), name="Org", type="organization")

    def make(n):
        tags = Tag.objects.bulk_create([Tag(workspace=ws, tag=f"t{n}-{i}", type=Tag.Type.CLIENT) for i in range(2)])
        rows = Contact.objects.bulk_create([
            Contact(workspace=ws, name=f"c{n}-{i}", owner=user, label_id=org.label_id, organization=org,
                    custom_fields={dropdown_field.code: "V1"})
            for i in range(n)
        ])
        ContactTag.objects.bulk_create([ContactTag(contact=c, tag=t) for c in rows for t in tags])
        Contact.sub_owners.through.objects.bulk_create(
            [Contact.sub_owners.through(contact=c, user=member) for c in rows]
        )
        return [c.id for c in rows]

    return make


# auth, count, page ids, page rows (with tags, sub-owner ids, owner),
# sub-owners' details, persons of the organizations, custom field definitions
LIST_QUERIES = 7


@pytest.mark.parametrize("n", [1, 50])
def test_list(api_client, build, django_assert_num_queries, n):
    build(n)
    with django_assert_num_queries(LIST_QUERIES):
        body = api_client.get(f"{URL}?limit=100").json()
    assert len(body["data"]) == n + 1
    assert all(item["owner_details"] and len(item["tags"]) == 2 for item in body["data"][:n])


@pytest.mark.parametrize("n", [1, 50])
def test_list_by_company_namespace_with_creator_and_editor(api_client, build, django_assert_num_queries, n):
    """Seed 004's fields are columns of the row: no query more to show or filter them."""
    ids = build(n)
    Contact.objects.filter(id__in=ids).update(company_namespace=["ns1"], media=["https://x.io/a.png"],
                                              creator={"id": 1, "name": "A", "email": "", "type": "admin"})
    # the organization is not in the namespace: no persons to load
    with django_assert_num_queries(LIST_QUERIES - 1):
        body = api_client.get(f"{URL}?limit=100&company_namespace=ns1").json()
    assert len(body["data"]) == n
    assert all(item["creator"]["type"] == "admin" and item["media"] == ["https://x.io/a.png"]
               for item in body["data"])


@pytest.mark.parametrize("n", [1, 50])
def test_list_as_member_and_cursor(member_client, build, django_assert_num_queries, n):
    build(n)
    # the page mode's queries: cursor mode counts too (the capped `count`, seed 000)
    with django_assert_num_queries(LIST_QUERIES):
        body = member_client.get(f"{URL}?limit=100&cursor=").json()
    assert len(body["data"]) == n + 1 and body["paginationInfo"]["count"] == n + 1


@pytest.mark.parametrize("n", [1, 50])
def test_retrieve_with_many_tags_and_sub_owners(api_client, make_contact, django_assert_num_queries, n):
    members = [UserFactory() for _ in range(n)]
    for user in members:
        MembershipFactory(workspace=api_client.workspace, user=user)
    contact = make_contact(name="x", tags=[f"t{i}" for i in range(n)], sub_owner_ids=[u.id for u in members])
    # auth, contact (with tags, sub-owner ids, owner, the custom field definitions), sub-owners' details
    with django_assert_num_queries(3):
        body = api_client.get(f"{URL}/{contact.id}").json()
    assert len(body["tags"]) == n and len(body["sub_owner_details"]) == n


@pytest.mark.parametrize("n", [1, 50])
def test_multiple(api_client, build, django_assert_num_queries, n):
    ids = build(n)
    # auth, contacts (with tags, sub-owner ids, owner), sub-owners' details, custom field definitions
    with django_assert_num_queries(4):
        body = api_client.post(f"{URL}/multiple", {"contact_ids": ids}, format="json").json()
    assert [c["id"] for c in body] == ids


@pytest.mark.parametrize("n", [1, 50])
def test_bulk_update(api_client, build, stage, django_assert_num_queries, n):
    ids = build(n)
    Tag.objects.create(workspace=api_client.workspace, tag="new", type=Tag.Type.CLIENT)
    # auth, savepoint, members, stage, the editable rows' old values (locked), UPDATE (which also checks
    # access), tags read, the contacts' old tag names, tag links INSERT, DELETE, the events INSERT, release
    with django_assert_num_queries(12):
        response = api_client.patch(URL, {
            "ids": ids, "owner_id": api_client.user.id, "stage_id": stage.id, "visibility_type": "team",
            "tags_add": ["new"], "tags_remove": [f"t{n}-0"],
        }, format="json")
    assert response.json() == {"updated": n}
    assert ContactTag.objects.filter(contact_id__in=ids, tag__tag="new").count() == n


@pytest.mark.parametrize("n", [1, 50])
def test_upsert_update_with_many_tags(api_client, make_contact, django_assert_num_queries, n):
    make_contact(name="x", external_client_id="ext", tags=["old"])
    values = [f"t{i}" for i in range(n)]
    Tag.objects.bulk_create([Tag(workspace=api_client.workspace, tag=v, type=Tag.Type.CLIENT) for v in values])
    # auth, 2 savepoints, locked read, tags read, the old tag names, savepoint + UPDATE + release,
    # tag links DELETE + INSERT, the event INSERT, releases, then the response's read (row and custom
    # field definitions)
    with django_assert_num_queries(13):
        response = api_client.put(f"{URL}/upsert", {"external_client_id": "ext", "tags": values}, format="json")
    assert response.status_code == 200
    assert len(response.json()["tags"]) == n


@pytest.mark.parametrize("n", [1, 50])
def test_upsert_create_with_many_tags_and_sub_owners(api_client, django_assert_num_queries, n):
    """The create path of the upsert: new tags are created and linked in bulk, sub-owners checked in one query."""
    members = [UserFactory() for _ in range(n)]
    for user in members:
        MembershipFactory(workspace=api_client.workspace, user=user)
    # auth, savepoint, locked lookup, members, default label, tags read, tags INSERT, the suppression
    # list (contacts.services.suppression), savepoint + contact INSERT + release, tag links INSERT,
    # sub-owner links INSERT, the event INSERT, release, then the response's read (row with the custom
    # field definitions, sub-owners' details)
    body = {"external_client_id": "new", "tags": [f"t{i}" for i in range(n)], "sub_owner_ids": [u.id for u in members]}
    with django_assert_num_queries(17):
        response = api_client.put(f"{URL}/upsert", body, format="json")
    assert response.status_code == 201, response.content
    assert len(response.json()["tags"]) == n and len(response.json()["sub_owner_details"]) == n
