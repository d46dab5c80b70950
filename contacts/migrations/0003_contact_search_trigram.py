"""Trigram GIN index for `?search=` on PostgreSQL (a no-op elsewhere: the
quickstart's SQLite scans). The expression must stay identical to
contacts.selectors.SEARCH_EXPRESSION so the planner can use the index."""
from django.db import migrations

SEARCH_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS contact_search_trgm_idx ON contacts_contact USING gin "
    "((lower(name) || ' ' || lower(surname) || ' ' || email || ' ' || phone || ' ' || lower(code)) gin_trgm_ops)"
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(SEARCH_INDEX_SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS contact_search_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0002_contact_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
