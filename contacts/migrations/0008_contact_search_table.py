"""Moves `?search=`'s text out of contacts_contact into contacts_contactsearch
(contact_id, document), kept by database triggers, with the trigram index on
the side table.

Why: an UPDATE that changes any indexed column of a contact (label, owner,
stage, updated_at: every bulk update) inserts a new entry into every index of
the table. The trigram GIN index was the most expensive of them (~400 us a
row, or a pending-list flush of several hundred ms landing on whichever write
filled the list). On the side table it is written only when the searchable
text changes.

The triggers are the only writers, so every path (services, imports' INSERT
... ON CONFLICT, the admin, raw SQL) keeps the table right:
- INSERT: one set-based insert per statement (transition table), so COPY and
  imports pay no per-row trigger call;
- UPDATE OF the five columns, per row, only when one of them really changed:
  bulk updates never name them and fire nothing;
- DELETE per statement, TRUNCATE (the test runner's flush) too.
SQLite (the quickstart) gets the same table with row triggers and no index.
A migration that rebuilds contacts_contact on SQLite drops its triggers:
tests/crm/test_sqlite_quickstart.py searches a contact on SQLite to catch it.
"""
from django.db import migrations

# lower(name) ' ' lower(surname) ' ' email ' ' phone ' ' lower(code), on both
# vendors: the selector lowercases the text it looks for.
POSTGRES_FORWARD = r"""
CREATE TABLE contacts_contactsearch (
    contact_id bigint PRIMARY KEY,
    document text NOT NULL
);

CREATE FUNCTION contacts_search_document(name text, surname text, email text, phone text, code text)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT lower(name) || ' ' || lower(surname) || ' ' || email || ' ' || phone || ' ' || lower(code) $$;

CREATE FUNCTION contacts_search_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contacts_contactsearch (contact_id, document)
    SELECT id, contacts_search_document(name, surname, email, phone, code) FROM inserted
    ON CONFLICT (contact_id) DO UPDATE SET document = EXCLUDED.document;
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_search_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contacts_contactsearch (contact_id, document)
    VALUES (NEW.id, contacts_search_document(NEW.name, NEW.surname, NEW.email, NEW.phone, NEW.code))
    ON CONFLICT (contact_id) DO UPDATE SET document = EXCLUDED.document;
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_search_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contacts_contactsearch s USING deleted d WHERE s.contact_id = d.id;
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_search_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE contacts_contactsearch;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts_contact
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION contacts_search_on_insert();
CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, surname, email, phone, code ON contacts_contact
    FOR EACH ROW WHEN (
        OLD.name IS DISTINCT FROM NEW.name OR OLD.surname IS DISTINCT FROM NEW.surname
        OR OLD.email IS DISTINCT FROM NEW.email OR OLD.phone IS DISTINCT FROM NEW.phone
        OR OLD.code IS DISTINCT FROM NEW.code
    ) EXECUTE FUNCTION contacts_search_on_update();
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts_contact
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION contacts_search_on_delete();
CREATE TRIGGER contacts_search_truncate AFTER TRUNCATE ON contacts_contact
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_search_on_truncate();

INSERT INTO contacts_contactsearch (contact_id, document)
SELECT id, contacts_search_document(name, surname, email, phone, code) FROM contacts_contact;

CREATE INDEX contact_search_document_trgm_idx ON contacts_contactsearch USING gin (document gin_trgm_ops);
DROP INDEX IF EXISTS contact_search_trgm_idx;
ANALYZE contacts_contactsearch;
"""

POSTGRES_BACKWARD = r"""
DROP TRIGGER contacts_search_insert ON contacts_contact;
DROP TRIGGER contacts_search_update ON contacts_contact;
DROP TRIGGER contacts_search_delete ON contacts_contact;
DROP TRIGGER contacts_search_truncate ON contacts_contact;
DROP FUNCTION contacts_search_on_insert();
DROP FUNCTION contacts_search_on_update();
DROP FUNCTION contacts_search_on_delete();
DROP FUNCTION contacts_search_on_truncate();
DROP FUNCTION contacts_search_document(text, text, text, text, text);
DROP TABLE contacts_contactsearch;
CREATE INDEX IF NOT EXISTS contact_search_trgm_idx ON contacts_contact USING gin
    ((lower(name) || ' ' || lower(surname) || ' ' || email || ' ' || phone || ' ' || lower(code)) gin_trgm_ops);
"""

SQLITE_DOCUMENT = "lower(NEW.name) || ' ' || lower(NEW.surname) || ' ' || NEW.email || ' ' || NEW.phone || ' ' || lower(NEW.code)"

# Delete then insert: the conflict clause of the statement that fires a
# trigger overrides an INSERT OR REPLACE inside it (an import's upsert did).
SQLITE_WRITE = (
    "DELETE FROM contacts_contactsearch WHERE contact_id = NEW.id; "
    f"INSERT INTO contacts_contactsearch (contact_id, document) VALUES (NEW.id, {SQLITE_DOCUMENT});"
)

SQLITE_FORWARD = [
    "CREATE TABLE contacts_contactsearch (contact_id integer PRIMARY KEY, document text NOT NULL)",
    f"CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts_contact BEGIN {SQLITE_WRITE} END",
    "CREATE TRIGGER contacts_search_update AFTER UPDATE OF name, surname, email, phone, code ON contacts_contact "
    f"BEGIN {SQLITE_WRITE} END",
    "CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts_contact BEGIN "
    "DELETE FROM contacts_contactsearch WHERE contact_id = OLD.id; END",
    "INSERT INTO contacts_contactsearch (contact_id, document) SELECT id, "
    + SQLITE_DOCUMENT.replace("NEW.", "")
    + " FROM contacts_contact",
]

SQLITE_BACKWARD = [
    "DROP TRIGGER contacts_search_insert",
    "DROP TRIGGER contacts_search_update",
    "DROP TRIGGER contacts_search_delete",
    "DROP TABLE contacts_contactsearch",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FORWARD, params=None)  # no params: several statements in one
    else:
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD, params=None)
    else:
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0007_contacttag_drop_redundant_indexes")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
