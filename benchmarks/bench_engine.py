"""The fence engine on one core: 1,000,000 fixes of 100,000 synthetic supervisees spread over real county polygons
(../shared/data/admin_boundaries, GCJ-02 converted to WGS-84), each person with their county as the allowed area
(counties are shared, so each county's grid is built once) plus an exclusion circle of their own; some people
wander out of their county or into their zone, so events are raised and counted. Beside it, in the same run,
Shapely 2 `contains_xy` of the prepared allowed area alone on the same fixes. No Django.

Prints progress to stderr and one flat JSON object on its last line:
engine_fixes_per_s (fixes arriving interleaved, as a national batch would: the engine sorts them),
engine_fixes_per_s_presorted (already in person/time order), raw_contains_xy_fixes_per_s,
engine_to_raw_contains_xy, engine_setup_s_per_county, engine_compile_s (100,000 people's fence lists),
engine_rss_mb (resident memory with the fences loaded), engine_events, national arithmetic."""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import shapely  # noqa: E402
from shapely.geometry import Point  # noqa: E402

from apps.monitoring import engine as E  # noqa: E402
from apps.monitoring import geo  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "admin_boundaries"
if not DATA.is_dir():
    DATA = Path("/work/shared/data/admin_boundaries")
COUNTIES = [("beijing_110000", "110108"), ("lishui_331100", "331121"), ("nanchang_360100", "360121"),
            ("jining_370800", "370826"), ("chongqing_500000", "500101"), ("chongqing_500000", "500116")]
PEOPLE = 100_000
PER_PERSON = 10
REPEAT = int(__import__("os").environ.get("BENCH_REPEAT", "3"))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def points_inside(area: E.PreparedArea, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = area.geometry.bounds
    lon, lat = np.zeros(0), np.zeros(0)
    while len(lon) < n:
        a, b = rng.uniform(x0, x1, 2 * n), rng.uniform(y0, y1, 2 * n)
        ok = shapely.contains_xy(area.geometry, a, b)
        lon, lat = np.concatenate([lon, a[ok]]), np.concatenate([lat, b[ok]])
    return lon[:n], lat[:n]


class Data:
    """The benchmark's data, shared with bench_postgis.py: counties, people, fences and 1,000,000 fixes."""


def generate(settings: E.EngineSettings, seed: int = 20261122, compile_fs: bool = True) -> Data:
    rng = np.random.default_rng(seed)
    d = Data()
    d.rss0 = rss_mb()
    log("loading and preparing counties ...")
    geoms, areas, setup = [], [], []
    for fname, code in COUNTIES:
        g = geo.load_fence_geometry(DATA / f"{fname}.geojson", "gcj02", feature=code)
        t0 = time.perf_counter()
        areas.append(E.PreparedArea(g, settings.grid_cells, settings.grid_distance_cells))
        setup.append(time.perf_counter() - t0)
        geoms.append(g)
        log(f"  {code}: {shapely.get_num_coordinates(g)} vertices, grid {areas[-1].n}x{areas[-1].n}, "
            f"{(areas[-1].cls == 2).mean():.1%} border cells, {setup[-1]:.2f} s")
    county_fences = [E.Fence(f"county-{code}", "allowed", g) for (_, code), g in zip(COUNTIES, geoms)]

    log("placing 100,000 people and their exclusion circles ...")
    county_of = rng.integers(0, len(COUNTIES), PEOPLE)
    home_lon, home_lat = np.zeros(PEOPLE), np.zeros(PEOPLE)
    for c, area in enumerate(areas):
        sel = np.nonzero(county_of == c)[0]
        home_lon[sel], home_lat[sel] = points_inside(area, len(sel), rng)
    kx = E._M_PER_DEG * np.cos(np.radians(home_lat))
    zone_lon = home_lon + rng.uniform(-3000, 3000, PEOPLE) / kx
    zone_lat = home_lat + rng.uniform(-3000, 3000, PEOPLE) / E._M_PER_DEG
    radius = rng.uniform(100, 400, PEOPLE)
    d.fs = None
    d.compile_s = math.nan
    if compile_fs:
        fences_by_person = {p: [county_fences[county_of[p]],
                                E.Fence(f"zone-{p}", "exclusion", Point(zone_lon[p], zone_lat[p]),
                                        radius_m=radius[p])]
                            for p in range(PEOPLE)}
        t0 = time.perf_counter()
        d.fs = E.compile_fences(fences_by_person, settings)   # the county grids are built again here, once each
        d.compile_s = time.perf_counter() - t0

    log("generating 1,000,000 fixes ...")
    n = PEOPLE * PER_PERSON
    person = np.repeat(np.arange(PEOPLE), PER_PERSON)
    step = np.tile(np.arange(PER_PERSON), PEOPLE)
    t = 1_795_000_000.0 + step * 300.0 + rng.uniform(0, 30, n)      # every 5 minutes
    # most stay within ~1.5 km of home; 1 % walk steadily away (some leave their county); 1 % visit their zone
    dx = rng.normal(0, 700, n)
    dy = rng.normal(0, 700, n)
    walker = rng.random(PEOPLE) < 0.01
    w = walker[person]
    dx[w] += step[w] * rng.choice([-1, 1], w.sum()) * 3000
    visitor = (rng.random(PEOPLE) < 0.01)[person] & (step >= 5)
    lon = home_lon[person] + dx / kx[person]
    lat = home_lat[person] + dy / E._M_PER_DEG
    lon[visitor], lat[visitor] = zone_lon[person[visitor]], zone_lat[person[visitor]]
    acc = rng.choice([5.0, 10.0, 20.0, 50.0, 1500.0], n, p=[0.3, 0.4, 0.2, 0.08, 0.02])
    battery = np.clip(rng.uniform(30, 100, PEOPLE)[person] - step * rng.uniform(0, 2, n), 0, 100)
    device = np.zeros(n, dtype=np.int8)
    d.n, d.geoms, d.areas, d.setup, d.county_of = n, geoms, areas, setup, county_of
    d.person, d.t, d.lon, d.lat, d.acc, d.battery, d.device = person, t, lon, lat, acc, battery, device
    return d


def main() -> None:
    settings = E.EngineSettings()
    d = generate(settings)
    fs, compile_s, rss0 = d.fs, d.compile_s, d.rss0
    n, geoms, areas, setup, county_of = d.n, d.geoms, d.areas, d.setup, d.county_of
    person, t, lon, lat, acc, battery, device = d.person, d.t, d.lon, d.lat, d.acc, d.battery, d.device
    state = E.EngineState()
    state._map_fenceset(fs)
    rss_loaded = rss_mb()
    log(f"  compiled in {compile_s:.2f} s; RSS {rss_loaded:.0f} MB (was {rss0:.0f} MB before the fences)")
    presorted = E.Fixes.from_columns(person, t, lon, lat, acc, battery=battery, device=device)
    # as a national batch arrives: ordered by time, people interleaved
    order = np.argsort(t, kind="stable")
    interleaved = presorted.take(order)

    def bench(fixes, label):
        best = math.inf
        events = None
        for _ in range(REPEAT):
            t0 = time.perf_counter()
            events, _ = E.evaluate(fixes, fs, state, settings)
            best = min(best, time.perf_counter() - t0)
        log(f"  engine ({label}): {best:.3f} s, {n / best / 1e6:.1f} M fixes/s, {len(events)} events")
        return best, events

    log("engine ...")
    dt_sorted, events = bench(presorted, "presorted")
    dt_inter, events_i = bench(interleaved, "interleaved")
    assert [(e.type, e.person, e.time) for e in events] == [(e.type, e.person, e.time) for e in events_i]
    kinds: dict[str, int] = {}
    for e in events:
        kinds[e.type] = kinds.get(e.type, 0) + 1
    log(f"  events: {kinds}")

    log("raw contains_xy of the prepared allowed area ...")
    groups = [np.nonzero(county_of[person] == c)[0] for c in range(len(COUNTIES))]
    glon = [lon[g] for g in groups]
    glat = [lat[g] for g in groups]
    for g in geoms:
        shapely.prepare(g)
    best_raw = math.inf
    for _ in range(REPEAT):
        t0 = time.perf_counter()
        inside = [shapely.contains_xy(geoms[c], glon[c], glat[c]) for c in range(len(COUNTIES))]
        best_raw = min(best_raw, time.perf_counter() - t0)
    log(f"  raw contains_xy: {best_raw:.3f} s, {n / best_raw / 1e6:.1f} M fixes/s")
    # the grid answers the same question exactly
    t0 = time.perf_counter()
    via_grid = [areas[c].contains(glon[c], glat[c]) for c in range(len(COUNTIES))]
    grid_s = time.perf_counter() - t0
    mismatch = sum(int((a != b).sum()) for a, b in zip(inside, via_grid))
    log(f"  grid point-in-polygon alone: {grid_s:.3f} s, {n / grid_s / 1e6:.1f} M fixes/s, "
        f"{mismatch} differences from contains_xy (projection: points within ~1 m of the boundary)")

    engine_rate = n / dt_inter
    national = 700_000 / 300.0
    out = {
        "engine_fixes_per_s": round(engine_rate),
        "engine_fixes_per_s_presorted": round(n / dt_sorted),
        "raw_contains_xy_fixes_per_s": round(n / best_raw),
        "grid_contains_fixes_per_s": round(n / grid_s),
        "engine_to_raw_contains_xy": round(engine_rate / (n / best_raw), 2),
        "engine_setup_s_per_county": round(sum(setup) / len(setup), 3),
        "engine_compile_s": round(compile_s, 2),
        "engine_rss_mb": round(rss_loaded, 1),
        "engine_events": len(events),
        "engine_grid_vs_contains_xy_differences": mismatch,
        "national_fixes_per_s_needed": round(national),
        "engine_national_headroom": round(engine_rate / national),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
