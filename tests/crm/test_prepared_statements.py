"""Only the lookups by a unique key are prepared statements on PostgreSQL
(crm.db.prepared_statement): a filtered list must be planned with its values
every time, never by a generic plan that treats a rare tag like a common one."""
import pytest
from django.db import connection

from contacts.models import Contact

URL = "/v1/crm/contacts"

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's prepared statements")


def prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def test_lookups_by_key_are_prepared_and_lists_are_not(api_client, workspace):
    contact = Contact.objects.create(workspace=workspace, name="Ada")
    Contact.objects.create(workspace=workspace, name="Adam")  # a page of two: the many-ids row query
    api_client.post("/v1/crm/tags", {"tag": "vip", "type": "client"}, format="json")
    for _ in range(8):  # past PostgreSQL's five custom plans, and psycopg's old threshold of five
        assert api_client.get(f"{URL}/{contact.pk}").status_code == 200
        assert api_client.get(URL, {"search": "ad"}).json()["paginationInfo"]["totalRecords"] == 2
        assert api_client.get(URL, {"tags": "vip"}).status_code == 200
    statements = prepared()
    assert any("crm_apitoken" in s for s in statements), "the token lookup is prepared"
    assert any('"contacts_contact"."id" = $' in s for s in statements), "the contact row query is prepared"
    lookups = ("crm_apitoken", '"contacts_contact"."id" = $', '"contacts_contact"."id" = ANY($')
    others = [s for s in statements if not any(lookup in s for lookup in lookups)]
    assert not others, f"only lookups by a unique key may be prepared, not: {others}"
    assert connection.connection.prepare_threshold is None
