from datetime import timedelta

import pytest
from django.utils import timezone

from crm import services
from crm.models import ApiToken
from tests.factories import SYSTEM

ME = "/v1/crm/me"


def assert_401(response, code):
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["type"] == "client_error"
    assert body["code"] == code
    assert body["errors"][0]["message"]
    assert response.has_header("WWW-Authenticate")


def test_x_access_token_header(api_client):
    response = api_client.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == api_client.user.id
    assert body["workspace"]["id"] == api_client.workspace.id
    assert body["role"] == "admin"


def test_bearer_header(anon_client, api_client):
    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_client.token}")
    assert anon_client.get(ME).json()["user"]["id"] == api_client.user.id


def test_raw_token_in_authorization(anon_client, api_client):
    """Seed 000 sends `authorization: API-KEY`: the token without a scheme."""
    anon_client.credentials(HTTP_AUTHORIZATION=api_client.token)
    assert anon_client.get(ME).json()["user"]["id"] == api_client.user.id
    anon_client.credentials(HTTP_AUTHORIZATION="crm_00000000_" + "A" * 43)
    assert_401(anon_client.get(ME), "token_invalid")
    anon_client.credentials(HTTP_AUTHORIZATION="garbage")
    assert_401(anon_client.get(ME), "token_malformed")


def test_missing_token(anon_client, db):
    assert_401(anon_client.get(ME), "not_authenticated")


@pytest.mark.parametrize("token", ["garbage", "crm_short", "crm_abcdefgh_tooshort", "xyz_abcdefgh_" + "a" * 43])
def test_malformed_token(anon_client, db, token):
    anon_client.credentials(HTTP_X_ACCESS_TOKEN=token)
    assert_401(anon_client.get(ME), "token_malformed")


def test_malformed_authorization_scheme(anon_client, db):
    anon_client.credentials(HTTP_AUTHORIZATION="Basic dXNlcjpwYXNz")
    assert_401(anon_client.get(ME), "token_malformed")


def test_unknown_token(anon_client, api_client):
    # Right prefix, wrong secret: still 401 (constant-time digest comparison).
    prefix = api_client.token.split("_")[1]
    anon_client.credentials(HTTP_X_ACCESS_TOKEN=f"crm_{prefix}_" + "A" * 43)
    assert_401(anon_client.get(ME), "token_invalid")
    anon_client.credentials(HTTP_X_ACCESS_TOKEN="crm_00000000_" + "A" * 43)
    assert_401(anon_client.get(ME), "token_invalid")


def test_expired_token(anon_client, api_client):
    ApiToken.objects.filter(user=api_client.user).update(expires_at=timezone.now() - timedelta(seconds=1))
    anon_client.credentials(HTTP_X_ACCESS_TOKEN=api_client.token)
    assert_401(anon_client.get(ME), "token_expired")


def test_revoked_token(anon_client, api_client):
    ApiToken.objects.filter(user=api_client.user).update(revoked_at=timezone.now())
    anon_client.credentials(HTTP_X_ACCESS_TOKEN=api_client.token)
    assert_401(anon_client.get(ME), "token_revoked")


def test_removed_member_token(anon_client, api_client):
    api_client.user.memberships.all().delete()
    anon_client.credentials(HTTP_X_ACCESS_TOKEN=api_client.token)
    assert_401(anon_client.get(ME), "token_invalid")


def test_token_stored_as_digest_only(api_client):
    token = ApiToken.objects.get(user=api_client.user)
    secret = api_client.token.split("_", 2)[2]
    assert api_client.token.startswith("crm_")
    assert secret not in token.digest and token.digest != api_client.token
    assert len(token.digest) == 64


def test_last_used_at_is_stamped(anon_client, workspace, admin_user):
    token, plaintext = services.token_create(workspace=workspace, actor=SYSTEM, user=admin_user, name="fresh")
    assert token.last_used_at is None
    anon_client.credentials(HTTP_X_ACCESS_TOKEN=plaintext)
    assert anon_client.get(ME).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_expiry_must_be_future(api_client):
    response = api_client.post("/v1/crm/tokens", {"name": "x", "expires_at": "2000-01-01T00:00:00Z"})
    assert response.status_code == 400


def test_users_lists_members_with_roles(api_client, member_client, other_client):
    response = api_client.get("/v1/crm/users")
    assert response.status_code == 200
    by_id = {u["id"]: u for u in response.json()}
    assert by_id[api_client.user.id]["role"] == "admin"
    assert by_id[member_client.user.id]["role"] == "member"
    assert other_client.user.id not in by_id
    assert set(by_id[api_client.user.id]) == {"id", "first_name", "last_name", "email", "role"}


class TestTokenManagement:
    def test_create_shows_secret_once(self, api_client, anon_client):
        response = api_client.post("/v1/crm/tokens", {"name": "integration"})
        assert response.status_code == 201
        created = response.json()
        assert created["token"].startswith("crm_")
        anon_client.credentials(HTTP_X_ACCESS_TOKEN=created["token"])
        assert anon_client.get(ME).status_code == 200
        listed = api_client.get("/v1/crm/tokens").json()["data"]
        assert created["id"] in {t["id"] for t in listed}
        assert all("token" not in t for t in listed)
        assert api_client.get(f"/v1/crm/tokens/{created['id']}").status_code == 405

    def test_delete_revokes(self, api_client, anon_client):
        created = api_client.post("/v1/crm/tokens", {"name": "temp"}).json()
        response = api_client.delete(f"/v1/crm/tokens/{created['id']}")
        assert response.status_code == 200
        assert response.json()["revoked_at"] is not None
        anon_client.credentials(HTTP_X_ACCESS_TOKEN=created["token"])
        assert_401(anon_client.get(ME), "token_revoked")

    def test_members_get_403(self, member_client):
        for method, url in [("get", "/v1/crm/tokens"), ("post", "/v1/crm/tokens"), ("delete", "/v1/crm/tokens/1")]:
            response = getattr(member_client, method)(url, {"name": "x"})
            assert response.status_code == 403, (method, url)
            assert response.json()["code"] == "permission_denied"

    def test_tenancy(self, api_client, other_client):
        from tests.tenancy import assert_tenant_isolated

        created = api_client.post("/v1/crm/tokens", {"name": "mine"}).json()
        assert_tenant_isolated(
            other_client,
            list_url="/v1/crm/tokens",
            hidden_ids=[created["id"]],
            actions=[("delete", f"/v1/crm/tokens/{created['id']}")],
        )
        assert ApiToken.objects.get(pk=created["id"]).revoked_at is None
