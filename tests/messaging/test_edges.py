"""Out-of-range and odd inputs are 4xx, never 500."""

import pytest

BIG = 10**30


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/crm/conversations/{BIG}",
        f"/v1/crm/conversations/{BIG}/messages",
        f"/v1/crm/messages/{BIG}",
        f"/v1/crm/integrations/{BIG}",
    ],
)
def test_huge_ids_in_urls(api_client, path):
    assert api_client.get(path).status_code == 404


@pytest.mark.parametrize(
    "query", [f"contact_id={BIG}", "integration_id=1.5", "contact_id=0", "integration_id=abc"]
)
def test_bad_id_filters_are_400(api_client, query):
    response = api_client.get(f"/v1/crm/conversations?{query}")
    assert (
        response.status_code == 400 and response.json()["errors"][0]["field"] == query.split("=")[0]
    )


def test_huge_ids_in_bodies(api_client, conversation):
    url = f"/v1/crm/conversations/{conversation.pk}/messages"
    assert (
        api_client.post(
            url, {"content": "x", "type": "text", "reply_to_message_id": BIG}
        ).status_code
        == 400
    )
    for payload in (
        {"integration_id": conversation.integration_id, "client_id": BIG, "template_name": "x"},
        {"integration_id": BIG, "client_id": conversation.contact_id, "template_name": "x"},
    ):
        assert api_client.post("/v1/crm/notifications", payload).status_code == 400
    assert (
        api_client.post(
            "/v1/crm/conversations", {"contact_id": BIG, "integration_id": BIG}
        ).status_code
        == 400
    )


def test_status_report_huge_integration_id(client, db):
    assert (
        client.post(
            f"/v1/crm/integrations/{BIG}/status", {}, content_type="application/json"
        ).status_code
        == 404
    )


def test_non_object_bodies(api_client, conversation):
    for url in (
        f"/v1/crm/conversations/{conversation.pk}/messages",
        "/v1/crm/notifications",
        "/v1/crm/integrations",
    ):
        assert api_client.post(url, [1, 2], format="json").status_code == 400
