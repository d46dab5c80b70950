"""The reusable tenancy check every resource's tests apply.

    assert_tenant_isolated(other_client, list_url="/v1/crm/tags",
                           detail_urls=[f"/v1/crm/tags/{tag.id}"], hidden_ids=[tag.id])

proves that a token of another workspace gets a 404 in the error format on
every detail route (GET, PUT, PATCH, DELETE and any extra action URLs
given with their methods) and never sees the ids in the list.
"""
from collections.abc import Iterable

DETAIL_METHODS = ("get", "put", "patch", "delete")


def _list_ids(body):
    items = body["data"] if isinstance(body, dict) and "data" in body else body
    return {item.get("id") for item in items}


def assert_tenant_isolated(
    other_client,
    *,
    list_url: str | None = None,
    detail_urls: Iterable[str] = (),
    hidden_ids: Iterable = (),
    actions: Iterable[tuple[str, str]] = (),
    methods: Iterable[str] = DETAIL_METHODS,
    payload: dict | None = None,
):
    checks = [(m, url) for url in detail_urls for m in methods] + list(actions)
    for method, url in checks:
        response = getattr(other_client, method)(url, payload or {}, format="json")
        assert response.status_code == 404, f"{method.upper()} {url} -> {response.status_code}: {response.content[:300]}"
        body = response.json()
        assert body["code"] == "not_found" and body["errors"], body
    if list_url is not None:
        response = other_client.get(list_url)
        assert response.status_code == 200, response.content
        leaked = _list_ids(response.json()) & set(hidden_ids)
        assert not leaked, f"{list_url} shows another workspace's ids {leaked}"
