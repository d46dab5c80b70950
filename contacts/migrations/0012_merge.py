"""Joins the two 0010s (as 0012_merge_0010_..., landed beside it, does). On SQLite, 0010_contact_seed_004_fields rebuilt
contacts_contact (adding columns with defaults), which drops the table's
triggers: when it ran after 0010_contact_field_values, that one's were gone.
Every trigger of the contacts table is re-made here when missing."""
import importlib

from django.db import migrations

TRIGGER_MIGRATIONS = ("0008_contact_search_table", "0010_contact_field_values")


def remake_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        return  # PostgreSQL alters tables in place: its triggers stay
    for name in TRIGGER_MIGRATIONS:
        module = importlib.import_module(f"contacts.migrations.{name}")
        for statement in module.SQLITE_FORWARD:
            if statement.startswith("CREATE TRIGGER"):
                schema_editor.execute(statement.replace("CREATE TRIGGER", "CREATE TRIGGER IF NOT EXISTS", 1))


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0010_contact_seed_004_fields'),
        ('contacts', '0011_contact_views'),
    ]

    operations = [
        migrations.RunPython(remake_sqlite_triggers, migrations.RunPython.noop, elidable=False),
    ]
