#!/usr/bin/env bash
# One command from a fresh clone to a running API with a Celery worker, on
# embedded defaults: SQLite, kombu's filesystem broker, files on local disk.
# Prints a working token and curl line, then serves until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
PORT=${PORT:-8000}
export DEBUG=${DEBUG:-true}
export VAR_DIR=${VAR_DIR:-$PWD/var}
mkdir -p "$VAR_DIR/broker/queue" "$VAR_DIR/broker/processed" "$VAR_DIR/media"

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

.venv/bin/python manage.py migrate --noinput >/dev/null
BOOT=$(.venv/bin/python manage.py bootstrap --workspace "${WORKSPACE:-Demo}" --email "${EMAIL:-admin@example.com}" \
  --password "${PASSWORD:-admin-password}" --json)
TOKEN=$(printf '%s' "$BOOT" | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["token"])')

.venv/bin/celery -A config worker --loglevel=WARNING --concurrency=1 --pool=solo >"$VAR_DIR/worker.log" 2>&1 &
WORKER_PID=$!
trap 'kill $WORKER_PID 2>/dev/null || true' EXIT INT TERM

cat <<TXT

  CRM API on http://127.0.0.1:$PORT  (worker log: $VAR_DIR/worker.log)
  API token:   $TOKEN
  Try it:      curl -s -H "x-access-token: $TOKEN" http://127.0.0.1:$PORT/v1/crm/me
  Swagger UI:  http://127.0.0.1:$PORT/v1/docs/   (Authorize with the token above)
  Admin:       http://127.0.0.1:$PORT/admin/     (${EMAIL:-admin@example.com} / ${PASSWORD:-admin-password})

TXT
.venv/bin/python manage.py runserver "127.0.0.1:$PORT" --noreload
