#!/usr/bin/env bash
# One command from a fresh clone to a running API with a Celery worker, on
# embedded defaults: SQLite, kombu's filesystem broker, files on local disk
# (all under ./var). Prints a working token and curl line, then serves until
# Ctrl-C. Environment: PORT (8000), WORKSPACE, EMAIL, PASSWORD, PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_setup.sh

PORT=${PORT:-8000}
WORKSPACE=${WORKSPACE:-Demo}
EMAIL=${EMAIL:-admin@example.com}
PASSWORD=${PASSWORD:-admin-password}
export DEBUG=${DEBUG:-true}
export VAR_DIR=${VAR_DIR:-$PWD/var}
mkdir -p "$VAR_DIR/broker/queue" "$VAR_DIR/broker/processed" "$VAR_DIR/broker/results" "$VAR_DIR/media"

ensure_venv

# -- secrets at rest (issue 14): a Fernet key generated once, kept in $VAR_DIR --
if [ -z "${SECRETS_KEYS:-}" ]; then
  [ -s "$VAR_DIR/secrets.key" ] ||
    .venv/bin/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' >"$VAR_DIR/secrets.key"
  SECRETS_KEYS=$(cat "$VAR_DIR/secrets.key")
  export SECRETS_KEYS
fi
# -- end of issue 14's block --

if ! .venv/bin/python -c 'import socket, sys; socket.create_server(("127.0.0.1", int(sys.argv[1]))).close()' "$PORT" 2>/dev/null; then
  echo "error: port $PORT is in use; pick another with PORT=8123 make run" >&2
  exit 1
fi

echo "Migrating the SQLite database in $VAR_DIR ..."
.venv/bin/python manage.py migrate --noinput >"$VAR_DIR/migrate.log" 2>&1 || {
  tail -30 "$VAR_DIR/migrate.log" >&2
  exit 1
}
BOOT=$(.venv/bin/python manage.py bootstrap --workspace "$WORKSPACE" --email "$EMAIL" --password "$PASSWORD" --json)
TOKEN=$(printf '%s' "$BOOT" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')

.venv/bin/celery -A config worker --loglevel=INFO --concurrency=1 --pool=solo >"$VAR_DIR/worker.log" 2>&1 &
WORKER_PID=$!
.venv/bin/python manage.py runserver "127.0.0.1:$PORT" --noreload &
SERVER_PID=$!
stop() {
  trap - EXIT INT TERM
  kill "$SERVER_PID" 2>/dev/null || true
  # A worker still starting up can miss one SIGTERM: repeat, then force.
  for _ in $(seq 20); do
    kill "$WORKER_PID" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL "$WORKER_PID" 2>/dev/null || true
}
trap stop EXIT INT TERM

# Print the token once the API answers, so the curl line works when it appears.
.venv/bin/python - "$PORT" "$SERVER_PID" <<'PY' || exit 1
import os, sys, time, urllib.error, urllib.request
port, server_pid = sys.argv[1], int(sys.argv[2])
for _ in range(120):
    try:
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
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

  CRM API on http://127.0.0.1:$PORT  (worker log: $VAR_DIR/worker.log)
  API token:   $TOKEN
  Try it:      curl -s -H "x-access-token: $TOKEN" http://127.0.0.1:$PORT/v1/crm/me
  Swagger UI:  http://127.0.0.1:$PORT/v1/docs/   (Authorize with the token above)
  Admin:       http://127.0.0.1:$PORT/admin/     ($EMAIL / $PASSWORD)
  Stop:        Ctrl-C

TXT
wait $SERVER_PID
