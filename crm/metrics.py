"""Prometheus metrics (prometheus-client) and where they are exposed.

Recorded here: HTTP requests by route, method and status with latency
(crm.middleware.RequestContextMiddleware), database queries and their time
(a wrapper on every connection), Celery tasks by name and outcome with
duration (crm.logs task signals), import rows, message deliveries by
provider and outcome. Queue depth is read from the broker at each scrape.

Several processes (gunicorn workers, prefork children) each count in their
own memory unless PROMETHEUS_MULTIPROC_DIR names a folder they share;
prometheus-client's multiprocess mode then writes the counts there and a
scrape adds them up. config/gunicorn.py sets one per gunicorn master; a
worker needs it set (docs/operations.md, "Metrics").

Exposed on GET /metrics with `Authorization: Bearer $METRICS_TOKEN`, or with
METRICS_PORT on a separate listener of the gunicorn master and of each
Celery worker's main process (`start_server`).
"""
import hmac
import logging
import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger(__name__)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5)
_TASK_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

http_requests = Counter(
    "crm_http_requests_total", "HTTP requests by route (URL pattern), method and status.", ["route", "method", "status"]
)
http_request_seconds = Histogram(
    "crm_http_request_duration_seconds", "HTTP request latency.", ["route", "method"], buckets=_LATENCY_BUCKETS
)
db_query_seconds = Histogram(
    "crm_db_query_duration_seconds", "Database queries (count) and their time.", buckets=_QUERY_BUCKETS
)
celery_tasks = Counter("crm_celery_tasks_total", "Celery task runs by task name and outcome.", ["task", "outcome"])
celery_task_seconds = Histogram(
    "crm_celery_task_duration_seconds", "Celery task run time.", ["task"], buckets=_TASK_BUCKETS
)
import_rows = Counter("crm_import_rows_total", "Rows of import jobs by outcome.", ["outcome"])
message_deliveries = Counter(
    "crm_message_deliveries_total",
    "Outbound message deliveries (webhook and other providers) by provider and outcome.",
    ["provider", "outcome"],
)
rate_limited = Counter("crm_rate_limited_requests_total", "Requests refused with 429, by limit.", ["scope"])


def record_request(route: str, method: str, status: int, seconds: float) -> None:
    http_requests.labels(route, method, str(status)).inc()
    http_request_seconds.labels(route, method).observe(seconds)


def record_task(name: str, state: str, seconds: float) -> None:
    celery_tasks.labels(name, state.lower()).inc()
    celery_task_seconds.labels(name).observe(seconds)


def record_import_chunk(*, created: int, updated: int, skipped: int) -> None:
    for outcome, count in (("created", created), ("updated", updated), ("skipped", skipped)):
        if count:
            import_rows.labels(outcome).inc(count)


def record_delivery(provider: str, outcome: str) -> None:
    message_deliveries.labels(provider, outcome).inc()


def time_query(execute, sql, params, many, context):
    """A database execute wrapper (connection.execute_wrappers)."""
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        db_query_seconds.observe(time.perf_counter() - started)


def instrument_connection(sender=None, connection=None, **kwargs):
    """connection_created: time every query of this connection. First in the
    list, so a caller's `with connection.execute_wrapper(...)` (which pops the
    last one) never removes it."""
    if time_query not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, time_query)


class QueueDepthCollector:
    """crm_celery_queue_length{queue}: messages waiting in each known queue,
    asked of the broker at scrape time (no other process needs to count)."""

    def collect(self):
        from django.conf import settings
        from kombu import Connection

        family = GaugeMetricFamily("crm_celery_queue_length", "Messages waiting in a Celery queue.", labels=["queue"])
        queues = {"celery"} | {
            name for name in (getattr(settings, "IMPORT_QUEUE", None), getattr(settings, "MESSAGING_DELIVERY_QUEUE", None))
            if name
        }
        try:
            with Connection(settings.CELERY_BROKER_URL, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                            connect_timeout=2) as connection:
                channel = connection.default_channel
                for queue in sorted(queues):
                    try:
                        depth = channel.queue_declare(queue=queue, passive=True).message_count
                    except Exception:  # a queue nobody declared yet holds nothing
                        depth = 0
                    family.add_metric([queue], depth)
        except Exception:
            logger.warning("metrics: the broker did not answer the queue depth query")
            return
        yield family


def registry():
    """What a scrape reads: every process's counts in multiprocess mode, this
    process's otherwise; plus the queue depth."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultRegistry())
    registry.register(QueueDepthCollector())
    return registry


class _DefaultRegistry:
    def collect(self):
        return REGISTRY.collect()


def exposition() -> bytes:
    return generate_latest(registry())


def authorized(header: str, token: str) -> bool:
    return bool(token) and hmac.compare_digest(header.encode(), f"Bearer {token}".encode())


def start_server(port: int, addr: str = "0.0.0.0") -> None:
    """The separate metrics listener (METRICS_PORT), for a process that
    serves no HTTP of its own or whose port should not expose them."""
    start_http_server(port, addr=addr, registry=registry())
    logger.info("metrics listener started", extra={"port": port})


def metrics_view(request):
    """GET /metrics: the Prometheus text format, for `Authorization: Bearer
    $METRICS_TOKEN`. 404 when no METRICS_TOKEN is set (METRICS_PORT instead,
    or no metrics)."""
    from django.conf import settings
    from django.http import HttpResponse

    from .middleware import json_error_response

    if not settings.METRICS_TOKEN:
        return json_error_response(404, message="No route matches this path.")
    if not authorized(request.headers.get("Authorization", ""), settings.METRICS_TOKEN):
        response = json_error_response(401, "not_authenticated", "Send Authorization: Bearer <METRICS_TOKEN>.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)


def start_worker_server(sender=None, **kwargs):
    """worker_ready (a Celery worker's main process): METRICS_PORT listener."""
    from django.conf import settings

    if settings.METRICS_PORT:
        start_server(settings.METRICS_PORT, addr=os.environ.get("METRICS_ADDR", "0.0.0.0"))
