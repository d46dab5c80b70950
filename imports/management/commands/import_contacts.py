"""python manage.py import_contacts FILE --workspace SLUG [--skip-errors] [--validate-only]

Runs the import pipeline of the API in the foreground: the file is stored
like an upload, then validated or imported by the same services the worker
runs (a job row records it), with a progress bar on stderr."""
import sys
import time
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from crm.actors import Actor
from crm.errors import DomainError
from crm.models import Workspace
from imports import services
from imports.models import ImportJob


class ProgressBar:
    def __init__(self, stream, width=30):
        self.stream, self.width, self.started = stream, width, time.monotonic()

    def show(self, percent: int, rows: int | None = None):
        filled = self.width * percent // 100
        rate = ""
        elapsed = time.monotonic() - self.started
        if rows is not None and elapsed > 0:
            rate = f" {rows:,} rows, {rows / elapsed:,.0f} rows/s"
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.width - filled)}] {percent:3d}%{rate}")
        self.stream.flush()

    def done(self):
        self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = "Validates or imports a CSV file of contacts into a workspace, in the foreground."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the CSV file")
        parser.add_argument("--workspace", required=True, help="Slug of the workspace")
        parser.add_argument("--skip-errors", action="store_true", help="Import the valid rows, report the others")
        parser.add_argument("--validate-only", action="store_true", help="Check the file, write nothing")

    def handle(self, *args, file, workspace, skip_errors, validate_only, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        ws = Workspace.objects.filter(slug=workspace).first()
        if ws is None:
            raise CommandError(f"No workspace with slug {workspace!r}")
        actor = Actor.system("cli")
        with path.open("rb") as handle:
            try:
                stored = services.import_file_upload(workspace=ws, actor=actor, uploaded=File(handle, name=path.name),
                                                     original_name=path.name)
            except DomainError as exc:  # the API's 400/413 reasons
                raise CommandError(exc.message) from None
        bar = ProgressBar(sys.stderr)
        started = time.monotonic()
        if validate_only:
            try:
                result = services.import_validate(
                    workspace=ws, actor=actor, file_name=stored.file_name,
                    progress=lambda done, size: bar.show(min(100, done * 100 // max(size, 1))),
                )
            except DomainError as exc:
                raise CommandError(exc.message) from None
            finally:
                services.import_file_delete(workspace=ws, actor=actor, import_file=stored)
            bar.done()
            self._print_errors(result["errors"])
            self.stdout.write(
                f"Validated {result['total_rows']:,} rows in {time.monotonic() - started:.1f} s: "
                f"{result['valid_rows']:,} valid, {result['invalid_rows']:,} invalid"
                + (f"; unknown columns ignored: {', '.join(result['unknown_columns'])}" if result["unknown_columns"] else "")
            )
            if result["invalid_rows"]:
                sys.exit(1)
            return
        job = services.import_job_create(
            workspace=ws, actor=actor, file_name=stored.file_name, skip_errors=skip_errors, enqueue=False
        )
        services.import_job_run(job_id=job.pk, on_progress=lambda j: bar.show(j.progress, j.processed_rows))
        job = ImportJob.objects.get(pk=job.pk)
        bar.show(job.progress, job.processed_rows)
        bar.done()
        self._print_errors(job.errors)
        self.stdout.write(
            f"Job {job.pk} {job.status} in {time.monotonic() - started:.1f} s: {job.processed_rows:,} rows read, "
            f"{job.created:,} created, {job.updated:,} updated, {job.skipped:,} skipped"
            + (f". {job.message}" if job.message else "")
        )
        if job.status != ImportJob.Status.SUCCEEDED:
            sys.exit(1)

    def _print_errors(self, errors, limit=20):
        for error in errors[:limit]:
            where = f"row {error['row']}" + (f", {error['column']}" if error.get("column") else "")
            self.stderr.write(f"  {where}: {error['message']} [{error['code']}]")
        if len(errors) > limit:
            self.stderr.write("  ... and more (see the job's errors.csv)")
