#!/usr/bin/env bash
# The whole suite: rules and services on SQLite, again on PostgreSQL, the Celery worker on Redis,
# browser tests in headless Chromium, and the import-linter contract. Starts PostgreSQL and Redis itself
# and stops only what it started.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
source scripts/services.sh
start_postgres
start_redis
export ZHIJIAO_TEST_REDIS_URL="redis://127.0.0.1:${REDIS_PORT}/0"

status=0
run() {  # name, then the command; pytest's exit 5 (nothing collected) counts as a failure
  local name=$1; shift
  echo; echo "=== $name ==="
  local t0=$SECONDS
  "$@"; local rc=$?
  if [ $rc -eq 5 ]; then echo "!!! $name collected no tests"; rc=1; fi
  echo "=== $name: exit $rc in $((SECONDS - t0)) s ==="
  [ $rc -eq 0 ] || status=1
}

run "import contracts" $BIN/lint-imports
run "pyflakes (ruff F)" $BIN/ruff check apps zhijiao tests benchmarks scripts conftest.py --select F,E9
run "suite on SQLite" $BIN/python -m pytest -m "not e2e" -q -p no:cacheprovider -n 2
run "suite on PostgreSQL" env DATABASE_URL="$PG_URL" $BIN/python -m pytest -m "not e2e" -q -p no:cacheprovider -n 2
run "browser tests (headless chromium)" env DJANGO_ALLOW_ASYNC_UNSAFE=true $BIN/python -m pytest -m e2e -q -p no:cacheprovider
exit $status
