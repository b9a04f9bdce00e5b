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
# The browser tests spend much of their time waiting on the browser and the server: they run beside the SQLite
# suite (their own server on their own SQLite file), and their output is shown when they end.
mkdir -p var
e2e_log=var/e2e-$$.log
( t0=$SECONDS; env DJANGO_ALLOW_ASYNC_UNSAFE=true $BIN/python -m pytest -m e2e -q -p no:cacheprovider >"$e2e_log" 2>&1
  rc=$?; [ $rc -eq 5 ] && rc=1; echo "$rc $((SECONDS - t0))" >"$e2e_log.rc" ) &
e2e_pid=$!
run "suite on SQLite" $BIN/python -m pytest -m "not e2e" -q -p no:cacheprovider -n 2 --dist worksteal
wait $e2e_pid
read -r e2e_rc e2e_s <"$e2e_log.rc"
echo; echo "=== browser tests (headless chromium, beside the SQLite suite) ==="
cat "$e2e_log"
echo "=== browser tests: exit $e2e_rc in $e2e_s s ==="
[ "$e2e_rc" -eq 0 ] || status=1
rm -f "$e2e_log" "$e2e_log.rc"
run "suite on PostgreSQL" env DATABASE_URL="$PG_URL" $BIN/python -m pytest -m "not e2e" -q -p no:cacheprovider -n 2 --dist worksteal
exit $status
