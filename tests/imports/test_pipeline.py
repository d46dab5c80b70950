"""The read-ahead thread behind iter_chunks: records are parsed and checked
in it while the caller writes the previous chunk."""
import itertools
import threading

import pytest

from imports.csvfile import CsvFileError
from imports.pipeline import _ReadAhead
from tests.factories import SYSTEM


def _read_ahead_threads():
    return [t for t in threading.enumerate() if t.name == "import-read-ahead"]


def test_items_in_order_then_the_end():
    assert list(_ReadAhead(iter(range(10)), depth=2)) == list(range(10))


def test_an_error_reaches_the_consumer_after_the_items_before_it():
    def broken():
        yield 1
        raise CsvFileError("The CSV cannot be parsed near row 3.", code="malformed_csv", row=3)

    ahead = _ReadAhead(broken())
    items = iter(ahead)
    assert next(items) == 1
    with pytest.raises(CsvFileError) as caught:
        next(items)
    assert caught.value.row == 3
    ahead.close()


def test_the_thread_stops_when_its_consumer_does():
    ahead = _ReadAhead(itertools.count(), depth=1)  # endless: only close() ends it
    assert next(iter(ahead)) == 0
    ahead.close()
    assert not ahead._thread.is_alive()


def test_a_cancelled_job_leaves_no_thread_behind(api_client, settings):
    from .test_jobs import start, upload
    from imports import services

    settings.IMPORT_CHUNK_ROWS = 2
    job_id = start(api_client, upload(api_client, "name\n" + "x\n" * 20), skip_errors=True)

    def cancel(job):
        services.import_job_cancel(workspace=job.workspace, actor=SYSTEM, job=job)

    assert services.import_job_run(job_id=job_id, on_progress=cancel) == "stopped"
    assert not _read_ahead_threads()


def test_the_collector_threshold_is_restored_after_a_run(api_client):
    import gc

    from .test_jobs import run, start, upload

    before = gc.get_threshold()
    job_id = start(api_client, upload(api_client, "name\nAnn\nBob\n"), skip_errors=True)
    assert run(job_id) == "succeeded"
    assert gc.get_threshold() == before
