"""Re-encrypts every stored secret with the first key of SECRETS_KEYS (key
rotation: docs/operations.md)."""
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from crm.secrets import encrypted_fields, rotate


class Command(BaseCommand):
    help = "Re-encrypt integration and webhook secrets with the first key of SECRETS_KEYS."

    def handle(self, *args, **options):
        total = 0
        for model, field in encrypted_fields():
            table, column = model._meta.db_table, field.column
            with transaction.atomic(), connection.cursor() as cursor:
                # Raw rows: the tokens themselves, not the decrypted values.
                cursor.execute(f"SELECT id, {column} FROM {table} WHERE {column} <> '' FOR UPDATE")
                rows = [(rotate(token), pk) for pk, token in cursor.fetchall()]
                cursor.executemany(f"UPDATE {table} SET {column} = %s WHERE id = %s", rows)
            total += len(rows)
            self.stdout.write(f"{model._meta.label}.{field.name}: {len(rows)} re-encrypted")
        self.stdout.write(f"{total} secrets now under the first key.")
