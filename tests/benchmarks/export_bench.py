#!/usr/bin/env python
"""Export benchmark (issue 16, "Speed"): exports the contacts of
contacts_bench.py's workspace (N contacts, seeded the way that script seeds
them, reused when already there) to CSV through a real worker started with
the production command (`celery -A config worker`: Celery's default prefork
pool), and, in the same run, times `COPY (SELECT the same cells, in id
order) TO STDOUT` of the same contacts into a file, the floor.

    SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench16b \\
        CELERY_BROKER_URL=redis://127.0.0.1:6379/14 .venv/bin/python tests/benchmarks/export_bench.py [--contacts N]

Checks the outcome first (the job succeeded, its rows and the file's CSV
records equal the workspace's active contacts) and exits non-zero otherwise;
then prints the export's time against COPY's (target: within 1.5x) and the
worker's peak memory, its pool process and the whole process tree (target:
under 300 MB). Not part of the test suite.
"""
import argparse
import csv
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import contacts_bench as cb  # noqa: E402  (django.setup(), the seed)

import psycopg  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.files.storage import default_storage  # noqa: E402
from django.db import connection  # noqa: E402

from contacts.models import Contact  # noqa: E402
from crm.actors import Actor  # noqa: E402
from crm.models import Membership  # noqa: E402
from exports import selectors, services  # noqa: E402
from exports.columns import COLUMNS, DEFAULT_COLUMNS  # noqa: E402
from exports.models import ExportJob  # noqa: E402

ROOT = HERE.parents[1]


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            pass
    return found


class MemorySampler(threading.Thread):
    """Peak RSS of the worker's main process, of its busiest pool process and of the whole tree."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.stop = pid, threading.Event()
        self.peak_main = self.peak_child = self.peak_tree = 0

    def run(self):
        while not self.stop.is_set():
            kids = children(self.pid)
            main, child = rss_kb(self.pid), [rss_kb(k) for k in kids]
            self.peak_main = max(self.peak_main, main)
            self.peak_child = max([self.peak_child, *child])
            self.peak_tree = max(self.peak_tree, main + sum(child))
            time.sleep(0.05)


def copy_floor(queryset, columns, path: Path) -> tuple[float, int]:
    """COPY (SELECT the export's cells ... ORDER BY id) TO STDOUT into a file."""
    cells = {f"x_{c.name}": c.sql_cell("postgresql") for c in columns}
    sql, params = queryset.order_by("id").annotate(**cells).values_list(*cells).query.sql_with_params()
    t0 = time.perf_counter()
    with connection.cursor() as cursor, path.open("wb") as out:
        raw = cursor.cursor
        statement = psycopg.ClientCursor(raw.connection).mogrify(sql, params)
        with raw.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
            for data in copy:
                out.write(data)
        rows = raw.rowcount
    return time.perf_counter() - t0, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for the export")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise SystemExit("export_bench needs DATABASE_URL=postgres://... (a scratch database)")
    if not settings.CELERY_BROKER_URL.startswith("redis://"):
        raise SystemExit("export_bench needs CELERY_BROKER_URL=redis://...")
    cb.check_phone_generators()
    cb.restore_pending_ddl()
    cb.call_command("migrate", verbosity=0)
    fx = cb.Fixtures()
    state, reused = cb.ensure_seed(fx, args.contacts, args.contacts // 10, False)
    log("seed: " + ("reused" if reused else f"{state['seconds']} s"))
    workspace = fx.workspace
    actor = Actor.member(fx.admin, Membership.Role.ADMIN)
    expected = Contact.objects.filter(workspace=workspace, deleted_at__isnull=True).count()
    columns = [COLUMNS[name] for name in DEFAULT_COLUMNS]
    media = Path(tempfile.mkdtemp(prefix="export-bench-media-"))
    settings.MEDIA_ROOT = str(media)

    # the floor: COPY of the same cells, run twice (the second with a warm cache) and the faster kept
    search = selectors.export_search(workspace=workspace, actor=actor, search={})
    queryset = selectors.contacts_selected(workspace=workspace, actor=actor, search=search)
    floor_file = media / "copy.csv"
    copies = [copy_floor(queryset, columns, floor_file) for _ in range(2)]
    copy_seconds, copy_rows = min(copies)
    copy_size = floor_file.stat().st_size
    floor_file.unlink()

    # the export, through a real worker started with the production command
    queue = f"export-bench-{uuid.uuid4().hex[:8]}"
    settings.EXPORT_QUEUE = queue
    worker_log = tempfile.NamedTemporaryFile(prefix="export-bench-worker-", suffix=".log", delete=False)
    env = {**os.environ, "MEDIA_ROOT": str(media), "CONN_MAX_AGE": "0"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--loglevel=INFO",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    failures = []
    try:
        deadline = time.monotonic() + 60
        while " ready." not in Path(worker_log.name).read_text():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the worker did not start:\n{Path(worker_log.name).read_text()[-3000:]}")
            time.sleep(0.2)
        sampler = MemorySampler(worker.pid)
        sampler.start()
        t0 = time.perf_counter()
        job = services.export_job_create(workspace=workspace, actor=actor, format="csv")
        deadline = time.monotonic() + args.timeout
        while True:
            job.refresh_from_db()
            if job.status not in ExportJob.ACTIVE or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        export_seconds = time.perf_counter() - t0
        sampler.stop.set()
        sampler.join()
        pool = "prefork" if "(prefork)" in Path(worker_log.name).read_text() else "?"
    finally:
        try:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        worker_log.close()

    # -- the outcome first ---------------------------------------------------------------
    if job.status != ExportJob.Status.SUCCEEDED:
        failures.append(f"export status {job.status!r}: {job.message}\n{Path(worker_log.name).read_text()[-3000:]}")
    if job.rows != expected or job.total_rows != expected:
        failures.append(f"export rows {job.rows} (total {job.total_rows}), expected {expected}")
    if copy_rows != expected:
        failures.append(f"COPY rows {copy_rows}, expected {expected}")
    records = size = 0
    if job.status == ExportJob.Status.SUCCEEDED:
        path = services.storage_path(workspace.pk, job.file_name)
        size = default_storage.size(path)
        with default_storage.open(path, "rb") as handle:
            text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
            reader = csv.reader(text)
            header = next(reader)
            records = sum(1 for _ in reader)
        default_storage.delete(path)
        if header != list(DEFAULT_COLUMNS) or records != expected:
            failures.append(f"the file has {records} records (header {header[:3]}...), expected {expected}")
    os.unlink(worker_log.name)
    if failures:
        print("FAILED:\n" + "\n".join(failures))
        sys.exit(1)

    worker_seconds = (job.finished_at - job.started_at).total_seconds()
    ratio = export_seconds / copy_seconds
    mb = 1024
    print(f"export_bench: {expected:,} contacts, {len(columns)} columns, CSV {size / 1e6:.0f} MB "
          f"(COPY's {copy_size / 1e6:.0f} MB); load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"  outcome: succeeded, {job.rows:,} rows = {records:,} CSV records = active contacts")
    print(f"  COPY (SELECT same cells ORDER BY id) TO STDOUT: {copy_seconds:.1f} s "
          f"(runs: {', '.join(f'{s:.1f}' for s, _ in copies)})")
    print(f"  export through the {pool} worker: {export_seconds:.1f} s end to end "
          f"({worker_seconds:.1f} s from start to finish on the worker)")
    print(f"  ratio: {ratio:.2f}x COPY (target 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})")
    print(f"  worker memory peak: pool process {sampler.peak_child / mb:.0f} MB, main {sampler.peak_main / mb:.0f} MB, "
          f"tree {sampler.peak_tree / mb:.0f} MB (target < 300 MB: "
          f"{'met' if sampler.peak_child / mb < 300 and sampler.peak_tree / mb < 300 else 'MISSED'})")


if __name__ == "__main__":
    main()
