"""Real processes for the tests that need them: a Celery worker on the Redis
broker, gunicorn with several workers. Each helper waits until the process
serves, and stops it (SIGTERM, then SIGKILL) when the block ends."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
# The ports this suite may bind (parallel checkouts on one machine use other ranges).
PORT_RANGE = range(int(os.environ.get("TEST_PORT_MIN", "18200")), int(os.environ.get("TEST_PORT_MAX", "18299")) + 1)


def free_port() -> int:
    for port in PORT_RANGE:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {PORT_RANGE}")


def test_database_url() -> str:
    """The test database, for processes that must see the test's committed rows."""
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# The production worker command of docs/operations.md: Celery's default
# prefork pool (here with 2 processes, one per core of the CI machine).
PRODUCTION_POOL = ("--concurrency=2",)


def _signal_group(process, sig) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass


def _stop(process, timeout=15):
    """Stops the process and everything it started (its own process group:
    every helper here starts its process in a new session)."""
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    # The children (prefork pool, validation processes) too, whatever the main one did.
    _signal_group(process, signal.SIGKILL)
    process.wait()


def kill_group(process) -> None:
    """SIGKILL of the whole process: its main process and every child, at once."""
    _signal_group(process, signal.SIGKILL)
    process.wait(timeout=10)


def _start(argv, *, env, prefix):
    log = tempfile.NamedTemporaryFile(prefix=prefix, suffix=".log", delete=False)
    process = subprocess.Popen(
        argv, cwd=ROOT, env={**os.environ, **{k: str(v) for k, v in (env or {}).items()}},
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    process.log_path = log.name
    process.log_file = log
    return process


def _cleanup(process) -> None:
    _stop(process)
    process.log_file.close()
    os.unlink(process.log_path)


def _unacked_of(broker, queue: str) -> list[bytes]:
    """Delivery tags of the messages of `queue` a worker took and has not
    acknowledged (kombu's Redis transport keeps them in the "unacked" hash
    of the whole broker database, every queue's together)."""
    tags = []
    for tag, raw in broker.hgetall("unacked").items():
        try:
            routing_key = json.loads(raw)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            tags.append(tag)
    return tags


def queue_drained(queue: str) -> bool:
    """Nothing of `queue` is waiting or taken and unacknowledged."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    return broker.llen(queue) == 0 and not _unacked_of(broker, queue)


def forget_queue(queue: str) -> None:
    """The queue and its unacknowledged messages (a SIGKILLed worker's stay
    until the visibility timeout and would be redelivered to later tests)."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue)
    tags = _unacked_of(broker, queue)
    if tags:
        broker.hdel("unacked", *tags)
        broker.zrem("unacked_index", *tags)


@contextmanager
def celery_worker(*, env=None, pool_args=("--pool=solo",), queue=None, wait=True):
    """`celery -A config worker` on a private queue (or `queue`); yields
    (queue, process) with `process.log_path`. Stopped with its children."""
    queue = queue or f"test-{uuid.uuid4().hex[:8]}"
    process = _start(
        [sys.executable, "-m", "celery", "-A", "config", "worker", *pool_args, "-Q", queue,
         "-n", f"{uuid.uuid4().hex[:8]}@%h", "--loglevel=INFO", "--without-heartbeat", "--without-gossip",
         "--without-mingle"],
        env=env, prefix="celery-worker-",
    )
    try:
        if wait:
            _wait_until_ready(process)
        yield queue, process
    finally:
        _cleanup(process)
        forget_queue(queue)


@contextmanager
def celery_beat(*, env=None):
    """`celery -A config beat` with a schedule file of its own; yields the process."""
    folder = tempfile.mkdtemp(prefix="celery-beat-")
    process = _start(
        [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
         "--schedule", os.path.join(folder, "schedule")],
        env=env, prefix="celery-beat-",
    )
    try:
        yield process
    finally:
        _cleanup(process)
        # What it sent to Celery's default queue (the other periodic tasks) and nobody here consumes.
        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
        for name in os.listdir(folder):
            os.unlink(os.path.join(folder, name))
        os.rmdir(folder)


def _wait_until_ready(process, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}):\n{worker_log(process)[-3000:]}")
        if " ready." in worker_log(process):
            return
        time.sleep(0.2)
    raise AssertionError(f"the worker was not ready within {timeout} s:\n{worker_log(process)[-3000:]}")


def worker_log(process) -> str:
    return Path(process.log_path).read_text()


def wait_for_http(url: str, process, timeout: float = 60, log_path=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{process.args[:4]} exited ({process.returncode}): {Path(log_path).read_text()[-3000:] if log_path else ''}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def gunicorn(*, workers=3, env=None):
    """gunicorn with the production config (config/gunicorn.py) on the test
    database; yields (base_url, process) with `process.log_path`."""
    port = free_port()
    process = _start(
        [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn", "config.wsgi",
         "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "60"],
        env={"DATABASE_URL": test_database_url(), **(env or {})}, prefix="gunicorn-",
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{base}/livez", process, log_path=process.log_path)
        yield base, process
    finally:
        _cleanup(process)
