"""The quickstart runs on SQLite with the filesystem broker (`make run`).

The suite itself runs on PostgreSQL, so this test runs the quickstart's
steps in subprocesses with the embedded defaults: every migration of every
app applies on SQLite, `bootstrap --json` issues a token, and with it every
parameterless GET endpoint of the schema, and the first writes a user tries
(a tag, a contact with tags, bulk update, upsert), answer without a server
error.
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
statuses = {p: client.get(p).status_code for p in paths}

# The everyday writes a quickstart user tries first (PostgreSQL-only SQL would 500 here).
def call(method, path, body):
    response = getattr(client, method)(path, body, content_type="application/json")
    statuses[f"{method.upper()} {path}"] = response.status_code
    return response.json() if response.status_code < 300 else {}

call("post", "/v1/crm/tags", {"tag": "vip", "type": "client"})
contact = call("post", "/v1/crm/contacts", {"name": "Ann", "type": "person", "phone": "+14155550100",
                                            "email": "ann@example.com", "tags": ["vip"]})
if contact:
    statuses["GET contact"] = client.get(f"/v1/crm/contacts/{contact['id']}").status_code
    statuses["GET contacts?search"] = client.get("/v1/crm/contacts", {"search": "ann"}).status_code
    # search reads contacts_contactsearch, kept by triggers: it follows the contact's writes
    found = {}
    found["ann"] = [c["id"] for c in client.get("/v1/crm/contacts", {"search": "ann"}).json()["data"]]
    call("patch", f"/v1/crm/contacts/{contact['id']}", {"surname": "Quist"})
    found["quist"] = [c["id"] for c in client.get("/v1/crm/contacts", {"search": "quist"}).json()["data"]]
    call("patch", f"/v1/crm/contacts/{contact['id']}", {"surname": "Rowe"})
    found["quist after"] = [c["id"] for c in client.get("/v1/crm/contacts", {"search": "quist"}).json()["data"]]
    statuses["search"] = found == {"ann": [contact["id"]], "quist": [contact["id"]], "quist after": []} or found
    call("patch", "/v1/crm/contacts", {"ids": [contact["id"]], "visibility_type": "public"})
call("put", "/v1/crm/contacts/upsert", {"external_client_id": "ext-1", "name": "Bob", "type": "person"})
print(json.dumps(statuses))
"""


def _manage(env, *args, timeout=180):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_quickstart_steps_work_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CELERY_", "DJANGO_"))}
    # No worker runs here: readiness leaves the worker ping out.
    env.update(DEBUG="true", VAR_DIR=str(tmp_path), SECRET_KEY="x", HEALTHZ_CHECK_WORKERS="false")

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
    assert statuses["POST /v1/crm/contacts"] == 201 and statuses["GET contact"] == 200, statuses
    assert statuses["/healthz"] == 200 and statuses["/v1/docs/"] == 200
    assert statuses.pop("search") is True, "search on SQLite does not follow the contact's writes"
    broken = {path: status for path, status in statuses.items() if status >= 500}
    assert not broken, f"server errors on SQLite: {broken}\n{smoke.stderr[-3000:]}"
