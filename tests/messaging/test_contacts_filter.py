"""GET /v1/crm/contacts?conversation_id=: the contact of that conversation."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import services
from tests.factories import SYSTEM

URL = "/v1/crm/contacts"


def ids(client, query=""):
    response = client.get(f"{URL}{query}")
    assert response.status_code == 200, response.content
    return [c["id"] for c in response.json()["data"]]


def test_conversation_id_filter(api_client, other_client, make_contact, console_integration):
    ws = api_client.workspace
    ada, grace, _alan = (
        make_contact(name="Ada"),
        make_contact(name="Grace"),
        make_contact(name="Alan"),
    )
    old = services.conversation_create(
        workspace=ws, actor=SYSTEM, contact_id=ada.pk, integration=console_integration
    )
    services.conversation_update(workspace=ws, conversation=old, actor=SYSTEM, status="closed")
    current = services.conversation_create(
        workspace=ws, actor=SYSTEM, contact_id=ada.pk, integration=console_integration
    )
    second = services.integration_create(workspace=ws, actor=SYSTEM, name="second")
    other = services.conversation_create(workspace=ws, actor=SYSTEM, contact_id=ada.pk, integration=second)
    graces = services.conversation_create(
        workspace=ws, actor=SYSTEM, contact_id=grace.pk, integration=console_integration
    )

    # Ada has three conversations: each id finds her once, never duplicated
    assert ids(api_client, f"?conversation_id={current.pk}") == [ada.pk]
    assert ids(api_client, f"?conversation_id={old.pk}") == [ada.pk]
    assert ids(api_client, f"?conversationId={old.pk}") == [ada.pk]
    assert ids(api_client, f"?conversation_id={other.pk}") == [ada.pk]
    assert ids(api_client, f"?conversation_id={graces.pk}") == [grace.pk]
    assert ids(api_client, "?conversation_id=999999") == []
    assert api_client.get(f"{URL}?conversation_id=abc").status_code == 400
    # combinable with the other filters
    assert ids(api_client, f"?conversation_id={graces.pk}&name=Ada") == []
    # another workspace's token never finds our contact through our conversation
    assert ids(other_client, f"?conversation_id={current.pk}") == []


def test_conversation_id_filter_keeps_query_count(api_client, make_contact, console_integration):
    contacts = [make_contact(name=f"c{i}") for i in range(5)]
    conversation = services.conversation_create(
        workspace=api_client.workspace,
        actor=SYSTEM,
        contact_id=contacts[0].pk,
        integration=console_integration,
    )
    with CaptureQueriesContext(connection) as unfiltered:
        assert len(ids(api_client)) == 5
    with CaptureQueriesContext(connection) as filtered:
        assert ids(api_client, f"?conversation_id={conversation.pk}") == [contacts[0].pk]
    assert len(filtered) == len(unfiltered)
    assert any("messaging_conversation" in q["sql"] for q in filtered.captured_queries)
