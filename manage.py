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

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
