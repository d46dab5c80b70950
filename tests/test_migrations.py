"""The migrations match the models, and every app has one line of them:
several branches (two helpers' 0010s) would make `migrate` ask for a merge."""
from collections import Counter

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader

pytestmark = pytest.mark.django_db


def test_no_model_change_is_missing_a_migration():
    try:
        call_command("makemigrations", "--check", "--dry-run", verbosity=0)
    except SystemExit as exit_:
        pytest.fail(f"models changed without a migration (makemigrations --check exited {exit_.code})")


def test_every_app_has_one_leaf_migration():
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    leaves = Counter(app for app, _ in loader.graph.leaf_nodes())
    assert {app: n for app, n in leaves.items() if n > 1} == {}
