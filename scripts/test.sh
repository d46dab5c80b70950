#!/usr/bin/env bash
# Sets up a virtualenv, installs the project with its test extra, and runs the
# whole test suite on PostgreSQL with Redis as the Celery broker (both must be
# running; .ci/run starts them when they are installed but down).
# Extra arguments go to pytest (e.g. scripts/test.sh tests/crm -x).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_setup.sh
ensure_venv test

export SECRET_KEY=${SECRET_KEY:-test-secret-key}
# a fixed Fernet key for the secrets at rest of the test database (crm.secrets)
export SECRETS_KEYS=${SECRETS_KEYS:-dGVzdC1zZWNyZXRzLWtleS1vZi10aGUtdGVzdC1zdWk=}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/crm}
export CELERY_BROKER_URL=${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
export VAR_DIR=${VAR_DIR:-$PWD/var/test}
# The quickstart's env file is for `make run`, not for the tests.
export ENV_FILE=${ENV_FILE-}
exec .venv/bin/python -m pytest "$@"
