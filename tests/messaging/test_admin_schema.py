"""The Django admin for the three models, and the OpenAPI schema."""

import pytest
from django.core.management import call_command

from messaging import services
from tests.factories import SYSTEM, UserFactory


@pytest.fixture
def admin_site_client(client, db):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def messages(conversation):
    add = lambda content, type="text": services.message_add(
        workspace=conversation.workspace,
        conversation=conversation,
        actor=SYSTEM,
        content=content,
        type=type,
    )
    return add("refund requested by client"), add("internal follow-up", "note"), add("hello there")


def _listed(response, *messages):
    html = response.content.decode()
    return [f"/admin/messaging/message/{m.pk}/change/" in html for m in messages]


def test_message_admin_search_and_filters(admin_site_client, messages):
    refund = messages[0]
    response = admin_site_client.get("/admin/messaging/message/")
    assert response.status_code == 200 and _listed(response, *messages) == [True, True, True]
    assert _listed(admin_site_client.get("/admin/messaging/message/?q=refund"), *messages) == [
        True,
        False,
        False,
    ]
    assert _listed(
        admin_site_client.get("/admin/messaging/message/?status__exact=internal"), *messages
    ) == [
        False,
        True,
        False,
    ]
    assert _listed(
        admin_site_client.get("/admin/messaging/message/?type__exact=text"), *messages
    ) == [
        True,
        False,
        True,
    ]
    assert admin_site_client.get(f"/admin/messaging/message/{refund.pk}/change/").status_code == 200


def test_conversation_admin(admin_site_client, conversation):
    assert admin_site_client.get("/admin/messaging/conversation/").status_code == 200
    assert (
        admin_site_client.get("/admin/messaging/conversation/?status__exact=open").status_code
        == 200
    )
    assert (
        admin_site_client.get(
            f"/admin/messaging/conversation/{conversation.pk}/change/"
        ).status_code
        == 200
    )


def test_integration_admin_never_shows_the_secret(admin_site_client, webhook_integration):
    from .conftest import SECRET

    assert (
        admin_site_client.get("/admin/messaging/integration/?provider__exact=webhook").status_code
        == 200
    )
    change = admin_site_client.get(f"/admin/messaging/integration/{webhook_integration.pk}/change/")
    assert change.status_code == 200 and SECRET not in change.content.decode()
    # saving with the secret left empty keeps it
    response = admin_site_client.post(
        f"/admin/messaging/integration/{webhook_integration.pk}/change/",
        {
            "workspace": webhook_integration.workspace_id,
            "name": "Renamed",
            "provider": "webhook",
            "config": '{"url": "https://example.com/h", "timeout": 5}',
            "secret": "",
            "active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    webhook_integration.refresh_from_db()
    assert webhook_integration.name == "Renamed" and webhook_integration.secret == SECRET


def test_every_messaging_endpoint_is_in_the_schema(tmp_path, db):
    import yaml

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    paths = yaml.safe_load(out.read_text())["paths"]
    expected = {
        "/v1/crm/integrations": {"get", "post"},
        "/v1/crm/integrations/{id}": {"get", "patch", "delete"},
        "/v1/crm/integrations/{id}/status": {"post"},
        "/v1/crm/conversations": {"get", "post"},
        "/v1/crm/conversations/{id}": {"get", "patch"},
        "/v1/crm/conversations/{conversation_id}/messages": {"get", "post"},
        "/v1/crm/messages/{id}": {"get"},
        "/v1/crm/notifications": {"post"},
    }
    for path, methods in expected.items():
        assert set(paths[path]) >= methods, path
    status_op = paths["/v1/crm/integrations/{id}/status"]["post"]
    assert status_op["security"] == [{"IntegrationSignature": []}]
    assert status_op["operationId"] == "integrations_status_report"
    add_op = paths["/v1/crm/conversations/{conversation_id}/messages"]["post"]
    assert add_op["operationId"] == "conversation_messages_add" and "201" in add_op["responses"]
    list_params = {
        p["name"]
        for p in paths["/v1/crm/conversations/{conversation_id}/messages"]["get"]["parameters"]
    }
    assert {"cursor", "limit", "type", "status"} <= list_params and "page" not in list_params
    conv_params = {p["name"] for p in paths["/v1/crm/conversations"]["get"]["parameters"]}
    assert {"contact_id", "integration_id", "status"} <= conv_params
    assert (
        "secret"
        not in yaml.safe_load(out.read_text())["components"]["schemas"]["Integration"]["properties"]
    )
