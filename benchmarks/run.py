"""`make bench`: the benchmarks on SQLite and on PostgreSQL (started by scripts/bench.sh), each on a province-sized
demo seeded once into var/bench/ and kept. Writes var/bench/results.json, a flat JSON object of named numbers
(each database's figures with a _sqlite or _postgres suffix; the unsuffixed list figures are the slower of the
two), and prints it."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "var" / "bench"


def run_on(name: str, env: dict, extra: list[str]) -> dict:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_db.py"), *extra], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"benchmark on {name} failed")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures["bench_s"] = round(time.perf_counter() - t0, 1)
    return figures


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=os.environ.get("ZHIJIAO_BENCH_PG", ""), help="postgres://… (a role that may CREATEDB)")
    ap.add_argument("--only", choices=["sqlite", "postgres", "faces", "engine", "http"])
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    base = {**os.environ, "ZHIJIAO_VAR": str(OUT / "var"), "DJANGO_SETTINGS_MODULE": "zhijiao.settings"}
    base.pop("REDIS_URL", None)
    (OUT / "var").mkdir(exist_ok=True)
    results: dict[str, float] = {}
    if args.only in (None, "sqlite"):
        env = {**base, "DATABASE_URL": f"sqlite:///{OUT / 'bench-100k.sqlite3'}"}
        results |= {f"{k}_sqlite": v for k, v in run_on("SQLite", env, []).items()}
    if args.only in (None, "postgres"):
        if not args.pg:
            raise SystemExit("--pg postgres://… is needed (scripts/bench.sh starts PostgreSQL and passes it)")
        url = args.pg.rsplit("/", 1)[0] + "/zhijiao_bench"
        subprocess.run(["psql", args.pg.rsplit("/", 1)[0] + "/postgres", "-qc", "CREATE DATABASE zhijiao_bench"],
                       capture_output=True)
        env = {**base, "DATABASE_URL": url}
        results |= {f"{k}_postgres": v for k, v in run_on("PostgreSQL", env, []).items()}
    for key in ("list_city_ms_100k", "list_county_deep_page_ms_100k", "list_county_ms_100k", "detail_ms_100k",
                "work_city_ms_100k", "work_county_ms_100k", "work_office_ms_100k", "case_tab_ms_100k"):
        both = [results[f"{key}_{db}"] for db in ("sqlite", "postgres") if f"{key}_{db}" in results]
        if both:
            results[key] = max(both)
    for key in ("audited_writes_per_s_8", "unaudited_writes_per_s_8", "logged_reads_per_s_8", "unlogged_reads_per_s_8",
                "audited_writes_per_s_1", "unaudited_writes_per_s_1", "logged_reads_per_s_1", "unlogged_reads_per_s_1",
                "audited_to_unaudited_writes_8", "logged_to_unlogged_reads_8", "audited_to_unaudited_writes_1",
                "logged_to_unlogged_reads_1"):
        if f"{key}_postgres" in results:
            results[key] = results[f"{key}_postgres"]
    if args.only in (None, "faces"):
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_faces.py")], cwd=ROOT,
                              env={**base, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
                              capture_output=True, text=True, check=True)
        results |= json.loads(proc.stdout.strip().splitlines()[-1])
    if args.only in (None, "engine"):
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_engine.py")], cwd=ROOT,
                              env={**base, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
                              capture_output=True, text=True, check=True)
        results |= json.loads(proc.stdout.strip().splitlines()[-1])
        # the same question asked of PostGIS on the same data (left out, with a note, when it is not reachable)
        proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_postgis.py"), "--pg", args.pg],
                              cwd=ROOT, env={**base, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
                              capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        postgis = json.loads(lines[-1]) if proc.returncode == 0 and lines else {}
        if postgis.get("postgis_fixes_per_s"):
            results |= postgis
            results["engine_to_postgis"] = round(results["engine_fixes_per_s"] / postgis["postgis_fixes_per_s"], 2)
        else:
            note = [ln for ln in proc.stderr.splitlines() if ln.strip()][-1:] or ["no output"]
            print(f"note: no PostGIS figure: {note[0]}", file=sys.stderr)
    if args.only in (None, "http"):
        # location through the API end to end (granian, 2 workers), on SQLite and on PostgreSQL; figures suffixed
        # _sqlite and _postgresql, the one-fix-per-request baseline beside each
        runs = [("sqlite", f"sqlite:///{OUT / 'bench-http.sqlite3'}")]
        if args.pg:
            subprocess.run(["psql", args.pg.rsplit("/", 1)[0] + "/postgres", "-qc", "CREATE DATABASE zhijiao_bench_http"],
                           capture_output=True)
            runs.append(("postgresql", args.pg.rsplit("/", 1)[0] + "/zhijiao_bench_http"))
        for name, url in runs:
            proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_http.py")], cwd=ROOT,
                                  env={**base, "DATABASE_URL": url}, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr[-3000:])
                raise SystemExit(f"the HTTP benchmark on {name} failed")
            results |= {f"{k}_{name}": v for k, v in json.loads(proc.stdout.strip().splitlines()[-1]).items()}
    results = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in sorted(results.items())}
    (OUT / "results.json").write_text(json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
