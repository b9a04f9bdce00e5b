#!/usr/bin/env bash
# make bench: start PostgreSQL (stopping it afterwards only if started here), then the benchmarks on SQLite and
# PostgreSQL. The first run seeds a 100,000-person demo into each (a few minutes); later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/services.sh
start_postgres
.venv/bin/python benchmarks/run.py --pg "$PG_URL" "$@"
