#!/usr/bin/env bash
# One command from a fresh clone to a running API with a Celery worker and
# Celery beat, on embedded defaults: SQLite, kombu's filesystem broker, files
# on local disk (all under ./var). Prints a working token and curl line, then
# serves until Ctrl-C.
#
# Its settings (secret key, VAR_DIR, database, broker, debug) go to an env
# file, ./.env (ENV_FILE to move it), written on the first run and kept:
# config/settings.py reads it, so `manage.py ...`, `celery -A config ...` and
# the CLI work in another terminal with nothing to export. The demo token is
# kept in $VAR_DIR/demo-token and reused while it works.
# Environment: PORT (8000), WORKSPACE, EMAIL, PASSWORD, PYTHON, ENV_FILE, VAR_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_setup.sh

PORT=${PORT:-8000}
WORKSPACE=${WORKSPACE:-Demo}
EMAIL=${EMAIL:-admin@example.com}
PASSWORD=${PASSWORD:-admin-password}
export ENV_FILE=${ENV_FILE:-$PWD/.env}

ensure_venv

if [ ! -f "$ENV_FILE" ]; then
  var_dir=${VAR_DIR:-$PWD/var}
  umask_was=$(umask); umask 077
  cat >"$ENV_FILE" <<ENV
# Written by scripts/quickstart.sh for this checkout; read by config/settings.py.
# Variables set in the environment take precedence over these.
SECRET_KEY='$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(50))')'
DEBUG='true'
# the Fernet key of the secrets at rest (crm.secrets; issue 14)
SECRETS_KEYS='$(.venv/bin/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')'
VAR_DIR='$var_dir'
DATABASE_URL='sqlite:///$var_dir/db.sqlite3'
CELERY_BROKER_URL='filesystem://'
ENV
  umask "$umask_was"
  echo "Wrote the quickstart settings to $ENV_FILE"
fi
# The settings as every process sees them (the environment, then the file).
VAR_DIR=$(DJANGO_SETTINGS_MODULE=config.settings .venv/bin/python -c 'from django.conf import settings; print(settings.VAR_DIR)')
mkdir -p "$VAR_DIR/media"

if ! .venv/bin/python -c 'import socket, sys; socket.create_server(("127.0.0.1", int(sys.argv[1]))).close()' "$PORT" 2>/dev/null; then
  echo "error: port $PORT is in use; pick another with PORT=8123 make run" >&2
  exit 1
fi

echo "Migrating the database ..."
.venv/bin/python manage.py migrate --noinput >"$VAR_DIR/migrate.log" 2>&1 || {
  tail -30 "$VAR_DIR/migrate.log" >&2
  exit 1
}
BOOT=$(.venv/bin/python manage.py bootstrap --workspace "$WORKSPACE" --email "$EMAIL" --password "$PASSWORD" \
       --token-name demo --token-file "$VAR_DIR/demo-token" --json 2>>"$VAR_DIR/migrate.log")
TOKEN=$(printf '%s' "$BOOT" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# Logs are appended: a run's log follows the previous one's.
.venv/bin/celery -A config worker --loglevel=INFO --concurrency=1 --pool=solo >>"$VAR_DIR/worker.log" 2>&1 &
WORKER_PID=$!
.venv/bin/celery -A config beat --loglevel=INFO >>"$VAR_DIR/beat.log" 2>&1 &
BEAT_PID=$!
.venv/bin/python manage.py runserver "127.0.0.1:$PORT" --noreload &
SERVER_PID=$!
stop() {
  trap - EXIT INT TERM
  kill "$SERVER_PID" "$BEAT_PID" 2>/dev/null || true
  # A worker still starting up can miss one SIGTERM: repeat, then force.
  for pid in "$WORKER_PID" "$BEAT_PID"; do
    for _ in $(seq 20); do
      kill "$pid" 2>/dev/null || break
      sleep 0.5
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop EXIT INT TERM

# Print the token once the API answers, so the curl line works when it appears.
.venv/bin/python - "$PORT" "$SERVER_PID" <<'PY' || exit 1
import os, sys, time, urllib.error, urllib.request
port, server_pid = sys.argv[1], int(sys.argv[2])
for _ in range(120):
    try:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
        except urllib.error.HTTPError as error:
            body = error.read()  # a 503 still means the API answers
        if b'"database"' in body:
            sys.exit(0)
        sys.exit(f"something else answers on port {port}; try PORT=8123 make run")
    except OSError:
        try:
            os.kill(server_pid, 0)
        except OSError:
            sys.exit("the API did not start (is port %s in use? try PORT=8123 make run)" % port)
        time.sleep(0.5)
sys.exit("the API did not answer within 60 s")
PY

cat <<TXT

  CRM API on http://127.0.0.1:$PORT  (logs: $VAR_DIR/worker.log, $VAR_DIR/beat.log)
  Settings:    $ENV_FILE (read by manage.py, the worker, beat and the CLI)
  API token:   $TOKEN
  Try it:      curl -s -H "x-access-token: $TOKEN" http://127.0.0.1:$PORT/v1/crm/me
  Swagger UI:  http://127.0.0.1:$PORT/v1/docs/   (Authorize with the token above)
  Admin:       http://127.0.0.1:$PORT/admin/     ($EMAIL / $PASSWORD)
  Stop:        Ctrl-C

TXT
wait $SERVER_PID
