"""The one pipeline behind the validate endpoint, the import task and the CLI:
stream records from the stored file, validate them chunk by chunk (in worker
processes for big files), resolve references in bulk, flag duplicates."""
import gc
import logging
import os
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice

import billiard
from django.conf import settings
from django.core.files.storage import default_storage

from crm.selectors import workspace_members
from labels.selectors import label_get_by_names
from tags.models import Tag
from tags.selectors import tags_by_lower_name
from tags.services import tags_resolve

from .csvfile import CsvFileError, CsvStream
from .validation import ColumnPlan, Issue, plan_columns, validate_rows

logger = logging.getLogger("imports")

REFERENCE_FIELDS = {"label": "label_id", "stage": "stage_id", "owner_email": "owner_id"}


def storage_path(workspace_id: int, file_name: str) -> str:
    return f"imports/{workspace_id}/{file_name}"


def chunk_rows() -> int:
    return getattr(settings, "IMPORT_CHUNK_ROWS", 5000)


@dataclass
class Chunk:
    valid: list[tuple[int, dict]] = field(default_factory=list)  # (row, values)
    invalid: list[tuple[int, list[str], list[Issue]]] = field(default_factory=list)  # (row, cells, issues)
    consumed: int = 0  # data records of the file read up to the end of this chunk
    bytes_read: int = 0
    records: list[tuple[int, list[str]]] = field(default_factory=list)  # (row, cells) as read

    def cells_by_row(self) -> dict[int, list[str]]:
        return dict(self.records)


class References:
    """Label, stage and owner lookups by name for many rows: the workspace's
    stages and members are read once, labels once per chunk for names not
    seen before; tags are resolved (missing ones created) only when writing."""

    def __init__(self, workspace, actor, plan: ColumnPlan):
        self.workspace, self.actor = workspace, actor
        fields = plan.fields
        self.labels: dict[str, int | None] = {}
        self.stages = (
            {name: tag.pk for name, tag in tags_by_lower_name(workspace=workspace, types=[Tag.Type.CLIENT_STAGE]).items()}
            if "stage" in fields else {}
        )
        self.owners = (
            {email.lower(): pk for pk, email in workspace_members(workspace=workspace).values_list("id", "email") if email}
            if "owner_email" in fields else {}
        )
        self.tags: dict[str, int] = {}  # lowered name -> id
        self.tag_lists: dict[tuple[str, ...], list[int]] = {}  # a row's names -> their ids
        self.headers = {name: plan.header_of(name) for name in REFERENCE_FIELDS}
        self.reference_columns = {f: i for i, f in plan.columns.items() if f in REFERENCE_FIELDS}
        self.width = len(plan.header)

    def check_invalid(self, invalid: list[tuple[int, list, list[Issue]]]) -> list[tuple[int, list, list[Issue]]]:
        """Adds unknown-reference issues to rows that already failed other
        checks, so a row reports every error it has, not only the first kind."""
        if not self.reference_columns:
            return invalid
        probes = []
        for row, cells, _ in invalid:
            if len(cells) != self.width:
                continue  # ragged: the cells do not line up with the header
            names = {
                name: cells[index].strip()
                for name, index in self.reference_columns.items()
                if index < len(cells) and cells[index].strip()
            }
            if names:
                probes.append((row, names))
        if not probes:
            return invalid
        _, bad = self.check(probes)
        extra = dict(bad)
        return [(row, cells, [*issues, *extra.get(row, ())]) for row, cells, issues in invalid]

    def check(self, chunk_rows: list[tuple[int, dict]]) -> tuple[list, list[tuple[int, list[Issue]]]]:
        """Resolves the references of valid rows: returns (still valid rows
        with *_id values, [(row, issues)] of rows naming unknown references)."""
        if not self.reference_columns:
            return chunk_rows, []  # nothing to resolve: no per-row pass
        unseen = {v["label"].lower() for _, v in chunk_rows if "label" in v} - self.labels.keys()
        if unseen:
            found = label_get_by_names(workspace=self.workspace, names=unseen)
            for name in unseen:
                self.labels[name] = found[name].pk if name in found else None
        ok, bad = [], []
        for row, values in chunk_rows:
            issues = []
            for name, target in REFERENCE_FIELDS.items():
                if name not in values:
                    continue
                raw = values.pop(name)
                table = self.labels if name == "label" else self.stages if name == "stage" else self.owners
                pk = table.get(raw.lower())
                if pk is None:
                    issues.append(Issue(row, self.headers[name], "does_not_exist", _MISSING[name].format(raw)))
                else:
                    values[target] = pk
            if issues:
                bad.append((row, issues))
            else:
                ok.append((row, values))
        return ok, bad

    def tag_ids(self, rows: list[tuple[int, dict]]) -> list[list[int] | None]:
        # Rows share few distinct tag lists: resolve each list once, not each row.
        lists = self.tag_lists
        wanted: dict[str, str] = {}
        for key in {tuple(v["tags"]) for _, v in rows if v.get("tags")} - lists.keys():
            for tag in key:
                if tag.lower() not in self.tags:
                    wanted.setdefault(tag.lower(), tag)
        if wanted:
            for tag in tags_resolve(workspace=self.workspace, actor=self.actor, values=list(wanted.values())):
                self.tags.setdefault(tag.tag.lower(), tag.pk)
            for lowered, value in wanted.items():
                if lowered not in self.tags:
                    # Rare: the database's lower() merged it with another value
                    # (it differs from Python's for a few letters).
                    (tag,) = tags_resolve(workspace=self.workspace, actor=self.actor, values=[value])
                    self.tags[lowered] = tag.pk
        out = []
        for _, values in rows:
            names = values.get("tags")
            if not names:
                out.append(None)
                continue
            key = tuple(names)
            ids = lists.get(key)
            if ids is None:
                ids = lists[key] = [self.tags[t.lower()] for t in key]
            out.append(ids)
        return out


_MISSING = {
    "label": "No label named {!r} in this workspace.",
    "stage": "No clientStage tag named {!r} in this workspace.",
    "owner_email": "No member of this workspace has the email {!r}.",
}


@contextmanager
def open_stream(workspace_id: int, file_name: str):
    with default_storage.open(storage_path(workspace_id, file_name), "rb") as fileobj:
        yield CsvStream(fileobj)


def _batches(iterator, size):
    while True:
        batch = list(islice(iterator, size))
        if not batch:
            return
        yield batch


class _ValidatorPool:
    """Validation processes for a big file: billiard's pool (Celery's own
    fork of multiprocessing), because it may start inside a daemonic process.
    The production worker is Celery's prefork pool, whose children are
    daemonic: multiprocessing (and so concurrent.futures) refuses to start
    processes there ("daemonic processes are not allowed to have children")
    and every file over IMPORT_PARALLEL_MIN_BYTES failed at once. billiard
    works the same in a prefork child, a solo or threads worker, gunicorn and
    the CLI.

    fork: the children start at once with Django loaded and share its
    memory. They never use the inherited database connection (validate_rows
    is pure) and leave through os._exit, which does not close it. They are in
    the worker's process group, so stopping the group stops them too."""

    def __init__(self, processes: int):
        self.processes = processes
        # Every process is forked here, before the read-ahead thread exists
        # (a fork while another thread holds a lock can deadlock the child).
        self._pool = billiard.get_context("fork").Pool(processes)

    def submit(self, fn, *args):
        return self._pool.apply_async(fn, args)

    def close(self) -> None:
        self._pool.terminate()
        self._pool.join()


def _validator_pool(size_bytes: int) -> _ValidatorPool | None:
    processes = getattr(settings, "IMPORT_VALIDATE_PROCESSES", None) or os.cpu_count() or 1
    if processes < 2 or size_bytes < getattr(settings, "IMPORT_PARALLEL_MIN_BYTES", 8 * 1024 * 1024):
        return None
    logger.info("import validation in %d processes", processes, extra={"processes": processes, "bytes": size_bytes})
    return _ValidatorPool(processes)


def _validated(batches, plan: ColumnPlan, region: str, pool) -> Iterator:
    if pool is None:
        for batch in batches:
            yield batch, validate_rows(batch, plan, region)
        return
    in_flight = []
    depth = pool.processes * 2  # bounded read-ahead: memory stays flat whatever the file size
    for batch in batches:
        in_flight.append((batch, pool.submit(validate_rows, batch, plan, region)))
        if len(in_flight) >= depth:
            done, pending = in_flight.pop(0)
            yield done, pending.get()
    for done, pending in in_flight:
        yield done, pending.get()


class _ReadAhead:
    """Runs an iterator in a thread, at most `depth` items ahead of its
    consumer; its exceptions are raised in the consumer.

    The import writes each chunk in the calling thread (its database
    connection) while this thread reads, parses and checks the next ones:
    the database and Python work at the same time instead of in turns."""

    def __init__(self, iterator, depth: int = 2):
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(iterator,), name="import-read-ahead", daemon=True)
        self._thread.start()

    def _run(self, iterator) -> None:
        try:
            for item in iterator:
                if not self._put((True, item)):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            self._put((False, exc))
            return
        self._put((False, None))

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False  # the consumer has gone

    def __iter__(self) -> Iterator:
        while True:
            ok, item = self._queue.get()
            if ok:
                yield item
            elif item is None:
                return
            else:
                raise item

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _checked(records, plan: ColumnPlan, region: str, pool, seen: dict[str, int], consumed: int,
             stream: CsvStream) -> Iterator[tuple[list, Chunk]]:
    """(batch, chunk) of validated records with in-file duplicates flagged;
    database-free, so it runs in the read-ahead thread."""
    ext_index = next((i for i, f in plan.columns.items() if f == "external_client_id"), None)
    ext_header = plan.header[ext_index] if ext_index is not None else None
    for batch, results in _validated(_batches(records, chunk_rows()), plan, region, pool):
        chunk = Chunk()
        for (row, cells), (values, issues) in zip(batch, results):
            if ext_index is not None and len(cells) == len(plan.header):
                ext = cells[ext_index].strip()
                if ext:
                    first = seen.setdefault(ext, row)
                    if first != row:
                        issues = [*issues, Issue(row, ext_header, "duplicate",
                                                 f"The external_client_id {ext!r} is also on row {first}.")]
                        values = None
            if values is None:
                chunk.invalid.append((row, cells, issues))
            else:
                chunk.valid.append((row, values))
        consumed += len(batch)
        chunk.consumed = consumed
        chunk.bytes_read = stream.bytes_read
        yield batch, chunk


def iter_chunks(stream: CsvStream, plan: ColumnPlan, references: References, *, region: str, start: int = 0,
                size_bytes: int = 0) -> Iterator[Chunk]:
    """Validated chunks of the records after the first `start` ones (those are
    read only to remember their external ids, so a duplicate of a row
    imported before a restart is still caught). Records are read and checked
    ahead in a thread; references are resolved here, in the caller's thread,
    which owns the database connection."""
    collect_every = gc.get_threshold()
    # A record is a list, a row a dict: millions of short-lived containers and
    # no cycles. At the default threshold (700 allocations) the collector
    # took about half the worker's own CPU (measured on 1M rows: 32 CPU-s
    # with it, 17 at 50,000; the writing thread waits for it under the GIL).
    # Process-wide but only for the run; the validation processes inherit it.
    gc.set_threshold(50_000, *collect_every[1:])
    pool = ahead = None
    try:
        ext_index = next((i for i, f in plan.columns.items() if f == "external_client_id"), None)
        seen: dict[str, int] = {}
        records = iter(stream)
        consumed = 0
        if start:
            for row, cells in islice(records, start):
                consumed += 1
                if ext_index is not None and ext_index < len(cells):
                    ext = cells[ext_index].strip()
                    if ext:
                        seen.setdefault(ext, row)
        pool = _validator_pool(size_bytes)
        ahead = _ReadAhead(_checked(records, plan, region, pool, seen, consumed, stream))
        for batch, chunk in ahead:
            chunk.records = batch
            ok, bad = references.check(chunk.valid)
            chunk.valid = ok
            chunk.invalid = references.check_invalid(chunk.invalid)
            if bad:
                cells_by_row = chunk.cells_by_row()
                chunk.invalid.extend((row, cells_by_row[row], issues) for row, issues in bad)
                chunk.invalid.sort(key=lambda item: item[0])
            yield chunk
    finally:
        if ahead is not None:
            ahead.close()
        if pool is not None:
            pool.close()
        gc.set_threshold(*collect_every)


def file_plan(stream: CsvStream, mapping: dict | None) -> ColumnPlan:
    return plan_columns(stream.header, mapping)


__all__ = ["Chunk", "CsvFileError", "References", "file_plan", "iter_chunks", "open_stream", "storage_path"]
