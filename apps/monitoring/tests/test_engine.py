"""The fence engine's rules as tables, then the real GeoLife traces (../shared/data/gps) replayed against fences
they never leave and fences they cross, then the evaluate_trace command. No database."""
from __future__ import annotations

import io
import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
import shapely
from django.core.management import call_command
from django.core.management.base import CommandError
from shapely.geometry import Point, box

from apps.monitoring import engine as E
from apps.monitoring import geo
from apps.orgs.coords import haversine_m

DATA = Path(__file__).resolve().parents[4] / "shared" / "data"
if not DATA.is_dir():
    DATA = Path("/work/shared/data")
GPS = DATA / "gps"
BEIJING = DATA / "admin_boundaries" / "beijing_110000.geojson"
CST = timezone(timedelta(hours=8))

S = E.EngineSettings()
LAT0 = 40.0
KX = E._M_PER_DEG * math.cos(math.radians(LAT0))
COUNTY = box(116.0, 39.9, 116.2, 40.1)          # the allowed area of the tables: a 17 x 22 km box
EAST = 116.2                                     # its east edge
T0 = datetime(2026, 11, 22, 9, 0, tzinfo=CST).timestamp()


def east_of_edge(m: float) -> float:
    """The longitude m metres east of the county's east edge (negative: inside) at LAT0."""
    return EAST + m / KX


def run(rows, fences, settings=S, state=None):
    """rows: (minute, metres east of the edge, accuracy[, device, battery]) for person 'p'."""
    fixes = E.Fixes.from_columns(
        person=["p"] * len(rows), t=[T0 + r[0] * 60 for r in rows], lon=[east_of_edge(r[1]) for r in rows],
        lat=[LAT0] * len(rows), accuracy=[r[2] for r in rows],
        device=[r[3] if len(r) > 3 else "phone" for r in rows],
        battery=[r[4] if len(r) > 4 else np.nan for r in rows])
    return E.evaluate(fixes, {"p": fences}, state, settings)


def types(events):
    return [(e.type, round((e.time - T0) / 60, 2)) for e in events]


ALLOWED = [E.Fence("county", "allowed", COUNTY)]

# --------------------------------------------------------------------------------- hysteresis (fence_exit)
HYSTERESIS = [
    # name, fixes (minute, metres east of the edge, accuracy), expected events (type, minute)
    ("inside all day: nothing", [(m, -2000, 10) for m in range(10)], []),
    ("two fixes out (K=3): nothing", [(0, -500, 10), (1, 500, 10), (2, 500, 10), (3, -500, 10)], []),
    ("three fixes out: exit on the third", [(0, -500, 10), (1, 500, 10), (2, 500, 10), (3, 500, 10)],
     [("fence_exit", 3)]),
    ("out by less than accuracy + margin: nothing",
     [(m, 55, 10) for m in range(10)], []),                     # 55 m < 10 + 50
    ("just beyond accuracy + margin: exit", [(m, 65, 10) for m in range(3)], [("fence_exit", 2)]),
    ("a single wild fix with big accuracy: nothing", [(0, -500, 10), (1, 3000, 2500), (2, -500, 10)], []),
    ("wild fixes with big accuracy, many: nothing", [(m, 1500, 2000) for m in range(10)], []),
    ("two fixes out 6 minutes apart (T=5): exit on the second", [(0, 500, 10), (6, 500, 10)],
     [("fence_exit", 6)]),
    ("out, back in, out: the run restarts", [(0, 500, 10), (1, 500, 10), (2, -500, 10), (3, 500, 10),
                                             (4, 500, 10)], []),
    ("an undecided fix neither counts nor resets",
     [(0, 500, 10), (1, 20, 10), (2, 500, 10), (3, 500, 10)], [("fence_exit", 3)]),
    ("clears the same way: 3 fixes back in",
     [(0, 500, 10), (1, 500, 10), (2, 500, 10), (3, -500, 10), (4, -500, 10), (5, -500, 10)],
     [("fence_exit", 2), ("fence_return", 5)]),
    ("two fixes back in: still out", [(0, 500, 10), (1, 500, 10), (2, 500, 10), (3, -500, 10), (4, -500, 10)],
     [("fence_exit", 2)]),
    ("back in by less than accuracy + margin: still out",
     [(0, 500, 10), (1, 500, 10), (2, 500, 10)] + [(m, -40, 10) for m in range(3, 10)], [("fence_exit", 2)]),
]


@pytest.mark.parametrize("name,rows,expected", HYSTERESIS, ids=[h[0] for h in HYSTERESIS])
def test_hysteresis(name, rows, expected):
    events, _ = run(rows, ALLOWED)
    assert types(events) == expected


def test_exit_reports_the_fence_and_the_distance_outside():
    events, _ = run([(m, 800, 10) for m in range(3)], ALLOWED)
    (e,) = events
    assert e.fence_id == "county" and e.distance_m == pytest.approx(800, abs=20) and e.lat == LAT0


# -------------------------------------------------------------------------------------- leave fences
DEST = box(116.25, 39.95, 116.35, 40.05)        # the destination county, east of ours
LEAVE = E.Fence("leave-1", "leave", DEST, valid_from=T0 + 10 * 60, valid_to=T0 + 60 * 60)
IN_DEST = 5000 + 3000                           # metres east of our edge: inside DEST (116.2 + 8 km ~ 116.29)

LEAVE_CASES = [
    ("travel during the leave: nothing", [(m, IN_DEST, 10) for m in range(10, 60, 5)], []),
    ("travel before the leave starts: exit", [(m, IN_DEST, 10) for m in range(0, 10, 2)], [("fence_exit", 4)]),
    ("stay after the leave ends: exit three fixes later",
     [(m, IN_DEST, 10) for m in range(40, 60, 5)] + [(m, IN_DEST, 10) for m in (60, 61, 62, 63)],
     [("fence_exit", 62)]),
    ("outside both the county and the destination during leave: exit",
     [(m, 2500, 10) for m in (20, 21, 22)], [("fence_exit", 22)]),
]


@pytest.mark.parametrize("name,rows,expected", LEAVE_CASES, ids=[c[0] for c in LEAVE_CASES])
def test_leave_fence_counts_as_allowed_while_valid(name, rows, expected):
    events, _ = run(rows, ALLOWED + [LEAVE])
    assert types(events) == expected


# ------------------------------------------------------------------------------- curfew across midnight
HOME_LON = east_of_edge(-3000)
HOME = E.Fence("home", "curfew", Point(HOME_LON, LAT0), radius_m=200, windows=[("22:00", "06:00")])
NIGHT = datetime(2026, 11, 22, 21, 0, tzinfo=CST).timestamp()


def curfew_run(minutes_after_21, metres_from_home):
    fixes = E.Fixes.from_columns(
        person="p", t=[NIGHT + m * 60 for m in minutes_after_21],
        lon=[HOME_LON + d / KX for d in metres_from_home], lat=LAT0, accuracy=10)
    events, _ = E.evaluate(fixes, {"p": ALLOWED + [HOME]}, None, S)
    return [(e.type, datetime.fromtimestamp(e.time, CST).strftime("%H:%M")) for e in events]


CURFEW = [
    ("away at 21:50-21:58 (before the window): nothing", [50, 54, 58], [1000] * 3, []),
    ("away from 21:58 into the window: breach at the third fix inside it", [58, 62, 64, 66], [1000] * 4,
     [("curfew_breach", "22:06")]),
    ("home all night: nothing", list(range(60, 600, 30)), [20] * 18, []),
    ("away after midnight (01:00-01:04): breach", [240, 242, 244], [1000] * 3, [("curfew_breach", "01:04")]),
    ("away at 05:56, 05:58, 06:00 (window ends at 06:00): nothing", [536, 538, 540], [1000] * 3, []),
    ("away 05:50-05:54: breach", [530, 532, 534], [1000] * 3, [("curfew_breach", "05:54")]),
    ("out 100 m with 200 m radius (inside the circle): nothing", [60, 62, 64], [100] * 3, []),
    ("just outside the circle but within accuracy + margin: nothing", [60, 62, 64], [250] * 3, []),
    ("breach, home, away again: two breaches", [60, 62, 64, 70, 72, 74, 80, 82, 84],
     [1000] * 3 + [0] * 3 + [1000] * 3, [("curfew_breach", "22:04"), ("curfew_breach", "22:24")]),
]


@pytest.mark.parametrize("name,minutes,metres,expected", CURFEW, ids=[c[0] for c in CURFEW])
def test_curfew_windows_across_midnight(name, minutes, metres, expected):
    assert curfew_run(minutes, metres) == expected


# ---------------------------------------------------------------------------------- exclusion zones
ZONE_CIRCLE = E.Fence("bar", "exclusion", Point(east_of_edge(-5000), LAT0), radius_m=300)
ZONE_POLY = E.Fence("school", "exclusion", box(east_of_edge(-6000), 39.99, east_of_edge(-5500), 40.01))
EXCLUSION = [
    ("circle: passing by 400 m from the centre: nothing", ZONE_CIRCLE, [(m, -5400, 10) for m in range(5)], []),
    ("circle: inside for 3 fixes: enter, then 3 outside: leave", ZONE_CIRCLE,
     [(m, -5000, 10) for m in range(3)] + [(m, -6000, 10) for m in range(3, 6)],
     [("exclusion_enter", 2), ("exclusion_leave", 5)]),
    ("circle: inside near the edge (within accuracy + margin): nothing", ZONE_CIRCLE,
     [(m, -5000 + 260, 10) for m in range(5)], []),
    ("polygon: inside for 6 minutes, two fixes: enter", ZONE_POLY, [(0, -5750, 10), (6, -5750, 10)],
     [("exclusion_enter", 6)]),
    ("polygon: outside it: nothing", ZONE_POLY, [(m, -4000, 10) for m in range(5)], []),
]


@pytest.mark.parametrize("name,zone,rows,expected", EXCLUSION, ids=[c[0] for c in EXCLUSION])
def test_exclusion_zones(name, zone, rows, expected):
    events, _ = run(rows, ALLOWED + [zone])
    assert types(events) == expected
    for e in events:
        assert e.fence_id == zone.id


# ------------------------------------------------------------------------------------- the device rules
def test_speed_impossible_raised_once_for_a_jump_and_back_and_not_for_inaccurate_fixes():
    rows = [(0, -3000, 10), (1, -3000 + 500, 10),     # 30 km/h
            (1.5, -3000 + 8000, 10), (2, -3000 + 600, 10),  # 7.5 km in 30 s and back: one event
            (3, -3000 + 9000, 1500), (4, -3000 + 700, 10)]  # a cell fix far off: ignored
    events, _ = run(rows, ALLOWED)
    assert [(t, m) for t, m in types(events) if t == "speed_impossible"] == [("speed_impossible", 1.5)]
    assert events[0].detail["speed_kmh"] > 300


def test_battery_low_once_until_recharged():
    rows = [(0, -3000, 10, "wristband", 40), (1, -3000, 10, "wristband", 14), (2, -3000, 10, "wristband", 13),
            (3, -3000, 10, "wristband", 17), (4, -3000, 10, "wristband", 12),       # 17 < 15+5: not re-armed
            (5, -3000, 10, "wristband", 60), (6, -3000, 10, "wristband", 10)]
    events, _ = run(rows, ALLOWED)
    assert types(events) == [("battery_low", 1), ("battery_low", 6)]
    assert events[0].device == "wristband" and events[0].detail["battery_pct"] == 14


def test_devices_apart_after_ten_minutes():
    rows = []
    for m in range(0, 20):
        rows.append((m, -3000, 10, "wristband"))
        rows.append((m + 0.1, -3000 + (2000 if m >= 2 else 0), 10, "phone"))  # phone left home at minute 2
    events, _ = run(rows, ALLOWED)
    apart = [x for x in types(events) if x[0] == "devices_apart"]
    assert len(apart) == 1 and 12 < apart[0][1] <= 13.2, apart


def test_devices_close_together_never_apart():
    rows = [(m, -3000, 10, "wristband") for m in range(30)] + [(m + 0.2, -3000 + 300, 10, "phone") for m in range(30)]
    events, _ = run(rows, ALLOWED)
    assert types(events) == []


def test_signal_lost_sweep():
    rows = [(0, -3000, 10)]
    _, state = run(rows, ALLOWED)
    assert E.signal_lost(state, T0 + 29 * 60, 30) == []
    (e,) = E.signal_lost(state, T0 + 31 * 60, 30)
    assert e.type == "signal_lost" and e.person == "p" and e.detail["minutes"] == 31
    assert [x.person for x in E.signal_lost({"a": T0, "b": T0 + 3000}, T0 + 3600, 30)] == ["a"]


EVERY_TYPE = {"fence_exit", "fence_return", "exclusion_enter", "exclusion_leave", "curfew_breach",
              "speed_impossible", "battery_low", "devices_apart", "signal_lost"}


def test_every_event_type_is_covered_by_these_tables():
    assert set(E.EVENT_TYPES) == EVERY_TYPE


# ------------------------------------------------------------------ order and batches do not matter
def mixed_fixes(rng, n=400):
    """Two people, phone and wristband, wandering across the county edge, the zone and home."""
    m = np.sort(rng.uniform(0, 600, n))
    walk = np.cumsum(rng.normal(0, 400, n)) - 3000
    person = rng.choice(["a", "b"], n)
    dev = rng.choice(["phone", "wristband"], n)
    acc = rng.choice([5, 10, 30, 1500], n, p=[0.4, 0.4, 0.15, 0.05])
    bat = rng.uniform(5, 100, n)
    return E.Fixes.from_columns(person, T0 + m * 60, [east_of_edge(w) for w in walk], LAT0 + rng.normal(0, 0.003, n),
                                acc, device=dev, battery=bat)


FENCES_AB = {p: ALLOWED + [ZONE_CIRCLE, ZONE_POLY, HOME, LEAVE] for p in ("a", "b")}


def key(events):
    return [(e.type, e.person, e.time, e.fence_id, e.device) for e in events]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_out_of_order_input_gives_the_same_events(seed):
    rng = np.random.default_rng(seed)
    fx = mixed_fixes(rng)
    fs = E.compile_fences(FENCES_AB)
    ordered, _ = E.evaluate(fx, fs)
    shuffled, _ = E.evaluate(fx.take(rng.permutation(len(fx))), fs)
    assert len(ordered) > 5 and len({e.type for e in ordered}) >= 3
    assert key(shuffled) == key(ordered)


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_two_batches_give_the_same_events_as_one(seed):
    rng = np.random.default_rng(seed)
    fx = mixed_fixes(rng)
    fs = E.compile_fences(FENCES_AB)
    whole, _ = E.evaluate(fx, fs)
    for cut in (1, 57, 200, 399):
        first, st = E.evaluate(fx.take(np.arange(cut)), fs)
        second, _ = E.evaluate(fx.take(np.arange(cut, len(fx))), fs, st)
        assert key(first + second) == key(whole), cut


def test_state_is_not_changed_by_evaluate():
    _, st = run([(0, 500, 10), (1, 500, 10)], ALLOWED)
    before = st.g_run.copy()
    run([(2, 500, 10)], ALLOWED, state=st)
    assert (st.g_run == before).all()


# ------------------------------------------------------------------------------ the grid is exact
def test_grid_point_in_polygon_equals_shapely_on_a_real_county():
    g = geo.load_fence_geometry(BEIJING, "gcj02", feature="110108")   # 海淀区, 1,804 vertices
    area = E.PreparedArea(g)
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = g.bounds
    lon, lat = rng.uniform(x0 - 0.02, x1 + 0.02, 20_000), rng.uniform(y0 - 0.02, y1 + 0.02, 20_000)
    # the grid works in the fence's local projection; compare with the same polygon projected
    x, y = area.project(lon, lat)
    assert (area.contains(lon, lat) == shapely.contains_xy(area.geometry_m, x, y)).all()
    # and a point decided from the grid alone is never wrong about its side
    codes, exact = area.classify(lon, lat, np.full(len(lon), 60.0))
    d = area.signed_distance_exact(x, y)
    assert not ((codes == 1) & (d <= 60)).any() and not ((codes == -1) & (d >= -60)).any()
    assert exact < 0.2 * len(lon)


# ------------------------------------------------------------------------------- real GeoLife traces
def load_users(users=("000", "001", "002", "003", "004", "005", "006", "007"), files_per_user=4):
    """(person ids, Fixes) of the first files of each user: ~40k real fixes."""
    parts = []
    for u in users:
        files = sorted((GPS / u).rglob("*.plt"))[:files_per_user]
        trs = [geo.read_plt(f) for f in files]
        t = np.concatenate([tr.t for tr in trs])
        parts.append((u, t, np.concatenate([tr.lon for tr in trs]), np.concatenate([tr.lat for tr in trs])))
    person = np.concatenate([[u] * len(t) for u, t, _, _ in parts])
    fx = E.Fixes.from_columns(person, np.concatenate([p[1] for p in parts]), np.concatenate([p[2] for p in parts]),
                              np.concatenate([p[3] for p in parts]), geo.GEOLIFE_ACCURACY_M)
    return fx


def person_days(fx) -> float:
    days = 0
    for p in np.unique(fx.person):
        t = fx.t[fx.person == p]
        days += len(np.unique(((t + 8 * 3600) // 86400).astype(int)))
    return days


@pytest.fixture(scope="module")
def traces():
    return load_users()


@pytest.mark.parametrize("fence_name", ["Beijing's boundary (GCJ-02, converted)", "a buffered convex hull"])
def test_real_traces_never_leave_a_fence_they_stay_in(traces, fence_name):
    if fence_name.startswith("Beijing"):
        g = geo.load_fence_geometry(BEIJING, "gcj02", feature="110000")
        # User 006 really went to Tianjin (117.17, 39.21), 53 km outside Beijing: that is a true exit (the
        # crossing test counts it), so here only the people whose every fix lies in Beijing are replayed.
        stay = [p for p in np.unique(traces.person)
                if shapely.contains_xy(g, traces.lon[traces.person == p], traces.lat[traces.person == p]).all()]
        assert len(stay) >= 6
        traces = traces.take(np.nonzero(np.isin(traces.person, stay))[0])
        fences = {p: [E.Fence("bj", "allowed", g)] for p in stay}
    else:
        fences = {}
        for p in np.unique(traces.person):
            sel = traces.person == p
            hull = shapely.convex_hull(shapely.multipoints(np.column_stack([traces.lon[sel], traces.lat[sel]])))
            # 200 m outwards (in degrees at Beijing's latitude: 200 m / 85 km per degree of longitude)
            fences[p] = [E.Fence(f"hull-{p}", "allowed", hull.buffer(200 / 85_000))]
    events, _ = E.evaluate(traces, fences)
    exits = [e for e in events if e.type == "fence_exit"]
    days = person_days(traces)
    assert exits == [], f"{len(exits)} false exits in {days} person-days: {len(exits) / days:.3f} per person-day"


def excursions(inside: np.ndarray):
    """Maximal runs of fixes outside: (first, last) index pairs."""
    out = []
    i = 0
    n = len(inside)
    while i < n:
        if not inside[i]:
            j = i
            while j + 1 < n and not inside[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


@pytest.mark.parametrize("fence_name", ["a line cut through the traces", "海淀区 (GCJ-02, converted)"])
def test_real_crossings_are_all_found_in_time(traces, fence_name):
    k, t_s, margin = S.exit_fixes, S.exit_minutes * 60, S.margin_m
    if fence_name.startswith("a line"):
        cut = float(np.median(traces.lon))
        g = box(115.5, 39.0, cut, 41.0)                     # west of the median longitude
    else:
        g = geo.load_fence_geometry(BEIJING, "gcj02", feature="110108")
    fences = {p: [E.Fence("f", "allowed", g)] for p in np.unique(traces.person)}
    events, _ = E.evaluate(traces, fences)
    exits = [e for e in events if e.type == "fence_exit"]
    returns = [e for e in events if e.type == "fence_return"]
    found = late = false_alarms = crossings = 0
    # Ground truth, independently of the engine's grid and projection: shapely on the WGS-84 polygon, and
    # the distance in metres from the nearest point on the boundary by haversine.
    for p in np.unique(traces.person):
        sel = np.nonzero(traces.person == p)[0]
        sel = sel[np.argsort(traces.t[sel], kind="stable")]
        lon, lat, t = traces.lon[sel], traces.lat[sel], traces.t[sel]
        inside = shapely.contains_xy(g, lon, lat)
        dist = np.zeros(len(lon))
        o = np.nonzero(~inside)[0]
        near = shapely.get_coordinates(shapely.shortest_line(g.boundary, shapely.points(lon[o], lat[o])))[0::2]
        dist[o] = haversine_m(lon[o], lat[o], near[:, 0], near[:, 1])
        decisive = ~inside & (dist > geo.GEOLIFE_ACCURACY_M + margin * 1.05)   # 5 %: projection's scale error
        p_exits = [e for e in exits if e.person == p]
        p_returns = [e for e in returns if e.person == p]
        for a, b in excursions(inside):
            dec = np.nonzero(decisive[a:b + 1])[0] + a
            if len(dec) == 0:
                continue
            # the hysteresis allows: the K-th decisive fix, or the first decisive fix + T, whichever is first
            deadline = t[dec[k - 1]] if len(dec) >= k else math.inf
            later = dec[t[dec] - t[dec[0]] >= t_s]
            if len(later):
                deadline = min(deadline, t[later[0]])
            if not math.isfinite(deadline):
                continue
            crossings += 1
            # raised by the deadline: an exit inside this excursion, or still out from before (no return since)
            ex = [e for e in p_exits if t[a] <= e.time <= deadline]
            still_out = [e for e in p_exits if e.time < t[a]] and not [
                r for r in p_returns if max(e.time for e in p_exits if e.time < t[a]) < r.time < t[a]]
            if ex or still_out:
                found += 1
            else:
                late += 1
        for e in p_exits:
            j = np.searchsorted(t, e.time)
            if inside[j]:
                false_alarms += 1
    days = person_days(traces)
    msg = (f"{crossings} real crossings, {found} found by the hysteresis deadline, {late} missed or late; "
           f"{false_alarms} false alarms in {days} person-days = {false_alarms / days:.3f} per person-day")
    print(msg)
    assert crossings > 0 and late == 0 and false_alarms == 0, msg


def test_two_batches_equal_one_on_a_real_trace(traces):
    sel = np.nonzero(traces.person == "001")[0]
    fx = traces.take(sel)
    g = geo.load_fence_geometry(BEIJING, "gcj02", feature="110108")
    fs = E.compile_fences({"001": [E.Fence("hd", "allowed", g)]})
    whole, _ = E.evaluate(fx, fs)
    assert any(e.type == "fence_exit" for e in whole)
    for cut in (len(fx) // 3, len(fx) // 2):
        a, st = E.evaluate(fx.take(np.arange(cut)), fs)
        b, _ = E.evaluate(fx.take(np.arange(cut, len(fx))), fs, st)
        assert key(a + b) == key(whole)


# ---------------------------------------------------------------------------------------- the command
def test_evaluate_trace_command_prints_json_lines(tmp_path):
    g = geo.load_fence_geometry(BEIJING, "gcj02", feature="110108")
    fence = tmp_path / "haidian.geojson"
    fence.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(g)}))
    out = io.StringIO()
    call_command("evaluate_trace", "--fence", str(fence), "--trace", str(GPS / "001"), stdout=out)
    lines = [json.loads(x) for x in out.getvalue().splitlines()]
    exits = [x for x in lines if x["type"] == "fence_exit"]
    assert exits and {"type", "time", "lat", "lon", "fence_id", "distance_m"} <= set(exits[0])
    assert datetime.fromisoformat(exits[0]["time"]).utcoffset() == timedelta(hours=8)
    assert all(x["distance_m"] > 60 for x in exits)
    # the same polygon given in GCJ-02 gives the same events
    out2 = io.StringIO()
    call_command("evaluate_trace", "--fence", str(BEIJING), "--feature", "110108", "--fence-crs", "gcj02",
                 "--trace", str(GPS / "001"), stdout=out2)
    assert [x["time"] for x in lines] == [json.loads(x)["time"] for x in out2.getvalue().splitlines()]


@pytest.mark.parametrize("args,message", [
    (["--fence", "/nonexistent.geojson", "--trace", str(GPS / "001")], "not found"),
    (["--fence", str(BEIJING), "--trace", "/nonexistent.plt"], "not found"),
    (["--fence", str(BEIJING), "--fence-crs", "utm", "--trace", str(GPS / "001")], "unknown coordinate system"),
])
def test_evaluate_trace_command_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_trace", *args, stdout=io.StringIO())


def test_bad_geojson_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("{not json")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("evaluate_trace", "--fence", str(bad), "--trace", str(GPS / "001"), stdout=io.StringIO())
    point = tmp_path / "point.geojson"
    point.write_text(json.dumps({"type": "Point", "coordinates": [116, 40]}))
    with pytest.raises(CommandError, match="no Polygon"):
        call_command("evaluate_trace", "--fence", str(point), "--trace", str(GPS / "001"), stdout=io.StringIO())


# ------------------------------------------------------------------- per-person state, stored and restored
# Person and fence ids are ints here, as the Django side gives them; each person's dict goes through JSON on
# its own (as a row of TrackState), so the ids stay ints.
INT_FENCES = [E.Fence(101, "allowed", COUNTY), E.Fence(102, "exclusion", ZONE_CIRCLE.geometry, radius_m=300),
              E.Fence(103, "curfew", HOME.geometry, radius_m=200, windows=[("22:00", "06:00")])]


def int_fixes(rows, person=7, t0=T0):
    """rows: (minute, metres east of the edge, accuracy[, device, battery]) for one int person."""
    return E.Fixes.from_columns(
        person=[person] * len(rows), t=[t0 + r[0] * 60 for r in rows], lon=[east_of_edge(r[1]) for r in rows],
        lat=[LAT0] * len(rows), accuracy=[r[2] for r in rows], device=[r[3] if len(r) > 3 else "phone" for r in rows],
        battery=[r[4] if len(r) > 4 else np.nan for r in rows])


def concat(*fxs):
    return E.Fixes(*(np.concatenate([getattr(f, c) for f in fxs]) for c in
                     ("person", "t", "lon", "lat", "accuracy", "source", "battery", "device")))


def through_json(exported: dict) -> dict:
    return {p: json.loads(json.dumps(d, allow_nan=False)) for p, d in exported.items()}


def _apart_rows():
    rows = []
    for m in range(0, 20):
        rows.append((m, -3000, 10, "wristband"))
        rows.append((m + 0.1, -3000 + (2000 if m >= 2 else 0), 10, "phone"))
    return rows


# name, rows, cut (rows before it form batch 1), the events expected over both, a check of batch 1's export
PERSIST = [
    ("a fence exit in progress (run 2 of 3 at the cut)",
     [(0, -500, 10), (1, 500, 10), (2, 500, 10), (3, 500, 10), (4, 500, 10)], 3, [("fence_exit", 3)],
     lambda d: [None, 0, 2, T0 + 60] in d["groups"]),
    ("an exit raised before the cut, the return after it",
     [(m, 500, 10) for m in range(4)] + [(m, -500, 10) for m in range(4, 8)], 5,
     [("fence_exit", 2), ("fence_return", 6)], lambda d: [None, 1, 1, T0 + 240] in d["groups"]),
    ("an exclusion entered, left after the cut",
     [(m, -5000, 10) for m in range(4)] + [(m, -6000, 10) for m in range(4, 8)], 3,
     [("exclusion_enter", 2), ("exclusion_leave", 6)], lambda d: [102, 1, 0, None] in d["groups"]),
    ("a curfew breach raised, cut, home, away again",
     [(m, -3000 + 1000, 10) for m in (60, 62, 64, 66)] + [(m, -3000, 10) for m in (70, 72, 74)]
     + [(m, -3000 + 1000, 10) for m in (80, 82, 84)], 5,
     [("curfew_breach", 64), ("curfew_breach", 84)], lambda d: [103, 1, 1, T0 + 70 * 60] in d["groups"]),
    ("battery low, cut, not re-armed, recharged, low again",
     [(0, -3000, 10, "wristband", 40), (1, -3000, 10, "wristband", 14), (2, -3000, 10, "wristband", 13),
      (3, -3000, 10, "wristband", 17), (4, -3000, 10, "wristband", 12), (5, -3000, 10, "wristband", 60),
      (6, -3000, 10, "wristband", 10)], 3, [("battery_low", 1), ("battery_low", 6)],
     lambda d: d["bat_level"] == [1, -1]),
    ("devices apart in progress at the cut (6 of 10 minutes)", _apart_rows(), 13,
     [("devices_apart", 12.1)], lambda d: d["apart_status"] == 0 and d["apart_start"] is not None),
    ("an impossible jump before the cut, the way back after it",
     [(0, -3000, 10), (1, -2500, 10), (1.5, 5000, 10), (2, -2400, 10), (3, 6000, 1500), (4, -2300, 10)], 3,
     [("speed_impossible", 1.5)], lambda d: d["spd_flag"] == [True, False]),
    ("nothing in the state's float fields yet but the phone's", [(0, -3000, 10)], 1, [],
     lambda d: d["last_seen"] == T0 and d["spd_t"] == [T0, None] and d["apart_start"] is None),
]


def _minute_types(events, t0=T0):
    return [(e.type, round((e.time - t0) / 60, 2)) for e in events]


@pytest.mark.parametrize("name,rows,cut,expected,check", PERSIST, ids=[c[0] for c in PERSIST])
def test_exported_state_through_json_continues_exactly(name, rows, cut, expected, check):
    t0 = NIGHT if "curfew" in name else T0              # curfew rows count minutes from 21:00
    fx = int_fixes(rows, t0=t0)
    fs = E.compile_fences({7: INT_FENCES})
    whole, _ = E.evaluate(fx, fs)
    assert _minute_types(whole, t0) == expected
    first, st = E.evaluate(fx.take(np.arange(cut)), fs)
    exported = st.export()
    assert list(exported) == [7] and isinstance(next(iter(exported)), int)
    stored = through_json(exported)
    d = stored[7]
    if "curfew" in name:
        d = {**d, "groups": [[f, s_, r, (x - t0 + T0) if x is not None else None] for f, s_, r, x in d["groups"]]}
    assert check(d), d
    restored = E.EngineState.restore(stored)
    assert restored.export() == exported                # the same state back, exactly
    second, _ = E.evaluate(fx.take(np.arange(cut, len(fx))), fs, restored)
    assert key(first + second) == key(whole)
    # packed as bytes (what the database keeps): the same state back, and the same events after it
    packed = st.pack()
    assert list(packed) == [7] and isinstance(packed[7], bytes)
    unpacked = E.EngineState.unpack(packed)
    assert unpacked.export() == exported
    second_p, _ = E.evaluate(fx.take(np.arange(cut, len(fx))), fs, unpacked)
    assert key(first + second_p) == key(whole)


def test_restoring_a_subset_of_persons_continues_them_and_starts_the_others_afresh():
    rng = np.random.default_rng(11)
    fx = mixed_fixes(rng, 600)
    fx.person = np.where(fx.person == "a", 1, 2)
    fences = {p: [E.Fence(50, "allowed", COUNTY), E.Fence(51, "exclusion", ZONE_CIRCLE.geometry, radius_m=300),
                  E.Fence(52, "exclusion", ZONE_POLY.geometry), E.Fence(53, "curfew", HOME.geometry, radius_m=200,
                                                                     windows=[("09:00", "09:30")]),
                  E.Fence(54, "leave", DEST, valid_from=T0 + 10 * 60, valid_to=T0 + 60 * 60)] for p in (1, 2, 3)}
    fs = E.compile_fences(fences)
    whole, _ = E.evaluate(fx, fs)
    assert len({e.type for e in whole}) >= 3
    for cut in (50, 300, 550):
        first, st = E.evaluate(fx.take(np.arange(cut)), fs)
        stored = through_json(st.export([1, 3, 99]))     # 3 has fences but no fix yet; 99 is unknown: left out
        assert list(stored) == [1, 3] and stored[3]["last_seen"] is None and stored[1]["last_seen"] is not None
        rest = fx.take(np.arange(cut, len(fx)))
        second, _ = E.evaluate(rest, fs, E.EngineState.restore(stored))
        only1 = [e for e in first + second if e.person == 1]
        assert key([e for e in second if e.person == 1]) == key(only1[len([e for e in first if e.person == 1]):])
        assert key(only1) == key([e for e in whole if e.person == 1]), cut
        packed = st.pack([1, 3, 99])
        assert list(packed) == [1, 3]
        assert E.EngineState.unpack(packed).export() == E.EngineState.restore(stored).export()
        second_p, _ = E.evaluate(rest, fs, E.EngineState.unpack(packed))
        assert key(second_p) == key(second), cut
        # person 2 was not restored: batch 2 alone for them, as if new
        fresh2, _ = E.evaluate(rest.take(np.nonzero(rest.person == 2)[0]), fs)
        assert key([e for e in second if e.person == 2]) == key(fresh2)
        # merging person 2's stored part back gives the whole again
        merged = E.EngineState.restore(stored).merge(through_json(st.export([2])))
        second_m, _ = E.evaluate(rest, fs, merged)
        assert key(sorted(first + second_m, key=lambda e: (e.time, e.person, e.type))) == \
            key(sorted(whole, key=lambda e: (e.time, e.person, e.type))), cut


def test_real_trace_state_through_json_equals_one_batch(traces):
    sel = np.nonzero(np.isin(traces.person, ["001", "003"]))[0]
    fx = traces.take(sel)
    fx.person = np.where(fx.person == "001", 1, 3)
    g = geo.load_fence_geometry(BEIJING, "gcj02", feature="110108")
    fs = E.compile_fences({1: [E.Fence(9, "allowed", g)], 3: [E.Fence(9, "allowed", g)]})
    whole, _ = E.evaluate(fx, fs)
    assert sum(e.type == "fence_exit" for e in whole) >= 2
    order = np.lexsort((fx.t, fx.person))
    for frac in (0.2, 0.5, 0.8):
        # batches by time, so each person's trace is cut somewhere (mid-run for some cuts)
        cut_t = np.quantile(fx.t, frac)
        a_idx, b_idx = order[fx.t[order] < cut_t], order[fx.t[order] >= cut_t]
        a, st = E.evaluate(fx.take(a_idx), fs)
        restored = E.EngineState.restore(through_json(st.export()))
        b, _ = E.evaluate(fx.take(b_idx), fs, restored)
        assert key(sorted(a + b, key=lambda e: (e.time, e.person))) == \
            key(sorted(whole, key=lambda e: (e.time, e.person))), frac
        # one person alone, restored from their own part only
        b1, _ = E.evaluate(fx.take(b_idx[fx.person[b_idx] == 1]), fs,
                           E.EngineState.restore(through_json(st.export([1]))))
        assert key([e for e in a + b1 if e.person == 1]) == key([e for e in whole if e.person == 1]), frac


def test_packed_state_refuses_what_it_cannot_hold():
    _, st = E.evaluate(int_fixes([(0, 500, 10), (1, 500, 10)]), {7: INT_FENCES})
    good = st.pack()[7]
    for bad in (good[:-8], good + b"x", b"", np.float64(2.0).tobytes() + good[8:]):
        with pytest.raises(ValueError):
            E.EngineState.unpack({7: bad})
    _, named = E.evaluate(int_fixes([(0, 500, 10)]), {7: [E.Fence("county", "allowed", COUNTY)]})
    assert E.EngineState.unpack(named.pack()).export() == named.export()   # the allowed area has no id to pack
    _, named = E.evaluate(int_fixes([(0, -5000, 10)]), {7: [E.Fence("zone", "exclusion", ZONE_CIRCLE.geometry,
                                                                        radius_m=300)]})
    with pytest.raises(TypeError):
        named.pack()
    assert E.EngineState().pack() == {} and E.EngineState.unpack({}).export() == {}


def test_states_stored_with_strings_for_nan_still_restore():
    _, st = E.evaluate(int_fixes([(0, 500, 10), (1, 500, 10)]), {7: INT_FENCES})
    d = st.export()[7]
    old = json.loads(json.dumps(d).replace("null", '"nan"').replace('"last_seen": "nan"', '"last_seen": "-inf"'))
    old["groups"] = [[None if f == "nan" else f, s_, r, x] for f, s_, r, x in old["groups"]]
    assert E.EngineState.restore({7: old}).export() == {7: d}


@pytest.mark.parametrize("seed", [1, 2])
def test_the_fast_person_time_order_is_lexsort(seed):
    rng = np.random.default_rng(seed)
    for n in (0, 1, 2, 1000):
        prow = rng.integers(0, 50, n)
        t = np.sort(rng.integers(0, 30, n).astype(float))        # time order, with ties
        assert (E._person_time_order(prow, t) == np.lexsort((t, prow))).all()
        t2 = rng.uniform(0, 1e6, n)                               # not in time order
        assert (E._person_time_order(prow, t2) == np.lexsort((t2, prow))).all()


# ------------------------------------------------------------- the fast paths equal the plain rules
def _hysteresis_by_fix(g, c, t, s0, r0, t0, k_fix, t_s):
    """The hysteresis rule fix by fix (as the engine ran it before it was vectorised)."""
    status, run, start = s0.astype(int).tolist(), r0.astype(int).tolist(), t0.astype(float).tolist()
    flips = []
    for i, (gi, ci, ti) in enumerate(zip(g.tolist(), c.tolist(), t.tolist())):
        if ci == E._OUT_OF_WINDOW:
            status[gi], run[gi], start[gi] = 0, 0, math.nan
            continue
        if (ci == 1) == (status[gi] == 1):
            run[gi], start[gi] = 0, math.nan
            continue
        if run[gi] == 0:
            start[gi] = ti
        run[gi] += 1
        if run[gi] >= k_fix or ti - start[gi] >= t_s:
            status[gi] = 1 - status[gi]
            run[gi], start[gi] = 0, math.nan
            flips.append((i, status[gi]))
    return flips, status, run, start


@pytest.mark.parametrize("seed", range(8))
def test_vectorised_hysteresis_equals_the_rule_fix_by_fix(seed):
    rng = np.random.default_rng(seed)
    for _ in range(20):
        ng = int(rng.integers(1, 30))
        sizes = rng.integers(1, 25, ng)
        g = np.repeat(np.arange(ng), sizes)
        c = rng.choice([-2, -1, 1], len(g), p=[0.1 * (seed % 2), 0.5 - 0.05 * (seed % 2), 0.5 - 0.05 * (seed % 2)])
        t = np.concatenate([np.cumsum(rng.choice([30.0, 60.0, 200.0, 400.0], k)) for k in sizes])
        s0 = rng.integers(0, 2, ng).astype(np.int8)
        r0 = np.where(rng.random(ng) < 0.4, rng.integers(1, 4, ng), 0).astype(np.int32)
        t0 = np.where(r0 > 0, t[np.searchsorted(g, np.arange(ng))] - rng.uniform(0, 400, ng), np.nan)
        t0[rng.random(ng) < 0.1] = np.nan                          # a stored run without a start
        k_fix, t_s = int(rng.integers(1, 5)), float(rng.choice([120.0, 300.0, 1e9]))
        rows, status, groups, fs_, fr, ft = E._hysteresis(g, c, t, s0, r0, t0, k_fix, t_s)
        flips, st_s, st_r, st_t = _hysteresis_by_fix(g, c, t, s0, r0, t0, k_fix, t_s)
        assert list(zip(rows.tolist(), status.tolist())) == flips
        assert groups.tolist() == list(range(ng))
        assert fs_.tolist() == st_s and fr.tolist() == st_r
        assert np.array_equal(ft, np.asarray(st_t), equal_nan=True)


def _state_arrays(st):
    return {k: getattr(st, k) for k in ("last_seen", "spd_t", "spd_x", "spd_y", "spd_acc", "spd_flag", "bat_level",
                                        "dev_t", "dev_x", "dev_y", "dev_acc", "apart_status", "apart_start",
                                        "group_keys", "g_status", "g_run", "g_start")}


def _same(a, b):
    assert [e.as_dict() for e in a[0]] == [e.as_dict() for e in b[0]]
    sa, sb = _state_arrays(a[1]), _state_arrays(b[1])
    for k in sa:
        assert np.array_equal(sa[k], sb[k], equal_nan=True), k


LEAVE_LATER = E.Fence("leave-2", "leave", DEST, valid_from=T0 + 20 * 3600, valid_to=T0 + 40 * 3600)


def _many_people(rng, people=30, n=3000):
    """People wandering across the county edge, two exclusion zones, home (curfew) and a leave county, with
    fence lists of different lengths and kinds in different orders, and a person without fences."""
    ids = [f"p{k}" for k in range(people)]
    lists = {}
    for k, pid in enumerate(ids):
        own = E.Fence(f"zone-{k}", "exclusion", Point(east_of_edge(rng.uniform(-6000, 0)), LAT0 + rng.normal(0, 0.01)),
                      radius_m=float(rng.uniform(100, 600)))
        pool = [own, ZONE_POLY, HOME, LEAVE, ZONE_CIRCLE, LEAVE_LATER]
        pick = [f for f in pool if rng.random() < 0.6]
        lists[pid] = ([ALLOWED[0]] if k % 7 else []) + pick
    m = np.sort(rng.uniform(0, 2000, n))
    person = rng.choice(ids + ["stranger"], n)
    walk = np.zeros(n)
    for pid in set(person.tolist()):
        sel = person == pid
        walk[sel] = np.cumsum(rng.normal(0, 500, sel.sum())) - rng.uniform(0, 6000)
    acc = rng.choice([5, 10, 30, 80, 1500], n, p=[0.3, 0.4, 0.15, 0.1, 0.05])
    jump = rng.random(n) < 0.02
    lon = np.asarray([east_of_edge(w) for w in walk]) + jump * 0.5
    fx = E.Fixes.from_columns(person, T0 + m * 60 + 16 * 3600, lon, LAT0 + rng.normal(0, 0.004, n), acc,
                              device=rng.choice(["phone", "wristband"], n, p=[0.8, 0.2]), battery=rng.uniform(5, 60, n))
    return fx, lists


@pytest.mark.parametrize("seed", range(4))
def test_fence_columns_equal_the_pairwise_rules(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    fx, lists = _many_people(rng)
    fs = E.compile_fences(lists)
    assert E._layout(fs) is not None
    cut = len(fx) // 3
    fast = [E.evaluate(fx.take(np.arange(cut)), fs)]
    fast.append(E.evaluate(fx.take(np.arange(cut, len(fx))), fs, fast[0][1]))
    shuffled = E.evaluate(fx.take(rng.permutation(len(fx))), fs)
    assert sum(len(e) for e, _ in fast) > 20
    monkeypatch.setattr(E, "_layout", lambda fs: None)               # the pairwise rules (no columns)
    plain = [E.evaluate(fx.take(np.arange(cut)), fs)]
    plain.append(E.evaluate(fx.take(np.arange(cut, len(fx))), fs, plain[0][1]))
    for a, b in zip(fast, plain):
        _same(a, b)
    _same(shuffled, E.evaluate(fx, fs))


def test_fence_lists_the_columns_do_not_fit_use_the_pairwise_rules():
    around = box(east_of_edge(-5400), 39.99, east_of_edge(-4600), 40.01)        # around the circle
    twice = [ALLOWED[0], ZONE_CIRCLE, E.Fence("bar", "exclusion", around)]       # one id, two fences
    fs = E.compile_fences({"p": twice})
    assert E._layout(fs) is None
    events, _ = run([(m, -5000, 10) for m in range(4)], twice)
    assert [e.type for e in events] == ["exclusion_enter"]


@pytest.mark.parametrize("seed", range(3))
def test_speed_rule_screening_equals_the_rule_fix_by_fix(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    fx, lists = _many_people(rng)
    fs = E.compile_fences(lists)
    cut = len(fx) // 2
    fast = E.evaluate(fx.take(np.arange(cut, len(fx))), fs, E.evaluate(fx.take(np.arange(cut)), fs)[1])

    def every_person(st, s, d, p, t, x, y, a, di, rows, events, ps, pe):
        ui = np.nonzero(a <= s.speed_max_accuracy_m)[0]
        if len(ui):
            E._speed_exact(st, s, d, p[ui], t[ui], x[ui], y[ui], a[ui], ui if di is None else di[ui], rows, events)
    monkeypatch.setattr(E, "_speed_rule", every_person)
    plain = E.evaluate(fx.take(np.arange(cut, len(fx))), fs, E.evaluate(fx.take(np.arange(cut)), fs)[1])
    assert any(e.type == "speed_impossible" for e in plain[0])
    _same(fast, plain)


def test_circle_screening_equals_the_pairwise_circle_test():
    rng = np.random.default_rng(3)
    n = 50_000
    centre = Point(116.1, 40.0)
    fs = E.compile_fences({"p": [E.Fence("c", "exclusion", centre, radius_m=300.0)]})
    col = E._layout(fs).columns[0]
    r = rng.uniform(0, 1500, n) * rng.choice([1.0, 0.999999, 1.000001], n)
    a = rng.uniform(0, 2 * math.pi, n)
    lon = centre.x + r * np.cos(a) / (E._M_PER_DEG * math.cos(math.radians(centre.y)))
    lat = centre.y + r * np.sin(a) / E._M_PER_DEG
    need = rng.choice([55.0, 60.0, 100.0, 1550.0], n)
    got = E._circle_codes(col, np.zeros(n, dtype=np.int64), lon, lat, need)
    x, y = E._local_xy(lon, lat, centre.x, centre.y)
    d = np.hypot(x, y) - 300.0
    assert (got == np.where(d > need, 1, np.where(d < -need, -1, 0))).all()
