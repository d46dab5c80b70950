"""`make run` for real (scripts/quickstart.sh), twice, as a newcomer runs it,
on its embedded defaults: SQLite, the filesystem broker, local files.

First run: it writes its env file, migrates every app on SQLite, serves the
API with a worker and beat, and prints a token that works; readiness is
green (a worker answers a ping over the embedded broker). Meanwhile, "in
another terminal" with nothing exported but where the env file is: every
parameterless GET of the schema and the first writes a user tries answer
without a server error (PostgreSQL-only SQL would 500 on SQLite), the
documented CLI imports a CSV, and `celery inspect ping` reaches the worker.
Second run: the same token, the worker log appended to, not truncated."""
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.processes import free_port

pytestmark = pytest.mark.server

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
# What a newcomer's shell does not have: the suite's own settings.
SUITE_VARIABLES = ("DATABASE_URL", "CELERY_", "CACHE_URL", "DJANGO_", "VAR_DIR", "SECRET_KEY", "DEBUG", "ENV_FILE",
                   "RATE_LIMIT", "PROMETHEUS", "METRICS", "PYTEST", "TEST_DATABASE_NAME")


def newcomer_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SUITE_VARIABLES)}
    return {**env, **extra}


def start(env):
    process = subprocess.Popen(["bash", "scripts/quickstart.sh"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    output, deadline = [], time.monotonic() + 240
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        output.append(line)
        if "API token:" in line:
            return process, line.split("API token:")[1].strip(), "".join(output)
    stop(process)
    pytest.fail("the quickstart printed no token:\n" + "".join(output)[-4000:])


def stop(process):
    """Ctrl-C, as the banner says."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def get(url, token=None):
    request = urllib.request.Request(url, headers={"x-access-token": token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_quickstart_runs_and_every_command_works(tmp_path):
    env_file, var_dir, port = tmp_path / "quickstart.env", tmp_path / "var", free_port()
    env = newcomer_env(PORT=str(port), ENV_FILE=str(env_file), VAR_DIR=str(var_dir))
    base = f"http://127.0.0.1:{port}"

    process, token, banner = start(env)
    try:
        settings_text = env_file.read_text()
        for key in ("SECRET_KEY=", "DEBUG='true'", f"VAR_DIR='{var_dir}'", "DATABASE_URL='sqlite:///", "CELERY_BROKER_URL="):
            assert key in settings_text
        assert oct(env_file.stat().st_mode & 0o777) == "0o600"
        assert get(f"{base}/v1/crm/me", token)[0] == 200, banner

        ready = {}
        for _ in range(30):  # the worker may still be starting
            status, ready = get(f"{base}/healthz")
            if status == 200:
                break
            time.sleep(1)
        assert ready == {"status": "ok", "database": "ok", "broker": "ok", "storage": "ok", "worker": "ok"}

        # Another terminal: only the env file's location (the default ./.env needs not even that).
        other_terminal = newcomer_env(ENV_FILE=str(env_file))
        smoke = subprocess.run([sys.executable, "manage.py", "shell", "-c", SMOKE], cwd=ROOT,
                               env={**other_terminal, "SMOKE_TOKEN": token}, capture_output=True, text=True, timeout=180)
        assert smoke.returncode == 0, smoke.stderr[-3000:]
        statuses = json.loads(smoke.stdout.strip().splitlines()[-1])
        assert statuses["/v1/crm/me"] == 200 and statuses["/v1/crm/tokens"] == 200
        assert statuses["POST /v1/crm/contacts"] == 201 and statuses["GET contact"] == 200, statuses
        assert statuses["/healthz"] == 200 and statuses["/v1/docs/"] == 200 and statuses["/v1/redoc/"] == 200
        assert statuses.pop("search") is True, "search on SQLite does not follow the contact's writes"
        broken = {path: status for path, status in statuses.items() if status >= 500}
        assert not broken, f"server errors on SQLite: {broken}\n{smoke.stderr[-3000:]}"

        csv_file = tmp_path / "contacts.csv"
        csv_file.write_text("name,email,phone\nAda Lovelace,ada@example.com,+14155550100\nAlan,alan@example.com,\n")
        imported = subprocess.run([sys.executable, "manage.py", "import_contacts", str(csv_file), "--workspace", "demo"],
                                  cwd=ROOT, env=other_terminal, capture_output=True, text=True, timeout=120)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        status, contacts = get(f"{base}/v1/crm/contacts?search=lovelace", token)
        assert status == 200 and [c["email"] for c in contacts["data"]] == ["ada@example.com"]
        pinged = subprocess.run([sys.executable, "-m", "celery", "-A", "config", "inspect", "ping", "--timeout", "5"],
                                cwd=ROOT, env=other_terminal, capture_output=True, text=True, timeout=60)
        assert pinged.returncode == 0 and "pong" in pinged.stdout, pinged.stdout + pinged.stderr
        assert "beat: Starting..." in (var_dir / "beat.log").read_text()
    finally:
        stop(process)
    first_log = (var_dir / "worker.log").read_text()

    process, token_again, _ = start(env)
    try:
        assert token_again == token, "a second run reuses the demo token"
        assert get(f"{base}/v1/crm/me", token)[0] == 200
    finally:
        stop(process)
    worker_log = (var_dir / "worker.log").read_text()
    assert worker_log.startswith(first_log), "the worker log was truncated"
    assert len(re.findall(r" ready\.", worker_log)) == 2
