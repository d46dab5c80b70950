"""Connection-level tuning for PostgreSQL: prepared statements for the few
queries that gain from them, psycopg's C parser for timestamps, and the
array form of id lists (AnyOf)."""
import datetime
from collections.abc import Sequence
from contextlib import contextmanager
from functools import cache

from django.conf import settings
from django.db.models import BooleanField, F, Func


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


@cache
def _utc_timestamptz_loader():
    """A loader class that parses timestamptz text with psycopg's C loader.
    Django registers a pure-Python subclass of psycopg's loader (to set the
    tzinfo), which parses ~7x slower: a 1,000-contact response reads 2,000
    timestamps. The class keeps the `timezone` attribute Django's
    create_cursor() compares, so Django doesn't put its own back."""
    from psycopg import adapters
    from psycopg.adapt import Loader
    from psycopg.pq import Format

    parser = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
    if parser.__module__.startswith("psycopg."):  # pure-Python psycopg: nothing to gain
        return None

    class UtcTimestamptzLoader(Loader):
        timezone = datetime.timezone.utc

        def __init__(self, oid, context=None):
            super().__init__(oid, context)
            self._parse = parser(oid, context).load

        def load(self, data):
            return self._parse(data)

    return UtcTimestamptzLoader


def use_c_timestamp_parser(sender, connection, **kwargs):
    """connection_created receiver. Only for a UTC session, where the C
    loader returns exactly what Django's does (tzinfo=datetime.timezone.utc)."""
    if connection.vendor != "postgresql" or not settings.USE_TZ or connection.timezone_name != "UTC":
        return
    loader = _utc_timestamptz_loader()
    if loader is not None:
        connection.connection.adapters.register_loader("timestamptz", loader)


class AnyOf(Func):
    """`column = ANY(%s)` with the ids as one array parameter on PostgreSQL
    (IN (...) elsewhere): a 10,000-id filter stays a short, cheaply parsed
    statement instead of 10,000 literals."""

    output_field = BooleanField()

    def __init__(self, column: str, ids: Sequence[int]):
        super().__init__(F(column))
        self.ids = list(ids)

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        if not self.ids:
            return "1 = 0", []
        placeholders = ", ".join(["%s"] * len(self.ids))
        return f"{column} IN ({placeholders})", [*params, *self.ids]

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} = ANY(%s::bigint[])", [*params, self.ids]
