"""Dates of custom fields (YYYY-MM-DD) also get `number` (yyyymmdd) in
contacts_contactfieldvalue, so a date range or a sort by a date field is an
index-only range of (workspace_id, code, number, contact_id) instead of heap
visits through the text expression index. PostgreSQL only: SQLite (the
quickstart) compares dates as text, which is what its search does there."""
from django.db import migrations

POSTGRES_FORWARD = r"""
CREATE OR REPLACE FUNCTION contacts_field_number(value jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(value) = 'number' AND abs(value::numeric) < 1e300 THEN value::numeric::float8
        WHEN jsonb_typeof(value) = 'string' AND length(value #>> '{}') < 250
             AND value #>> '{}' ~ '^\s*-?[0-9]+(\.[0-9]+)?\s*$'
            THEN (value #>> '{}')::numeric::float8
        WHEN jsonb_typeof(value) = 'string' AND value #>> '{}' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'
            THEN replace(value #>> '{}', '-', '')::float8
    END
$$;
UPDATE contacts_contactfieldvalue SET number = replace(text, '-', '')::float8
WHERE number IS NULL AND text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
"""

POSTGRES_BACKWARD = r"""
CREATE OR REPLACE FUNCTION contacts_field_number(value jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(value) = 'number' AND abs(value::numeric) < 1e300 THEN value::numeric::float8
        WHEN jsonb_typeof(value) = 'string' AND length(value #>> '{}') < 250
             AND value #>> '{}' ~ '^\s*-?[0-9]+(\.[0-9]+)?\s*$'
            THEN (value #>> '{}')::numeric::float8
    END
$$;
UPDATE contacts_contactfieldvalue SET number = NULL WHERE text ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0014_contact_merged_into_duplicate_keys")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
