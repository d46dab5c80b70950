"""Prepared statements, for the few queries that gain from them."""
from contextlib import contextmanager

from django.conf import settings


@contextmanager
def prepared_statement(connection):
    """Statements executed inside are prepared on the connection at their
    first run and reuse PostgreSQL's plan from then on (psycopg's
    prepare_threshold, which is None everywhere else). Only for lookups
    whose best plan doesn't depend on the values — by a unique key: PostgreSQL
    switches a prepared statement to one generic plan after five runs, and a
    filtered list's generic plan treats a rare tag like a common one (a
    count measured 3 ms with its own plan, 44-53 ms with the generic one).
    Use it inside `with connection.cursor()`, which opens the connection."""
    raw = connection.connection
    if not settings.DB_PREPARED_STATEMENTS or connection.vendor != "postgresql" or raw is None:
        yield
        return
    previous = raw.prepare_threshold
    raw.prepare_threshold = 0
    try:
        yield
    finally:
        raw.prepare_threshold = previous
