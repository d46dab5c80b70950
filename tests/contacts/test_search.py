"""POST /contacts/search: OR'ed groups of AND'ed filters over every contact
field, tags, relations and custom fields (by their declared type), keyset
pages at any depth, the capped total, and a 400 naming whatever doesn't fit."""
import pytest
from django.db import connection

from contacts import services
from contacts.models import ContactFieldValue
from contacts.search import parse_search
from crm.errors import ValidationFailed
from tags.models import Tag
from tests.factories import SYSTEM

URL = "/v1/crm/contacts/search"


def search(client, body, status=200):
    response = client.post(URL, body, format="json")
    assert response.status_code == status, response.content
    return response.json()


def ids(client, *filters, groups=None, **body):
    if groups is None and filters:
        groups = [{"filters": list(filters)}]
    if groups is not None:
        body["filter_groups"] = groups
    return [c["id"] for c in search(client, body)["data"]]


def f(field, operator, value=None):
    out = {"field": field, "operator": operator}
    if value is not None:
        out["value"] = value
    return out


@pytest.fixture
def fields(api_client):
    ws = api_client.workspace

    def make(label, type, **kw):
        return services.custom_field_create(workspace=ws, actor=SYSTEM, label=label, type=type, **kw)

    return {
        "score": make("score", "number"),
        "renewal": make("renewal", "date"),
        "vip": make("vip", "checkbox"),
        "tier": make("tier", "dropdown", options=["Gold", "Silver", "Bronze"]),
        "nickname": make("nickname", "text"),
    }


@pytest.fixture
def people(api_client, make_contact, fields, stage, member):
    ann = make_contact(name="Ann", surname="Smith", email="ann@example.com", city="Paris", tags=["vip", "lead"],
                       stage_id=stage.id, c_field={"score": 90, "renewal": "2027-01-15", "vip": True, "tier": "Gold",
                                                   "nickname": "Annie"})
    bob = make_contact(name="Bob", surname="Jones", city="London", tags=["lead"], owner_id=member.id,
                       c_field={"score": 40.5, "renewal": "2026-06-01", "vip": False, "tier": "Silver"})
    cid = make_contact(name="Cid", surname="Annan", city="Paris", c_field={"score": 7, "nickname": "the kid"})
    dee = make_contact(name="Dee", surname="", email="dee@example.org", sub_owner_ids=[member.id])
    gone = make_contact(name="Gone", c_field={"score": 90})
    services.contact_archive(workspace=api_client.workspace, actor=SYSTEM, contact_id=gone.pk)
    return {"ann": ann.pk, "bob": bob.pk, "cid": cid.pk, "dee": dee.pk, "gone": gone.pk}


def names(people, found):
    by_id = {v: k for k, v in people.items()}
    return [by_id[i] for i in found]


def test_no_filters_lists_active_contacts_newest_first(api_client, people):
    body = search(api_client, {})
    assert names(people, [c["id"] for c in body["data"]]) == ["dee", "cid", "bob", "ann"]
    info = body["paginationInfo"]
    assert info == {"limit": 25, "nextCursor": None, "hasNextPage": False, "totalRecords": 4,
                    "totalRecordsIsEstimate": False}


def test_groups_are_ored_and_filters_anded(api_client, people):
    groups = [
        {"filters": [f("city", "eq", "paris"), f("tags", "has_any", ["vip"])]},
        {"filters": [f("city", "eq", "London"), f("name", "starts_with", "b")]},
    ]
    assert names(people, ids(api_client, groups=groups)) == ["bob", "ann"]


@pytest.mark.parametrize("flt, expected", [
    (f("name", "eq", "ANN"), ["ann"]),
    (f("name", "neq", "ann"), ["dee", "cid", "bob"]),
    (f("name", "in", ["ann", "bob"]), ["bob", "ann"]),
    (f("name", "not_in", ["ann", "bob"]), ["dee", "cid"]),
    (f("surname", "contains", "ann"), ["cid"]),
    (f("name", "contains", "e"), ["dee"]),
    (f("surname", "not_contains", "s"), ["dee", "cid"]),
    (f("surname", "starts_with", "JO"), ["bob"]),
    (f("surname", "is_empty"), ["dee"]),
    (f("email", "is_not_empty"), ["dee", "ann"]),
    (f("email", "eq", "ANN@example.com"), ["ann"]),
    (f("type", "eq", "person"), ["dee", "cid", "bob", "ann"]),
    (f("visibility_type", "neq", "public"), []),
    (f("disabled", "eq", False), ["dee", "cid", "bob", "ann"]),
    (f("tags", "has_all", ["vip", "LEAD"]), ["ann"]),
    (f("tags", "has_any", ["vip", "lead"]), ["bob", "ann"]),
    (f("tags", "has_none", ["vip"]), ["dee", "cid", "bob"]),
    (f("tags", "has_all", ["vip", "nope"]), []),
    (f("tags", "is_empty"), ["dee", "cid"]),
    (f("created_at", "gt", "2000-01-01"), ["dee", "cid", "bob", "ann"]),
    (f("created_at", "lt", 946684800000), []),
    (f("deleted_at", "is_not_empty"), ["gone"]),
    (f("organization", "is_empty"), ["dee", "cid", "bob", "ann"]),
    # custom fields, compared by their declared type
    (f("score", "eq", 90), ["ann"]),
    (f("score", "gt", 10), ["bob", "ann"]),
    (f("score", "between", [7, 40.5]), ["cid", "bob"]),
    (f("score", "lte", "40.5"), ["cid", "bob"]),
    (f("score", "neq", 90), ["dee", "cid", "bob"]),
    (f("score", "is_empty"), ["dee"]),
    (f("c_field.score", "in", [7, 90]), ["cid", "ann"]),
    (f("renewal", "gte", "2026-12-31"), ["ann"]),
    (f("renewal", "between", ["2026-01-01", "2026-12-31"]), ["bob"]),
    (f("vip", "eq", True), ["ann"]),
    (f("vip", "eq", "false"), ["bob"]),
    (f("vip", "is_not_empty"), ["bob", "ann"]),
    (f("tier", "eq", "gold"), ["ann"]),
    (f("tier", "not_in", ["Gold"]), ["dee", "cid", "bob"]),
    (f("nickname", "contains", "KID"), ["cid"]),
    (f("nickname", "starts_with", "ann"), ["ann"]),
    (f("nickname", "eq", "annie"), ["ann"]),
])
def test_operators(api_client, people, flt, expected):
    assert names(people, ids(api_client, flt)) == expected


def test_relations_stage_owner_sub_owners(api_client, people, stage, member):
    assert names(people, ids(api_client, f("stage", "eq", stage.id))) == ["ann"]
    assert names(people, ids(api_client, f("owner_id", "in", [member.id]))) == ["bob"]
    assert names(people, ids(api_client, f("sub_owners", "has_any", [member.id]))) == ["dee"]
    assert names(people, ids(api_client, f("sub_owners", "is_empty"))) == ["cid", "bob", "ann"]


def test_query_is_the_lists_free_text_search(api_client, people):
    assert names(people, ids(api_client, query="smith")) == ["ann"]
    assert names(people, ids(api_client, f("city", "eq", "paris"), query="ann")) == ["cid", "ann"]


@pytest.mark.parametrize("body, field", [
    ({"filter_groups": [{"filters": [f("nope", "eq", 1)]}]}, "filter_groups.0.filters.0.field"),
    ({"filter_groups": [{"filters": [f("name", "gt", "a")]}]}, "filter_groups.0.filters.0.operator"),
    ({"filter_groups": [{"filters": [f("score", "eq", "abc")]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("score", "between", [5, 1])]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("renewal", "gt", "2026-13-01")]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("tier", "eq", "Platinum")]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("vip", "contains", "x")]}]}, "filter_groups.0.filters.0.operator"),
    ({"filter_groups": [{"filters": [f("tags", "eq", "vip")]}]}, "filter_groups.0.filters.0.operator"),
    ({"filter_groups": [{"filters": [f("label", "eq", "x")]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("label", "eq", 2**63)]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("name", "in", [])]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("name", "eq", "a\x00b")]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("name", "is_empty", "x")]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [f("name", "eq")]}]}, "filter_groups.0.filters.0.value"),
    ({"filter_groups": [{"filters": [{**f("name", "eq", "a"), "extra": 1}]}]}, "filter_groups.0.filters.0.extra"),
    ({"filter_groups": [{"filters": [], "x": 1}]}, "filter_groups.0.x"),
    ({"filter_groups": [{"filters": [f("name", "eq", "a")]}] * 6}, "filter_groups"),
    ({"filter_groups": [{"filters": [f("name", "eq", "a")] * 11}]}, "filter_groups.0.filters"),
    ({"filter_groups": {"filters": []}}, "filter_groups"),
    ({"sort": ["shoe_size"]}, "sort"),
    ({"sort": ["score", "name"]}, "sort"),
    ({"sort": 5}, "sort"),
    ({"columns": ["nope"]}, "columns"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"limit": "10"}, "limit"),
    ({"query": 5}, "query"),
    ({"cursor": "!!!"}, "cursor"),
    ({"cursor": "eyJwIjoidiIsImsiOlsiYSJdfQ"}, "cursor"),
    ({"unknown": 1}, "unknown"),
])
def test_what_does_not_fit_is_a_400_naming_it(api_client, people, body, field):
    payload = search(api_client, body, status=400)
    assert field in [e["field"] for e in payload["errors"]], payload


def test_malformed_json_and_non_objects_are_400(api_client, people):
    response = api_client.generic("POST", URL, "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"]
    for body in ([], "text", 5):
        response = api_client.post(URL, body, format="json")
        assert response.status_code == 400, body


def test_a_custom_field_shadowed_by_a_contact_field_is_reachable_by_prefix(api_client, people):
    services.custom_field_create(workspace=api_client.workspace, actor=SYSTEM, label="x", short_name="city",
                                 type="text")
    assert names(people, ids(api_client, f("city", "eq", "paris"))) == ["cid", "ann"]
    assert ids(api_client, f("c_field.city", "is_not_empty")) == []


def test_columns_shape_each_item(api_client, people):
    body = search(api_client, {"columns": ["id", "name"], "filter_groups": [{"filters": [f("name", "eq", "ann")]}]})
    assert body["data"] == [{"id": people["ann"], "name": "Ann"}]


def test_other_workspaces_and_hidden_contacts_are_never_found(api_client, other_client, member_client, people,
                                                               make_contact):
    assert search(other_client, {})["data"] == []
    # a field of another workspace is unknown there
    search(other_client, {"filter_groups": [{"filters": [f("score", "eq", 90)]}]}, status=400)
    hidden = make_contact(name="Secret", visibility_type="private", c_field={"score": 90})
    assert hidden.pk in ids(api_client, f("score", "eq", 90))
    assert hidden.pk not in ids(member_client, f("score", "eq", 90))
    assert names(people, ids(member_client, f("score", "eq", 90))) == ["ann"]


def walk(client, body):
    seen, cursor, pages = [], None, 0
    while True:
        page = search(client, {**body, "cursor": cursor})
        seen += [c["id"] for c in page["data"]]
        pages += 1
        cursor = page["paginationInfo"]["nextCursor"]
        assert page["paginationInfo"]["hasNextPage"] == (cursor is not None)
        if cursor is None:
            return seen, pages


@pytest.mark.parametrize("sort", [["-score"], ["score"], ["name", "-created_at"], ["-tier"], ["renewal"], []])
def test_keyset_pages_walk_every_match_once_in_order(api_client, make_contact, fields, sort):
    made = []
    for i in range(13):
        c_field = {} if i % 4 == 0 else {"score": i % 5, "tier": ["Gold", "Silver", "Bronze"][i % 3],
                                          "renewal": f"2026-01-{i % 7 + 1:02d}"}
        made.append(make_contact(name=f"P{i % 3}", c_field=c_field))
    seen, pages = walk(api_client, {"sort": sort, "limit": 3})
    assert sorted(seen) == sorted(c.pk for c in made) and pages == 5
    whole = [c["id"] for c in search(api_client, {"sort": sort, "limit": 100})["data"]]
    assert seen == whole
    if sort and sort[0].lstrip("-") == "score":
        # contacts without a value come last, by id in the sort's direction
        values = {c.pk: c.custom_fields.get(fields["score"].code) for c in made}
        with_value = [i for i in seen if values[i] is not None]
        assert seen[: len(with_value)] == with_value
        keys = [(values[i], i) for i in with_value]
        assert keys == sorted(keys, reverse=sort[0].startswith("-"))


def test_total_is_capped_then_estimated(api_client, make_contact, monkeypatch):
    from contacts import search as search_module

    for i in range(4):
        make_contact(name=f"N{i}")
    monkeypatch.setattr(search_module, "COUNT_CAP", 2)
    info = search(api_client, {"limit": 1})["paginationInfo"]
    assert info["totalRecordsIsEstimate"] is (connection.vendor == "postgresql")
    assert info["totalRecords"] >= 3


def test_the_field_value_table_follows_every_write(api_client, make_contact, fields):
    contact = make_contact(name="V", c_field={"score": 5, "tier": "Gold"})

    def stored():
        return dict(ContactFieldValue.objects.filter(contact_id=contact.pk).values_list("code", "text"))

    assert stored() == {fields["score"].code: "5", fields["tier"].code: "Gold"}
    services.contact_update(workspace=api_client.workspace, actor=SYSTEM, contact_id=contact.pk,
                            custom_fields=[services.CustomFieldValue("score", None), services.CustomFieldValue(
                                "vip", True)])
    assert stored() == {fields["tier"].code: "Gold", fields["vip"].code: "true"}
    services.contact_erase(workspace=api_client.workspace, actor=SYSTEM, contact_id=contact.pk)
    assert stored() == {}


def test_query_count_is_constant(api_client, make_contact, fields, django_assert_num_queries):
    body = {"filter_groups": [{"filters": [f("tags", "has_any", ["t"]), f("score", "gte", 0)]},
                              {"filters": [f("tier", "eq", "Gold")]}], "sort": ["-score"], "limit": 50}

    def count_queries():
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            search(api_client, body)
        return len(ctx.captured_queries)

    make_contact(name="one", tags=["t"], c_field={"score": 1})
    one = count_queries()
    for i in range(30):
        make_contact(name=f"m{i}", tags=["t"], c_field={"score": i, "tier": "Gold"})
    with django_assert_num_queries(one):
        search(api_client, body)


def test_parse_search_is_usable_without_http(workspace):
    services.custom_field_create(workspace=workspace, actor=SYSTEM, label="score", type="number")
    spec = parse_search({"filter_groups": [{"filters": [f("score", "gt", "3")]}], "sort": "-score"},
                        workspace=workspace)
    assert spec.raw["filter_groups"] == [{"filters": [{"field": "c_field.score", "operator": "gt", "value": 3.0}]}]
    assert spec.raw["sort"] == ["-c_field.score"]
    # the wire form parses back to the same spec
    assert parse_search(spec.raw, workspace=workspace).raw == spec.raw
    with pytest.raises(ValidationFailed):
        parse_search({"filter_groups": "x"}, workspace=workspace)


def test_tag_ids_are_accepted(api_client, people):
    vip = Tag.objects.get(workspace=api_client.workspace, tag="vip")
    assert names(people, ids(api_client, f("tags", "has_any", [vip.pk]))) == ["ann"]
