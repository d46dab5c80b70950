"""Merges (Contact.merged_into) and duplicate detection (contacts_duplicatekey, below)."""

import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contacts', '0013_suppressed_identifier'),
        ('crm', '0001_initial'),
        ('labels', '0003_contactlabel_version'),
        ('tags', '0002_tag_version'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='contact',
            name='merged_into',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contacts.contact'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(condition=models.Q(('merged_into__isnull', False)), fields=['merged_into'], name='contact_merged_into_idx'),
        ),
        migrations.AddIndex(
            model_name='contact',
            index=models.Index(models.F('workspace'), django.db.models.functions.text.Lower('external_client_id'), condition=models.Q(('external_client_id__isnull', False)), name='contact_external_lower_idx'),
        ),
    ]


# -- duplicate keys ------------------------------------------------------------------
# contacts_duplicatekey counts the active contacts of a workspace sharing a
# key: (workspace, kind, value, contacts), kind email (stored lower-cased),
# phone (E.164) or external_id (lower(trim(external_client_id)): exact ids
# are unique, so only spellings differing in case collide). The groups, the
# keys with contacts > 1, are read through a partial index: the first page
# of a 1M-contact workspace's groups is an index range, not a GROUP BY over
# the table (tests/benchmarks/batch_bench.py measures it). Kept by
# triggers, like contacts_contactsearch (0008), so every write path (the
# services, the import's COPY + INSERT ... ON CONFLICT, the admin, raw SQL)
# keeps it right: per statement on INSERT and DELETE (transition tables),
# per row on UPDATE only when email, phone, external_client_id or
# deleted_at really changed (bulk updates of labels or owners fire nothing).
# Keys whose count falls to 0 stay as rows of 0 (outside the index).
POSTGRES_FORWARD = r"""
CREATE TABLE contacts_duplicatekey (
    workspace_id bigint NOT NULL,
    kind text NOT NULL,
    value text COLLATE "C" NOT NULL,
    contacts integer NOT NULL,
    PRIMARY KEY (workspace_id, kind, value)
);
CREATE INDEX contacts_duplicatekey_groups_idx ON contacts_duplicatekey (workspace_id, kind, value)
    WHERE contacts > 1;

CREATE FUNCTION contacts_duplicate_keys(ws bigint, email text, phone text, ext text, deleted timestamptz)
RETURNS TABLE (workspace_id bigint, kind text, value text) LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ws, k.kind, k.value COLLATE "C"
    FROM (VALUES ('email', email), ('phone', phone), ('external_id', lower(btrim(ext)))) AS k(kind, value)
    WHERE deleted IS NULL AND k.value IS NOT NULL AND k.value <> ''
$$;

CREATE FUNCTION contacts_duplicatekey_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contacts_duplicatekey AS d (workspace_id, kind, value, contacts)
    SELECT k.workspace_id, k.kind, k.value, count(*)
    FROM inserted i, contacts_duplicate_keys(i.workspace_id, i.email, i.phone, i.external_client_id, i.deleted_at) k
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (workspace_id, kind, value) DO UPDATE SET contacts = d.contacts + EXCLUDED.contacts;
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_duplicatekey_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contacts_duplicatekey d SET contacts = d.contacts - 1
    FROM contacts_duplicate_keys(OLD.workspace_id, OLD.email, OLD.phone, OLD.external_client_id, OLD.deleted_at) k
    WHERE d.workspace_id = k.workspace_id AND d.kind = k.kind AND d.value = k.value;
    INSERT INTO contacts_duplicatekey AS d (workspace_id, kind, value, contacts)
    SELECT k.workspace_id, k.kind, k.value, 1
    FROM contacts_duplicate_keys(NEW.workspace_id, NEW.email, NEW.phone, NEW.external_client_id, NEW.deleted_at) k
    ON CONFLICT (workspace_id, kind, value) DO UPDATE SET contacts = d.contacts + 1;
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_duplicatekey_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE contacts_duplicatekey d SET contacts = d.contacts - x.n
    FROM (SELECT k.workspace_id, k.kind, k.value, count(*) AS n
          FROM deleted o, contacts_duplicate_keys(o.workspace_id, o.email, o.phone, o.external_client_id,
                                                  o.deleted_at) k
          GROUP BY 1, 2, 3) x
    WHERE d.workspace_id = x.workspace_id AND d.kind = x.kind AND d.value = x.value;
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_duplicatekey_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE contacts_duplicatekey;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_duplicatekey_insert AFTER INSERT ON contacts_contact
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION contacts_duplicatekey_on_insert();
CREATE TRIGGER contacts_duplicatekey_update AFTER UPDATE OF email, phone, external_client_id, deleted_at
    ON contacts_contact FOR EACH ROW WHEN (
        OLD.email IS DISTINCT FROM NEW.email OR OLD.phone IS DISTINCT FROM NEW.phone
        OR OLD.external_client_id IS DISTINCT FROM NEW.external_client_id
        OR (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
    ) EXECUTE FUNCTION contacts_duplicatekey_on_update();
CREATE TRIGGER contacts_duplicatekey_delete AFTER DELETE ON contacts_contact
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION contacts_duplicatekey_on_delete();
CREATE TRIGGER contacts_duplicatekey_truncate AFTER TRUNCATE ON contacts_contact
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_duplicatekey_on_truncate();
"""

# Also what a seed that bypassed the triggers (session_replication_role) runs.
POSTGRES_REBUILD = r"""
TRUNCATE contacts_duplicatekey;
INSERT INTO contacts_duplicatekey (workspace_id, kind, value, contacts)
SELECT k.workspace_id, k.kind, k.value, count(*)
FROM contacts_contact c, contacts_duplicate_keys(c.workspace_id, c.email, c.phone, c.external_client_id, c.deleted_at) k
GROUP BY 1, 2, 3;
ANALYZE contacts_duplicatekey;
"""

POSTGRES_BACKWARD = r"""
DROP TRIGGER contacts_duplicatekey_insert ON contacts_contact;
DROP TRIGGER contacts_duplicatekey_update ON contacts_contact;
DROP TRIGGER contacts_duplicatekey_delete ON contacts_contact;
DROP TRIGGER contacts_duplicatekey_truncate ON contacts_contact;
DROP FUNCTION contacts_duplicatekey_on_insert();
DROP FUNCTION contacts_duplicatekey_on_update();
DROP FUNCTION contacts_duplicatekey_on_delete();
DROP FUNCTION contacts_duplicatekey_on_truncate();
DROP FUNCTION contacts_duplicate_keys(bigint, text, text, text, timestamptz);
DROP TABLE contacts_duplicatekey;
"""

# SQLite (the quickstart): the same table, row triggers.
_SQLITE_KEYS = [("email", "{r}.email"), ("phone", "{r}.phone"), ("external_id", "lower(trim({r}.external_client_id))")]


def _sqlite_add(row: str, delta: int) -> str:
    out = []
    for kind, value in _SQLITE_KEYS:
        value = value.format(r=row)
        out.append(
            "INSERT INTO contacts_duplicatekey (workspace_id, kind, value, contacts) "
            f"SELECT {row}.workspace_id, '{kind}', {value}, {delta} WHERE {row}.deleted_at IS NULL "
            f"AND {value} IS NOT NULL AND {value} <> '' "
            f"ON CONFLICT (workspace_id, kind, value) DO UPDATE SET contacts = contacts + {delta};"
        )
    return " ".join(out)


SQLITE_FORWARD = [
    "CREATE TABLE contacts_duplicatekey (workspace_id bigint NOT NULL, kind text NOT NULL, value text NOT NULL, "
    "contacts integer NOT NULL, PRIMARY KEY (workspace_id, kind, value))",
    f"CREATE TRIGGER contacts_duplicatekey_insert AFTER INSERT ON contacts_contact BEGIN {_sqlite_add('NEW', 1)} END",
    "CREATE TRIGGER contacts_duplicatekey_update AFTER UPDATE OF email, phone, external_client_id, deleted_at "
    f"ON contacts_contact BEGIN {_sqlite_add('OLD', -1)} {_sqlite_add('NEW', 1)} END",
    f"CREATE TRIGGER contacts_duplicatekey_delete AFTER DELETE ON contacts_contact BEGIN {_sqlite_add('OLD', -1)} END",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER contacts_duplicatekey_insert",
    "DROP TRIGGER contacts_duplicatekey_update",
    "DROP TRIGGER contacts_duplicatekey_delete",
    "DROP TABLE contacts_duplicatekey",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)  # no params: several statements in one
        schema_editor.execute(POSTGRES_REBUILD, params=None)
    else:
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
        for kind, value in _SQLITE_KEYS:
            value = value.format(r="c")
            schema_editor.execute(
                "INSERT INTO contacts_duplicatekey (workspace_id, kind, value, contacts) "
                f"SELECT c.workspace_id, '{kind}', {value}, count(*) FROM contacts_contact c "
                f"WHERE c.deleted_at IS NULL AND {value} IS NOT NULL AND {value} <> '' GROUP BY 1, 2, 3"
            )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
    else:
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


Migration.operations.append(migrations.RunPython(forward, backward))
