"""`?search=` reads contacts_contactsearch, which database triggers keep
(migration 0008): every way a contact is written must leave it in step, and
a bulk update, which never changes the searchable text, must not write it at
all (that is what the table is for)."""
import pytest
from django.db import connection

from tests.factories import actor_of
from contacts.services import contacts_bulk_upsert
from contacts.models import Contact
from labels.models import ContactLabel
from labels.services import label_get_default

URL = "/v1/crm/contacts"

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL triggers")

OUT_OF_STEP = """
    SELECT count(*) FROM contacts_contact c
    FULL JOIN contacts_contactsearch s ON s.contact_id = c.id
    WHERE c.id IS NULL OR s.contact_id IS NULL
       OR s.document IS DISTINCT FROM contacts_search_document(c.name, c.surname, c.email, c.phone, c.code)
"""


def out_of_step() -> int:
    with connection.cursor() as cursor:
        cursor.execute(OUT_OF_STEP)
        return cursor.fetchone()[0]


def found(client, text):
    return [c["id"] for c in client.get(URL, {"search": text}).json()["data"]]


def test_every_write_keeps_the_search_table_in_step(api_client, workspace, admin_user):
    ada = api_client.post(URL, {"name": "Ada", "surname": "Byron", "email": "ada@example.com"}, format="json").json()
    assert out_of_step() == 0 and found(api_client, "byron") == [ada["id"]]

    api_client.patch(f"{URL}/{ada['id']}", {"surname": "Lovelace"}, format="json")
    assert out_of_step() == 0
    assert found(api_client, "byron") == [] and found(api_client, "lovelace") == [ada["id"]]

    api_client.put(f"{URL}/{ada['id']}", {"name": "Augusta", "code": "AAL-1"}, format="json")
    assert out_of_step() == 0 and found(api_client, "aal-1") == [ada["id"]] and found(api_client, "lovelace") == []

    bob = api_client.put(f"{URL}/upsert", {"external_client_id": "b-1", "name": "Bob"}, format="json").json()
    api_client.put(f"{URL}/upsert", {"external_client_id": "b-1", "name": "Robert"}, format="json")
    assert out_of_step() == 0 and found(api_client, "robert") == [bob["id"]]

    # the import writer: INSERT ... ON CONFLICT, new rows and updated ones in one statement
    contacts_bulk_upsert(
        workspace=workspace, actor=actor_of(workspace, admin_user), fields=["name", "phone"],
        rows=[{"external_client_id": "b-1", "name": "Rob", "phone": "+14155550111"},
              *({"external_client_id": f"n-{i}", "name": f"Imported{i}"} for i in range(3))],
        tags=[None] * 4, defaults={"label_id": label_get_default(workspace=workspace).pk, "owner_id": admin_user.pk},
    )
    assert out_of_step() == 0 and found(api_client, "4155550111") == [bob["id"]]
    assert len(found(api_client, "imported")) == 3

    # writes that bypass the services: the ORM's update() and delete(), raw SQL
    Contact.objects.filter(name__startswith="Imported").update(surname="Bulk")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE contacts_contact SET email = 'raw@example.com' WHERE id = %s", [ada["id"]])
    assert out_of_step() == 0 and found(api_client, "raw@") == [ada["id"]]
    Contact.objects.filter(name="Imported0").delete()
    assert out_of_step() == 0 and len(found(api_client, "bulk")) == 2

    assert api_client.delete(f"{URL}/{bob['id']}?permanent=true").status_code == 204
    assert out_of_step() == 0

    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's deferred foreign keys would block TRUNCATE
        cursor.execute("TRUNCATE contacts_contact CASCADE")
        cursor.execute("SELECT count(*) FROM contacts_contactsearch")
        assert cursor.fetchone()[0] == 0


def test_bulk_update_does_not_write_the_search_table(api_client, workspace):
    ids = [api_client.post(URL, {"name": f"C{i}"}, format="json").json()["id"] for i in range(5)]
    label = ContactLabel.objects.create(workspace=workspace, name="Moved")

    def versions():  # xmin: the transaction that last wrote each row
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT contact_id, xmin::text FROM contacts_contactsearch WHERE contact_id = ANY(%s)", [ids]
            )
            return dict(cursor.fetchall())

    before = versions()
    response = api_client.patch(URL, {"ids": ids, "label_id": label.pk, "tags_add": ["x"]}, format="json")
    assert response.json() == {"updated": 5}
    assert versions() == before and len(before) == 5
    # a write that changes no searchable text leaves it alone too
    api_client.patch(f"{URL}/{ids[0]}", {"city": "Lyon"}, format="json")
    assert versions() == before
    api_client.patch(f"{URL}/{ids[0]}", {"name": "Renamed"}, format="json")
    assert versions()[ids[0]] != before[ids[0]] and out_of_step() == 0
