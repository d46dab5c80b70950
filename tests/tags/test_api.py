"""The tag endpoints (seed 002): /v1/crm/tags[/{id}] and the bulk PATCH."""
import pytest

from contacts.models import Contact, ContactTag
from tags import services
from tags.models import Tag
from tests.crm.test_errors import assert_error as _assert_error
from tests.tenancy import assert_tenant_isolated

pytestmark = pytest.mark.django_db

URL = "/v1/crm/tags"
SEED_CREATE = {"type": "client", "tag": "sample", "order": 1, "description": "sample"}


def detail(tag_or_id):
    return f"{URL}/{getattr(tag_or_id, 'pk', tag_or_id)}"


def make_tag(workspace, tag, type="client", **kwargs):
    return Tag.objects.create(workspace=workspace, tag=tag, type=type, **kwargs)


def assert_error(response, status, code=None, field=None):
    body = _assert_error(response, status, code)
    if field:
        assert body["errors"][0]["field"] == field, body
    return body


# -- list ---------------------------------------------------------------------
def test_list_is_paginated_and_ordered_by_order_then_tag(api_client, workspace):
    make_tag(workspace, "b", order=2)
    make_tag(workspace, "a", order=2)
    make_tag(workspace, "z", "common", order=1)
    response = api_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert [t["tag"] for t in body["data"]] == ["z", "a", "b"]
    assert body["paginationInfo"]["totalRecords"] == 3 and body["paginationInfo"]["page"] == 1
    item = body["data"][0]
    assert set(item) == {"id", "tag", "type", "order", "description", "workspace_id", "version", "created_at", "updated_at"}
    assert item["workspace_id"] == workspace.id


def test_list_pages(api_client, workspace):
    for i in range(5):
        make_tag(workspace, f"t{i}", order=i)
    body = api_client.get(URL, {"limit": 2, "page": 2}).json()
    assert [t["tag"] for t in body["data"]] == ["t2", "t3"]
    assert body["paginationInfo"]["totalPages"] == 3 and body["paginationInfo"]["hasNextPage"] is True
    assert_error(api_client.get(URL, {"limit": 0}), 400, field="limit")


def test_list_filters_tag_contains_any_case(api_client, workspace):
    make_tag(workspace, "Newsletter")
    make_tag(workspace, "news", "common")
    make_tag(workspace, "VIP")
    body = api_client.get(URL, {"tag": "NEWS"}).json()
    assert sorted(t["tag"] for t in body["data"]) == ["Newsletter", "news"]


def test_list_filters_type(api_client, workspace):
    make_tag(workspace, "a", "client")
    make_tag(workspace, "b", "common")
    make_tag(workspace, "c", "clientStage")
    make_tag(workspace, "d", "message")
    assert [t["tag"] for t in api_client.get(URL, {"type": "clientStage"}).json()["data"]] == ["c"]
    both = api_client.get(f"{URL}?type=client&type=common").json()["data"]
    assert [t["tag"] for t in both] == ["a", "b"]
    assert [t["tag"] for t in api_client.get(URL, {"type": "client", "tag": "x"}).json()["data"]] == []


def test_list_unknown_type_is_400(api_client):
    assert_error(api_client.get(URL, {"type": "nope"}), 400, field="type")


def test_list_query_count_is_constant(api_client, workspace, django_assert_num_queries):
    make_tag(workspace, "one")
    with django_assert_num_queries(3):  # token, count, page
        assert len(api_client.get(URL).json()["data"]) == 1
    for i in range(40):
        make_tag(workspace, f"t{i}")
    with django_assert_num_queries(3):
        assert len(api_client.get(URL, {"limit": 100}).json()["data"]) == 41


# -- create -------------------------------------------------------------------
def test_create_seed_input(api_client, workspace):
    response = api_client.post(URL, SEED_CREATE)
    assert response.status_code == 201, response.content
    body = response.json()
    assert isinstance(body["id"], int) and body["created_at"]
    assert {k: body[k] for k in SEED_CREATE} == SEED_CREATE
    tag = Tag.objects.get(pk=body["id"])
    assert tag.workspace_id == workspace.id and tag.created_by_id == api_client.user.id


def test_create_minimal(api_client):
    body = api_client.post(URL, {"type": "clientStage", "tag": " Won "}).json()
    assert body["tag"] == "Won" and body["order"] == 0 and body["description"] == ""


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"tag": "x"}, "type"),
        ({"type": "client"}, "tag"),
        ({"type": "conv", "tag": "x"}, "type"),
        ({"type": "client", "tag": ""}, "tag"),
        ({"type": "client", "tag": "x" * 101}, "tag"),
        ({"type": "client", "tag": "x", "order": "first"}, "order"),
        ({"type": "client", "tag": "x", "order": 2**31}, "order"),
        ({"type": "client", "tag": "x", "description": None}, "description"),
    ],
)
def test_create_invalid_is_400(api_client, workspace, payload, field):
    assert_error(api_client.post(URL, payload), 400, field=field)
    assert not Tag.objects.filter(workspace=workspace).exists()


@pytest.mark.parametrize("value", ["vip", "VIP", " Vip "])
def test_create_duplicate_any_case_is_400(api_client, workspace, value):
    make_tag(workspace, "Vip")
    body = assert_error(api_client.post(URL, {"type": "client", "tag": value}), 400, "unique", "tag")
    assert "already exists" in body["message"]
    assert Tag.objects.filter(workspace=workspace).count() == 1


def test_create_duplicate_past_the_check_is_400_not_500(api_client, workspace, monkeypatch):
    make_tag(workspace, "Vip")
    monkeypatch.setattr(services, "_tag_taken", lambda **kwargs: False)
    assert_error(api_client.post(URL, {"type": "client", "tag": "VIP"}), 400, "unique", "tag")
    assert Tag.objects.filter(workspace=workspace).count() == 1


def test_same_value_other_type_or_workspace_is_fine(api_client, other_client, workspace):
    make_tag(workspace, "Vip")
    assert api_client.post(URL, {"type": "common", "tag": "vip"}).status_code == 201
    assert other_client.post(URL, {"type": "client", "tag": "vip"}).status_code == 201


def test_unauthenticated_is_401(anon_client, workspace):
    tag = make_tag(workspace, "x")
    assert_error(anon_client.get(URL), 401)
    assert_error(anon_client.post(URL, SEED_CREATE), 401)
    assert_error(anon_client.patch(URL, {"patches": [{"id": tag.id, "order": 3}]}), 401)
    assert_error(anon_client.delete(detail(tag)), 401)
    assert Tag.objects.filter(pk=tag.pk, order=0).exists()


def test_member_can_use_tags(member_client):
    assert member_client.post(URL, SEED_CREATE).status_code == 201
    assert member_client.get(URL).status_code == 200


# -- retrieve / update --------------------------------------------------------
def test_retrieve(api_client, workspace):
    tag = make_tag(workspace, "x", "convStage", order=4, description="d")
    body = api_client.get(detail(tag)).json()
    assert (body["id"], body["tag"], body["type"], body["order"], body["description"]) == (
        tag.id, "x", "convStage", 4, "d"
    )
    assert_error(api_client.get(detail(99999999)), 404, "not_found")


def test_patch_fields(api_client, workspace):
    tag = make_tag(workspace, "x", order=1)
    body = api_client.patch(detail(tag), {"tag": "Y", "order": 9, "description": "dd"}).json()
    assert (body["tag"], body["order"], body["description"], body["type"]) == ("Y", 9, "dd", "client")
    tag.refresh_from_db()
    assert (tag.tag, tag.order, tag.description, tag.updated_by_id) == ("Y", 9, "dd", api_client.user.id)


def test_put_with_same_type(api_client, workspace):
    tag = make_tag(workspace, "x")
    body = api_client.put(detail(tag), {"type": "client", "tag": "x2", "order": 3}).json()
    assert (body["tag"], body["order"]) == ("x2", 3)


def test_changing_type_is_400(api_client, workspace):
    tag = make_tag(workspace, "x")
    assert_error(api_client.patch(detail(tag), {"type": "clientStage"}), 400, "immutable", "type")
    tag.refresh_from_db()
    assert tag.type == "client"


def test_rename_to_existing_any_case_is_400(api_client, workspace):
    make_tag(workspace, "Vip")
    tag = make_tag(workspace, "x")
    assert_error(api_client.patch(detail(tag), {"tag": "VIP"}), 400, "unique", "tag")
    assert api_client.patch(detail(tag), {"tag": "X"}).json()["tag"] == "X"  # own value, new case


# -- delete -------------------------------------------------------------------
def test_delete_takes_the_tag_off_every_contact(api_client, workspace):
    vip = make_tag(workspace, "vip")
    other = make_tag(workspace, "other")
    contacts = [Contact.objects.create(workspace=workspace, name=f"c{i}") for i in range(3)]
    for contact in contacts:
        ContactTag.objects.create(contact=contact, tag=vip)
        ContactTag.objects.create(contact=contact, tag=other)
    response = api_client.delete(detail(vip))
    assert response.status_code == 204, response.content
    assert not Tag.objects.filter(pk=vip.pk).exists()
    assert not ContactTag.objects.filter(tag_id=vip.pk).exists()
    assert ContactTag.objects.filter(tag=other).count() == 3
    for contact in contacts:
        contact.refresh_from_db()  # the contacts themselves stay, with a new version
        assert list(contact.tags.all()) == [other] and contact.version == 2


def test_delete_client_stage_clears_the_stage(api_client, workspace):
    stage = make_tag(workspace, "Won", "clientStage")
    in_stage = Contact.objects.create(workspace=workspace, name="a", stage=stage)
    other_stage = make_tag(workspace, "Lost", "clientStage")
    elsewhere = Contact.objects.create(workspace=workspace, name="b", stage=other_stage)
    assert api_client.delete(detail(stage)).status_code == 204
    in_stage.refresh_from_db()
    elsewhere.refresh_from_db()
    assert in_stage.stage_id is None and in_stage.version == 2
    assert elsewhere.stage_id == other_stage.id and elsewhere.version == 1


def test_delete_unknown_is_404(api_client):
    assert_error(api_client.delete(detail(99999999)), 404, "not_found")


# -- bulk patch ---------------------------------------------------------------
def test_bulk_patch(api_client, workspace):
    a = make_tag(workspace, "a", order=1, description="keep")
    b = make_tag(workspace, "b", order=2, description="old")
    c = make_tag(workspace, "c", order=3, description="untouched")
    response = api_client.patch(
        URL, {"patches": [{"id": a.id, "order": 10}, {"id": str(b.id), "description": ""}]}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"updated": 2}
    a.refresh_from_db(), b.refresh_from_db(), c.refresh_from_db()
    assert (a.order, a.description) == (10, "keep")
    assert (b.order, b.description) == (2, "")
    assert (c.order, c.description) == (3, "untouched")
    assert a.updated_by_id == api_client.user.id and a.updated_at > a.created_at


def test_bulk_patch_seed_shape_with_only_ids(api_client, workspace):
    a = make_tag(workspace, "a", order=1)
    assert api_client.patch(URL, {"patches": [{"id": a.id}]}).json() == {"updated": 1}
    a.refresh_from_db()
    assert a.order == 1


def test_bulk_patch_unknown_id_changes_nothing(api_client, workspace, other_workspace):
    a = make_tag(workspace, "a", order=1)
    b = make_tag(workspace, "b", order=2)
    foreign = make_tag(other_workspace, "f", order=3)
    patches = [
        {"id": a.id, "order": 100},
        {"id": 99999999, "order": 5},
        {"id": foreign.id, "order": 6},
        {"id": b.id, "description": "new"},
    ]
    body = assert_error(api_client.patch(URL, {"patches": patches}), 404, "not_found")
    assert body["ids"] == sorted([99999999, foreign.id])
    assert str(foreign.id) in body["message"] and "99999999" in body["message"]
    a.refresh_from_db(), b.refresh_from_db(), foreign.refresh_from_db()
    assert (a.order, b.description, foreign.order) == (1, "", 3)


def test_bulk_patch_duplicate_ids_is_400(api_client, workspace):
    a = make_tag(workspace, "a", order=1)
    body = assert_error(
        api_client.patch(URL, {"patches": [{"id": a.id, "order": 2}, {"id": a.id, "order": 3}]}),
        400, "duplicate", "patches",
    )
    assert str(a.id) in body["message"]
    a.refresh_from_db()
    assert a.order == 1


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"patches": []},
        {"patches": "x"},
        {"patches": [{"order": 1}]},
        {"patches": [{"id": "abc"}]},
        {"patches": [{"id": 1, "order": "first"}]},
        {"patches": [{"id": 1, "order": -(2**31) - 1}]},
        {"patches": [{"id": 1, "description": None}]},
        {"patches": [{"id": 2**63}]},
        [1, 2],
    ],
)
def test_bulk_patch_invalid_is_400(api_client, workspace, payload):
    tag = make_tag(workspace, "a", order=1)
    payload = {"patches": [{**p, "id": tag.id} if p.get("id") == 1 else p for p in payload["patches"]]} if (
        isinstance(payload, dict) and isinstance(payload.get("patches"), list)
    ) else payload
    assert_error(api_client.patch(URL, payload), 400)
    tag.refresh_from_db()
    assert tag.order == 1 and tag.description == ""


def test_bulk_patch_over_1000_is_400(api_client, workspace):
    tag = make_tag(workspace, "a")
    patches = [{"id": tag.id + 1 + i, "order": i} for i in range(1001)]
    assert_error(api_client.patch(URL, {"patches": patches}), 400, field="patches")


def test_bulk_patch_1000(api_client, workspace):
    tags = Tag.objects.bulk_create([Tag(workspace=workspace, tag=f"t{i}", type="client") for i in range(1000)])
    patches = [{"id": t.id, "order": 1000 - i, "description": f"d{i}"} for i, t in enumerate(tags)]
    assert api_client.patch(URL, {"patches": patches}).json() == {"updated": 1000}
    orders = dict(Tag.objects.filter(workspace=workspace).values_list("id", "order"))
    assert all(orders[t.id] == 1000 - i for i, t in enumerate(tags))


def test_bulk_patch_constant_queries(api_client, workspace, django_assert_num_queries):
    tags = Tag.objects.bulk_create([Tag(workspace=workspace, tag=f"t{i}", type="client") for i in range(100)])
    # token, SAVEPOINT, the values before (for the events), the UPDATE ... FROM (VALUES ...), the
    # tag.updated events' INSERT, RELEASE SAVEPOINT
    with django_assert_num_queries(6):
        assert api_client.patch(URL, {"patches": [{"id": tags[0].id, "order": 1}]}).json() == {"updated": 1}
    with django_assert_num_queries(6):
        patches = [{"id": t.id, "order": i, "description": "x"} for i, t in enumerate(tags)]
        assert api_client.patch(URL, {"patches": patches}).json() == {"updated": 100}


# -- tenancy ------------------------------------------------------------------
def test_tenancy_on_every_route(api_client, other_client, workspace):
    tags = [make_tag(workspace, "a", order=1), make_tag(workspace, "s", "clientStage", order=2)]
    contact = Contact.objects.create(workspace=workspace, name="c", stage=tags[1])
    ContactTag.objects.create(contact=contact, tag=tags[0])
    ids = [t.id for t in tags]
    assert_tenant_isolated(
        other_client, list_url=URL, detail_urls=[detail(i) for i in ids], hidden_ids=ids,
        payload={"type": "client", "tag": "hijack", "order": 99},
    )
    body = assert_error(other_client.patch(URL, {"patches": [{"id": i, "order": 99} for i in ids]}), 404, "not_found")
    assert body["ids"] == sorted(ids)
    for tag in tags:
        tag.refresh_from_db()
    assert [(t.tag, t.order) for t in tags] == [("a", 1), ("s", 2)]
    contact.refresh_from_db()
    assert contact.stage_id == tags[1].id and list(contact.tags.all()) == [tags[0]]
    # and filters never reach into another workspace
    assert other_client.get(URL, {"tag": "a"}).json()["data"] == []


def test_every_relation_to_a_tag_lets_it_be_deleted():
    """Whatever app points at tags (contacts, messages...), a tag deletion
    must neither be blocked nor leave a dangling id: through tables cascade,
    plain foreign keys (a contact's stage) are set null."""
    from django.db import models

    relations = [rel for rel in Tag._meta.get_fields(include_hidden=True) if rel.one_to_many]
    throughs = {rel.through for rel in Tag._meta.related_objects if rel.many_to_many}
    assert {(rel.related_model._meta.label, rel.field.name) for rel in relations} >= {
        ("contacts.ContactTag", "tag"), ("contacts.Contact", "stage"),
    }
    for rel in relations:
        expected = models.CASCADE if rel.related_model in throughs else models.SET_NULL
        assert rel.on_delete is expected, f"{rel.related_model._meta.label}.{rel.field.name}: {rel.on_delete.__name__}"


@pytest.mark.parametrize(("payload", "field"), [
    ({"type": "client", "tag": 0}, "tag"),
    ({"type": "client", "tag": "x", "description": 0}, "description"),
])
def test_wrong_types_are_400_not_coerced(api_client, payload, field):
    """Found by schemathesis: a number was coerced to a string."""
    assert_error(api_client.post(URL, payload, format="json"), 400, field=field)
    bulk = api_client.patch(URL, {"patches": [{"id": 1, "description": 5}]}, format="json")
    assert_error(bulk, 400, field="patches.0.description")
