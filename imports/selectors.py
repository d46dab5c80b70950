"""Reads for imports."""
import csv
import io
from collections.abc import Iterator

from django.db.models import QuerySet

from crm.models import Workspace

from .models import ImportFile, ImportJob, ImportJobError

# A spreadsheet runs a cell starting with these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def import_files(*, workspace: Workspace) -> QuerySet:
    return ImportFile.objects.filter(workspace=workspace).order_by("-id")


def import_jobs(*, workspace: Workspace) -> QuerySet:
    return ImportJob.objects.filter(workspace=workspace).order_by("-id")


def neutralize(cell) -> str:
    """Prefixes a quote to a cell a spreadsheet would evaluate (CSV injection)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def import_job_errors_csv(*, job: ImportJob, batch: int = 2000) -> Iterator[str]:
    """The job's rejected rows as they were in the file, after `row` and
    `error` columns, streamed in batches (keyset on id)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(["row", "error", *(neutralize(h) for h in job.headers)])
    yield flush()
    last_id = 0
    while True:
        rows = list(
            ImportJobError.objects.filter(job=job, id__gt=last_id).order_by("id").values_list("id", "row", "message", "cells")[:batch]
        )
        if not rows:
            return
        for pk, row, message, cells in rows:
            writer.writerow([row, neutralize(message), *(neutralize(c) for c in cells)])
            last_id = pk
        yield flush()
