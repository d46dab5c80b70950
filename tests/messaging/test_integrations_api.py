import pytest

from messaging.models import Integration
from tests.tenancy import assert_tenant_isolated
from tests.factories import SYSTEM

URL = "/v1/crm/integrations"


def test_create_webhook_integration_secret_is_write_only(api_client):
    response = api_client.post(
        URL,
        {
            "name": "Shop webhook",
            "provider": "webhook",
            "config": {"url": "https://hooks.example.com/crm", "timeout": 5},
            "secret": "s3cr3t-value",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["provider"] == "webhook" and body["active"] is True
    assert body["config"] == {"url": "https://hooks.example.com/crm", "timeout": 5.0}
    assert body["has_secret"] is True and "secret" not in body
    assert body["status_url"] == f"/v1/crm/integrations/{body['id']}/status"
    stored = Integration.objects.get(pk=body["id"])
    assert stored.secret == "s3cr3t-value" and stored.workspace == api_client.workspace
    for fetched in (
        api_client.get(f"{URL}/{body['id']}").json(),
        api_client.get(URL).json()["data"][0],
    ):
        assert "secret" not in fetched and "s3cr3t-value" not in str(fetched)


def test_console_is_the_default(api_client):
    body = api_client.post(URL, {"name": "Console"}).json()
    assert body["provider"] == "console" and body["config"] == {} and body["has_secret"] is False


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "w", "provider": "webhook", "config": {"url": "https://x.example"}}, "secret"),
        ({"name": "w", "provider": "webhook", "config": {}, "secret": "k"}, "config.url"),
        (
            {
                "name": "w",
                "provider": "webhook",
                "config": {"url": "ftp://x.example"},
                "secret": "k",
            },
            "config.url",
        ),
        (
            {
                "name": "w",
                "provider": "webhook",
                "config": {"url": "https://x.example", "timeout": 0},
                "secret": "k",
            },
            "config.timeout",
        ),
        (
            {
                "name": "w",
                "provider": "webhook",
                "config": {"url": "https://x.example", "timeout": 99},
                "secret": "k",
            },
            "config.timeout",
        ),
        (
            {"name": "w", "provider": "console", "config": {"url": "https://x.example"}},
            "config.url",
        ),
        ({"name": "w", "provider": "sms"}, "provider"),
        ({"name": "w", "config": ["not", "an", "object"]}, "config"),
        ({"provider": "console"}, "name"),
        ({"name": "w", "provider": "console", "active": "false"}, "active"),
        ({"name": "w", "provider": "console", "active": 0}, "active"),
        ({"name": "w", "provider": "console", "config": {"a\x00": 1}}, "config"),  # jsonb: a 500
    ],
)
def test_invalid_integrations_are_400(api_client, payload, field):
    response = api_client.post(URL, payload)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field
    assert not Integration.objects.exists()


def test_patch_keeps_secret_unless_given(api_client, webhook_integration):
    url = f"{URL}/{webhook_integration.pk}"
    response = api_client.patch(url, {"name": "Renamed", "active": False})
    assert response.status_code == 200, response.content
    webhook_integration.refresh_from_db()
    assert webhook_integration.name == "Renamed" and not webhook_integration.active
    assert webhook_integration.secret  # untouched
    api_client.patch(url, {"secret": "rotated-secret"})
    webhook_integration.refresh_from_db()
    assert webhook_integration.secret == "rotated-secret"
    assert api_client.patch(url, {"config": {"url": "nope"}}).status_code == 400


def test_members_read_admins_write(member_client, console_integration):
    assert member_client.get(URL).status_code == 200
    assert member_client.get(f"{URL}/{console_integration.pk}").status_code == 200
    assert member_client.post(URL, {"name": "x"}).status_code == 403
    assert member_client.patch(f"{URL}/{console_integration.pk}", {"name": "x"}).status_code == 403
    assert member_client.delete(f"{URL}/{console_integration.pk}").status_code == 403


def test_delete(api_client, console_integration):
    assert api_client.delete(f"{URL}/{console_integration.pk}").status_code == 204
    assert not Integration.objects.filter(pk=console_integration.pk).exists()


def test_delete_in_use_is_409(api_client, conversation):
    response = api_client.delete(f"{URL}/{conversation.integration_id}")
    assert response.status_code == 409 and response.json()["code"] == "in_use"


def test_put_is_not_allowed(api_client, console_integration):
    assert api_client.put(f"{URL}/{console_integration.pk}", {"name": "x"}).status_code == 405


def test_list_constant_queries(api_client, django_assert_num_queries):
    from messaging import services

    services.integration_create(workspace=api_client.workspace, actor=SYSTEM, name="one")
    with django_assert_num_queries(3):  # auth, count, page
        assert len(api_client.get(URL).json()["data"]) == 1
    for i in range(5):
        services.integration_create(workspace=api_client.workspace, actor=SYSTEM, name=f"n{i}")
    with django_assert_num_queries(3):
        assert len(api_client.get(URL).json()["data"]) == 6


def test_tenancy(api_client, other_client, webhook_integration):
    assert_tenant_isolated(
        other_client,
        list_url=URL,
        detail_urls=[f"{URL}/{webhook_integration.pk}"],
        hidden_ids=[webhook_integration.pk],
        methods=("get", "patch", "delete"),
    )
    webhook_integration.refresh_from_db()
    assert webhook_integration.name == "Webhook"
