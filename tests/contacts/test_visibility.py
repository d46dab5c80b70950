"""private: owner, sub-owners and admins only; team: every member reads,
owner/sub-owners/admins edit (view_only for others); public: every member
reads and edits. A contact you may not see is a 404 everywhere."""
import pytest

from contacts.models import Contact

URL = "/v1/crm/contacts"


@pytest.fixture
def contacts(api_client, make_contact, member, second_member_client):
    other = second_member_client.user
    return {
        "private_admin": make_contact(name="pa", visibility_type="private"),
        "private_mine": make_contact(name="pm", visibility_type="private", owner_id=member.id),
        "private_sub": make_contact(name="ps", visibility_type="private", owner_id=other.id, sub_owner_ids=[member.id]),
        "team_other": make_contact(name="to", visibility_type="team", owner_id=other.id),
        "public_other": make_contact(name="po", visibility_type="public", owner_id=other.id),
    }


def listed(client, query=""):
    return {item["id"]: item["view_only"] for item in client.get(f"{URL}?{query}").json()["data"]}


def test_member_list_and_view_only(member_client, contacts):
    c = contacts
    assert listed(member_client) == {
        c["private_mine"].id: False,
        c["private_sub"].id: False,
        c["team_other"].id: True,
        c["public_other"].id: False,
    }


def test_admin_sees_and_edits_all(api_client, contacts):
    assert listed(api_client) == {c.id: False for c in contacts.values()}


def test_private_is_404_for_others(member_client, contacts):
    hidden = contacts["private_admin"]
    url = f"{URL}/{hidden.id}"
    for method in ("get", "patch", "put", "delete"):
        assert getattr(member_client, method)(url, {}, format="json").status_code == 404, method
    assert member_client.post(f"{url}/restore").status_code == 404
    multi = member_client.post(f"{URL}/multiple", {"contact_ids": [hidden.id, contacts["public_other"].id]}, format="json")
    assert [c["id"] for c in multi.json()] == [contacts["public_other"].id]
    bulk = member_client.patch(URL, {"ids": [hidden.id], "visibility_type": "team"}, format="json")
    assert bulk.status_code == 404 and bulk.json()["ids"] == [hidden.id]
    assert hidden.id not in listed(member_client, f"contact_ids={hidden.id}")


def test_visibility_ids_share_a_private_contact_read_only(api_client, member_client, second_member_client, make_contact):
    shared = make_contact(name="shared", visibility_type="private", visibility_ids=[member_client.user.id])
    url = f"{URL}/{shared.id}"
    assert listed(member_client) == {shared.id: True}
    got = member_client.get(url)
    assert got.status_code == 200 and got.json()["view_only"] is True
    assert member_client.patch(url, {"name": "x"}, format="json").status_code == 403
    assert [c["id"] for c in member_client.post(f"{URL}/multiple", {"contact_ids": [shared.id]}, format="json").json()] == [shared.id]
    # not listed: not seen
    assert second_member_client.get(url).status_code == 404
    assert listed(second_member_client) == {}
    # unshared by a bulk update: gone for the member too
    assert api_client.patch(URL, {"ids": [shared.id], "visibility_ids": []}, format="json").status_code == 200
    assert member_client.get(url).status_code == 404


def test_team_contact_is_read_only_for_members(member_client, contacts):
    team = contacts["team_other"]
    url = f"{URL}/{team.id}"
    got = member_client.get(url)
    assert got.status_code == 200 and got.json()["view_only"] is True
    for response in (
        member_client.patch(url, {"name": "x"}, format="json"),
        member_client.put(url, {"name": "x"}, format="json"),
        member_client.delete(url),
        member_client.patch(URL, {"ids": [team.id], "visibility_type": "public"}, format="json"),
        member_client.put(f"{URL}/upsert", {"external_client_id": "t"}, format="json"),
    ):
        if response.status_code == 201:  # the upsert created its own contact: fine
            continue
        assert response.status_code == 403, response.content
        assert response.json()["code"] == "permission_denied"


def test_upsert_of_read_only_contact_is_403(member_client, api_client, make_contact, second_member_client):
    make_contact(name="t", visibility_type="team", owner_id=second_member_client.user.id, external_client_id="ext-t")
    response = member_client.put(f"{URL}/upsert", {"external_client_id": "ext-t", "name": "hijack"}, format="json")
    assert response.status_code == 403


def test_member_edits_own_sub_owned_and_public(member_client, contacts):
    for key in ("private_mine", "private_sub", "public_other"):
        response = member_client.patch(f"{URL}/{contacts[key].id}", {"note": "ok"}, format="json")
        assert response.status_code == 200, (key, response.content)
    editable = [contacts[key].id for key in ("private_mine", "private_sub", "public_other")]
    response = member_client.patch(URL, {"ids": editable, "tags_add": ["m"], "stage_id": None}, format="json")
    assert response.status_code == 200 and response.json() == {"updated": 3}
    assert {c.id: c.version for c in Contact.objects.filter(pk__in=editable)} == {pk: 3 for pk in editable}


@pytest.mark.parametrize("intruder, status", [("team_other", 403), ("private_admin", 404)])
def test_bulk_update_with_one_forbidden_id_changes_nothing(member_client, contacts, intruder, status):
    """The UPDATE runs before it is known that an id is forbidden: raising must roll it back."""
    mine, forbidden = contacts["private_mine"], contacts[intruder]
    response = member_client.patch(URL, {"ids": [mine.id, forbidden.id], "visibility_type": "team",
                                         "tags_add": ["m"]}, format="json")
    assert response.status_code == status, response.content
    assert response.json()["ids"] == [forbidden.id]
    mine.refresh_from_db()
    assert (mine.version, mine.visibility_type) == (1, "private")
    assert not mine.tags.exists()


def test_member_creating_private_contact_owns_it(member_client):
    response = member_client.post(URL, {"name": "mine", "visibility_type": "private"}, format="json")
    assert response.status_code == 201
    assert response.json()["owner_id"] == member_client.user.id and response.json()["view_only"] is False
    assert response.json()["id"] in listed(member_client)


def test_member_cannot_reference_contacts_they_may_not_see_or_edit(member_client, api_client, contacts, make_contact):
    """organization_id must name a contact the caller sees (else it answers like an unknown id and the
    response would show the hidden organization's name, email and phone); person_ids writes each person,
    so they must be editable. Admins and jobs (no role) are not restricted."""
    hidden_org = make_contact(name="secret org", type="organization", visibility_type="private", email="s@x.com")
    response = member_client.post(URL, {"name": "p", "organization_id": hidden_org.id}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "organization_id"
    assert b"secret" not in response.content
    mine = contacts["private_mine"]
    assert member_client.patch(f"{URL}/{mine.id}", {"organization_id": hidden_org.id}, format="json").status_code == 400

    hidden = contacts["private_admin"]
    response = member_client.post(URL, {"name": "o", "type": "organization", "person_ids": [hidden.id]}, format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "person_ids"
    read_only = contacts["team_other"]
    response = member_client.post(URL, {"name": "o", "type": "organization", "person_ids": [read_only.id]}, format="json")
    assert response.status_code == 403 and response.json()["ids"] == [read_only.id]
    assert Contact.objects.filter(organization__isnull=False).count() == 0
    assert Contact.objects.filter(type="organization").count() == 1

    visible_org = make_contact(name="team org", type="organization", visibility_type="team")
    response = member_client.post(URL, {"name": "o", "type": "organization", "person_ids": [mine.id]}, format="json")
    assert response.status_code == 201, response.content
    response = member_client.patch(f"{URL}/{mine.id}", {"organization_id": visible_org.id}, format="json")
    assert response.status_code == 200 and response.json()["organization"]["name"] == "team org"
    # The admin links a member's contact to the hidden organization: the member may still PUT it back unchanged.
    api_client.patch(f"{URL}/{mine.id}", {"organization_id": hidden_org.id}, format="json")
    body = member_client.get(f"{URL}/{mine.id}").json()
    assert member_client.put(f"{URL}/{mine.id}", body, format="json").status_code == 200
    admin = api_client.post(URL, {"name": "o", "type": "organization", "person_ids": [hidden.id, read_only.id]},
                            format="json")
    assert admin.status_code == 201


def test_linked_contacts_hidden_from_a_member_are_not_shown(member_client, api_client, make_contact, member):
    """A visible contact may link to a hidden one: its `persons` leave out persons the member may not
    see, and `organization` is null when the organization is private to others (organization_id stays)."""
    org = make_contact(name="org", type="organization", visibility_type="public")
    make_contact(name="hidden person", visibility_type="private", organization_id=org.id, email="h@x.com")
    shown = make_contact(name="own person", visibility_type="private", owner_id=member.id, organization_id=org.id)
    body = member_client.get(f"{URL}/{org.id}").json()
    assert [p["id"] for p in body["persons"]] == [shown.id]
    assert len(api_client.get(f"{URL}/{org.id}").json()["persons"]) == 2

    hidden_org = make_contact(name="hidden org", type="organization", visibility_type="private")
    own_org = make_contact(name="own org", type="organization", visibility_type="private", owner_id=member.id)
    sub_org = make_contact(name="sub org", type="organization", visibility_type="private", sub_owner_ids=[member.id])
    linked = {
        org_.id: make_contact(name=f"p-{org_.name}", visibility_type="public", organization_id=org_.id).id
        for org_ in (hidden_org, own_org, sub_org)
    }
    for client, expected in ((member_client, {"own org", "sub org"}), (api_client, {"hidden org", "own org", "sub org"})):
        items = client.get(f"{URL}?type=person&columns=id,organization_id,organization").json()["data"]
        by_org = {item["organization_id"]: item["organization"] for item in items if item["id"] in linked.values()}
        assert set(by_org) == set(linked)
        assert {o["name"] for o in by_org.values() if o} == expected
    multi = member_client.post(f"{URL}/multiple", {"contact_ids": [linked[hidden_org.id]]}, format="json").json()
    assert multi[0]["organization_id"] == hidden_org.id and multi[0]["organization"] is None
    assert member_client.get(f"{URL}/{linked[hidden_org.id]}").json()["organization"] is None
