"""The /metrics endpoint: off without METRICS_TOKEN, behind it otherwise, in
the Prometheus text format. (Several processes adding up: test_gunicorn.py
and test_observability.py.)"""
from prometheus_client import REGISTRY


def test_metrics_endpoint_needs_its_token(client, api_client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    settings.METRICS_TOKEN = "s3cret-metrics-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {api_client.token}").status_code == 401
    api_client.get("/v1/crm/users")
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-metrics-token")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert 'crm_http_requests_total{method="GET",route="/v1/crm/users",status="200"}' in text
    assert 'crm_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/v1/crm/users"}' in text
    assert 'crm_celery_queue_length{queue="celery"}' in text


def test_requests_and_queries_are_counted(api_client):
    def sample(name, labels=None):
        return REGISTRY.get_sample_value(name, labels or {}) or 0

    labels = {"route": "/v1/crm/users/<int:pk>", "method": "GET", "status": "404"}
    requests, queries = sample("crm_http_requests_total", labels), sample("crm_db_query_duration_seconds_count")
    api_client.get("/v1/crm/users/987654321")
    assert sample("crm_http_requests_total", labels) == requests + 1
    assert sample("crm_db_query_duration_seconds_count") >= queries + 1
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    before = sample("crm_http_requests_total", unmatched)
    api_client.get("/no/such/path/12345")
    assert sample("crm_http_requests_total", unmatched) == before + 1
