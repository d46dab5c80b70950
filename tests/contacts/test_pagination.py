"""Contact lists page over ids then load rows; counts are exact up to the cap."""
from contacts.pagination import ContactPagination


def test_total_is_exact_below_the_cap(api_client, make_contact):
    for i in range(5):
        make_contact(name=f"c{i}")
    info = api_client.get("/v1/crm/contacts?limit=2&page=2").json()["paginationInfo"]
    assert info["totalRecords"] == 5 and info["totalRecordsIsEstimate"] is False
    assert info["totalPages"] == 3 and info["hasNextPage"] is True


def test_total_beyond_the_cap_is_flagged_estimate(api_client, make_contact, monkeypatch):
    monkeypatch.setattr(ContactPagination, "count_cap", 3)
    for i in range(6):
        make_contact(name=f"c{i}")
    body = api_client.get("/v1/crm/contacts?limit=2").json()
    assert body["paginationInfo"]["totalRecordsIsEstimate"] is True
    assert body["paginationInfo"]["totalRecords"] >= 4
    assert len(body["data"]) == 2 and body["data"][0]["name"] == "c5"  # rows are loaded, newest first


def test_cursor_pages_load_full_rows(api_client, make_contact):
    made = [make_contact(name=f"c{i}").pk for i in range(5)]
    seen, cursor = [], ""
    while True:
        body = api_client.get(f"/v1/crm/contacts?limit=2&cursor={cursor}").json()
        assert all("name" in row and "label" in row for row in body["data"])
        seen += [row["id"] for row in body["data"]]
        cursor = body["paginationInfo"]["nextCursor"]
        if cursor is None:
            break
    assert seen == sorted(made, reverse=True)


import pytest  # noqa: E402


@pytest.mark.parametrize("sort", ["email", "-email", "created_at", "-updatedAt", "name", "-id", "city,-created_at"])
def test_cursor_mode_walks_every_sort(api_client, make_contact, sort):
    made = {make_contact(name=f"n{i % 3}", email=f"e{i}@x.test", city=f"c{i % 2}").pk for i in range(7)}
    seen, cursor = [], ""
    for _ in range(10):
        response = api_client.get(f"/v1/crm/contacts?limit=3&sort={sort}&cursor={cursor}")
        assert response.status_code == 200, response.content
        body = response.json()
        seen += [row["id"] for row in body["data"]]
        cursor = body["paginationInfo"]["nextCursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) and set(seen) == made
    # Same order as the page-number list with that sort.
    paged = [row["id"] for row in api_client.get(f"/v1/crm/contacts?limit=100&sort={sort}").json()["data"]]
    assert seen == paged


def _cursor(values):
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.mark.parametrize("query, values", [
    ("", ["abc"]), ("", [{"a": 1}]), ("", [[1]]), ("", [True]),
    ("&sort=name", ["\u0000", 5]), ("&sort=name", ["ann", "x"]), ("&sort=created_at", ["garbage", 5]),
])
def test_forged_cursor_is_400_not_500(api_client, make_contact, query, values):
    """A well-formed cursor whose values its fields cannot take ("abc" for an id, a bad date, a NUL
    in a name) reached the query: 500."""
    make_contact(name="Ann")
    response = api_client.get(f"/v1/crm/contacts?cursor={_cursor(values)}{query}")
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "cursor"
