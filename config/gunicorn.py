"""gunicorn settings: `gunicorn -c python:config.gunicorn config.wsgi ...`.

Metrics of several workers: each worker process counts in files of a folder
they share (prometheus-client's multiprocess mode), so a scrape of any worker
(or of the METRICS_PORT listener) reports the sum. The folder is
PROMETHEUS_MULTIPROC_DIR when set (empty it before each start), else a new
temporary one for this master.
"""
import os
import tempfile

import gunicorn.http.message

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="crm-gunicorn-metrics-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# The request line: id lists of their documented maximum (1,000 ids) need ~23 KB,
# which the application answers; crm.middleware.RequestLineLimitMiddleware answers
# anything over MAX_REQUEST_LINE_BYTES (32 KiB) with a JSON 414, so gunicorn's own
# limit sits above it. gunicorn clamps limit_request_line to its MAX_REQUEST_LINE
# (8190) unless 0, which would mean unbounded buffering: the ceiling is raised
# instead (workers fork from this master and keep it).
REQUEST_LINE_CEILING = 64 * 1024
gunicorn.http.message.MAX_REQUEST_LINE = REQUEST_LINE_CEILING + 1
limit_request_line = REQUEST_LINE_CEILING


def when_ready(server):
    """The METRICS_PORT listener runs in the master, which outlives workers."""
    port = int(os.environ.get("METRICS_PORT") or 0)
    if port:
        from crm.metrics import start_server

        start_server(port, addr=os.environ.get("METRICS_ADDR", "0.0.0.0"))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
