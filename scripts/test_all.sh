#!/usr/bin/env bash
# The whole suite: rules and services on SQLite, again on PostgreSQL, the Celery worker on Redis,
# browser tests in headless Chromium, and the import-linter contract. Starts PostgreSQL and Redis itself
# and stops only what it started.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
started_pg=0; started_redis=0
REDIS_PORT=${ZHIJIAO_TEST_REDIS_PORT:-6391}
REDIS_PID=/tmp/zhijiao-test-redis.pid
cleanup() {
  if [ $started_redis -eq 1 ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true; fi
  if [ $started_pg -eq 1 ]; then pg_ctlcluster 15 main stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$*"; else sudo -u postgres bash -c "$*"; fi; }

# --- PostgreSQL ---
if ! pg_lsclusters 2>/dev/null | grep -q "^15 *main.*online"; then
  pg_ctlcluster 15 main start && started_pg=1
fi
for i in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
as_pg "psql -q -v ON_ERROR_STOP=1 -c \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='zhijiao') THEN CREATE ROLE zhijiao LOGIN CREATEDB PASSWORD 'zhijiao'; END IF; END \\\$\\\$;\"" >/dev/null
PG_URL="postgres://zhijiao:zhijiao@127.0.0.1:5432/zhijiao"

# --- Redis ---
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  redis-server --daemonize yes --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --pidfile "$REDIS_PID" >/dev/null
  started_redis=1
  for i in $(seq 1 20); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
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
run "suite on SQLite" $BIN/python -m pytest -m "not e2e" -q -p no:cacheprovider
run "suite on PostgreSQL" env DATABASE_URL="$PG_URL" $BIN/python -m pytest -m "not e2e" -q -p no:cacheprovider
run "browser tests (headless chromium)" env DJANGO_ALLOW_ASYNC_UNSAFE=true $BIN/python -m pytest -m e2e -q -p no:cacheprovider
exit $status
