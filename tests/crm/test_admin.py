"""The Django admin for workspaces, memberships and tokens."""
import re

import pytest
from rest_framework.test import APIClient

from crm import tokens
from crm.models import ApiToken, Membership, Workspace
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

TOKEN_RE = re.compile(r"crm_[a-z0-9]{8}_[A-Za-z0-9_-]{43}")


@pytest.fixture
def admin_site_client(client, db):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    return client


def _add_token(client, workspace, user, name="from-admin"):
    return client.post(
        "/admin/crm/apitoken/add/",
        {"workspace": workspace.id, "user": user.id, "name": name, "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )


def test_admin_token_add_shows_the_secret_once(admin_site_client, workspace):
    member = MembershipFactory(workspace=workspace, role=Membership.Role.ADMIN).user

    response = _add_token(admin_site_client, workspace, member)

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    secrets_shown = [t for m in shown for t in TOKEN_RE.findall(m)]
    assert len(secrets_shown) == 1, shown
    plaintext = secrets_shown[0]

    token = ApiToken.objects.get(name="from-admin")
    assert token.workspace == workspace and token.user == member
    # Only a digest is stored, never the secret.
    prefix, secret = tokens.parse(plaintext)
    assert token.prefix == prefix
    assert secret not in token.digest and plaintext not in token.digest
    assert token.digest == tokens.digest_of(secret)

    api = APIClient()
    api.credentials(HTTP_X_ACCESS_TOKEN=plaintext)
    me = api.get("/v1/crm/me")
    assert me.status_code == 200, me.content
    assert me.json()["user"]["id"] == member.id
    assert me.json()["workspace"]["id"] == workspace.id

    # The change page never shows it again.
    change = admin_site_client.get(f"/admin/crm/apitoken/{token.id}/change/")
    assert change.status_code == 200
    assert secret not in change.content.decode()


def test_admin_token_add_refuses_a_user_outside_the_workspace(admin_site_client, workspace):
    outsider = UserFactory()

    response = _add_token(admin_site_client, workspace, outsider)

    assert response.status_code == 200
    assert "not a member" in response.content.decode()
    assert not ApiToken.objects.filter(name="from-admin").exists()


def test_admin_token_add_refuses_an_expiry_in_the_past(admin_site_client, workspace):
    member = MembershipFactory(workspace=workspace).user
    response = admin_site_client.post(
        "/admin/crm/apitoken/add/",
        {"workspace": workspace.id, "user": member.id, "name": "from-admin",
         "expires_at_0": "2001-01-01", "expires_at_1": "00:00:00"},
    )
    assert response.status_code == 200
    assert "Must be in the future." in response.content.decode()
    assert not ApiToken.objects.filter(name="from-admin").exists()


def test_admin_revoke_action(admin_site_client, api_client):
    token = ApiToken.objects.get(workspace=api_client.workspace)
    response = admin_site_client.post(
        "/admin/crm/apitoken/",
        {"action": "revoke", "_selected_action": [token.id]},
        follow=True,
    )
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_client.get("/v1/crm/me").status_code == 401


def _changelist_ids(response):
    assert response.status_code == 200, response.content[:500]
    return {obj.pk for obj in response.context["cl"].result_list}


def test_workspace_changelist_search_and_filters(admin_site_client):
    acme = WorkspaceFactory(name="Acme Trading", default_phone_region="GB")
    other = WorkspaceFactory(name="Globex")

    assert {acme.id, other.id} <= _changelist_ids(admin_site_client.get("/admin/crm/workspace/"))
    assert _changelist_ids(admin_site_client.get("/admin/crm/workspace/?q=acme")) == {acme.id}
    assert _changelist_ids(admin_site_client.get("/admin/crm/workspace/?default_phone_region=GB")) == {acme.id}
    since = acme.created_at.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    assert acme.id in _changelist_ids(admin_site_client.get("/admin/crm/workspace/", {"created_at__gte": since}))
    # The add and change forms render too.
    assert admin_site_client.get("/admin/crm/workspace/add/").status_code == 200
    assert admin_site_client.get(f"/admin/crm/workspace/{acme.id}/change/").status_code == 200


def test_membership_changelist_search_and_filters(admin_site_client, workspace, other_workspace):
    admin = MembershipFactory(workspace=workspace, role=Membership.Role.ADMIN, user=UserFactory(username="zed@x.io"))
    member = MembershipFactory(workspace=workspace, role=Membership.Role.MEMBER)
    elsewhere = MembershipFactory(workspace=other_workspace, role=Membership.Role.ADMIN)
    url = "/admin/crm/membership/"

    assert {admin.id, member.id, elsewhere.id} <= _changelist_ids(admin_site_client.get(url))
    assert _changelist_ids(admin_site_client.get(url, {"q": "zed@x.io"})) == {admin.id}
    assert _changelist_ids(admin_site_client.get(url, {"role": "member", "workspace__id__exact": workspace.id})) == {
        member.id
    }
    assert _changelist_ids(admin_site_client.get(url, {"workspace__id__exact": other_workspace.id})) == {elsewhere.id}


def test_token_changelist_search_and_filters(admin_site_client, api_client, other_client):
    mine = ApiToken.objects.get(workspace=api_client.workspace)
    theirs = ApiToken.objects.get(workspace=other_client.workspace)
    ApiToken.objects.filter(pk=theirs.pk).update(revoked_at=mine.created_at)
    url = "/admin/crm/apitoken/"

    assert {mine.id, theirs.id} <= _changelist_ids(admin_site_client.get(url))
    assert _changelist_ids(admin_site_client.get(url, {"q": mine.prefix})) == {mine.id}
    assert _changelist_ids(admin_site_client.get(url, {"workspace__id__exact": other_client.workspace.id})) == {
        theirs.id
    }
    not_revoked = _changelist_ids(admin_site_client.get(url, {"revoked_at__isempty": "1"}))
    assert mine.id in not_revoked and theirs.id not in not_revoked
    # The secret is never part of the changelist.
    assert mine.digest not in admin_site_client.get(url).content.decode()


def test_admin_workspace_add_goes_through_the_service(admin_site_client):
    response = admin_site_client.post(
        "/admin/crm/workspace/add/",
        {
            "name": "Initech",
            "slug": "initech",
            "default_phone_region": "DE",
            "memberships-TOTAL_FORMS": "0",
            "memberships-INITIAL_FORMS": "0",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
        },
        follow=True,
    )
    assert response.status_code == 200
    workspace = Workspace.objects.get(slug="initech")
    assert workspace.default_phone_region == "DE"
