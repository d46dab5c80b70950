"""Every index of a table written in bulk is paid by each row an import, a
bulk update or a message write inserts: none may be one that another index
already covers (its columns a leading part of another's)."""
import pytest
from django.db import connection

BULK_WRITTEN_TABLES = ["contacts_contact", "contacts_contacttag", "messaging_message", "messaging_messagetag"]

# (table, index, key columns with their operator classes) of every plain
# b-tree index: no expression, no partial predicate.
PLAIN_BTREE_INDEXES = """
    SELECT t.relname, i.relname, x.indisunique,
           array(SELECT a.attname || ':' || op.opcname
                 FROM unnest(x.indkey::int2[], x.indclass::oid[]) WITH ORDINALITY AS k(attnum, opclass, n)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
                 JOIN pg_opclass op ON op.oid = k.opclass
                 WHERE k.n <= x.indnkeyatts ORDER BY k.n)
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_am am ON am.oid = i.relam
    WHERE t.relname = ANY(%s) AND am.amname = 'btree' AND x.indexprs IS NULL AND x.indpred IS NULL
"""


@pytest.mark.skipif(connection.vendor != "postgresql", reason="reads PostgreSQL's catalog")
@pytest.mark.django_db
def test_bulk_written_tables_have_no_redundant_index():
    with connection.cursor() as cursor:
        cursor.execute(PLAIN_BTREE_INDEXES, [BULK_WRITTEN_TABLES])
        indexes = cursor.fetchall()
    assert {table for table, *_ in indexes} == set(BULK_WRITTEN_TABLES)
    redundant = [
        (table, name, covering)
        for table, name, unique, columns in indexes
        if not unique
        for other_table, covering, _, other_columns in indexes
        if other_table == table and covering != name and other_columns[: len(columns)] == columns
    ]
    assert not redundant, f"indexes covered by another index of the same table: {redundant}"
