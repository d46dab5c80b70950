"""Operations shared by the apps' migrations."""
from django.db import migrations


def drop_foreign_key_indexes(table: str, indexes: dict[str, str], state_operations: list) -> migrations.SeparateDatabaseAndState:
    """Drops the single-column indexes Django made for foreign keys (index
    name -> column) that a composite index already covers, and records the
    fields' `db_index=False` through `state_operations`. A plain AlterField
    would also drop and re-add each foreign key constraint, re-checking every
    row of what may be a large table."""
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(
                f'DROP INDEX IF EXISTS "{name}"',
                reverse_sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" ("{column}")',
            )
            for name, column in indexes.items()
        ],
        state_operations=state_operations,
    )
