"""manage.py import_contacts, on PostgreSQL in-process and on a throwaway
SQLite database (the quickstart's) in a subprocess."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from contacts.models import Contact
from imports.models import ImportJob

ROOT = Path(__file__).resolve().parents[2]
CONTENT = (
    "externalClientId;name;email;phone;tags\n"
    "e1;Ann;ann@example.com;+14155552671;vip|new\n"
    "e2;Bob;bad;;\n"
    ";Cy;;;vip\n"
)


def test_cli_import_with_skip_errors(tmp_path, workspace, capsys):
    path = tmp_path / "c.csv"
    path.write_text(CONTENT)
    call_command("import_contacts", str(path), "--workspace", workspace.slug, "--skip-errors")
    out = capsys.readouterr()
    assert "succeeded" in out.out and "2 created" in out.out and "1 skipped" in out.out
    assert "row 3, email: Enter a valid email address." in out.err and "100%" in out.err
    assert sorted(Contact.objects.filter(workspace=workspace).values_list("name", flat=True)) == ["Ann", "Cy"]
    assert ImportJob.objects.get().status == "succeeded"


def test_cli_without_skip_errors_fails_and_writes_nothing(tmp_path, workspace, capsys):
    path = tmp_path / "c.csv"
    path.write_text(CONTENT)
    with pytest.raises(SystemExit) as exit_info:
        call_command("import_contacts", str(path), "--workspace", workspace.slug)
    assert exit_info.value.code == 1
    assert "failed" in capsys.readouterr().out and not Contact.objects.exists()


def test_cli_validate_only(tmp_path, workspace, capsys):
    path = tmp_path / "c.csv"
    path.write_text(CONTENT)
    with pytest.raises(SystemExit):
        call_command("import_contacts", str(path), "--workspace", workspace.slug, "--validate-only")
    out = capsys.readouterr()
    assert "3 rows" in out.out and "2 valid, 1 invalid" in out.out
    assert not Contact.objects.exists() and not ImportJob.objects.exists()


def _sqlite_manage(tmp_path):
    env = {
        **os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "VAR_DIR": str(tmp_path),
        "MEDIA_ROOT": str(tmp_path / "media"), "CELERY_BROKER_URL": "filesystem://", "SECRET_KEY": "x",
        "IMPORT_CHUNK_ROWS": "2",
    }

    def run(*args, check=True):
        return subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, check=check, timeout=120)

    run("migrate", "-v", "0")
    run("bootstrap", "--workspace", "acme", "--email", "a@example.com", "--json")
    return run


CONTACTS_JSON = (
    "import json; from contacts.models import Contact; "
    "print(json.dumps([[c.name, c.email, c.phone, c.city, c.version, c.label.name, "
    "sorted(c.tags.values_list('tag', flat=True))] for c in Contact.objects.order_by('id')]))"
)


def test_cli_import_on_sqlite(tmp_path):
    """The quickstart's database: the writer's multi-row INSERT ... ON CONFLICT path."""
    run = _sqlite_manage(tmp_path)
    path = tmp_path / "c.csv"
    path.write_text("externalClientId;name;email;phone\ne1;Ann;ann@example.com;+14155552671\ne2;Bob;bad;\n;Cy;;\n")
    result = run("import_contacts", str(path), "--workspace", "acme", "--skip-errors", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 created, 0 updated, 1 skipped" in result.stdout
    # Again with an update of e1 (the ON CONFLICT DO UPDATE path) and a new row.
    path.write_text("externalClientId,name,city\ne1,Anna,Oslo\ne3,Dee,\n")
    result = run("import_contacts", str(path), "--workspace", "acme", check=False)
    assert "1 created, 1 updated" in result.stdout, result.stdout + result.stderr
    rows = json.loads(run("shell", "-c", CONTACTS_JSON).stdout.strip().splitlines()[-1])
    assert rows == [
        ["Anna", "ann@example.com", "+14155552671", "Oslo", 2, "No label", []],
        ["Cy", "", "", "", 1, "No label", []],
        ["Dee", "", "", "", 1, "No label", []],
    ]


def test_cli_import_with_tags_on_sqlite(tmp_path):
    run = _sqlite_manage(tmp_path)
    path = tmp_path / "c.csv"
    path.write_text("externalClientId,name,tags\ne1,Ann,vip|new\n")
    result = run("import_contacts", str(path), "--workspace", "acme", check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = json.loads(run("shell", "-c", CONTACTS_JSON).stdout.strip().splitlines()[-1])
    assert rows == [["Ann", "", "", "", 1, "No label", ["new", "vip"]]]
