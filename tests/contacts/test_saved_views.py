"""Saved views: private to their owner unless shared, checked by the
search's parser when saved, run by GET /contacts?view=<id> and POST
/contacts/search {view_id}."""
import pytest

from contacts import services
from contacts.models import ContactView
from events.models import Event
from tests.factories import SYSTEM

VIEWS = "/v1/crm/contacts/views"
SEARCH = "/v1/crm/contacts/search"
PARIS = {"filter_groups": [{"filters": [{"field": "city", "operator": "eq", "value": "paris"}]}]}


@pytest.fixture
def paris(api_client, make_contact):
    return [make_contact(name=f"P{i}", city="Paris").pk for i in range(3)] + [make_contact(name="L", city="Lyon").pk]


def create(client, status=201, **body):
    response = client.post(VIEWS, body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def test_a_view_runs_by_get_and_by_search(api_client, paris):
    view = create(api_client, name="Paris", search=PARIS, sort=["id"], columns=["id", "city"])
    assert view["search"]["filter_groups"][0]["filters"] == [{"field": "city", "operator": "eq", "value": "paris"}]
    assert view["owner_id"] == api_client.user.pk and view["shared"] is False
    listed = api_client.get("/v1/crm/contacts", {"view": view["id"], "limit": 2})
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert body["data"] == [{"id": paris[0], "city": "Paris"}, {"id": paris[1], "city": "Paris"}]
    assert body["paginationInfo"]["totalRecords"] == 3 and body["paginationInfo"]["hasNextPage"]
    rest = api_client.get("/v1/crm/contacts", {"view": view["id"], "limit": 2,
                                               "cursor": body["paginationInfo"]["nextCursor"]}).json()
    assert [c["id"] for c in rest["data"]] == [paris[2]] and rest["paginationInfo"]["nextCursor"] is None
    searched = api_client.post(SEARCH, {"view_id": view["id"], "sort": ["-id"]}, format="json").json()
    assert [c["id"] for c in searched["data"]] == paris[2::-1]  # the body's sort over the view's
    assert Event.objects.filter(type="contact_view.created", subject_id=view["id"]).exists()


def test_private_views_are_their_owners_only(api_client, member_client, client_for, paris):
    mine = create(member_client, name="Mine", search=PARIS)
    for client in (api_client, client_for(api_client.workspace, "member")):
        assert client.get(f"{VIEWS}/{mine['id']}").status_code == 404
        assert mine["id"] not in [v["id"] for v in client.get(VIEWS).json()["data"]]
        assert client.post(SEARCH, {"view_id": mine["id"]}, format="json").status_code == 404
        assert client.get("/v1/crm/contacts", {"view": mine["id"]}).status_code == 404
        assert client.patch(f"{VIEWS}/{mine['id']}", {"name": "x"}, format="json").status_code == 404
    assert member_client.get(f"{VIEWS}/{mine['id']}").status_code == 200


def test_shared_views_run_for_everyone_and_change_only_by_owner_or_admin(api_client, member_client, client_for,
                                                                           paris):
    shared = create(member_client, name="Team", search=PARIS, shared=True)
    other = client_for(api_client.workspace, "member")
    assert other.post(SEARCH, {"view_id": shared["id"]}, format="json").json()["paginationInfo"]["totalRecords"] == 3
    response = other.patch(f"{VIEWS}/{shared['id']}", {"name": "Mine now"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert other.delete(f"{VIEWS}/{shared['id']}").status_code == 403
    assert ContactView.objects.get(pk=shared["id"]).name == "Team"
    assert api_client.patch(f"{VIEWS}/{shared['id']}", {"name": "Renamed"}, format="json").status_code == 200
    assert member_client.delete(f"{VIEWS}/{shared['id']}").status_code == 204


def test_a_view_runs_with_its_runners_visibility(api_client, member_client, make_contact, paris):
    secret = make_contact(name="S", city="Paris", visibility_type="private")
    shared = create(api_client, name="Paris", search=PARIS, shared=True)
    admin_ids = [c["id"] for c in api_client.post(SEARCH, {"view_id": shared["id"]}, format="json").json()["data"]]
    member_ids = [c["id"] for c in member_client.post(SEARCH, {"view_id": shared["id"]}, format="json").json()["data"]]
    assert secret.pk in admin_ids and secret.pk not in member_ids


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"name": "x", "search": {"filter_groups": [{"filters": [{"field": "nope", "operator": "eq", "value": 1}]}]}},
     "search.filter_groups.0.filters.0.field"),
    ({"name": "x", "search": {"filter_groups": [], "limit": 5}}, "search.limit"),
    ({"name": "x", "search": []}, "search"),
    ({"name": "x", "sort": ["shoe_size"]}, "sort"),
    ({"name": "x", "columns": ["nope"]}, "columns"),
    ({"name": "x", "shared": "maybe"}, "shared"),
    ({"name": "x", "owner": 5}, "owner"),
    ({"name": "x", "search": {"query": "a\x00b"}}, "search"),
])
def test_bad_views_are_400_naming_the_field_and_write_nothing(api_client, body, field):
    payload = create(api_client, status=400, **body)
    assert field in [e["field"] for e in payload["errors"]], payload
    assert not ContactView.objects.exists()


def test_a_deleted_custom_field_makes_running_the_view_a_400(api_client, paris):
    definition = services.custom_field_create(workspace=api_client.workspace, actor=SYSTEM, label="score",
                                              type="number")
    view = create(api_client, name="Scored", search={"filter_groups": [{"filters": [
        {"field": "score", "operator": "gt", "value": 1}]}]})
    assert api_client.post(SEARCH, {"view_id": view["id"]}, format="json").status_code == 200
    services.custom_field_delete(workspace=api_client.workspace, actor=SYSTEM, definition=definition)
    response = api_client.post(SEARCH, {"view_id": view["id"]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "filter_groups.0.filters.0.field"


@pytest.mark.parametrize("params", [{"view": "abc"}, {"view": "1", "name": "x"}, {"view": "1", "limit": "x"}])
def test_list_with_a_view_refuses_what_does_not_fit(api_client, params):
    assert api_client.get("/v1/crm/contacts", params).status_code == 400


def test_unknown_and_other_workspace_views_are_404(api_client, other_client):
    theirs = create(other_client, name="Theirs", shared=True)
    for view_id in (theirs["id"], 10**9, 0, -1, "x", True):
        response = api_client.post(SEARCH, {"view_id": view_id}, format="json")
        assert response.status_code == 404, (view_id, response.content)


def test_admin_lists_and_saves_views_through_the_service(admin_site_client, api_client):
    view = create(api_client, name="Paris", search=PARIS)
    client = admin_site_client
    response = client.get("/admin/contacts/contactview/", {"q": "Paris"})
    assert response.status_code == 200 and b"Paris" in response.content
    response = client.post(f"/admin/contacts/contactview/{view['id']}/change/", {
        "workspace": api_client.workspace.pk, "owner": api_client.user.pk, "name": "Renamed", "shared": "on",
        "search": '{"filter_groups": [{"filters": [{"field": "nope", "operator": "eq", "value": 1}]}]}',
        "sort": "[]", "columns": "[]",
    })
    assert response.status_code == 200 and b"Unknown field" in response.content  # the service's error on the form
    assert ContactView.objects.get(pk=view["id"]).name == "Paris"
