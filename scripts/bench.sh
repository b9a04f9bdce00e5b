#!/usr/bin/env bash
# make bench: start PostgreSQL (stopping it afterwards only if started here), then the benchmarks on SQLite and
# PostgreSQL. The first run seeds a 100,000-person demo into each (a few minutes); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
start_postgres
# the PostGIS comparison needs the extension, which only a superuser may create (once)
if [ "$(id -u)" -eq 0 ]; then
  su postgres -c "psql -qc 'CREATE DATABASE zhijiao_postgis OWNER zhijiao'" >/dev/null 2>&1 || true
  su postgres -c "psql -d zhijiao_postgis -qc 'CREATE EXTENSION IF NOT EXISTS postgis'" >/dev/null 2>&1 || true
fi
.venv/bin/python benchmarks/run.py --pg "$PG_URL" "$@"
