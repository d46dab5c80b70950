"""Log lines and the request id they carry.

Every process logs through the standard library; config/settings.py LOGGING
gives the console handler `formatter()` below, a structlog ProcessorFormatter:
time (UTC), level, logger, message, the context bound for the current request
or task (request_id, task_id, ...) and the record's `extra`; text, or one JSON
object a line with LOG_FORMAT=json. Nothing needs a structlog logger:
`logging.getLogger(__name__).info("...", extra={...})` is enough.

The request id lives in a contextvar (structlog.contextvars): the request
middleware binds it, Celery carries it in a message header to the tasks a
request enqueues (`connect_celery_signals`), and a task binds it again.
"""
import logging
import re
import time
import uuid
from contextlib import contextmanager

import structlog
from structlog.contextvars import bind_contextvars, get_contextvars, reset_contextvars

REQUEST_ID_HEADER = "X-Request-ID"
# Message header that carries the request id to a task.
TASK_HEADER = "crm_request_id"
# A client's id is kept when it is this shape (a UUID, a trace id, ...): it
# goes into every log line, so nothing that could break a line or a parser.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,127}$")
# Masked wherever they appear in a line: API tokens (crm.tokens), a bearer
# credential, `password=...`-style pairs, email addresses.
_SECRETS = re.compile(
    r"crm_[a-z0-9]{8}_[A-Za-z0-9_-]{20,}"
    r"|(?i:(?P<key>\bbearer\s+|\b(?:password|secret|token|api_key)[\"']?\s*[:=]\s*[\"']?))[^\s,;\"'&]+"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
)
# `extra` keys Django and others attach that would print a request (its
# query string, headers, cookies) or a socket into the line.
_DROPPED_KEYS = ("request", "socket")

task_logger = logging.getLogger("crm.tasks")


def request_id_from(value: str | None) -> str:
    """The client's X-Request-ID when well formed, else a new one."""
    if value and _WELL_FORMED.match(value):
        return value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return get_contextvars().get("request_id")


@contextmanager
def log_context(**values):
    """Binds values to every log line inside the block, restoring the outer
    ones after (a task run eagerly inside a request keeps the request's id)."""
    tokens = bind_contextvars(**values)
    try:
        yield
    finally:
        reset_contextvars(**tokens)


def _mask(text: str) -> str:
    return _SECRETS.sub(lambda m: (m.group("key") or "") + "[masked]", text)


def _drop_and_mask(logger, method_name, event_dict):
    for key in _DROPPED_KEYS:
        event_dict.pop(key, None)
    for key, value in event_dict.items():
        if isinstance(value, str) and key != "timestamp":
            event_dict[key] = _mask(value)
    return event_dict


def _mask_rendered(logger, method_name, rendered):
    # Tracebacks are rendered last (their frames may hold a token's text).
    return _mask(rendered) if isinstance(rendered, str) else rendered


def formatter(json: bool = False) -> structlog.stdlib.ProcessorFormatter:
    """The one log format (LOGGING's "()" factory)."""
    pre_chain = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _drop_and_mask,
    ]
    if json:
        render = [structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()]
    else:
        render = [structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=pre_chain,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render, _mask_rendered],
    )


# -- Celery: the request id travels with the task; each run is logged --------
def _add_request_id_header(headers=None, **kwargs):
    request_id = current_request_id()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


_running: dict[str, tuple[float, dict]] = {}


def _task_started(task_id=None, task=None, **kwargs):
    request_id = getattr(task.request, TASK_HEADER, None) or current_request_id() or uuid.uuid4().hex
    tokens = bind_contextvars(request_id=request_id, task_id=task_id, task=task.name)
    _running[task_id] = (time.perf_counter(), tokens)
    task_logger.info("task started", extra={"retries": task.request.retries or 0})


def _task_finished(task_id=None, task=None, state=None, **kwargs):
    started, tokens = _running.pop(task_id, (None, None))
    if started is None:
        return
    duration = time.perf_counter() - started
    task_logger.info("task finished", extra={"state": state, "duration_s": round(duration, 3)})
    from . import metrics

    metrics.record_task(task.name, state or "UNKNOWN", duration)
    reset_contextvars(**tokens)


def connect_celery_signals():
    from celery import signals

    signals.before_task_publish.connect(_add_request_id_header, dispatch_uid="crm.logging.request_id_header")
    signals.task_prerun.connect(_task_started, dispatch_uid="crm.logging.task_started")
    signals.task_postrun.connect(_task_finished, dispatch_uid="crm.logging.task_finished")
