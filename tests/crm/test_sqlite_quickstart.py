"""The quickstart runs on SQLite with the filesystem broker (`make run`).

The suite itself runs on PostgreSQL, so this test runs the quickstart's
steps in subprocesses with the embedded defaults: every migration of every
app applies on SQLite, `bootstrap --json` issues a token, and with it every
parameterless GET endpoint of the schema answers without a server error.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SMOKE = r"""
import json, os
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

schema = SchemaGenerator().get_schema(request=None, public=True)
client = Client(HTTP_X_ACCESS_TOKEN=os.environ["SMOKE_TOKEN"])
paths = ["/healthz", "/v1/schema/", "/v1/docs/", "/v1/redoc/"]
paths += sorted(p for p, ops in schema["paths"].items() if "get" in ops and "{" not in p)
print(json.dumps({p: client.get(p).status_code for p in paths}))
"""


def _manage(env, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_quickstart_steps_work_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_"))}
    env.update(DEBUG="true", VAR_DIR=str(tmp_path), SECRET_KEY="x")

    migrate = _manage(env, "migrate", "--noinput")
    assert migrate.returncode == 0, migrate.stderr[-3000:]
    assert (tmp_path / "db.sqlite3").exists()

    boot = _manage(env, "bootstrap", "--workspace", "Demo", "--email", "admin@example.com", "--json")
    assert boot.returncode == 0, boot.stderr[-3000:]
    token = json.loads(boot.stdout)["token"]

    smoke = _manage({**env, "SMOKE_TOKEN": token}, "shell", "-c", SMOKE)
    assert smoke.returncode == 0, smoke.stderr[-3000:]
    statuses = json.loads(smoke.stdout.strip().splitlines()[-1])
    assert statuses["/v1/crm/me"] == 200 and statuses["/v1/crm/tokens"] == 200
    assert statuses["/healthz"] == 200 and statuses["/v1/docs/"] == 200
    broken = {path: status for path, status in statuses.items() if status >= 500}
    assert not broken, f"server errors on SQLite: {broken}\n{smoke.stderr[-3000:]}"
