"""Members API: admins add members by email, change roles, remove members
(revoking their tokens), and issue and revoke tokens for them; the last admin
can be neither demoted nor removed, even by two admins at once."""
import logging
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from crm import services
from crm.actors import Actor
from crm.models import ApiToken, Membership
from events.models import Event
from tests.crm.test_errors import assert_error
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory

User = get_user_model()
USERS = "/v1/crm/users"


def test_admin_adds_a_new_user_as_member(api_client):
    response = api_client.post(USERS, {"email": "New.Person@Example.com", "role": "member", "first_name": "Ada"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new.person@example.com" and body["role"] == "member" and body["first_name"] == "Ada"
    user = User.objects.get(pk=body["id"])
    assert not user.has_usable_password()
    assert Membership.objects.get(workspace=api_client.workspace, user=user).role == "member"
    assert body in api_client.get(USERS).json()


def test_adding_an_existing_user_keeps_their_account(api_client, other_client):
    """A user of another workspace joins this one: same user, their name unchanged."""
    existing = other_client.user
    response = api_client.post(USERS, {"email": existing.email.upper(), "role": "admin", "first_name": "Ignored"})
    assert response.status_code == 201, response.content
    assert response.json()["id"] == existing.pk and response.json()["first_name"] == existing.first_name
    assert response.json()["role"] == "admin"
    assert User.objects.filter(email=existing.email).count() == 1


def test_adding_a_member_twice_is_a_conflict(api_client, member_client):
    response = api_client.post(USERS, {"email": member_client.user.email, "role": "admin"})
    assert_error(response, 409, "already_member")
    assert Membership.objects.get(workspace=api_client.workspace, user=member_client.user).role == "member"


@pytest.mark.parametrize("body, field", [
    ({"role": "member"}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@example.com", "role": "owner"}, "role"),
    ({"email": "a@example.com", "first_name": 5}, "first_name"),
])
def test_add_member_validation(api_client, body, field):
    body = assert_error(api_client.post(USERS, body), 400)
    assert body["errors"][0]["field"] == field
    assert not User.objects.filter(email="a@example.com").exists()


def test_members_may_read_but_not_manage(member_client, api_client):
    admin = api_client.user
    assert member_client.get(USERS).status_code == 200
    assert member_client.get(f"{USERS}/{admin.pk}").json()["role"] == "admin"
    assert_error(member_client.post(USERS, {"email": "x@example.com"}), 403, "permission_denied")
    assert_error(member_client.patch(f"{USERS}/{admin.pk}", {"role": "member"}), 403, "permission_denied")
    assert_error(member_client.delete(f"{USERS}/{admin.pk}"), 403, "permission_denied")
    assert Membership.objects.get(workspace=api_client.workspace, user=admin).role == "admin"


def test_change_role(api_client, member_client):
    url = f"{USERS}/{member_client.user.pk}"
    response = api_client.patch(url, {"role": "admin"})
    assert response.status_code == 200 and response.json()["role"] == "admin"
    assert member_client.get("/v1/crm/me").json()["role"] == "admin"
    assert api_client.patch(url, {"role": "member"}).json()["role"] == "member"
    assert_error(api_client.patch(url, {"role": "boss"}), 400)


def test_last_admin_can_be_neither_demoted_nor_removed(api_client, member_client):
    me = f"{USERS}/{api_client.user.pk}"
    assert_error(api_client.patch(me, {"role": "member"}), 409, "last_admin")
    assert_error(api_client.delete(me), 409, "last_admin")
    assert Membership.objects.get(workspace=api_client.workspace, user=api_client.user).role == "admin"
    # With a second admin, the first may step down.
    api_client.patch(f"{USERS}/{member_client.user.pk}", {"role": "admin"})
    assert api_client.patch(me, {"role": "member"}).json()["role"] == "member"


def test_remove_member_revokes_their_tokens(api_client, member_client, client_for, other_workspace):
    user = member_client.user
    elsewhere = client_for(other_workspace, "member", user=user)  # their token in another workspace
    assert api_client.delete(f"{USERS}/{user.pk}").status_code == 204
    assert not Membership.objects.filter(workspace=api_client.workspace, user=user).exists()
    assert member_client.get("/v1/crm/me").json()["code"] == "token_revoked"
    assert not ApiToken.objects.filter(workspace=api_client.workspace, user=user, revoked_at__isnull=True).exists()
    assert elsewhere.get("/v1/crm/me").status_code == 200, "their other workspace is untouched"
    # Added back, they need a new token: the old one stays revoked.
    api_client.post(USERS, {"email": user.email})
    assert member_client.get("/v1/crm/me").status_code == 401


def test_unknown_and_foreign_members_are_404(api_client, other_client):
    for pk in (other_client.user.pk, 987654321, 2**63):
        assert_error(api_client.get(f"/v1/crm/users/{pk}"), 404, "not_found")
        assert_error(api_client.patch(f"{USERS}/{pk}", {"role": "admin"}), 404, "not_found")
        assert_error(api_client.delete(f"{USERS}/{pk}"), 404, "not_found")
    assert Membership.objects.filter(user=other_client.user, workspace=api_client.workspace).count() == 0


def test_admin_issues_and_revokes_a_members_token(api_client, member_client, other_client):
    response = api_client.post("/v1/crm/tokens", {"name": "for bob", "user_id": member_client.user.pk})
    assert response.status_code == 201, response.content
    assert response.json()["user_id"] == member_client.user.pk
    token = response.json()["token"]
    me = api_client.__class__(member_client.workspace, member_client.user, "member", token).get("/v1/crm/me")
    assert me.json()["user"]["id"] == member_client.user.pk
    # Not for someone outside the workspace.
    body = assert_error(api_client.post("/v1/crm/tokens", {"name": "x", "user_id": other_client.user.pk}), 400)
    assert body["errors"][0]["field"] == "user_id"
    revoked = api_client.delete(f"/v1/crm/tokens/{response.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    # Members may not issue tokens for others (nor for themselves).
    assert_error(member_client.post("/v1/crm/tokens", {"name": "x", "user_id": api_client.user.pk}), 403)


def test_member_actions_are_logged_without_personal_data(api_client, caplog, django_capture_on_commit_callbacks):
    with caplog.at_level(logging.INFO, logger="crm.audit"), django_capture_on_commit_callbacks(execute=True):
        user_id = api_client.post(USERS, {"email": "secret.person@example.com"}).json()["id"]
        api_client.patch(f"{USERS}/{user_id}", {"role": "admin"})
        api_client.delete(f"{USERS}/{user_id}")
    records = [r for r in caplog.records if r.name == "crm.audit"]
    assert [r.action for r in records] == ["member.added", "member.role_changed", "member.removed"]
    assert all(r.workspace_id == api_client.workspace.pk and (r.actor_kind, r.actor_id) == ("member", api_client.user.pk)
               for r in records)
    assert all("secret.person" not in r.getMessage() + str(r.__dict__) for r in records)


def test_member_actions_are_events_with_their_actor(api_client):
    last = Event.objects.order_by("id").values_list("id", flat=True).last() or 0  # the fixture issued a token
    user_id = api_client.post(USERS, {"email": "carol@example.com"}).json()["id"]
    token_id = api_client.post("/v1/crm/tokens", {"name": "carol", "user_id": user_id}).json()["id"]
    api_client.patch(f"{USERS}/{user_id}", {"role": "admin"})
    assert_error(api_client.patch(f"{USERS}/{user_id}", {"role": "nobody"}), 400)  # a refused change: no event
    api_client.delete(f"{USERS}/{user_id}")
    events = list(Event.objects.filter(workspace=api_client.workspace, id__gt=last).order_by("id"))
    assert [(e.type, e.subject_type, e.subject_id) for e in events] == [
        ("member.added", "member", user_id), ("token.created", "token", token_id),
        ("member.role_changed", "member", user_id), ("member.removed", "member", user_id),
    ]
    assert events[2].payload == {"user_id": user_id, "role": "admin", "previous_role": "member"}
    assert events[3].payload == {"user_id": user_id, "tokens_revoked": 1}
    assert all((e.actor_type, e.actor_id) == ("member", api_client.user.pk) for e in events)
    feed = api_client.get("/v1/crm/events", {"type": "member.removed"})
    assert [e["subject"]["id"] for e in feed.json()["data"]] == [user_id]


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin():
    """Each demotes the other in its own transaction: the admin rows are
    locked, so the second sees one admin left and gets 409."""
    workspace = WorkspaceFactory()
    first, second = UserFactory(), UserFactory()
    for user in (first, second):
        MembershipFactory(workspace=workspace, user=user, role="admin")
    barrier, results = threading.Barrier(2), {}

    def demote(actor, target):
        try:
            barrier.wait(5)
            services.membership_change_role(
                workspace=workspace, actor=Actor.member(actor, "admin"), user=target, role="member"
            )
            results[actor.pk] = "ok"
        except Exception as exc:
            results[actor.pk] = getattr(exc, "code", repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=demote, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(map(str, results.values())) == ["last_admin", "ok"], results
    assert Membership.objects.filter(workspace=workspace, role="admin").count() == 1
