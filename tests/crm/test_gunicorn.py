"""The API as production runs it: gunicorn with several worker processes
(config/gunicorn.py) on the test database.

- Rate limits hold across processes: counted in Redis (here the broker's, as
  with no CACHE_URL), per token and per workspace, exactly the configured
  totals whatever worker answers.
- Metrics add up across the workers (prometheus-client multiprocess mode).
- Request ids are echoed by the real server.
"""
import json
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory, make_token
from tests.processes import gunicorn

pytestmark = [pytest.mark.server, pytest.mark.django_db(transaction=True)]


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def hammer(url, token, count):
    with ThreadPoolExecutor(max_workers=6) as pool:
        return list(pool.map(lambda _: get(url, {"x-access-token": token}), range(count)))


def _away_from_the_hour_boundary():
    """The limits below are per hour: don't let the run straddle two windows."""
    left = 3600 - time.time() % 3600
    if left < 60:
        time.sleep(left + 1)


def test_rate_limits_hold_across_gunicorn_workers(tmp_path, monkeypatch):
    monkeypatch.delenv("CACHE_URL", raising=False)
    monkeypatch.delenv("RATE_LIMIT_REDIS_URL", raising=False)
    workspace = WorkspaceFactory()
    first, second = UserFactory(), UserFactory()
    MembershipFactory(workspace=workspace, user=first, role="admin")
    MembershipFactory(workspace=workspace, user=second, role="member")
    first_token, second_token = make_token(workspace, first), make_token(workspace, second)
    env = {
        "API_RATE_LIMIT": "100/hour", "API_WORKSPACE_RATE_LIMIT": "150/hour",
        "RATE_LIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "METRICS_TOKEN": "metrics-secret",
    }
    _away_from_the_hour_boundary()
    with gunicorn(workers=3, env=env) as (base, process):
        url = f"{base}/v1/crm/me"
        first_results = hammer(url, first_token, 200)
        second_results = hammer(url, second_token, 100)
        _, _, metrics = get(f"{base}/metrics", {"Authorization": "Bearer metrics-secret"})
        echoed = get(f"{base}/livez", {"X-Request-ID": "req-0123456789abcdef"})[1]
        log = Path(process.log_path).read_text()

    statuses = [status for status, _, _ in first_results + second_results]
    assert set(statuses) <= {200, 429}, log[-3000:]
    # The token's own limit: 100 of its 200; then the workspace's: 50 more of the second token's 100.
    assert sum(status == 200 for status, _, _ in first_results) == 100
    assert sum(status == 200 for status, _, _ in second_results) == 50
    refused = next(headers for status, headers, _ in second_results if status == 429)
    assert int(refused["Retry-After"]) >= 1 and refused["RateLimit"].startswith('"workspace";r=0;')
    assert refused["RateLimit-Policy"] == '"token";q=100;w=3600, "workspace";q=150;w=3600'
    remaining = sorted(int(headers["X-RateLimit-Remaining"]) for status, headers, _ in first_results if status == 200)
    assert remaining == list(range(100)), "each answer counts from the one shared counter"

    # Several workers served, and the scrape adds up all of them.
    served_by = {p.name for p in tmp_path.glob("counter_*.db")}
    assert len(served_by) >= 2, f"one worker served everything: {served_by}"
    text = metrics.decode()
    by_status = {
        line.split('status="')[1].split('"')[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("crm_http_requests_total{") and 'route="/v1/crm/me"' in line
    }
    assert by_status == {"200": 150.0, "429": 150.0}, by_status
    assert 'crm_rate_limited_requests_total{scope="token"} 100.0' in text
    assert 'crm_rate_limited_requests_total{scope="workspace"} 50.0' in text
    assert "crm_db_query_duration_seconds_count" in text and "crm_http_request_duration_seconds_bucket" in text
    assert echoed["X-Request-ID"] == "req-0123456789abcdef"


def test_long_request_lines_through_gunicorn(tmp_path):
    """A list filter of its documented maximum (1,000 ids of 19 digits, ~23 KB
    of URL) passes gunicorn; a longer URL gets the JSON 414 of
    crm.middleware.RequestLineLimitMiddleware, not gunicorn's HTML 400."""
    workspace, user = WorkspaceFactory(), UserFactory()
    MembershipFactory(workspace=workspace, user=user, role="admin")
    headers = {"x-access-token": make_token(workspace, user)}
    ids = [9_223_372_036_854_775_807 - i for i in range(1000)]
    repeated = "&".join(f"id={i}" for i in ids)
    listed = "contact_ids=" + ",".join(map(str, ids))
    with gunicorn(workers=1, env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}) as (base, process):
        url = f"{base}/v1/crm/contacts"
        answers = [get(f"{url}?{query}", headers) for query in (repeated, listed, repeated + "&" + listed)]
        log = Path(process.log_path).read_text()
    assert len(repeated) > 8190 and len(listed) > 8190  # over gunicorn's default limit
    (ok_status, _, ok_body), (listed_status, _, _), (long_status, long_headers, long_body) = answers
    assert ok_status == 200 and json.loads(ok_body)["data"] == [], (ok_status, ok_body[:300], log[-2000:])
    assert listed_status == 200
    assert long_status == 414 and long_headers["Content-Type"] == "application/json", long_body[:300]
    assert json.loads(long_body)["code"] == "uri_too_long"
