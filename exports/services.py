"""Writes for exports: create, cancel, run, purge.

The runner (export_job_run) is what the Celery task calls. An export is a
snapshot of one moment: on PostgreSQL every page is read inside one
`REPEATABLE READ, READ ONLY` transaction, so a contact changed while the
export runs appears once, in the state it had when the export started, and
one created meanwhile does not appear. The transaction is read-only and
takes no transaction id, so it does not hold back the events feed (which
waits only for transactions that write). Progress, the lease and
cancellation travel on a second connection (a write on the snapshot's own
connection would be invisible to the API until the end).

Pages are keyset pages (`id > last ORDER BY id LIMIT n`, EXPORT_PAGE_ROWS):
memory stays flat whatever the size. A CSV page is one
`COPY (SELECT <finished cells>) TO STDOUT` (exports.columns builds the
cells in SQL, formula neutralisation included), streamed into a temporary
file; the file goes to Django's default storage when the last page is
written. SQLite (the quickstart) reads the same pages through the ORM.
"""
import csv
import io
import tempfile
import uuid
from collections.abc import Callable
from datetime import timedelta

import orjson
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.db.models.sql import UpdateQuery
from django.db.models.sql.constants import ROW_COUNT
from django.utils import timezone

from crm.actors import Actor
from crm.errors import Conflict, DomainError, field_error
from crm.models import Membership, Workspace
from events import services as events

from . import selectors
from .columns import COLUMNS, DEFAULT_COLUMNS, Column
from .models import ExportJob

CONTENT_TYPES = {ExportJob.Format.CSV: "text/csv; charset=utf-8",
                 ExportJob.Format.JSONL: "application/x-ndjson; charset=utf-8"}


def storage_path(workspace_id: int, file_name: str) -> str:
    return f"exports/{workspace_id}/{file_name}"


def _page_rows() -> int:
    return getattr(settings, "EXPORT_PAGE_ROWS", 10_000)


def _lease_seconds() -> int:
    return getattr(settings, "EXPORT_LEASE_SECONDS", 300)


# -- create / cancel --------------------------------------------------------------
def export_job_create(
    *, workspace: Workspace, actor: Actor, format: str = ExportJob.Format.CSV, search: dict | None = None,
    view_id: int | None = None, columns: list[str] | None = None,
) -> ExportJob:
    """Checks the selection and the columns now (a 400 names what is wrong),
    creates a queued job and enqueues its task once the transaction commits."""
    if format not in ExportJob.Format.values:
        raise field_error("format", f"Must be one of: {', '.join(ExportJob.Format.values)}.")
    if search is not None and view_id is not None:
        raise field_error("view_id", "Give search or view_id, not both.")
    unknown = [c for c in columns or () if c not in COLUMNS]
    if unknown:
        raise field_error("columns", f"Unknown columns: {', '.join(unknown)}. Use some of: {', '.join(COLUMNS)}.")
    # the view's search is copied now: the export runs what was asked, even if the view changes meanwhile
    search = selectors.export_search(workspace=workspace, actor=actor, search=search, view_id=view_id)
    with transaction.atomic():
        job = ExportJob.objects.create(
            workspace=workspace, format=format, search=search, view_id=view_id,
            columns=list(dict.fromkeys(columns or DEFAULT_COLUMNS)), created_by=actor.user, updated_by=actor.user,
        )
        from .tasks import export_job_run_task

        queue = getattr(settings, "EXPORT_QUEUE", None)
        export_job_run_task.apply_async_on_commit(args=[job.pk], **({"queue": queue} if queue else {}))
    return job


def export_job_cancel(*, workspace: Workspace, actor: Actor, job: ExportJob) -> ExportJob:
    """Stops a queued or running job (a running one stops at its next page
    and keeps no file). A finished job: 409."""
    now = timezone.now()
    with transaction.atomic():
        changed = ExportJob.objects.filter(pk=job.pk, workspace=workspace, status__in=ExportJob.ACTIVE).update(
            status=ExportJob.Status.CANCELLED, finished_at=now, updated_at=now, updated_by=actor.user,
            lease_owner="", lease_expires_at=None, message="Cancelled.",
        )
        job.refresh_from_db()
        if changed:
            _record_finished(job, actor)
    if not changed:
        raise Conflict(f"The job is already {job.status}.", code="job_finished")
    return job


def export_job_file(*, job: ExportJob):
    """The stored file of a succeeded job, opened for reading (409 otherwise)."""
    if job.status != ExportJob.Status.SUCCEEDED or not job.file_name:
        raise Conflict(f"The export is {job.status}; only a succeeded export has a file.", code="export_not_ready")
    path = storage_path(job.workspace_id, job.file_name)
    if not default_storage.exists(path):
        raise Conflict("The export's file has been deleted (see EXPORT_RETENTION_HOURS).", code="export_expired")
    return default_storage.open(path, "rb")


def export_jobs_purge(*, actor: Actor, older_than_hours: int | None = None) -> int:
    """Deletes finished jobs older than EXPORT_RETENTION_HOURS and their
    files. Returns how many jobs."""
    hours = settings.EXPORT_RETENTION_HOURS if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    old = ExportJob.objects.filter(created_at__lt=cutoff).exclude(status__in=ExportJob.ACTIVE)
    count = 0
    for job in old.only("pk", "workspace_id", "file_name").iterator():
        if job.file_name:
            default_storage.delete(storage_path(job.workspace_id, job.file_name))
        ExportJob.objects.filter(pk=job.pk).delete()
        count += 1
    return count


def _record_finished(job: ExportJob, actor: Actor) -> None:
    """export_job.succeeded / failed / cancelled (events)."""
    events.record(workspace=job.workspace, actor=actor, type=f"export_job.{job.status}", subject_type="export_job",
                  subject_id=job.pk, data={"format": job.format, "rows": job.rows, "message": job.message})


# -- the runner ---------------------------------------------------------------------
class _Stopped(Exception):
    """The job was cancelled, or another run took it over."""


def _acquire(job_id: int, owner: str) -> bool:
    now = timezone.now()
    return bool(
        ExportJob.objects.filter(pk=job_id)
        .filter(Q(status=ExportJob.Status.QUEUED)
                | Q(status=ExportJob.Status.RUNNING, lease_expires_at__lt=now))
        .update(lease_owner=owner, lease_expires_at=now + timedelta(seconds=_lease_seconds()),
                status=ExportJob.Status.RUNNING, started_at=Coalesce(F("started_at"), now), updated_at=now,
                rows=0, total_rows=None, progress=0)
    )


class _Tracker:
    """Writes the job's progress (and renews its lease) while the export
    reads; False from update() means the job is no longer this run's
    (cancelled, or taken over after the lease lapsed)."""

    def __init__(self, job_id: int, owner: str, side_connection):
        self.job_id, self.owner, self.side = job_id, owner, side_connection

    def update(self, **values) -> bool:
        now = timezone.now()
        queryset = ExportJob.objects.filter(pk=self.job_id, lease_owner=self.owner, status=ExportJob.Status.RUNNING)
        values.update(updated_at=now, lease_expires_at=now + timedelta(seconds=_lease_seconds()))
        if self.side is None:
            return bool(queryset.update(**values))
        query = queryset.query.chain(UpdateQuery)
        query.add_update_values(values)
        return bool(query.get_compiler(connection=self.side).execute_sql(ROW_COUNT))


def _job_actor(job: ExportJob) -> Actor:
    """The job reads as the member who started it, with their role now; a
    starter who has left the workspace can no longer export from it."""
    if job.created_by_id is None:
        return Actor.system("export")
    role = Membership.objects.filter(workspace_id=job.workspace_id, user_id=job.created_by_id).values_list(
        "role", flat=True).first()
    if role is None:
        raise DomainError("The member who started this export is no longer in the workspace.", code="not_a_member")
    return Actor.member(job.created_by, role)


def _finish(job_id: int, owner: str, status: str, message: str = "", **fields) -> bool:
    now = timezone.now()
    with transaction.atomic():
        done = ExportJob.objects.filter(pk=job_id, lease_owner=owner, status=ExportJob.Status.RUNNING).update(
            status=status, message=message, finished_at=now, updated_at=now, lease_owner="", lease_expires_at=None,
            **fields,
        )
        if done:
            job = ExportJob.objects.select_related("workspace").get(pk=job_id)
            _record_finished(job, Actor.system("export"))
    return bool(done)


def export_job_run(*, job_id: int, on_page: Callable[[int], None] | None = None) -> str:
    """Runs a job from the start; returns its final status, "stopped"
    (cancelled or taken over mid-run), or "busy" (another run holds the
    lease: this delivery changes nothing). `on_page(rows so far)` is called
    after each page (tests)."""
    owner = uuid.uuid4().hex
    if not _acquire(job_id, owner):
        status = ExportJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        return "busy" if status in ExportJob.ACTIVE else (status or "missing")
    job = ExportJob.objects.select_related("workspace", "created_by").get(pk=job_id)
    try:
        actor = _job_actor(job)
        queryset = selectors.contacts_selected(workspace=job.workspace, actor=actor, search=job.search)
        columns = [COLUMNS[name] for name in job.columns or DEFAULT_COLUMNS]
        with tempfile.TemporaryFile() as out:
            rows, total = _write_snapshot(job, owner, queryset, columns, out, on_page)
            size = out.tell()
            out.seek(0)
            name = default_storage.save(storage_path(job.workspace_id, f"{uuid.uuid4().hex}.{job.format}"), File(out))
        file_name = name.rsplit("/", 1)[-1]
        if not _finish(job_id, owner, ExportJob.Status.SUCCEEDED, rows=rows, total_rows=total, progress=100,
                       file_name=file_name, size=size):
            default_storage.delete(name)  # cancelled while the file was being stored
            return "stopped"
    except _Stopped:
        return "stopped"
    except DomainError as exc:
        _finish(job_id, owner, ExportJob.Status.FAILED, exc.message)
        return "failed"
    except Exception as exc:
        _finish(job_id, owner, ExportJob.Status.FAILED, f"Internal error: {type(exc).__name__}.")
        raise
    return ExportJob.Status.SUCCEEDED


def _write_snapshot(job, owner, queryset, columns, out, on_page) -> tuple[int, int]:
    """Writes every selected contact to `out`; returns (rows, total)."""
    postgres = connection.vendor == "postgresql"
    # Inside a caller's transaction (a test, a shell) the export reads in it,
    # and progress goes through the same connection, or it could not see the job.
    snapshot = postgres and not connection.in_atomic_block
    side = connections.create_connection(DEFAULT_DB_ALIAS) if snapshot else None
    try:
        tracker = _Tracker(job.pk, owner, side)
        with transaction.atomic():
            if snapshot:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            total = queryset.count()
            if not tracker.update(total_rows=total):
                raise _Stopped()
            if job.format == ExportJob.Format.CSV and postgres:
                pages = _csv_pages_copy(queryset, columns, out)
            elif job.format == ExportJob.Format.CSV:
                pages = _csv_pages_orm(queryset, columns, out)
            else:
                pages = _jsonl_pages(queryset, columns, out)
            rows = 0
            for page_rows in pages:
                rows += page_rows
                if not tracker.update(rows=rows, progress=min(99, rows * 100 // max(total, 1))):
                    raise _Stopped()
                if on_page:
                    on_page(rows)
        return rows, total
    finally:
        if side is not None:
            side.close()


def _header(columns: list[Column]) -> bytes:
    return (",".join(c.name for c in columns) + "\n").encode()


def _keyset_pages(queryset):
    """(lower, upper) id bounds of successive pages of the selection, in id
    order: upper is the id of the page's last row, None for the last page."""
    size = _page_rows()
    ids = queryset.order_by("id").values_list("id", flat=True)
    last = 0
    while True:
        upper = ids.filter(id__gt=last)[size - 1:size].first()
        yield last, upper
        if upper is None:
            return
        last = upper


def _page(queryset, lower: int, upper: int | None):
    page = queryset.filter(id__gt=lower)
    return (page.filter(id__lte=upper) if upper is not None else page).order_by("id")


def _csv_pages_copy(queryset, columns, out):
    """PostgreSQL: each page is one COPY of finished cells."""
    import psycopg

    out.write(_header(columns))
    cells = {f"x_{c.name}": c.sql_cell("postgresql") for c in columns}
    for lower, upper in _keyset_pages(queryset):
        sql, params = _page(queryset, lower, upper).annotate(**cells).values_list(*cells).query.sql_with_params()
        with connection.cursor() as cursor:
            raw = cursor.cursor
            # COPY takes no bound parameters: the values are inlined, quoted by psycopg.
            statement = psycopg.ClientCursor(raw.connection).mogrify(sql, params)
            with raw.copy(f"COPY ({statement}) TO STDOUT WITH (FORMAT csv)") as copy:
                for data in copy:
                    out.write(data)
            yield raw.rowcount


def _orm_rows(queryset, columns, lower, upper):
    values = {f"x_{c.name}": c.expression(connection.vendor) for c in columns}
    return _page(queryset, lower, upper).annotate(**values).values_list(*values)


def _csv_pages_orm(queryset, columns, out):
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    for lower, upper in _keyset_pages(queryset):
        count = 0
        for row in _orm_rows(queryset, columns, lower, upper):
            writer.writerow([column.cell(value) for column, value in zip(columns, row)])
            count += 1
        yield count
    text.detach()


def _jsonl_pages(queryset, columns, out):
    names = [c.name for c in columns]
    for lower, upper in _keyset_pages(queryset):
        count = 0
        for row in _orm_rows(queryset, columns, lower, upper):
            out.write(orjson.dumps({n: c.json_value(v) for n, c, v in zip(names, columns, row)}) + b"\n")
            count += 1
        yield count
