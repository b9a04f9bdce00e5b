"""The engine's core question answered by PostGIS, on the same data as bench_engine.py (its generator, same seed):
1,000,000 fixes of 100,000 people in six real counties, each fix tested against its person's allowed area (the
county polygon). Several query shapes, each ordered by county so PostGIS keeps one prepared polygon per county;
one backend, no parallel workers (the engine runs on one core). The fixes are loaded into an unlogged table
first; the query times exclude that load (generous to PostGIS), `postgis_load_s` reports it.

Every variant's count of fixes inside is checked against Shapely `contains_xy` on the same fixes (a difference
means a point on the boundary, counted as such). Prints progress to stderr and one flat JSON object on its last
line: postgis_fixes_per_s (the best variant), postgis_<variant>_fixes_per_s, postgis_load_s,
postgis_inside_differences. Without a reachable PostgreSQL with PostGIS it prints a note and `{}`.

The database: `--pg postgres://user:pass@host:port/any` (or ZHIJIAO_BENCH_PG); the benchmark uses the database
zhijiao_postgis on that server, creating it and the extension when the role may (CREATE EXTENSION postgis needs a
superuser: `su postgres -c "psql -c 'CREATE DATABASE zhijiao_postgis OWNER zhijiao'"` and
`su postgres -c "psql -d zhijiao_postgis -c 'CREATE EXTENSION postgis'"` once otherwise)."""
from __future__ import annotations

import argparse
import io
import json
import math
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import shapely  # noqa: E402

from apps.monitoring import engine as E  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
DB = "zhijiao_postgis"

VARIANTS = {
    # a join of the fixes (clustered by county) to the counties, the point built from lon/lat on the fly
    "join_intersects_xy": """
        SELECT count(*) FILTER (WHERE ST_Intersects(c.geom, ST_SetSRID(ST_MakePoint(f.lon, f.lat), 4326)))
        FROM bench_fix f JOIN bench_county c ON c.id = f.county""",
    # the same with a stored point column and ST_Contains
    "join_contains_geom": """
        SELECT count(*) FILTER (WHERE ST_Contains(c.geom, f.geom))
        FROM bench_fix f JOIN bench_county c ON c.id = f.county""",
    # one county at a time (LATERAL): the polygon is constant within each inner scan
    "lateral_per_county": """
        SELECT sum(n) FROM bench_county c, LATERAL (
            SELECT count(*) FILTER (WHERE ST_Intersects(c.geom, f.geom)) AS n
            FROM bench_fix f WHERE f.county = c.id) x""",
    # the answer per fix sent back (a boolean per row, ordered by county), as the engine would need it
    "rows_intersects_geom": """
        SELECT ST_Intersects(c.geom, f.geom) FROM bench_fix f JOIN bench_county c ON c.id = f.county
        ORDER BY f.county""",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def connect(pg: str):
    """A connection to the zhijiao_postgis database with PostGIS, or (None, why)."""
    try:
        import psycopg
    except ImportError:
        return None, "psycopg is not installed"
    base = pg.rsplit("/", 1)[0] if pg else "postgres://zhijiao:zhijiao@127.0.0.1:5432"
    try:
        conn = psycopg.connect(f"{base}/{DB}", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        if f'"{DB}" does not exist' not in str(exc):
            return None, f"PostgreSQL is not reachable ({str(exc).strip().splitlines()[0]})"
        try:
            with psycopg.connect(f"{base}/postgres", autocommit=True, connect_timeout=5) as c:
                c.execute(f"CREATE DATABASE {DB}")
            conn = psycopg.connect(f"{base}/{DB}", autocommit=True, connect_timeout=5)
        except psycopg.Error as exc2:
            return None, f"could not create the database {DB} ({str(exc2).strip().splitlines()[0]})"
    try:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.execute("SELECT postgis_version()")
    except psycopg.Error as exc:
        conn.close()
        return None, (f"PostGIS is not available in {DB} ({str(exc).strip().splitlines()[0]}); a superuser must "
                      f"run CREATE EXTENSION postgis there once")
    return conn, ""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pg", default=os.environ.get("ZHIJIAO_BENCH_PG", ""))
    args = ap.parse_args()
    conn, why = connect(args.pg)
    if conn is None:
        log(f"bench_postgis: skipped: {why}")
        print("{}")
        return
    import bench_engine as BE
    d = BE.generate(E.EngineSettings(), compile_fs=False)
    county = d.county_of[d.person]
    order = np.argsort(county, kind="stable")
    log("loading the counties and 1,000,000 fixes into PostgreSQL ...")
    conn.execute("SET max_parallel_workers_per_gather = 0")      # one core, as the engine
    conn.execute("SET work_mem = '256MB'")
    conn.execute("DROP TABLE IF EXISTS bench_fix, bench_county")
    conn.execute("CREATE UNLOGGED TABLE bench_county (id int PRIMARY KEY, geom geometry(MultiPolygon, 4326))")
    with conn.cursor() as cur:
        for c, g in enumerate(d.geoms):
            cur.execute("INSERT INTO bench_county VALUES (%s, ST_Multi(ST_GeomFromWKB(%s, 4326)))",
                        (c, shapely.to_wkb(g)))
    t0 = time.perf_counter()
    conn.execute("CREATE UNLOGGED TABLE bench_fix (id int, county int, lon float8, lat float8, "
                 "geom geometry(Point, 4326))")
    buf = io.StringIO()
    np.savetxt(buf, np.column_stack([order, county[order], d.lon[order], d.lat[order]]),
               fmt=["%d", "%d", "%.9f", "%.9f"], delimiter="\t")
    with conn.cursor() as cur, cur.copy("COPY bench_fix (id, county, lon, lat) FROM STDIN") as cp:
        cp.write(buf.getvalue())
    conn.execute("UPDATE bench_fix SET geom = ST_SetSRID(ST_MakePoint(lon, lat), 4326)")
    conn.execute("VACUUM ANALYZE bench_fix")
    conn.execute("ANALYZE bench_county")
    load_s = time.perf_counter() - t0
    log(f"  loaded in {load_s:.1f} s (clustered by county)")

    inside_ref = sum(int(shapely.contains_xy(d.geoms[c], d.lon[county == c], d.lat[county == c]).sum())
                     for c in range(len(d.geoms)))
    out: dict[str, float] = {}
    best = 0.0
    diffs = 0
    for name, sql in VARIANTS.items():
        t_best = math.inf
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            with conn.cursor() as cur:
                cur.execute(sql)
                rows = cur.fetchall()
            t_best = min(t_best, time.perf_counter() - t0)
        inside = sum(1 for (r,) in rows if r is True) if len(rows) > 1 else int(rows[0][0])
        diffs = max(diffs, abs(inside - inside_ref))
        rate = d.n / t_best
        out[f"postgis_{name}_fixes_per_s"] = round(rate)
        best = max(best, rate)
        log(f"  {name}: {t_best:.2f} s, {rate / 1e6:.2f} M fixes/s, {inside} inside "
            f"({inside - inside_ref:+d} against contains_xy)")
    conn.execute("DROP TABLE bench_fix, bench_county")
    conn.close()
    out = {"postgis_fixes_per_s": round(best), **out, "postgis_load_s": round(load_s, 2),
           "postgis_inside_differences": diffs}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
