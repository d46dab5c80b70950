"""Request ids, log lines and task metrics, through the real middleware and a
real Celery worker (prefork, as production runs it)."""
import io
import json
import logging
import re
import time
import urllib.request
from contextlib import contextmanager

import pytest
from celery.app import backends
from django.conf import settings
from django.http import JsonResponse
from django.urls import path

from config.celery import app
from config.urls import urlpatterns as base_urlpatterns
from crm.logs import formatter
from crm.tasks import ping
from tests.processes import celery_worker, free_port, worker_log

QUEUE = {}


def enqueue_ping(request):
    """A request that enqueues a task, as an import or a message does."""
    sent = ping.apply_async(args=["from-a-request"], queue=QUEUE["name"])
    return JsonResponse({"task_id": sent.id})


urlpatterns = [*base_urlpatterns, path("enqueue-ping", enqueue_ping)]


@contextmanager
def captured_log(json_lines: bool):
    """Lines as the console handler writes them (the LOGGING formatter)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter(json=json_lines))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)


@pytest.mark.parametrize("sent, kept", [
    ("0f8fcd2e-8c51-4c8d-9b5a-1d2f3e4a5b6c", True),
    ("req-0123456789abcdef", True),
    ("short", False),
    ("has space inside it", False),
    ("<script>alert(1)</script>", False),
    ("x" * 200, False),
    ("line\r\nbreak-0123456789", False),
])
def test_request_id_echoed_when_well_formed(api_client, sent, kept):
    response = api_client.get("/v1/crm/me", HTTP_X_REQUEST_ID=sent)
    if kept:
        assert response["X-Request-ID"] == sent
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"]), response["X-Request-ID"]


def test_every_response_has_a_request_id(client, db):
    for url in ("/livez", "/nothing-here", "/v1/crm/me"):
        assert re.fullmatch(r"[0-9a-f]{32}", client.get(url)["X-Request-ID"])


def test_json_log_lines_carry_the_request_id_and_no_secrets(api_client):
    with captured_log(json_lines=True) as stream:
        logging.getLogger("crm.test").warning("seen with %s and %s", api_client.token, "bob@example.com")
        api_client.get("/v1/crm/contacts?email=bob%40example.com&search=Bob", HTTP_X_REQUEST_ID="req-json-000000001")
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = next(line for line in lines if line["logger"] == "crm.request")
    assert access["request_id"] == "req-json-000000001"
    assert {"timestamp", "level", "logger", "event"} <= set(access)
    assert access["route"] == "/v1/crm/contacts" and access["status"] == 200 and access["method"] == "GET"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", access["timestamp"])
    text = stream.getvalue()
    assert api_client.token not in text and "bob@example.com" not in text and "Bob" not in text
    assert "seen with [masked] and [masked]" in text


def test_text_log_lines_have_time_level_logger_and_request_id(api_client):
    with captured_log(json_lines=False) as stream:
        api_client.get("/v1/crm/me", HTTP_X_REQUEST_ID="req-text-000000001")
    line = next(line for line in stream.getvalue().splitlines() if "[crm.request]" in line)
    assert re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z \[info\s*\] request", line), line
    assert "request_id=req-text-000000001" in line and "status=200" in line


def test_server_error_logged_with_traceback_and_request_id(api_client, monkeypatch):
    from crm import views

    def broken(**kwargs):
        raise RuntimeError("selector broke")

    monkeypatch.setattr(views.selectors, "workspace_members", broken)
    api_client.raise_request_exception = False
    with captured_log(json_lines=True) as stream:
        response = api_client.get("/v1/crm/users", HTTP_X_REQUEST_ID="req-boom-000000001")
    assert response.status_code == 500
    error = next(json.loads(line) for line in stream.getvalue().splitlines() if '"error"' in line)
    assert error["request_id"] == "req-boom-000000001" and error["logger"] == "django.request"
    assert "selector broke" in json.dumps(error["exception"])


@pytest.mark.worker
@pytest.mark.urls("tests.crm.test_observability")
def test_request_id_and_task_metrics_through_a_real_worker(client, tmp_path, db):
    """A request enqueues a task: the prefork worker's JSON log lines of that
    task carry the request's id; its METRICS_PORT listener counts the run
    (added up from the child processes) and reports the queue depth."""
    result_url = settings.CELERY_BROKER_URL
    backend_cls, url = backends.by_url(result_url, app.loader)
    port = free_port()
    env = {
        "CELERY_RESULT_BACKEND": result_url, "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "METRICS_PORT": str(port), "METRICS_ADDR": "127.0.0.1",
    }
    with celery_worker(env=env, pool_args=("--pool=prefork", "--concurrency=2")) as (queue, process):
        QUEUE["name"] = queue
        response = client.get("/enqueue-ping", HTTP_X_REQUEST_ID="req-to-worker-0001")
        task_id = response.json()["task_id"]
        value = app.AsyncResult(task_id, backend=backend_cls(app=app, url=url)).get(timeout=60, interval=0.2)
        assert value == "from-a-request"
        deadline = time.monotonic() + 10
        while '"task finished"' not in worker_log(process) and time.monotonic() < deadline:
            time.sleep(0.1)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        log = worker_log(process)

    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert lines, log[-2000:]
    assert all({"timestamp", "level", "logger", "event"} <= set(line) for line in lines)
    runs = [line for line in lines if line.get("task_id") == task_id]
    events = {line["event"]: line for line in runs}
    assert {"task started", "task finished"} <= set(events), runs
    assert all(line["request_id"] == "req-to-worker-0001" for line in runs)
    assert events["task finished"]["state"] == "SUCCESS" and events["task finished"]["task"] == "crm.ping"
    assert 'crm_celery_tasks_total{outcome="success",task="crm.ping"} 1.0' in metrics, metrics[-2000:]
    assert 'crm_celery_task_duration_seconds_count{task="crm.ping"} 1.0' in metrics
    assert re.search(r'crm_celery_queue_length\{queue="celery"\} \d', metrics)
