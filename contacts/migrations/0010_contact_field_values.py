"""contacts_contactfieldvalue: each contact's custom field values, one row a
value, copied out of contacts_contact.custom_fields by database triggers (the
only writers, as for contacts_contactsearch in 0008), so search filters and
sorts by a custom field through an index instead of reading every contact's
JSON. Only scalars are copied: `text` is the value as text, `number` is set
for numbers (and numeric strings) that fit a double.

- INSERT: one set-based insert per statement (transition table);
- UPDATE OF custom_fields, per row, only when it really changed (bulk
  updates of labels, owners, tags never fire it);
- DELETE per statement, TRUNCATE too (Django's test flush truncates both tables).
SQLite (the quickstart) gets row triggers over json_each.
"""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


POSTGRES_FORWARD = r"""
CREATE FUNCTION contacts_field_number(value jsonb) RETURNS double precision
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN jsonb_typeof(value) = 'number' AND abs(value::numeric) < 1e300 THEN value::numeric::float8
        WHEN jsonb_typeof(value) = 'string' AND length(value #>> '{}') < 250
             AND value #>> '{}' ~ '^\s*-?[0-9]+(\.[0-9]+)?\s*$'
            THEN (value #>> '{}')::numeric::float8
    END
$$;

CREATE FUNCTION contacts_field_values_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO contacts_contactfieldvalue (contact_id, workspace_id, code, text, number)
    SELECT i.id, i.workspace_id, e.key, e.value #>> '{}', contacts_field_number(e.value)
    FROM inserted i, jsonb_each(CASE WHEN jsonb_typeof(i.custom_fields) = 'object' THEN i.custom_fields END) e
    WHERE jsonb_typeof(e.value) IN ('string', 'number', 'boolean')
    ON CONFLICT (contact_id, code) DO UPDATE SET text = EXCLUDED.text, number = EXCLUDED.number;
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_field_values_on_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contacts_contactfieldvalue WHERE contact_id = NEW.id;
    INSERT INTO contacts_contactfieldvalue (contact_id, workspace_id, code, text, number)
    SELECT NEW.id, NEW.workspace_id, e.key, e.value #>> '{}', contacts_field_number(e.value)
    FROM jsonb_each(CASE WHEN jsonb_typeof(NEW.custom_fields) = 'object' THEN NEW.custom_fields END) e
    WHERE jsonb_typeof(e.value) IN ('string', 'number', 'boolean');
    RETURN NULL;
END $$;

CREATE FUNCTION contacts_field_values_on_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contacts_contactfieldvalue v USING deleted d WHERE v.contact_id = d.id;
    RETURN NULL;
END $$;

-- DELETE, not TRUNCATE: a TRUNCATE naming both tables (Django's flush) may not truncate one again
CREATE FUNCTION contacts_field_values_on_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM contacts_contactfieldvalue;
    RETURN NULL;
END $$;

CREATE TRIGGER contacts_field_values_insert AFTER INSERT ON contacts_contact
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION contacts_field_values_on_insert();
CREATE TRIGGER contacts_field_values_update AFTER UPDATE OF custom_fields ON contacts_contact
    FOR EACH ROW WHEN (OLD.custom_fields IS DISTINCT FROM NEW.custom_fields)
    EXECUTE FUNCTION contacts_field_values_on_update();
CREATE TRIGGER contacts_field_values_delete AFTER DELETE ON contacts_contact
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION contacts_field_values_on_delete();
CREATE TRIGGER contacts_field_values_truncate AFTER TRUNCATE ON contacts_contact
    FOR EACH STATEMENT EXECUTE FUNCTION contacts_field_values_on_truncate();

INSERT INTO contacts_contactfieldvalue (contact_id, workspace_id, code, text, number)
SELECT c.id, c.workspace_id, e.key, e.value #>> '{}', contacts_field_number(e.value)
FROM contacts_contact c, jsonb_each(CASE WHEN jsonb_typeof(c.custom_fields) = 'object' THEN c.custom_fields END) e
WHERE jsonb_typeof(e.value) IN ('string', 'number', 'boolean');
ANALYZE contacts_contactfieldvalue;
"""

POSTGRES_BACKWARD = r"""
DROP TRIGGER contacts_field_values_insert ON contacts_contact;
DROP TRIGGER contacts_field_values_update ON contacts_contact;
DROP TRIGGER contacts_field_values_delete ON contacts_contact;
DROP TRIGGER contacts_field_values_truncate ON contacts_contact;
DROP FUNCTION contacts_field_values_on_insert();
DROP FUNCTION contacts_field_values_on_update();
DROP FUNCTION contacts_field_values_on_delete();
DROP FUNCTION contacts_field_values_on_truncate();
DROP FUNCTION contacts_field_number(jsonb);
"""

# SQLite: json_each over the stored text; numbers are the JSON numbers.
SQLITE_COPY = (
    "INSERT INTO contacts_contactfieldvalue (contact_id, workspace_id, code, text, number) "
    "SELECT {row}id, {row}workspace_id, e.key, "
    "CASE e.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(e.value AS TEXT) END, "
    "CASE WHEN e.type IN ('integer', 'real') THEN e.value END "
    "FROM {source}json_each(CASE WHEN json_valid({row}custom_fields) AND json_type({row}custom_fields) = 'object' "
    "THEN {row}custom_fields ELSE '{{}}' END) e "
    "WHERE e.type IN ('text', 'integer', 'real', 'true', 'false')"
)
SQLITE_WRITE = (
    "DELETE FROM contacts_contactfieldvalue WHERE contact_id = NEW.id; "
    + SQLITE_COPY.format(row="NEW.", source="") + ";"
)
SQLITE_FORWARD = [
    f"CREATE TRIGGER contacts_field_values_insert AFTER INSERT ON contacts_contact BEGIN {SQLITE_WRITE} END",
    "CREATE TRIGGER contacts_field_values_update AFTER UPDATE OF custom_fields ON contacts_contact "
    f"BEGIN {SQLITE_WRITE} END",
    "CREATE TRIGGER contacts_field_values_delete AFTER DELETE ON contacts_contact BEGIN "
    "DELETE FROM contacts_contactfieldvalue WHERE contact_id = OLD.id; END",
    SQLITE_COPY.format(row="c.", source="contacts_contact c, "),
]
SQLITE_BACKWARD = [
    "DROP TRIGGER contacts_field_values_insert",
    "DROP TRIGGER contacts_field_values_update",
    "DROP TRIGGER contacts_field_values_delete",
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

    dependencies = [
        ('contacts', '0009_custom_field_version'),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactFieldValue',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('workspace_id', models.BigIntegerField()),
                ('code', models.CharField(max_length=100)),
                ('text', models.TextField()),
                ('number', models.FloatField(null=True)),
                ('contact', models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name='field_values', to='contacts.contact')),
            ],
            options={
                'indexes': [models.Index(models.F('workspace_id'), models.F('code'), models.F('number'), models.F('contact'), name='contact_field_number_idx'), models.Index(models.F('workspace_id'), models.F('code'), django.db.models.functions.text.Left(django.db.models.functions.text.Lower('text'), 200), models.F('contact'), name='contact_field_text_idx')],
                'constraints': [models.UniqueConstraint(fields=('contact', 'code'), name='uniq_contact_field_value')],
            },
        ),
        migrations.RunPython(forward, backward, elidable=False),
    ]
