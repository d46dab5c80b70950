#!/usr/bin/env python
import os
import secrets
import sys

# Commands that only read code (no serving, no signing) may run without
# SECRET_KEY, so a fresh checkout can check migrations and the schema.
# Everything else still refuses to start without it (see config/settings.py).
OFFLINE_COMMANDS = {"makemigrations", "spectacular", "check", "showmigrations", "sqlmigrate"}


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if len(sys.argv) > 1 and sys.argv[1] in OFFLINE_COMMANDS:
        os.environ.setdefault("SECRET_KEY", f"offline-{secrets.token_hex(16)}")
    from django.core.management import execute_from_command_line

    _make_sqlite_folder()
    execute_from_command_line(sys.argv)


def _make_sqlite_folder():
    """The embedded SQLite database's folder (VAR_DIR), made by the commands
    of a checkout rather than on import of the settings."""
    from pathlib import Path

    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        database = settings.DATABASES["default"]
    except ImproperlyConfigured:
        return  # execute_from_command_line reports it
    if database["ENGINE"].endswith("sqlite3") and str(database["NAME"]) != ":memory:":
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)


if __name__ == "__main__":
    main()
