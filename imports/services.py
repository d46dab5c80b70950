"""Writes for imports: uploaded files, validation, jobs and the job runner.

The runner (import_job_run) is what the Celery task, and the CLI in the
foreground, call. Each chunk's contacts are written in the same transaction
as the job's checkpoint and counters, under the job's lease, so a restarted
or redelivered run continues after the last committed chunk and no row is
written twice.
"""
import logging
import uuid
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from contacts.services import MATCH_KEYS, contacts_bulk_upsert, contacts_bulk_upsert_matching
from crm import metrics
from crm.actors import Actor
from crm.errors import Conflict, DomainError, NotFound, PayloadTooLarge, field_error
from crm.models import Membership, Workspace
from events import services as events
from labels.services import label_get_default

from .csvfile import CsvFileError
from .models import ImportFile, ImportJob, ImportJobError
from .pipeline import REFERENCE_FIELDS, References, file_plan, iter_chunks, open_stream, storage_path
from .validation import MAX_ERRORS, Issue, MappingError

SNIFF_BYTES = 64 * 1024
logger = logging.getLogger("imports")


class InvalidFile(DomainError):
    default_code = "invalid_file"
    default_detail = "The file is not a CSV text file."


# -- files -------------------------------------------------------------------
def import_file_upload(*, workspace: Workspace, actor: Actor, uploaded, original_name: str = "") -> ImportFile:
    """Stores an uploaded CSV under the workspace's prefix with a generated
    name. Refuses binary content (NUL bytes outside UTF-16) and sizes over
    IMPORT_MAX_FILE_BYTES; nothing is kept when it refuses."""
    limit = settings.IMPORT_MAX_FILE_BYTES
    if uploaded.size > limit:
        raise PayloadTooLarge(f"The file is larger than the {limit} bytes an import accepts.")
    if not uploaded.size:
        raise InvalidFile("The file is empty.", code="empty_file")
    uploaded.seek(0)
    head = uploaded.read(4)
    utf16 = head[:2] in (b"\xff\xfe", b"\xfe\xff") and head != b"\xff\xfe\x00\x00"
    if not utf16:
        uploaded.seek(0)
        for block in uploaded.chunks():
            if b"\x00" in block:
                raise InvalidFile("The file contains binary data (NUL bytes); upload a CSV text file.", code="binary_file")
    uploaded.seek(0)
    file_name = f"{uuid.uuid4().hex}.csv"
    stored = default_storage.save(storage_path(workspace.pk, file_name), uploaded)
    try:
        return ImportFile.objects.create(
            workspace=workspace, file_name=stored.rsplit("/", 1)[-1], original_name=(original_name or "")[:255],
            size=uploaded.size, created_by=actor.user, updated_by=actor.user,
        )
    except Exception:
        default_storage.delete(stored)
        raise


def import_file_delete(*, workspace: Workspace, actor: Actor, import_file: ImportFile) -> None:
    """Deletes the file; refused (409) while a queued or running job reads it."""
    if ImportJob.objects.filter(workspace=workspace, file_name=import_file.file_name, status__in=ImportJob.ACTIVE).exists():
        raise Conflict("A queued or running import job uses this file; cancel it first.", code="file_in_use")
    default_storage.delete(storage_path(workspace.pk, import_file.file_name))
    import_file.delete()


def _import_file(workspace: Workspace, file_name: str) -> ImportFile:
    found = ImportFile.objects.filter(workspace=workspace, file_name=file_name).first()
    if found is None:
        raise NotFound(f"No uploaded file named {file_name!r} in this workspace.")
    return found


def _plan(stream, mapping):
    try:
        return file_plan(stream, mapping)
    except MappingError as exc:
        raise field_error("mapping", str(exc)) from None


# -- validate ----------------------------------------------------------------
def import_validate(
    *, workspace: Workspace, actor: Actor, file_name: str, mapping: dict | None = None,
    progress: Callable[[int, int], None] | None = None, sync: bool = False,
) -> dict:
    """Checks every row as an import would, writing nothing (sync: within an
    HTTP request, refused over IMPORT_VALIDATE_SYNC_MAX_BYTES). Returns
    {total_rows, valid_rows, invalid_rows, errors (first 1,000),
    errors_truncated, error_count, unknown_columns, columns, encoding, delimiter}."""
    import_file = _import_file(workspace, file_name)
    if sync:
        limit = settings.IMPORT_VALIDATE_SYNC_MAX_BYTES
        if import_file.size > limit:
            raise PayloadTooLarge(
                f"The file ({import_file.size:,} bytes) is larger than the {limit:,} bytes validated within a "
                "request: validate it in the background with POST /v1/crm/imports {\"file_name\": ..., "
                "\"validate_only\": true} and read the job's result.",
                code="validate_in_a_job",
            )
    errors: list[dict] = []
    error_count = total = valid = 0
    try:
        with open_stream(workspace.pk, file_name) as stream:
            plan = _plan(stream, mapping)
            result = {"unknown_columns": plan.unknown,
                      "columns": {plan.header[i]: f for i, f in sorted(plan.columns.items())},
                      "encoding": stream.encoding, "delimiter": stream.delimiter}
            if plan.issues:
                errors = [i.as_dict() for i in plan.issues]
                error_count = len(errors)
                total = sum(1 for _ in stream)
            else:
                references = References(workspace, actor, plan)
                for chunk in iter_chunks(stream, plan, references, region=workspace.default_phone_region,
                                         size_bytes=import_file.size):
                    valid += len(chunk.valid)
                    total += len(chunk.valid) + len(chunk.invalid)
                    for _, _, issues in chunk.invalid:
                        error_count += len(issues)
                        if len(errors) < MAX_ERRORS:
                            errors.extend(i.as_dict() for i in issues[: MAX_ERRORS - len(errors)])
                    if progress:
                        progress(chunk.bytes_read, import_file.size)
    except CsvFileError as exc:
        raise InvalidFile(exc.message, code=exc.code) from None
    return {
        "total_rows": total, "valid_rows": valid, "invalid_rows": total - valid, "errors": errors,
        "errors_truncated": error_count > len(errors), "error_count": error_count, **result,
    }


# -- jobs --------------------------------------------------------------------
def import_job_create(
    *, workspace: Workspace, actor: Actor, file_name: str, skip_errors: bool = False, mapping: dict | None = None,
    validate_only: bool = False, match_on: list[str] | None = None, enqueue: bool = True,
) -> ImportJob:
    """Creates a queued job and enqueues its task once the transaction commits.
    `match_on`: the keys rows match existing contacts by, in order
    (contacts.services.MATCH_KEYS; default external_client_id)."""
    _import_file(workspace, file_name)
    for header, target in (mapping or {}).items():
        if not isinstance(header, str) or (target is not None and not isinstance(target, str)):
            raise field_error("mapping", "mapping is an object {header: field name}.")
    match_on = list(match_on or [])
    if any(key not in MATCH_KEYS for key in match_on) or len(set(match_on)) != len(match_on):
        raise field_error("match_on", f"An ordered list of distinct keys among {', '.join(MATCH_KEYS)}.")
    with transaction.atomic():
        job = ImportJob.objects.create(
            workspace=workspace, file_name=file_name, skip_errors=skip_errors, mapping=mapping or {},
            validate_only=validate_only, match_on=match_on, created_by=actor.user, updated_by=actor.user,
        )
        if enqueue:
            import_job_enqueue(job.pk)
    return job


def import_job_cancel(*, workspace: Workspace, actor: Actor, job: ImportJob) -> ImportJob:
    """Stops a queued or running job; chunks already committed stay imported."""
    now = timezone.now()
    with transaction.atomic():
        changed = ImportJob.objects.filter(pk=job.pk, workspace=workspace, status__in=ImportJob.ACTIVE).update(
            status=ImportJob.Status.CANCELLED, finished_at=now, updated_at=now, updated_by=actor.user, lease_owner="",
            lease_expires_at=None, message="Cancelled.", progress=100,
        )
        job.refresh_from_db()
        if changed:
            _record_finished(job, actor)
    if not changed:
        raise Conflict(f"The job is already {job.status}.", code="job_finished")
    return job


def _record_finished(job: ImportJob, actor: Actor) -> None:
    """import_job.succeeded / failed / cancelled, with the job's counters (events)."""
    events.record(workspace=job.workspace, actor=actor, type=f"import_job.{job.status}", subject_type="import_job",
                  subject_id=job.pk, data={name: getattr(job, name) for name in (
                      "file_name", "total_rows", "processed_rows", "created", "updated", "skipped", "error_count",
                      "message")})


class _LeaseLost(Exception):
    pass


def _lease_seconds() -> int:
    return getattr(settings, "IMPORT_LEASE_SECONDS", 45)


def _acquire(job_id: int, owner: str) -> bool:
    """Takes the job's lease: free when nobody holds it (a new job, or one the
    sweep handed out again) or when its holder let it lapse."""
    now = timezone.now()
    return bool(
        ImportJob.objects.filter(pk=job_id, status__in=ImportJob.ACTIVE)
        .filter(Q(lease_owner="") | Q(lease_expires_at__isnull=True) | Q(lease_expires_at__lt=now)
                | Q(lease_owner=owner))
        .update(
            lease_owner=owner, lease_expires_at=now + timedelta(seconds=_lease_seconds()),
            status=ImportJob.Status.RUNNING, started_at=Coalesce(F("started_at"), now), updated_at=now,
        )
    )


def _locked(job_id: int, owner: str) -> ImportJob:
    """The job row, locked for this chunk's transaction, if the lease is still
    ours. Without its error list: the run keeps that in memory (see
    _record_errors) instead of parsing up to 1,000 errors with every chunk."""
    job = ImportJob.objects.select_for_update().defer("errors", "headers", "mapping").get(pk=job_id)
    if job.status != ImportJob.Status.RUNNING or job.lease_owner != owner:
        raise _LeaseLost()
    job.lease_expires_at = timezone.now() + timedelta(seconds=_lease_seconds())
    return job


def _finish(job_id: int, owner: str, status: str, message: str = "", **fields) -> None:
    """Ends the run's job: progress 100 whatever the outcome (the counters say
    how far it got), the finished event, a log line."""
    now = timezone.now()
    with transaction.atomic():
        if ImportJob.objects.filter(pk=job_id, lease_owner=owner, status=ImportJob.Status.RUNNING).update(
            status=status, message=message, finished_at=now, updated_at=now, lease_owner="", lease_expires_at=None,
            **{"progress": 100, **fields},
        ):
            job = ImportJob.objects.select_related("workspace").get(pk=job_id)
            _record_finished(job, Actor.import_job(job, on_behalf_of=Actor.system("import")))
            _log_job(f"import job {status}", job, logging.INFO if status == ImportJob.Status.SUCCEEDED else logging.WARNING)


def _log_job(what: str, job: ImportJob, level: int = logging.INFO) -> None:
    figures = {name: getattr(job, name) for name in _LOGGED}
    logger.log(level, "%s: %s", what, " ".join(f"{k}={v}" for k, v in figures.items()),
               extra={"job_id": job.pk, "workspace_id": job.workspace_id, **{f"job_{k}": v for k, v in figures.items()}})


_LOGGED = ("status", "processed_rows", "total_rows", "created", "updated", "skipped", "error_count", "progress")


def _failure(job_id: int, reason: str) -> str:
    """A failed job's message: why, and how far it got (what stays imported)."""
    done = ImportJob.objects.filter(pk=job_id).values("processed_rows", "created", "updated", "skipped").first()
    if not done or not done["processed_rows"]:
        return f"{reason} Nothing was imported."
    return (f"{reason} It stopped after {done['processed_rows']:,} rows of the file: {done['created']:,} created, "
            f"{done['updated']:,} updated and {done['skipped']:,} skipped stay so.")


def _record_errors(job: ImportJob, invalid, errors: list[dict]) -> bool:
    """Adds a chunk's rejected rows to the job: its error_count, its first
    1,000 errors (`errors` is the run's copy of job.errors; when it grows it
    is set on `job` and True returned: "errors" is then to be saved too) and
    the errors.csv rows."""
    if not invalid:
        return False
    before = len(errors)
    for _, _, issues in invalid:
        job.error_count += len(issues)
        room = MAX_ERRORS - len(errors)
        if room > 0:
            errors.extend(i.as_dict() for i in issues[:room])
    ImportJobError.objects.bulk_create(
        [ImportJobError(job=job, row=row, cells=cells, message="; ".join(f"{i.column or 'row'}: {i.message}" if i.column
                                                                         else i.message for i in issues))
         for row, cells, issues in invalid],
        batch_size=2000,
    )
    if len(errors) == before:
        return False
    job.errors = errors
    return True


def _progress(job: ImportJob, bytes_read: int, size: int) -> int:
    if job.total_rows:
        return min(99, job.processed_rows * 100 // job.total_rows)
    return min(99, bytes_read * 100 // size) if size else 0


def import_job_run(*, job_id: int, on_progress: Callable[[ImportJob], None] | None = None) -> str:
    """Runs (or resumes) a job; returns its final status, "stopped" (lease
    lost or cancelled mid-run), or "busy": another run holds the lease, and
    this delivery changes nothing. A job already finished is left alone and
    its status returned."""
    owner = uuid.uuid4().hex
    if not _acquire(job_id, owner):
        status = ImportJob.objects.filter(pk=job_id).values_list("status", flat=True).first()
        return "busy" if status in ImportJob.ACTIVE else (status or "missing")
    job = ImportJob.objects.select_related("workspace", "created_by").get(pk=job_id)
    _log_job("import job resumed" if job.checkpoint or job.validated else "import job started", job)
    workspace = job.workspace
    import_file = ImportFile.objects.filter(workspace=workspace, file_name=job.file_name).first()
    if import_file is None:
        _finish(job_id, owner, ImportJob.Status.FAILED, "The uploaded file no longer exists.")
        return "failed"
    try:
        actor = _job_actor(job)
        if job.validate_only:
            _validate_only(job, actor, owner, on_progress)
            job.refresh_from_db()
            return job.status
        if not job.skip_errors and not job.validated:
            if not _validation_pass(job, actor, import_file, owner, on_progress):
                return "failed"
            job.refresh_from_db()
        _write_pass(job, actor, import_file, owner, on_progress)
    except _LeaseLost:
        return "stopped"
    except CsvFileError as exc:
        error = {"row": exc.row, "column": None, "code": exc.code, "message": exc.message}
        _finish(job_id, owner, ImportJob.Status.FAILED, _failure(job_id, exc.message), errors=[error],
                error_count=F("error_count") + 1)
        return "failed"
    except (DomainError, MappingError) as exc:
        reason = exc.message if isinstance(exc, DomainError) else str(exc)
        _finish(job_id, owner, ImportJob.Status.FAILED, _failure(job_id, reason))
        return "failed"
    except Exception as exc:
        logger.exception("import job %s failed", job_id, extra={"job_id": job_id})
        _finish(job_id, owner, ImportJob.Status.FAILED, _failure(job_id, f"Internal error: {type(exc).__name__}."))
        raise
    job.refresh_from_db()
    return job.status


def import_jobs_sweep() -> list[int]:
    """The jobs to hand to a worker again (Celery beat runs this every
    IMPORT_SWEEP_SECONDS): running jobs whose lease lapsed (their worker died
    or vanished: nothing renewed the lease for IMPORT_LEASE_SECONDS), and
    queued jobs no worker took within a lease (their message was lost with a
    worker that had reserved it). Each is marked handed out for one more
    lease, so a sweep sends it once, not at every run, while its message
    waits in the queue; the run that takes it resumes from the checkpoint.
    A slow run that was only late finds its lease gone at its next chunk and
    stops: exactly one run writes each chunk."""
    now = timezone.now()
    lease = timedelta(seconds=_lease_seconds())
    with transaction.atomic():
        ids = list(
            ImportJob.objects.select_for_update(skip_locked=True)
            .filter(status__in=ImportJob.ACTIVE)
            .filter(Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True, created_at__lt=now - lease))
            .order_by("id").values_list("id", flat=True)[:1000]
        )
        if ids:
            ImportJob.objects.filter(pk__in=ids).update(lease_owner="", lease_expires_at=now + lease)
    for job_id in ids:
        logger.warning("import job %s handed to a worker again: its lease lapsed", job_id, extra={"job_id": job_id})
    return ids


def import_job_enqueue(job_id: int) -> None:
    """Sends the job's task (on IMPORT_QUEUE when set) once the current transaction commits."""
    from .tasks import import_job_run_task

    queue = getattr(settings, "IMPORT_QUEUE", None)
    import_job_run_task.apply_async_on_commit(args=[job_id], **({"queue": queue} if queue else {}))


def _job_actor(job: ImportJob) -> Actor:
    """The job acts for the member who started it, with their role now (the
    CLI's jobs, started by nobody, act as the system). A starter who has left
    the workspace can no longer import into it."""
    if job.created_by_id is None:
        return Actor.import_job(job, on_behalf_of=Actor.system("cli"))
    role = Membership.objects.filter(workspace_id=job.workspace_id, user_id=job.created_by_id).values_list(
        "role", flat=True
    ).first()
    if role is None:
        raise DomainError("The member who started this import is no longer in the workspace.", code="not_a_member")
    return Actor.import_job(job, on_behalf_of=Actor.member(job.created_by, role))


def _header_failure(job_id, owner, plan) -> None:
    errors = [i.as_dict() for i in plan.issues]
    _finish(job_id, owner, ImportJob.Status.FAILED, errors[0]["message"], errors=errors, error_count=len(errors),
            headers=plan.header)


def _validation_pass(job: ImportJob, actor: Actor, import_file: ImportFile, owner: str, on_progress) -> bool:
    """skip_errors=false: reads the whole file first; any invalid row fails
    the job with nothing written. Re-run from the start after a restart."""
    workspace = job.workspace
    with open_stream(workspace.pk, job.file_name) as stream:
        try:
            plan = file_plan(stream, job.mapping)
        except MappingError as exc:
            _finish(job.pk, owner, ImportJob.Status.FAILED, str(exc))
            return False
        if plan.issues:
            _header_failure(job.pk, owner, plan)
            return False
        references = References(workspace, actor, plan)
        # The pass starts from scratch (again, after a restart): so do its errors.
        ImportJobError.objects.filter(job=job).delete()
        ImportJob.objects.filter(pk=job.pk, lease_owner=owner).update(errors=[], error_count=0)
        errors = []
        total = invalid = 0
        for chunk in iter_chunks(stream, plan, references, region=workspace.default_phone_region,
                                 size_bytes=import_file.size):
            total += len(chunk.valid) + len(chunk.invalid)
            invalid += len(chunk.invalid)
            with transaction.atomic():
                locked = _locked(job.pk, owner)
                errors_grew = _record_errors(locked, chunk.invalid, errors)
                locked.progress = min(49, chunk.bytes_read * 50 // max(import_file.size, 1))
                locked.save(update_fields=["error_count", "progress", "lease_expires_at",
                                           *(["errors"] if errors_grew else [])])
            if on_progress:
                on_progress(locked)
    if invalid:
        _finish(job.pk, owner, ImportJob.Status.FAILED,
                f"{invalid} of {total} rows are invalid; nothing was imported (skip_errors is false).",
                total_rows=total, processed_rows=total, skipped=invalid, progress=100, headers=plan.header)
        return False
    ImportJob.objects.filter(pk=job.pk, lease_owner=owner).update(validated=True, total_rows=total, headers=plan.header)
    return True


def _validate_only(job: ImportJob, actor: Actor, owner: str, on_progress) -> None:
    """A validate_only job: import_validate in the background, its progress
    (and the lease) saved as it goes, its report kept as the job's result.
    Nothing to resume: a run that died starts over."""
    def progress(done: int, size: int) -> None:
        now = timezone.now()
        if not ImportJob.objects.filter(pk=job.pk, lease_owner=owner, status=ImportJob.Status.RUNNING).update(
            progress=min(99, done * 100 // max(size, 1)), updated_at=now,
            lease_expires_at=now + timedelta(seconds=_lease_seconds()),
        ):
            raise _LeaseLost()
        if on_progress:
            on_progress(job)

    try:
        result = import_validate(workspace=job.workspace, actor=actor, file_name=job.file_name, mapping=job.mapping,
                                 progress=progress)
    except InvalidFile as exc:
        _finish(job.pk, owner, ImportJob.Status.FAILED, exc.message,
                errors=[{"row": None, "column": None, "code": exc.code, "message": exc.message}], error_count=1)
        return
    _finish(job.pk, owner, ImportJob.Status.SUCCEEDED, result=result, total_rows=result["total_rows"],
            processed_rows=result["total_rows"], skipped=result["invalid_rows"], errors=result["errors"],
            error_count=result["error_count"])


def _refused_rows(chunk, result, plan) -> list:
    """Rows the bulk upsert did not write (they would change a contact the
    starter may not), as rejected rows with their cells, for errors.csv."""
    if not result.rejected:
        return []
    cells = chunk.cells_by_row()
    refused = []
    for index, why in result.rejected:
        row = chunk.valid[index][0]
        header = plan.header_of(why.field or "external_client_id")
        refused.append((row, cells.get(row, []), [Issue(row, header, why.code, why.message)]))
    return refused


def _write_pass(job: ImportJob, actor: Actor, import_file: ImportFile, owner: str, on_progress) -> None:
    workspace = job.workspace
    with open_stream(workspace.pk, job.file_name) as stream:
        plan = file_plan(stream, job.mapping)
        if plan.issues:
            _header_failure(job.pk, owner, plan)
            return
        if not job.headers:
            ImportJob.objects.filter(pk=job.pk).update(headers=plan.header)
        references = References(workspace, actor, plan)
        fields = [REFERENCE_FIELDS.get(f, f) for f in plan.fields if f != "tags"]
        with_tags = "tags" in plan.fields
        defaults = {"label_id": label_get_default(workspace=workspace).pk, "owner_id": actor.user_id}
        errors = list(job.errors)
        # match_on beyond the external id: rows are matched (locked) first, then written by id or inserted
        matching = bool(job.match_on) and job.match_on != ["external_client_id"]
        for chunk in iter_chunks(stream, plan, references, region=workspace.default_phone_region,
                                 start=job.checkpoint, size_bytes=import_file.size):
            with transaction.atomic():
                locked = _locked(job.pk, owner)
                tag_ids = references.tag_ids(chunk.valid) if with_tags else None
                rows = []
                for _, values in chunk.valid:
                    values.pop("tags", None)
                    rows.append(values)
                if matching:
                    result = contacts_bulk_upsert_matching(
                        workspace=workspace, actor=actor, rows=rows, tags=tag_ids, defaults=defaults, fields=fields,
                        match_on=job.match_on,
                    )
                else:
                    result = contacts_bulk_upsert(
                        workspace=workspace, actor=actor, rows=rows, tags=tag_ids, defaults=defaults, fields=fields
                    )
                invalid = chunk.invalid + _refused_rows(chunk, result, plan)
                errors_grew = _record_errors(locked, invalid, errors)
                locked.checkpoint = chunk.consumed
                locked.processed_rows += len(chunk.valid) + len(chunk.invalid)
                locked.created += result.created
                locked.updated += result.updated
                locked.skipped += len(invalid)
                locked.progress = _progress(locked, chunk.bytes_read, import_file.size)
                locked.updated_at = timezone.now()
                locked.save(update_fields=[
                    "checkpoint", "processed_rows", "created", "updated", "skipped", "progress", "error_count",
                    "lease_expires_at", "updated_at", *(["errors"] if errors_grew else []),
                ])
            metrics.record_import_chunk(created=result.created, updated=result.updated, skipped=len(chunk.invalid))
            _log_job("import chunk done", locked)
            if on_progress:
                on_progress(locked)
    _finish(job.pk, owner, ImportJob.Status.SUCCEEDED, total_rows=F("processed_rows"))


# -- erasure -------------------------------------------------------------------
class IdentifierMatcher:
    """Does a CSV row hold one of a person's identifiers? Cells are compared
    as the import would read them: emails in any case, phones in any format
    that normalizes to the same E.164 number (a cheap digits test first: only
    cells ending in a needle's last six digits are parsed), external ids trimmed."""

    def __init__(self, *, emails, phones, external_ids, region):
        self.texts = {e.strip().lower() for e in emails if e} | {x.strip() for x in external_ids if x}
        self.phones = {p for p in phones if p}
        self.tails = {"".join(ch for ch in p if ch.isdigit())[-6:] for p in self.phones}
        self.texts |= self.phones
        self.region = region

    def match(self, cells) -> bool:
        from contacts.validators import normalize_phone

        for cell in cells:
            text = str(cell or "").strip()
            if not text:
                continue
            if text in self.texts or text.lower() in self.texts:
                return True
            if self.phones:
                digits = "".join(ch for ch in text if ch.isdigit())
                if len(digits) >= 6 and digits[-6:] in self.tails:
                    try:
                        if normalize_phone(text, region=self.region) in self.phones:
                            return True
                    except ValueError:
                        pass
        return False


def import_rows_erase(*, workspace: Workspace, actor: Actor, emails=(), phones=(), external_ids=()) -> int:
    """Erases a person's rows from what imports keep (privacy erase): the rows
    of the workspace's stored files that hold one of the identifiers are
    removed from the files (rewritten as UTF-8 with their delimiter), and
    the rejected rows of the error reports (errors.csv) that hold one are
    deleted. Returns how many rows went. Only workspace admins."""
    import csv
    import io
    import tempfile

    from django.core.files import File

    if not actor.is_workspace_admin:
        raise DomainError("Only workspace admins may erase import rows.", code="permission_denied")
    needles = IdentifierMatcher(emails=emails, phones=phones, external_ids=external_ids, region=workspace.default_phone_region)
    if not (needles.texts or needles.phones):
        return 0
    erased = 0
    for import_file in ImportFile.objects.filter(workspace=workspace).order_by("id"):
        path = storage_path(workspace.pk, import_file.file_name)
        if not default_storage.exists(path):
            continue
        removed = 0
        with tempfile.TemporaryFile() as out:
            text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
            try:
                with open_stream(workspace.pk, import_file.file_name) as stream:
                    writer = csv.writer(text, delimiter=stream.delimiter)
                    if stream.header is not None:
                        writer.writerow(stream.header)
                    for _, cells in stream:
                        if needles.match(cells):
                            removed += 1
                        else:
                            writer.writerow(cells)
            except CsvFileError:
                continue  # unreadable as CSV: no row to find (an import of it fails too)
            text.flush()
            if removed:
                size = out.tell()
                out.seek(0)
                default_storage.delete(path)
                default_storage.save(path, File(out))
                ImportFile.objects.filter(pk=import_file.pk).update(size=size, updated_at=timezone.now(),
                                                                    updated_by=actor.user)
            text.detach()
        erased += removed
    doomed = [pk for pk, cells in ImportJobError.objects.filter(job__workspace=workspace)
              .values_list("pk", "cells").iterator(chunk_size=2000) if needles.match(cells)]
    if doomed:
        ImportJobError.objects.filter(pk__in=doomed).delete()
    return erased + len(doomed)
