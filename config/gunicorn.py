"""gunicorn settings: `gunicorn -c python:config.gunicorn config.wsgi ...`.

Metrics of several workers: each worker process counts in files of a folder
they share (prometheus-client's multiprocess mode), so a scrape of any worker
(or of the METRICS_PORT listener) reports the sum. The folder is
PROMETHEUS_MULTIPROC_DIR when set (empty it before each start), else a new
temporary one for this master.
"""
import os
import tempfile

if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="crm-gunicorn-metrics-")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def when_ready(server):
    """The METRICS_PORT listener runs in the master, which outlives workers."""
    port = int(os.environ.get("METRICS_PORT") or 0)
    if port:
        from crm.metrics import start_server

        start_server(port, addr=os.environ.get("METRICS_ADDR", "0.0.0.0"))


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
