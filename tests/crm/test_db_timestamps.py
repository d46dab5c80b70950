"""Timestamps are parsed by psycopg's C loader (crm.db.use_c_timestamp_parser)
and come back exactly as Django's own loader gives them: aware, in UTC."""
import datetime

import pytest
from django.db import connection
from psycopg.pq import Format

from contacts.models import Contact
from crm.db import _utc_timestamptz_loader

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's loaders")

TIMESTAMPTZ = 1184  # pg_type oid


def test_connections_and_their_cursors_use_the_c_parser(db):
    loader = _utc_timestamptz_loader()
    assert loader is not None, "psycopg's C implementation (psycopg[binary]) is installed"
    connection.ensure_connection()
    assert connection.connection.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is loader
    with connection.cursor() as cursor:  # Django's create_cursor() must not put its own loader back
        assert cursor.cursor.adapters.get_loader(TIMESTAMPTZ, Format.TEXT) is loader


@pytest.mark.parametrize("value", [
    datetime.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=datetime.timezone.utc),
    datetime.datetime(1901, 12, 14, 20, 45, 52, tzinfo=datetime.timezone.utc),
    datetime.datetime(2026, 7, 1, 23, 59, 59, 999999, tzinfo=datetime.timezone(datetime.timedelta(hours=-7))),
])
def test_round_trip_is_aware_utc(workspace, value):
    contact = Contact.objects.create(workspace=workspace, name="t")
    Contact.objects.filter(pk=contact.pk).update(created_at=value)
    read = Contact.objects.values_list("created_at", flat=True).get(pk=contact.pk)
    assert read == value and read.tzinfo is datetime.timezone.utc
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz", [value])
        assert cursor.fetchone()[0].tzinfo is datetime.timezone.utc
