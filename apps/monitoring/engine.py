"""The fence engine: fixes in, events out. Pure Python over NumPy arrays and Shapely 2; no Django (an
import-linter contract keeps it so). See docs/adr/0012-the-fence-engine.md.

* `Fence` - one fence as data: `allowed` (stay inside: the execution county), `exclusion` (stay outside: a
  prohibition order's polygon or circle), `leave` (a temporary allowed area for approved leave, counting as
  allowed while valid), `curfew` (be inside a home circle during local time windows). Geometry is WGS-84.
* `compile_fences({person: [Fence, ...]})` -> `FenceSet`: every distinct geometry is prepared once (a grid of
  inside / outside / border cells in a local metric projection, plus a lower bound of the distance to the
  boundary for every cell), so 100,000 people sharing a few counties cost a few county grids.
* `evaluate(fixes, fences, state, settings) -> (events, new_state)`: per person in time order (the batch is
  sorted first, so arrival order does not matter), with hysteresis (K decisive fixes or T minutes, both ways).
  A fix is decisive only when it lies beyond the boundary by more than its accuracy radius plus a margin; the
  exact distance is computed only where the grid cannot decide that. `state` carries every run counter, so a
  trace split into batches gives the same events as in one batch.
* `signal_lost(last_fix_time_per_person, now, minutes)` for the periodic sweep.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "FENCE_KINDS", "DEVICE_KINDS", "EVENT_TYPES", "EngineSettings", "Fence", "FenceSet", "Fixes", "Event",
    "EngineState", "compile_fences", "evaluate", "signal_lost", "PreparedArea",
]

FENCE_KINDS = ("allowed", "exclusion", "leave", "curfew")
DEVICE_KINDS = ("phone", "wristband")
SOURCES = ("gnss", "cell", "wifi")
EVENT_TYPES = ("fence_exit", "fence_return", "exclusion_enter", "exclusion_leave", "curfew_breach",
               "speed_impossible", "battery_low", "devices_apart", "signal_lost")

_EARTH_R = 6371008.8          # mean Earth radius, metres (as apps.orgs.coords.haversine_m)
_M_PER_DEG = _EARTH_R * math.pi / 180.0
_ALLOWED_CODE = 0             # the group code of a person's allowed area (allowed + valid leave fences)
_KIND_CODE = {k: i for i, k in enumerate(FENCE_KINDS)}
_OUT_OF_WINDOW = -2           # a curfew fix outside its time windows: ends any breach, silently
_EXACT_CENTRE_CELLS = 2     # cells within this chessboard distance of the border get exact centre-distance bounds


@dataclass(frozen=True)
class EngineSettings:
    # K: an exit (or a return, an entry, a breach) needs this many consecutive decisive fixes. 3 fixes at the
    # usual 1-5 minute reporting interval is a few minutes of evidence; one stray fix never raises anything.
    exit_fixes: int = 3
    # T: ... or decisive fixes spanning this many minutes (a device reporting rarely still raises in time).
    exit_minutes: float = 5.0
    # A fix is decisive only beyond the boundary by more than its accuracy radius plus this margin (metres):
    # it absorbs the GCJ-02 / WGS-84 rounding of boundaries, polygon simplification and GNSS multipath.
    margin_m: float = 50.0
    # Faster than this between two consecutive fixes of one device is impossible on the ground (high-speed
    # rail is 350 km/h but nobody supervised rides it unreported); the distance is reduced by both accuracies.
    max_speed_kmh: float = 300.0
    # Fixes less accurate than this (cell towers, 1-3 km) are ignored by the speed rule.
    speed_max_accuracy_m: float = 200.0
    # battery_low when a device's battery drops below this percentage ...
    battery_low_pct: float = 15.0
    # ... and once more only after it has been charged to at least battery_low_pct + this.
    battery_rearm_pct: float = 5.0
    # devices_apart (人机分离): phone and wristband more than this many metres apart (less both accuracies) ...
    apart_m: float = 500.0
    # ... for more than this many minutes.
    apart_minutes: float = 10.0
    # A phone fix and a wristband fix are compared only if taken within this many seconds of each other.
    apart_pair_s: float = 300.0
    # Curfew windows are local wall-clock times; China has one time zone and no daylight saving (UTC+8).
    local_utc_offset_s: int = 8 * 3600
    # Cells per side of a polygon's grid (at most; small polygons get fewer). 512x512 = 262,144 cells.
    grid_cells: int = 512
    # Cells of the distance transform around the border; beyond it the lower bound stays at this many cells.
    grid_distance_cells: int = 48


# ------------------------------------------------------------------------------------------------ fences
def _epoch(value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a fence's validity needs an aware datetime (or epoch seconds)")
        return value.timestamp()
    return float(value)


def _minutes(value: Any) -> int:
    if isinstance(value, str):
        h, m = value.split(":")
        return int(h) * 60 + int(m)
    return int(value)


@dataclass(frozen=True, eq=False)
class Fence:
    """One fence. `geometry` is a WGS-84 shapely Polygon/MultiPolygon, or a Point with `radius_m` (a circle).
    `valid_from` / `valid_to` are epoch seconds or aware datetimes (None: open); the fence applies to fixes
    with valid_from <= time < valid_to. `windows` (curfew only): [("22:00", "06:00"), ...] in local time; a
    window whose end is before its start runs across midnight."""
    id: Any
    kind: str
    geometry: BaseGeometry
    valid_from: Any = None
    valid_to: Any = None
    windows: tuple | list | None = None
    radius_m: float | None = None

    def __post_init__(self):
        if self.kind not in FENCE_KINDS:
            raise ValueError(f"unknown fence kind {self.kind!r}; expected one of {', '.join(FENCE_KINDS)}")
        is_circle = self.geometry.geom_type == "Point"
        if is_circle and not (self.radius_m and self.radius_m > 0):
            raise ValueError(f"fence {self.id!r}: a circle needs radius_m > 0")
        if not is_circle and self.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"fence {self.id!r}: geometry must be a Polygon, MultiPolygon or Point+radius_m")
        if self.kind == "curfew" and not self.windows:
            raise ValueError(f"fence {self.id!r}: a curfew needs time windows")
        wins = tuple((_minutes(a) * 60, _minutes(b) * 60) for a, b in (self.windows or ()))
        object.__setattr__(self, "_windows_s", wins)
        object.__setattr__(self, "_from", _epoch(self.valid_from, -math.inf))
        object.__setattr__(self, "_to", _epoch(self.valid_to, math.inf))

    @property
    def is_circle(self) -> bool:
        return self.geometry.geom_type == "Point"


class PreparedArea:
    """A polygon prepared for fast tests: a local equirectangular projection (metres, centred on the polygon;
    under 2 % scale error across a county), a grid of cells classified inside (1) / outside (0) / border (2),
    and for every cell a lower bound of its distance to the boundary in metres."""

    def __init__(self, geometry: BaseGeometry, cells: int = 512, distance_cells: int = 48):
        minx, miny, maxx, maxy = geometry.bounds
        self.lon0, self.lat0 = (minx + maxx) / 2.0, (miny + maxy) / 2.0
        self.kx = _M_PER_DEG * math.cos(math.radians(self.lat0))
        self.ky = _M_PER_DEG
        self.geometry_m = shapely.transform(geometry, lambda c: np.column_stack(self.project(c[:, 0], c[:, 1])))
        self.boundary_m = self.geometry_m.boundary
        shapely.prepare(self.geometry_m)
        shapely.prepare(self.boundary_m)
        x0, y0, x1, y1 = self.geometry_m.bounds
        n = int(min(cells, max(16, 8 * math.ceil(math.sqrt(shapely.get_num_coordinates(geometry))))))
        self.n = n
        self.x0, self.y0 = x0, y0
        self.x1, self.y1 = x1, y1
        self.cw = max((x1 - x0) / n, 1e-6)
        self.ch = max((y1 - y0) / n, 1e-6)
        # Border cells: every cell a boundary segment passes through, found by sampling each segment at a
        # third of a cell and then widened by one cell, so a segment clipping a cell's corner is never missed.
        border = np.zeros((n, n), dtype=bool)
        coords = shapely.get_coordinates(self.boundary_m)
        rings = shapely.get_parts(shapely.get_parts(self.boundary_m))
        step = min(self.cw, self.ch) / 3.0
        for ring in rings:
            c = shapely.get_coordinates(ring)
            if len(c) < 2:
                continue
            seg = np.diff(c, axis=0)
            k = np.maximum(1, np.ceil(np.hypot(seg[:, 0], seg[:, 1]) / step).astype(np.int64))
            rep = np.repeat(np.arange(len(seg)), k)
            frac = (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)) / np.repeat(k, k)
            pts = c[:-1][rep] + seg[rep] * frac[:, None]
            pts = np.vstack([pts, c[-1:]])
            i = np.clip(((pts[:, 1] - y0) / self.ch).astype(np.int64), 0, n - 1)
            j = np.clip(((pts[:, 0] - x0) / self.cw).astype(np.int64), 0, n - 1)
            border[i, j] = True
        del coords
        border = _dilate(border)
        cls = np.zeros((n, n), dtype=np.int8)
        ii, jj = np.nonzero(~border)
        cx = x0 + (jj + 0.5) * self.cw
        cy = y0 + (ii + 0.5) * self.ch
        cls[ii, jj] = shapely.contains_xy(self.geometry_m, cx, cy).astype(np.int8)
        cls[border] = 2
        self.cls = cls.ravel()
        # Chessboard distance (in cells) to the nearest border cell, capped; a cell at chessboard distance d
        # is at least (d - 1) cell sizes from the boundary, which lies inside the border cells.
        dist = np.full((n, n), distance_cells, dtype=np.int16)
        front = border.copy()
        dist[front] = 0
        for d in range(1, distance_cells):
            grown = _dilate(front)
            new = grown & ~front
            if not new.any():
                break
            dist[new] = d
            front = grown
        cell = min(self.cw, self.ch)
        diag = math.hypot(self.cw, self.ch)
        self.lb_m = (np.maximum(dist.astype(np.float64) - 1.0, 0.0) * cell).ravel()
        self.lb_m[self.cls == 2] = 0.0
        # An upper bound too: a cell d cells from a border cell is within (d + 2) cell diagonals of the boundary
        # (the boundary passes through a border cell or its neighbour). Fixes whose accuracy + margin exceeds it
        # are undecided without any exact test. Capped cells have no useful upper bound.
        ub = (dist.astype(np.float64) + 2.0) * diag
        ub[dist >= distance_cells] = np.inf
        self.ub_m = ub.ravel()
        self.geometry = geometry
        # the boundary's segments in an STR tree, for exact distances (events)
        parts = []
        for ring in shapely.get_parts(shapely.get_parts(self.boundary_m)):
            c = shapely.get_coordinates(ring)
            if len(c) >= 2:
                parts.append(shapely.linestrings(np.stack([c[:-1], c[1:]], axis=1)))
        self._tree = shapely.STRtree(np.concatenate(parts))
        # Near the border, tighter bounds from the exact distance of each cell's centre to the boundary: every
        # point of the cell is within half a diagonal of the centre, so its distance lies in |d| -+ hd, and when
        # |d| > hd the boundary misses the cell (a "border" cell it only neighbours is then wholly inside or
        # outside, like the centre). Most fixes in border cells are then decided without an exact test.
        near = np.nonzero((dist.ravel() <= _EXACT_CENTRE_CELLS) & (self.cls != 2) | (self.cls == 2))[0]
        if len(near):
            ci, cj = near // n, near % n
            cx = x0 + (cj + 0.5) * self.cw
            cy = y0 + (ci + 0.5) * self.ch
            idx, dc = self._tree.query_nearest(shapely.points(cx, cy), return_distance=True, all_matches=False)
            dcen = np.empty(len(near))
            dcen[idx[0]] = dc
            hd = diag / 2.0 * (1.0 + 1e-9) + 1e-6           # a hair wider than half the diagonal: rounding
            crossed = dcen <= hd
            side = shapely.contains_xy(self.geometry_m, cx[~crossed], cy[~crossed]).astype(np.int8)
            cls2 = self.cls.copy()
            cls2[near[~crossed]] = side
            cls2[near[crossed]] = 2
            self.cls = cls2
            self.lb_m[near] = np.where(crossed, 0.0, np.maximum(dcen - hd, 0.0))
            self.ub_m[near] = dcen + hd

    def project(self, lon, lat):
        return (np.asarray(lon) - self.lon0) * self.kx, (np.asarray(lat) - self.lat0) * self.ky

    def signed_distance_exact(self, x, y) -> np.ndarray:
        """Signed distance in metres (negative inside) of projected points, exactly (Shapely)."""
        if len(x) == 0:
            return np.zeros(0)
        inside = shapely.contains_xy(self.geometry_m, x, y)
        idx, d = self._tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
        out = np.empty(len(x))
        out[idx[0]] = d
        return np.where(inside, -out, out)

    def _cells(self, lon, lat):
        """Projected points, whether each is on the grid, its cell and the cell's class (0 off the grid)."""
        x, y = self.project(lon, lat)
        fj = (x - self.x0) / self.cw
        fi = (y - self.y0) / self.ch
        n = self.n
        inb = (fi >= 0) & (fi < n) & (fj >= 0) & (fj < n)
        cell = np.where(inb, fi.astype(np.int64) * n + fj.astype(np.int64), 0)
        return x, y, inb, cell, np.where(inb, self.cls[cell], 0)

    def classify(self, lon, lat, need) -> tuple[np.ndarray, int]:
        """-1 decisively inside, +1 decisively outside, 0 neither (within `need` metres of the boundary, per
        point). Returns the codes and how many points needed the exact test."""
        x, y = self.project(lon, lat)
        fj = (x - self.x0) / self.cw
        fi = (y - self.y0) / self.ch
        n = self.n
        inb = (np.minimum(fi, fj) >= 0) & (np.maximum(fi, fj) < n)
        if inb.all():                            # the usual case: every point on the grid
            cell = fi.astype(np.int64) * n + fj.astype(np.int64)
            cls = self.cls[cell]
            lb = self.lb_m[cell]
        else:
            cell = np.where(inb, fi.astype(np.int64) * n + fj.astype(np.int64), 0)
            cls = np.where(inb, self.cls[cell], 0)
            # Outside the grid the point is outside the polygon, at least as far as from the bounding box.
            lb = np.where(inb, self.lb_m[cell],
                          np.maximum(np.maximum(self.x0 - x, x - self.x1), np.maximum(self.y0 - y, y - self.y1)))
        out = np.where(cls == 1, np.int8(-1), np.int8(1))
        hard = lb <= need
        hard |= cls == 2
        h = np.nonzero(hard)[0]
        if len(h) == 0:
            return out, 0
        nh = need[h] if np.ndim(need) else np.full(len(h), need)
        ub = np.where(inb[h], self.ub_m[cell[h]], np.inf)
        vague = ub <= nh                         # surely within accuracy + margin of the boundary: undecided
        out[h[vague]] = 0
        keep = ~vague
        h, nh = h[keep], nh[keep]
        if len(h):
            xh, yh = x[h], y[h]
            inside = shapely.contains_xy(self.geometry_m, xh, yh)
            near = self.near_boundary(xh, yh, nh)
            out[h] = np.where(near, 0, np.where(inside, -1, 1))
        return out, len(h)

    def near_boundary(self, x, y, d) -> np.ndarray:
        """Whether projected points lie within d metres (per point) of the boundary: shapely.dwithin against the
        boundary, asked of its segments' STR tree (the same distances, segment by segment, and faster)."""
        hit = np.zeros(len(x), dtype=bool)
        if len(x):
            idx = self._tree.query(shapely.points(x, y), predicate="dwithin", distance=d)
            hit[idx[0]] = True
        return hit

    def contains(self, lon, lat) -> np.ndarray:
        """Exact point-in-polygon through the grid (border cells tested exactly)."""
        x, y, _inb, _cell, cls = self._cells(lon, lat)
        res = cls == 1
        b = np.nonzero(cls == 2)[0]
        if len(b):
            res[b] = shapely.contains_xy(self.geometry_m, x[b], y[b])
        return res


def _dilate(a: np.ndarray) -> np.ndarray:
    """3x3 binary dilation with NumPy slices."""
    out = a.copy()
    out[1:, :] |= a[:-1, :]
    out[:-1, :] |= a[1:, :]
    row = out.copy()
    out[:, 1:] |= row[:, :-1]
    out[:, :-1] |= row[:, 1:]
    return out


@dataclass(eq=False)
class FenceSet:
    """Fences compiled for the engine: persons (sorted ids), a CSR list of fence slots per person (allowed and
    leave fences first), per slot arrays, and the prepared geometries (one per distinct geometry object)."""
    person_ids: np.ndarray
    order: np.ndarray            # person_ids[order] is sorted (for lookups)
    indptr: np.ndarray
    slots: np.ndarray
    fences: list
    kind: np.ndarray             # per slot: index in FENCE_KINDS
    valid_from: np.ndarray
    valid_to: np.ndarray
    area_index: np.ndarray       # per slot: index into areas, -1 for circles
    cx: np.ndarray               # circles: centre lon/lat, radius
    cy: np.ndarray
    radius: np.ndarray
    windows: np.ndarray          # (slots, W, 2) seconds of the local day, NaN padded
    areas: list
    identity: bool               # person_ids == arange(P): ids are their own row numbers
    setup_s: float = 0.0
    _state_cache: dict = field(default_factory=dict, repr=False)

    def rows_of(self, ids: np.ndarray) -> np.ndarray:
        """Row of each person id in this set, -1 where unknown."""
        p = len(self.person_ids)
        if self.identity and ids.dtype.kind in "iu":
            return np.where((ids >= 0) & (ids < p), ids, -1).astype(np.int64)
        if p == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        sorted_ids = self.person_ids[self.order]
        try:
            pos = np.clip(np.searchsorted(sorted_ids, ids), 0, p - 1)
        except TypeError:
            return np.full(len(ids), -1, dtype=np.int64)
        hit = sorted_ids[pos] == ids
        return np.where(hit, self.order[pos], -1).astype(np.int64)


def compile_fences(fences_by_person: Mapping[Any, Iterable[Fence]], settings: EngineSettings | None = None,
                   area_cache: dict | None = None) -> FenceSet:
    """Compile the fences. `area_cache` (a dict the caller keeps) carries prepared geometries between calls, so a
    server compiling each batch's few persons prepares a county's grid once per process, not once per batch."""
    import time as _time
    settings = settings or EngineSettings()
    t0 = _time.perf_counter()
    ids = list(fences_by_person)
    person_ids = np.asarray(ids) if ids else np.zeros(0, dtype=np.int64)
    if person_ids.dtype == object:
        person_ids = np.asarray([str(i) for i in ids])
    slot_of: dict[int, int] = {}
    fences: list[Fence] = []
    indptr = [0]
    slots: list[int] = []
    for pid in ids:
        fl = sorted(fences_by_person[pid], key=lambda f: f.kind not in ("allowed", "leave"))
        for f in fl:
            s = slot_of.get(id(f))
            if s is None:
                s = slot_of[id(f)] = len(fences)
                fences.append(f)
            slots.append(s)
        indptr.append(len(slots))
    area_of: dict[int, int] = {}
    areas: list[PreparedArea] = []
    m = len(fences)
    area_index = np.full(m, -1, dtype=np.int64)
    cx, cy, radius = np.zeros(m), np.zeros(m), np.zeros(m)
    wmax = max([len(f._windows_s) for f in fences] + [1])
    windows = np.full((m, wmax, 2), np.nan)
    for s, f in enumerate(fences):
        if f.is_circle:
            cx[s], cy[s], radius[s] = f.geometry.x, f.geometry.y, float(f.radius_m)
        else:
            a = area_of.get(id(f.geometry))
            if a is None:
                a = area_of[id(f.geometry)] = len(areas)
                key = (id(f.geometry), settings.grid_cells, settings.grid_distance_cells)
                hit = area_cache.get(key) if area_cache is not None else None
                if hit is None or hit[0] is not f.geometry:
                    hit = (f.geometry, PreparedArea(f.geometry, settings.grid_cells, settings.grid_distance_cells))
                    if area_cache is not None:
                        area_cache[key] = hit
                areas.append(hit[1])
            area_index[s] = a
        for w, (a_s, b_s) in enumerate(f._windows_s):
            windows[s, w] = (a_s, b_s)
    order = np.argsort(person_ids, kind="stable")
    identity = person_ids.dtype.kind in "iu" and bool(np.array_equal(person_ids, np.arange(len(person_ids))))
    return FenceSet(
        person_ids=person_ids, order=order, indptr=np.asarray(indptr, dtype=np.int64),
        slots=np.asarray(slots, dtype=np.int64), fences=fences,
        kind=np.asarray([_KIND_CODE[f.kind] for f in fences], dtype=np.int8),
        valid_from=np.asarray([f._from for f in fences]), valid_to=np.asarray([f._to for f in fences]),
        area_index=area_index, cx=cx, cy=cy, radius=radius, windows=windows, areas=areas, identity=identity,
        setup_s=_time.perf_counter() - t0,
    )


# ------------------------------------------------------------------------------------------------- fixes
@dataclass
class Fixes:
    """A batch of fixes as columns. `person`: ids (ints or strings); `t`: epoch seconds (UTC); lon/lat WGS-84;
    `accuracy`: metres (radius, ~68 %); `source`: 0 GNSS, 1 cell, 2 WiFi; `battery`: percent or NaN;
    `device`: 0 phone, 1 wristband."""
    person: np.ndarray
    t: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    accuracy: np.ndarray
    source: np.ndarray
    battery: np.ndarray
    device: np.ndarray

    @classmethod
    def from_columns(cls, person, t, lon, lat, accuracy=10.0, source=0, battery=np.nan, device=0) -> Fixes:
        t = np.asarray(t, dtype=np.float64)
        n = len(t)

        def col(v, dtype, names=None):
            if names is not None and not np.isscalar(v) and len(v) and isinstance(v[0], str):
                v = [names.index(x) for x in v]
            elif names is not None and isinstance(v, str):
                v = names.index(v)
            a = np.asarray(v, dtype=dtype)
            return np.full(n, a, dtype=dtype) if a.ndim == 0 else a

        person = np.asarray(person)
        if person.ndim == 0:
            person = np.full(n, person)
        if person.dtype == object:
            person = np.asarray([str(p) for p in person])
        return cls(person=person, t=t, lon=col(lon, np.float64), lat=col(lat, np.float64),
                   accuracy=col(accuracy, np.float64), source=col(source, np.int8, list(SOURCES)),
                   battery=col(battery, np.float64), device=col(device, np.int8, list(DEVICE_KINDS)))

    def __len__(self) -> int:
        return len(self.t)

    def take(self, idx) -> Fixes:
        return Fixes(*(getattr(self, f)[idx] for f in
                       ("person", "t", "lon", "lat", "accuracy", "source", "battery", "device")))


@dataclass(frozen=True)
class Event:
    type: str
    person: Any
    time: float
    lon: float
    lat: float
    fence_id: Any = None
    distance_m: float | None = None   # fence events: metres beyond the boundary on the wrong side
    accuracy_m: float | None = None
    device: str | None = None
    detail: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"type": self.type, "person": _plain(self.person), "time": self.time, "lon": self.lon,
                "lat": self.lat, "fence_id": _plain(self.fence_id), "distance_m": self.distance_m,
                "accuracy_m": self.accuracy_m, "device": self.device, **self.detail}


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v


def _enc1(v):
    v = _plain(v)
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _enc(v):
    """A state value for JSON: arrays as lists, NaN and infinities as None (each field has one missing value,
    `_MISSING`, which `_dec` puts back)."""
    if isinstance(v, np.ndarray):
        return [_enc1(x) for x in v.tolist()]
    return _enc1(v)


def _enc_rows(a: np.ndarray) -> list:
    """Rows of an array as plain lists (floats that are not finite as None), fast for the usual all-finite case."""
    if a.dtype.kind == "f" and not np.isfinite(a).all():
        return [_enc(x) if isinstance(x, np.ndarray) else _enc1(x) for x in a]
    return a.tolist()


def _dec(v, missing: float = math.nan):
    """Back from `_enc`: None is the field's missing value; "nan", "inf", "-inf" (states stored before None was
    used) are read too."""
    if isinstance(v, list):
        return [_dec(x, missing) for x in v]
    if v is None:
        return missing
    if isinstance(v, str):
        return float(v)
    return v


# ------------------------------------------------------------------------------------------------- state
_GROUP_SHIFT = 24


@dataclass
class EngineState:
    """Everything the next batch needs. Registries are append-only, so rows (and the caches that map a
    FenceSet onto them) stay valid in every later state."""
    person_ids: list = field(default_factory=list)           # row -> id
    person_row: dict = field(default_factory=dict)           # id -> row
    fence_code: dict = field(default_factory=dict)           # fence id -> group code (>= 1)
    # per person row, per device kind (columns 0 phone, 1 wristband)
    last_seen: np.ndarray = field(default_factory=lambda: np.zeros((0,)))
    spd_t: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))      # last fix usable for speed
    spd_x: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    spd_y: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    spd_acc: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    spd_flag: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=bool))
    bat_level: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int8))  # +1 armed, -1 low
    dev_t: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))      # last fix of each kind
    dev_x: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    dev_y: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    dev_acc: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    apart_status: np.ndarray = field(default_factory=lambda: np.zeros((0,), dtype=np.int8))
    apart_start: np.ndarray = field(default_factory=lambda: np.zeros((0,)))
    # per group (person row, fence group): sorted keys and their rows
    group_keys: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    group_sorted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    g_status: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))
    g_run: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    g_start: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fs_cache: dict = field(default_factory=dict, repr=False)

    def copy(self) -> EngineState:
        new = EngineState(person_ids=list(self.person_ids), person_row=dict(self.person_row),
                          fence_code=dict(self.fence_code), fs_cache=dict(self.fs_cache))
        for name in ("last_seen", "spd_t", "spd_x", "spd_y", "spd_acc", "spd_flag", "bat_level", "dev_t", "dev_x",
                     "dev_y", "dev_acc", "apart_status", "apart_start", "group_keys", "group_sorted", "g_status",
                     "g_run", "g_start"):
            setattr(new, name, getattr(self, name).copy())
        return new

    def last_fix_times(self) -> dict:
        return {pid: float(t) for pid, t in zip(self.person_ids, self.last_seen) if np.isfinite(t)}

    def alarms(self) -> dict:
        """Open fence conditions: {(person, fence id or 'allowed'): True} for groups whose status is raised."""
        code_to_id = {c: f for f, c in self.fence_code.items()}
        out = {}
        for k, s in zip(self.group_keys, self.g_status):
            if s:
                row, code = int(k) >> _GROUP_SHIFT, int(k) & ((1 << _GROUP_SHIFT) - 1)
                out[(self.person_ids[row], "allowed" if code == _ALLOWED_CODE else code_to_id[code])] = True
        return out

    # --- one person's part, for storage (apps.monitoring.location keeps it per person in the database)
    _PER_PERSON = ("last_seen", "spd_t", "spd_x", "spd_y", "spd_acc", "spd_flag", "bat_level", "dev_t", "dev_x",
                   "dev_y", "dev_acc", "apart_status", "apart_start")

    # The one value that is not finite in each float field (a person the engine has not seen: no last fix, no
    # speed or device fix, not apart, no run started); None in an export stands for it.
    _MISSING = {"last_seen": -math.inf}

    def export(self, person_ids: Iterable | None = None) -> dict:
        """{person id: a JSON-serialisable dict} of everything the next batch needs about each person: the
        per-person fields of `_PER_PERSON` (plain floats, ints, bools and lists; a value that is not finite as
        None) and "groups", one [fence id or None for the allowed area, status, run, run start] per fence group
        (fence ids keep their type). `restore` of any subset gives those persons' exact state back; JSON keeps
        the values exactly (store each person's dict on its own: JSON object keys would turn ids into strings).
        Persons the state does not know are left out."""
        ids = self.person_ids if person_ids is None else [_plain(p) for p in person_ids]
        rows = {pid: self.person_row[pid] for pid in ids if pid in self.person_row}
        code_to_id = {c: f for f, c in self.fence_code.items()}
        groups: dict[int, list] = {}
        if len(self.group_keys):
            owner = self.group_keys >> _GROUP_SHIFT
            wanted = np.isin(owner, np.fromiter(rows.values(), dtype=np.int64, count=len(rows)))
            for g in np.nonzero(wanted)[0]:
                code = int(self.group_keys[g]) & ((1 << _GROUP_SHIFT) - 1)
                groups.setdefault(int(owner[g]), []).append(
                    [None if code == _ALLOWED_CODE else _plain(code_to_id[code]), int(self.g_status[g]),
                     int(self.g_run[g]), _enc(self.g_start[g])])
        ridx = np.fromiter(rows.values(), dtype=np.int64, count=len(rows))
        cols = {name: _enc_rows(getattr(self, name)[ridx]) for name in self._PER_PERSON}
        out = {}
        for k, (pid, r) in enumerate(rows.items()):
            d = {name: col[k] for name, col in cols.items()}
            d["groups"] = groups.get(r, [])
            out[pid] = d
        return out

    @classmethod
    def restore(cls, mapping: Mapping) -> EngineState:
        """A state holding the persons of an `export` (after a JSON round trip too; any subset of persons). A
        field missing from a person's dict keeps the value of a person never seen."""
        st = cls()
        pids = [_plain(p) for p in mapping]
        if not pids:
            return st
        rows = st._persons(pids)
        dicts = list(mapping.values())
        for name in cls._PER_PERSON:
            arr = getattr(st, name)
            missing = cls._MISSING.get(name, math.nan)
            have = [k for k, d in enumerate(dicts) if name in d]
            if not have:
                continue
            vals = [d[name] for d in dicts] if len(have) == len(dicts) else [dicts[k][name] for k in have]
            if arr.dtype.kind == "f":
                vals = _dec(vals, missing)
            arr[rows[have] if len(have) < len(dicts) else rows] = np.asarray(vals, dtype=arr.dtype)
        keys, vals = [], []
        for d, r in zip(dicts, rows.tolist()):
            for fence_id, status, run, start in d.get("groups", []):
                code = _ALLOWED_CODE if fence_id is None else st._code(fence_id)
                keys.append((r << _GROUP_SHIFT) | code)
                vals.append((status, run, _dec(start)))
        if keys:
            g = st._groups(np.asarray(keys, dtype=np.int64))
            st.g_status[g] = [v[0] for v in vals]
            st.g_run[g] = [v[1] for v in vals]
            st.g_start[g] = [v[2] for v in vals]
        return st

    def merge(self, mapping: Mapping) -> EngineState:
        """A new state: this one with the persons of `mapping` (an `export`) added, or replacing theirs."""
        if not mapping:
            return self.copy()
        mine = self.export()
        mine.update({_plain(p): d for p, d in mapping.items()})
        return EngineState.restore(mine)

    # --- the same, packed: one person's state as bytes of float64, for a store that reads and writes a thousand
    # persons a request (the JSON of `export` costs ~0.1 ms a person each way; this is vectorised).
    # Layout: [format, the per-person fields flattened in `_PER_PERSON` order] then 4 floats per fence group
    # [fence id (-1: the allowed area), status, run, run start]. Fence ids must be integers below 2**53.
    _PACK_FORMAT = 1.0

    def _pack_width(self) -> int:
        return 1 + sum(int(np.prod(getattr(self, name).shape[1:], dtype=np.int64)) for name in self._PER_PERSON)

    def pack(self, person_ids: Iterable | None = None) -> dict:
        """{person id: bytes} of the persons' state (persons the state does not know are left out); `unpack` of
        any subset gives them back exactly, as `restore(export())` would. Raises TypeError for fence ids that are
        not integers (use `export`)."""
        ids = self.person_ids if person_ids is None else [_plain(p) for p in person_ids]
        pids = [p for p in ids if p in self.person_row]
        if not pids:
            return {}
        ridx = np.fromiter((self.person_row[p] for p in pids), dtype=np.int64, count=len(pids))
        cols = [np.full((len(pids), 1), self._PACK_FORMAT)]
        for name in self._PER_PERSON:
            a = getattr(self, name)[ridx]
            cols.append(a.reshape(len(pids), -1).astype(np.float64))
        fixed = np.ascontiguousarray(np.hstack(cols))
        code_to_id = np.full(len(self.fence_code) + 1, -1.0)
        for f, c in self.fence_code.items():
            if not isinstance(f, (int, np.integer)) or isinstance(f, bool) or not 0 <= int(f) < 2 ** 53:
                raise TypeError(f"fence id {f!r} cannot be packed; use export()")
            code_to_id[c] = float(f)
        if len(self.group_keys):
            owner = self.group_keys >> _GROUP_SHIFT
            # row -> position in pids (-1: not wanted)
            pos_of = np.full(len(self.person_ids), -1, dtype=np.int64)
            pos_of[ridx] = np.arange(len(pids))
            g = np.nonzero(pos_of[owner] >= 0)[0]
            g = g[np.argsort(pos_of[owner[g]], kind="stable")]
            gpos = pos_of[owner[g]]
            code = self.group_keys[g] & ((1 << _GROUP_SHIFT) - 1)
            grp = np.ascontiguousarray(np.column_stack([
                np.where(code == _ALLOWED_CODE, -1.0, code_to_id[code]), self.g_status[g].astype(np.float64),
                self.g_run[g].astype(np.float64), self.g_start[g]]))
            bounds = np.searchsorted(gpos, np.arange(len(pids) + 1))
        else:
            grp = np.zeros((0, 4))
            bounds = np.zeros(len(pids) + 1, dtype=np.int64)
        b = bounds.tolist()
        return {p: fixed[k].tobytes() + grp[b[k]:b[k + 1]].tobytes() for k, p in enumerate(pids)}

    @classmethod
    def unpack(cls, mapping: Mapping) -> EngineState:
        """A state holding the persons of a `pack` (any subset). Raises ValueError for bytes of another layout."""
        st = cls()
        pids = [_plain(p) for p in mapping]
        if not pids:
            return st
        blobs = list(mapping.values())
        width = st._pack_width()
        n8 = np.fromiter((len(x) for x in blobs), dtype=np.int64, count=len(blobs))
        if (n8 % 8).any() or (n8 // 8 < width).any() or ((n8 // 8 - width) % 4).any():
            raise ValueError("packed state of another layout")
        buf = np.frombuffer(b"".join(blobs), dtype=np.float64)
        starts = np.concatenate([[0], np.cumsum(n8 // 8)[:-1]])
        fixed = buf[starts[:, None] + np.arange(width)]
        if (fixed[:, 0] != cls._PACK_FORMAT).any():
            raise ValueError("packed state of another format")
        rows = st._persons(pids)
        col = 1
        for name in cls._PER_PERSON:
            arr = getattr(st, name)
            w = int(np.prod(arr.shape[1:], dtype=np.int64))
            vals = fixed[:, col:col + w].reshape((len(pids),) + arr.shape[1:])
            arr[rows] = vals.astype(arr.dtype)
            col += w
        ng = (n8 // 8 - width) // 4
        if ng.sum():
            owner = np.repeat(np.arange(len(pids)), ng)
            first = np.repeat(starts + width, ng)
            k = np.arange(int(ng.sum())) - np.repeat(np.cumsum(ng) - ng, ng)
            at = first + 4 * k
            fid, status, run, start = buf[at], buf[at + 1], buf[at + 2], buf[at + 3]
            codes = np.array([_ALLOWED_CODE if f < 0 else st._code(int(f)) for f in fid.tolist()], dtype=np.int64)
            g = st._groups((rows[owner] << _GROUP_SHIFT) | codes)
            st.g_status[g] = status.astype(np.int8)
            st.g_run[g] = run.astype(np.int32)
            st.g_start[g] = start
        return st

    # --- registries
    def _persons(self, ids: Iterable) -> np.ndarray:
        rows = []
        new = []
        for pid in ids:
            pid = _plain(pid)
            r = self.person_row.get(pid)
            if r is None:
                r = self.person_row[pid] = len(self.person_ids)
                self.person_ids.append(pid)
                new.append(r)
            rows.append(r)
        if new:
            self._grow_persons(len(self.person_ids))
        return np.asarray(rows, dtype=np.int64)

    def _grow_persons(self, n: int) -> None:
        k = n - len(self.last_seen)
        if k <= 0:
            return
        nan2 = np.full((k, 2), np.nan)
        self.last_seen = np.concatenate([self.last_seen, np.full(k, -np.inf)])
        for name in ("spd_t", "spd_x", "spd_y", "spd_acc", "dev_t", "dev_x", "dev_y", "dev_acc"):
            setattr(self, name, np.concatenate([getattr(self, name), nan2]))
        self.spd_flag = np.concatenate([self.spd_flag, np.zeros((k, 2), dtype=bool)])
        self.bat_level = np.concatenate([self.bat_level, np.ones((k, 2), dtype=np.int8)])
        self.apart_status = np.concatenate([self.apart_status, np.zeros(k, dtype=np.int8)])
        self.apart_start = np.concatenate([self.apart_start, np.full(k, np.nan)])

    def _code(self, fence_id) -> int:
        c = self.fence_code.get(fence_id)
        if c is None:
            c = self.fence_code[fence_id] = len(self.fence_code) + 1
        return c

    def _groups(self, keys: np.ndarray) -> np.ndarray:
        """Rows of group keys, registering new ones."""
        keys = np.asarray(keys, dtype=np.int64)
        n = len(self.group_keys)
        if n:
            sk = self.group_keys[self.group_sorted]
            pos = np.clip(np.searchsorted(sk, keys), 0, n - 1)
            hit = sk[pos] == keys
        else:
            pos = np.zeros(len(keys), dtype=np.int64)
            hit = np.zeros(len(keys), dtype=bool)
        rows = np.where(hit, self.group_sorted[pos] if n else 0, -1)
        if not hit.all():
            new = np.unique(keys[~hit])
            self.group_keys = np.concatenate([self.group_keys, new])
            self.g_status = np.concatenate([self.g_status, np.zeros(len(new), dtype=np.int8)])
            self.g_run = np.concatenate([self.g_run, np.zeros(len(new), dtype=np.int32)])
            self.g_start = np.concatenate([self.g_start, np.full(len(new), np.nan)])
            self.group_sorted = np.argsort(self.group_keys, kind="stable")
            miss = ~hit
            rows[miss] = n + np.searchsorted(new, keys[miss])
        return rows.astype(np.int64)

    def _map_fenceset(self, fs: FenceSet) -> tuple[np.ndarray, np.ndarray]:
        """(state person row per FenceSet person, state group row per CSR entry), cached per FenceSet."""
        hit = self.fs_cache.get(id(fs))
        if hit is not None and hit[0] is fs:
            return hit[1], hit[2]
        prow = self._persons(fs.person_ids.tolist())
        codes = np.asarray([self._code(f.id) if f.kind not in ("allowed", "leave") else _ALLOWED_CODE
                            for f in fs.fences], dtype=np.int64)
        owner = np.repeat(np.arange(len(fs.person_ids)), np.diff(fs.indptr))
        keys = (prow[owner] << _GROUP_SHIFT) | codes[fs.slots] if len(fs.slots) else np.zeros(0, dtype=np.int64)
        grows = self._groups(keys)
        self.fs_cache[id(fs)] = (fs, prow, grows)
        return prow, grows


# ---------------------------------------------------------------------------------------------- evaluate
_EVENT_FOR = {  # (kind, new status) -> event type
    (_KIND_CODE["allowed"], 1): "fence_exit", (_KIND_CODE["allowed"], 0): "fence_return",
    (_KIND_CODE["exclusion"], 1): "exclusion_enter", (_KIND_CODE["exclusion"], 0): "exclusion_leave",
    (_KIND_CODE["curfew"], 1): "curfew_breach",
}


def _local_xy(lon, lat, lon0, lat0):
    """Equirectangular metres around (lon0, lat0) (arrays broadcast); fine for distances of a few km."""
    kx = _M_PER_DEG * np.cos(np.radians(lat0))
    return (lon - lon0) * kx, (lat - lat0) * _M_PER_DEG


def _dist_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres (haversine, as apps.orgs.coords.haversine_m, vectorised)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * _EARTH_R * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _is_sorted(prow: np.ndarray, t: np.ndarray, dev: np.ndarray) -> bool:
    if len(prow) < 2:
        return True
    dp = np.diff(prow)
    if (dp < 0).any():
        return False
    same = dp == 0
    dt = np.diff(t)
    if (same & (dt < 0)).any():
        return False
    tie = same & (dt == 0)
    return not tie.any()  # ties are ordered by a full sort, so equal times always sort the same way


class _Rows:
    """The batch's original columns seen through the sort order: `pick(name, rows)` gathers only the rows asked
    for (events), so a column the rules do not need (person ids, source) is never reordered as a whole."""
    __slots__ = ("fixes", "order")

    def __init__(self, fixes: Fixes, order: np.ndarray | None):
        self.fixes, self.order = fixes, order

    def pick(self, name: str, rows) -> np.ndarray:
        col = getattr(self.fixes, name)
        return col[rows] if self.order is None else col[self.order[rows]]


def _battery_levels(battery: np.ndarray, s: EngineSettings) -> np.ndarray:
    """-1 below the threshold, +1 at threshold + rearm or above, 0 between or unknown (int8)."""
    return np.where(battery < s.battery_low_pct, np.int8(-1),
                    np.where(battery >= s.battery_low_pct + s.battery_rearm_pct, np.int8(1), np.int8(0)))


def _identity_rows(fs: FenceSet, fs_prow: np.ndarray) -> bool:
    """Whether the state's person rows of this FenceSet are its own rows (a state started from it)."""
    hit = fs._state_cache.get("identity")
    if hit is None or hit[0] is not fs_prow:
        hit = (fs_prow, bool(np.array_equal(fs_prow, np.arange(len(fs_prow)))))
        fs._state_cache["identity"] = hit
    return hit[1]


def evaluate(fixes: Fixes, fences: FenceSet | Mapping, state: EngineState | None = None,
             settings: EngineSettings | None = None) -> tuple[list[Event], EngineState]:
    """Evaluate a batch. Returns the events (in time order) and the new state; the given state is not changed."""
    settings = settings or EngineSettings()
    fs = fences if isinstance(fences, FenceSet) else compile_fences(fences, settings)
    st = (state or EngineState()).copy()
    events: list[Event] = []
    n = len(fixes)
    if n == 0:
        return events, st
    ok = np.isfinite(fixes.t) & np.isfinite(fixes.lon) & np.isfinite(fixes.lat)
    acc = fixes.accuracy
    good = (acc >= 0) & (acc < np.inf)                          # finite and not negative
    if not good.all():
        acc = np.where(good, acc, 1e6)
    if not ok.all():
        fixes = fixes.take(np.nonzero(ok)[0])
        acc = acc[ok]
        n = len(fixes)
    fs_prow, fs_grows = st._map_fenceset(fs)
    fsrow = fs.rows_of(fixes.person)
    identity = False
    if len(fs_prow) and int(fsrow.min()) >= 0:                  # every person is in the FenceSet
        identity = _identity_rows(fs, fs_prow)
        prow = fsrow if identity else fs_prow[fsrow]
    else:
        prow = np.where(fsrow >= 0, fs_prow[np.maximum(fsrow, 0)] if len(fs_prow) else 0, -1)
        unknown = prow < 0
        if unknown.any():
            u, inv = np.unique(fixes.person[unknown], return_inverse=True)
            prow[unknown] = st._persons(u.tolist())[inv]
    t, lon, lat, dev = fixes.t, fixes.lon, fixes.lat, fixes.device
    blvl = _battery_levels(fixes.battery, settings)
    order = None
    # Time order per person (ties broken by every column, so any arrival order gives the same sequence). Only
    # the columns the rules use are reordered; the persons' order is free (every rule works per person), so
    # persons sharing an allowed area are put together: the grid is then walked one area at a time.
    if not _is_sorted(prow, t, dev):
        order, sp = _person_time_order_rows(prow, t, _person_rank(fs, fs_prow, len(st.last_seen)))
        tt = t[order]
        if ((sp[1:] == sp[:-1]) & (tt[1:] == tt[:-1])).any():   # equal times: order by every column
            order = np.lexsort((fixes.battery, acc, fixes.source, fixes.lat, fixes.lon, fixes.device, fixes.t, prow))
            sp, tt = prow[order], t[order]
        if identity:
            fsrow = sp
        else:
            back = np.full(len(st.last_seen), -1, dtype=np.int64)   # state row -> FenceSet row
            back[fs_prow] = np.arange(len(fs_prow))
            fsrow = back[sp]
        prow, t = sp, tt
        lon, lat, acc = lon[order], lat[order], acc[order]
        dev = dev[order] if dev.any() else dev                  # all phones: any order
        blvl = blvl[order]
    rows = _Rows(fixes, order)
    # the persons' runs of rows
    starts = np.concatenate([[0], np.nonzero(prow[1:] != prow[:-1])[0] + 1])
    ends = np.concatenate([starts[1:], [n]])

    _fence_rules(fs, fs_grows, st, settings, fsrow, t, lon, lat, acc, dev, rows, events, starts, ends)
    _device_rules(st, settings, prow, t, lon, lat, acc, dev, blvl, rows, events, starts, ends)
    _max_last(st, prow, t, ends)
    return _sorted_events(events), st


_TYPE_INDEX = {k: i for i, k in enumerate(EVENT_TYPES)}


def _sorted_events(events: list[Event]) -> list[Event]:
    """The events sorted by (time, str(person), type, str(fence id)), stable (as list.sort with that key)."""
    if len(events) < 2:
        return events
    k = len(events)
    tm = np.fromiter((e.time for e in events), dtype=np.float64, count=k)
    if np.isnan(tm).any():
        return sorted(events, key=lambda e: (e.time, str(e.person), _TYPE_INDEX[e.type], str(e.fence_id)))
    _, pr = np.unique(np.asarray([str(e.person) for e in events]), return_inverse=True)
    _, fr = np.unique(np.asarray([str(e.fence_id) for e in events]), return_inverse=True)
    ty = np.fromiter((_TYPE_INDEX[e.type] for e in events), dtype=np.int64, count=k)
    return [events[i] for i in np.lexsort((fr.ravel(), ty, pr.ravel(), tm)).tolist()]


def _person_time_order(prow: np.ndarray, t: np.ndarray) -> np.ndarray:
    """np.lexsort((t, prow)) (stable: equal keys keep their input order). A batch arriving in time order (the
    usual national batch) needs only a stable order by person: one NumPy sort of unique int64 keys
    (person row * n + position), several times faster than the lexsort."""
    return _person_time_order_rows(prow, t)[0]


def _person_rank(fs: FenceSet, fs_prow: np.ndarray, rows: int) -> np.ndarray | None:
    """A rank per state person row putting the FenceSet's persons with the same first allowed area together
    (the others after them), or None when there is nothing to gain (one area or none)."""
    lay = _layout(fs)
    if lay is None or lay.primary_area is None:
        return None
    hit = fs._state_cache.get("rank")
    if hit is not None and hit[0] is fs_prow and len(hit[1]) == rows:
        return hit[1]
    rank = np.arange(rows, dtype=np.int64) + len(fs_prow)      # persons outside the set: after, in row order
    by_area = np.argsort(lay.primary_area[:-1], kind="stable")  # FenceSet rows, area by area
    rank[fs_prow[by_area]] = np.arange(len(by_area))
    fs._state_cache["rank"] = (fs_prow, rank)
    return rank


def _person_time_order_rows(prow: np.ndarray, t: np.ndarray, rank: np.ndarray | None = None
                            ) -> tuple[np.ndarray, np.ndarray]:
    """(order, prow[order]): rows grouped by person, in time order within a person (stable). Persons come in
    row order, or in `rank` order if given (a permutation-like key per row: distinct ranks for distinct rows)."""
    n = len(prow)
    if n and (np.diff(t) >= 0).all() and int(prow.min()) >= 0:
        if rank is not None and len(rank) > int(prow.max()):
            key = rank[prow]
            inv = np.empty(int(rank.max()) + 1, dtype=np.int64)
            inv[rank] = np.arange(len(rank))
        else:
            key, inv = prow.astype(np.int64), None
        if int(key.max()) < (2 ** 62) // max(n, 1):
            k = np.sort(key * n + np.arange(n))
            q = k // n
            order = k - q * n
            return order, (q if inv is None else inv[q])
    order = np.lexsort((t, prow))
    return order, prow[order]


def _max_last(st: EngineState, prow: np.ndarray, t: np.ndarray, ends: np.ndarray | None = None) -> None:
    # fixes are sorted by person then time: the last row of each person holds its latest time
    if ends is None:
        last = np.ones(len(prow), dtype=bool)
        last[:-1] = prow[1:] != prow[:-1]
        li = np.nonzero(last)[0]
    else:
        li = ends - 1
    r = prow[li]
    st.last_seen[r] = np.maximum(st.last_seen[r], t[li])


_NO_ROW = 3     # a column code: the fix has no fence (valid at its time) in this column


class _Column:
    """One column of the fence layout: the k-th allowed (or leave) fence of every person, or the k-th of their
    other fences. Per FenceSet person row, plus a last entry (index -1: persons outside the set, no fence), the
    CSR entry (-1: none) and what the tests need of its fence, so a column is tested for all fixes at once."""

    def __init__(self, fs: FenceSet, entry: np.ndarray, allowed: bool, kxc: np.ndarray):
        e = np.concatenate([entry, [-1]]).astype(np.int64)
        has = e >= 0
        self.entry, self.allowed = e, allowed
        self.full = bool(has[:-1].all())
        s0 = np.maximum(np.where(has, fs.slots[np.maximum(e, 0)], 0), 0)
        self.slot = np.where(has, s0, -1)
        self.kind = np.where(has, fs.kind[s0], -1).astype(np.int8)
        kinds = np.unique(self.kind[has])
        self.kinds = set(kinds.tolist())
        self.one_kind = int(kinds[0]) if len(kinds) == 1 else None
        self.area = np.where(has, fs.area_index[s0], -1)
        self.circle = has & (self.area < 0)
        self.all_circle = bool(self.circle[has].all())
        self.all_area = not self.circle[has].any()
        self.cx = np.where(self.circle, fs.cx[s0], 0.0)
        self.cy = np.where(self.circle, fs.cy[s0], 0.0)
        self.kxc = np.where(self.circle, kxc[s0], 0.0)
        self.radius = np.where(self.circle, fs.radius[s0], 0.0)
        self.r1 = self.radius + 1.0                     # + 1 m: the circle's cheap far test has slack for rounding
        vf = np.where(has, fs.valid_from[s0], -np.inf)
        vt = np.where(has, fs.valid_to[s0], np.inf)
        finite = bool(np.isfinite(vf).any() or np.isfinite(vt).any())
        self.vf, self.vt = (vf, vt) if finite else (None, None)


@dataclass
class _Layout:
    columns: list
    primary_area: np.ndarray | None       # per FenceSet row (+ sentinel): the first allowed fence's area


def _layout(fs: FenceSet) -> _Layout | None:
    """The FenceSet as columns (cached on it), or None when its lists do not fit them: a person's allowed and
    leave fences must come first (compile_fences puts them there) and their other fences have distinct ids (one
    fence group each). Then every (fix, fence) test runs column by column without expanding pairs."""
    hit = fs._state_cache.get("layout", False)
    if hit is not False:
        return hit
    lay = None
    p = len(fs.person_ids)
    if p and len(fs.slots):
        cnt = np.diff(fs.indptr)
        owner = np.repeat(np.arange(p), cnt)
        pos = np.arange(len(fs.slots)) - fs.indptr[owner]
        ekind = fs.kind[fs.slots]
        isal = (ekind == _KIND_CODE["allowed"]) | (ekind == _KIND_CODE["leave"])
        na = np.bincount(owner[isal], minlength=p)
        fits = bool(np.array_equal(isal, pos < na[owner]))
        nal = np.nonzero(~isal)[0]
        if fits and len(nal):
            codes: dict = {}
            fid = np.fromiter((codes.setdefault(f.id, len(codes)) for f in fs.fences), dtype=np.int64,
                              count=len(fs.fences))
            key = owner[nal] * (len(codes) + 1) + fid[fs.slots[nal]]
            fits = len(np.unique(key)) == len(key)
        if fits:
            kxc = _M_PER_DEG * np.cos(np.radians(fs.cy))    # as _local_xy computes it per pair
            cols = [_Column(fs, np.where(na > k, fs.indptr[:-1] + k, -1), True, kxc)
                    for k in range(int(na.max(initial=0)))]
            other = cnt - na
            cols += [_Column(fs, np.where(other > k, fs.indptr[:-1] + na + k, -1), False, kxc)
                     for k in range(int(other.max(initial=0)))]
            primary = None
            if cols and cols[0].allowed and len(np.unique(cols[0].area[cols[0].area >= 0])) > 1:
                primary = cols[0].area
            lay = _Layout(cols, primary)
    fs._state_cache["layout"] = lay
    return lay


def _circle_codes(col: _Column, fr, lon, lat, need) -> np.ndarray:
    """+1 decisively outside, -1 inside, 0 neither, for fixes against their person's circle in this column.
    Exactly the pairwise test (hypot of the local metres); computed only for fixes within radius + need of the
    centre on both axes (|x|, |y| <= hypot), the others are outside by more than need."""
    c = np.ones(len(fr), dtype=np.int8)
    thr = col.r1[fr] + need
    near = np.nonzero(np.abs(lat - col.cy[fr]) * _M_PER_DEG <= thr)[0]
    if len(near):
        f = fr[near]
        near = near[np.abs(lon[near] - col.cx[f]) * col.kxc[f] <= thr[near]]
    if len(near):
        f = fr[near]
        x = (lon[near] - col.cx[f]) * col.kxc[f]
        y = (lat[near] - col.cy[f]) * _M_PER_DEG
        d = np.hypot(x, y) - col.radius[f]
        nd = need[near]
        c[near] = np.where(d > nd, 1, np.where(d < -nd, -1, 0))
    return c


def _area_codes(fs: FenceSet, col: _Column, fr, lon, lat, need) -> np.ndarray:
    """The codes of fixes against their person's polygon in this column: one grid pass per run of fixes with
    the same area (persons are sorted area by area), else one pass per area present."""
    a = col.area[fr]
    m = len(a)
    if m == 0:
        return np.zeros(0, dtype=np.int8)
    lo, hi = int(a.min()), int(a.max())
    if lo == hi:
        return fs.areas[lo].classify(lon, lat, need)[0]
    c = np.empty(m, dtype=np.int8)
    brk = np.nonzero(a[1:] != a[:-1])[0] + 1
    if len(brk) < 64:
        edges = [0, *brk.tolist(), m]
        for s0, e0 in zip(edges[:-1], edges[1:]):
            c[s0:e0] = fs.areas[int(a[s0])].classify(lon[s0:e0], lat[s0:e0], need[s0:e0])[0]
    else:
        for k in np.nonzero(np.bincount(a - lo))[0].tolist():
            r = np.nonzero(a == k + lo)[0]
            c[r] = fs.areas[k + lo].classify(lon[r], lat[r], need[r])[0]
    return c


def _column_codes(fs: FenceSet, col: _Column, s: EngineSettings, fsrow, known: bool, t, lon, lat, need):
    """Per fix: +1 / -1 / 0 (violating / keeping / undecided: an exclusion's violation is being inside),
    _OUT_OF_WINDOW for a curfew outside its windows, _NO_ROW without a valid fence in this column."""
    n = len(t)
    if col.full and known:
        rows = None
        fr, tt, lo, la, nd = fsrow, t, lon, lat, need
    else:
        rows = np.nonzero(col.entry[fsrow] >= 0)[0]
        if len(rows) == 0:
            return None
        fr, tt, lo, la, nd = fsrow[rows], t[rows], lon[rows], lat[rows], need[rows]
    if col.all_circle:
        c = _circle_codes(col, fr, lo, la, nd)
    elif col.all_area:
        c = _area_codes(fs, col, fr, lo, la, nd)
    else:
        c = np.empty(len(fr), dtype=np.int8)
        isc = col.circle[fr]
        i = np.nonzero(isc)[0]
        c[i] = _circle_codes(col, fr[i], lo[i], la[i], nd[i])
        i = np.nonzero(~isc)[0]
        c[i] = _area_codes(fs, col, fr[i], lo[i], la[i], nd[i])
    k = col.one_kind
    if k == _KIND_CODE["exclusion"]:
        np.negative(c, out=c)                                   # an exclusion's violation is being inside
    elif k is None and _KIND_CODE["exclusion"] in col.kinds:
        ex = col.kind[fr] == _KIND_CODE["exclusion"]
        c[ex] = -c[ex]
    if _KIND_CODE["curfew"] in col.kinds:
        cu = np.arange(len(fr)) if k == _KIND_CODE["curfew"] else np.nonzero(col.kind[fr] == _KIND_CODE["curfew"])[0]
        local = (tt[cu] + s.local_utc_offset_s) % 86400.0
        w = fs.windows[col.slot[fr[cu]]]
        a_s, b_s = w[:, :, 0], w[:, :, 1]
        lt = local[:, None]
        inwin = np.where(a_s <= b_s, (lt >= a_s) & (lt < b_s), (lt >= a_s) | (lt < b_s))
        inwin = (inwin & ~np.isnan(a_s)).any(axis=1)
        c[cu[~inwin]] = _OUT_OF_WINDOW
    if col.vf is not None:
        c[~((col.vf[fr] <= tt) & (tt < col.vt[fr]))] = _NO_ROW
    if rows is None:
        return c
    out = np.full(n, _NO_ROW, dtype=np.int8)
    out[rows] = c
    return out


def _hysteresis(g, c, t, s0, r0, t0, k_fix: int, t_s: float):
    """The hysteresis rule, vectorised, over rows grouped by group (contiguous, time order within a group).
    g: the group (0..G-1) of each row; c: -1 keeping / +1 violating / _OUT_OF_WINDOW; t: times; s0, r0, t0: per
    group the status, run length and run start before these rows. A group's rows go in segments (a curfew fix
    outside its windows ends one: status 0, no run) and a segment in maximal runs of equal codes. A run that
    contradicts the status flips it at its first row with K decisive fixes or T seconds since the run began
    (the stored run continues into the group's first run); the rest of that run then confirms the new status.
    A run contradicts iff the previous run confirmed or flipped, so after a flipping run every second run
    contradicts: the last flipping run before it decides each run's side.
    Returns (rows that flip, their new status, groups with rows, their final status, run, run start)."""
    m = len(c)
    first = np.ones(m, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    gfirst = np.nonzero(first)[0]
    glast = np.concatenate([gfirst[1:] - 1, [m - 1]])
    groups = g[gfirst]
    ng = len(groups)
    fin_s = np.zeros(ng, dtype=np.int8)
    fin_r = np.zeros(ng, dtype=np.int32)
    fin_t = np.full(ng, np.nan)
    reset = c == _OUT_OF_WINDOW
    keep = np.nonzero(~reset)[0]
    if len(keep) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8), groups, fin_s, fin_r, fin_t
    gord = np.cumsum(first) - 1                                 # the group's ordinal, per row
    segst = first.copy()
    segst[1:] |= reset[:-1]
    before = np.cumsum(reset) - reset                           # resets before each row
    carry = (before - before[gfirst][gord]) == 0                # no reset before it in its group
    gk, tk, vk, sk, ck = gord[keep], t[keep], c[keep] == 1, segst[keep], carry[keep]
    mk = len(keep)
    newrun = sk.copy()
    newrun[1:] |= vk[1:] != vk[:-1]
    newrun[0] = True
    rid = np.cumsum(newrun) - 1
    rfirst = np.nonzero(newrun)[0]
    nr = len(rfirst)
    rseg = sk[rfirst]
    rv = vk[rfirst]
    gid = groups[gk[rfirst]]
    rcarry = rseg & ck[rfirst]                                  # the group's first run: the stored run goes on
    r0r = np.where(rcarry, r0[gid], 0).astype(np.int64)
    rs = np.where(rcarry & (r0r > 0), t0[gid], tk[rfirst])      # the run's start time
    cnt = np.arange(mk) - rfirst[rid] + 1 + r0r[rid]
    hit = (cnt >= k_fix) | (tk - rs[rid] >= t_s)
    cond = np.zeros(nr, dtype=bool)
    fliprow = np.zeros(nr, dtype=np.int64)
    hi = np.nonzero(hit)[0]
    if len(hi):
        hr = rid[hi]
        fh = np.ones(len(hi), dtype=bool)
        fh[1:] = hr[1:] != hr[:-1]
        cond[hr[fh]] = True
        fliprow[hr[fh]] = hi[fh]
    segid = np.cumsum(rseg) - 1
    segfirst = np.nonzero(rseg)[0]
    ri = np.arange(nr) - segfirst[segid]
    sinit = np.where(ck[rfirst], s0[gid], 0) == 1               # the status a segment starts from
    big = nr + 3
    anc = np.where(cond, segid * big + ri + 2, -1)
    sh = np.empty(nr, dtype=np.int64)
    sh[0] = -1
    sh[1:] = anc[:-1]
    sh[segfirst] = segid[segfirst] * big + (rv[segfirst] != sinit[segfirst])
    anchor = np.maximum.accumulate(sh) - segid * big - 2
    contra = (ri - anchor - 1) % 2 == 0
    flip = np.nonzero(contra & cond)[0]
    flip_rows = keep[fliprow[flip]]
    flip_status = rv[flip].astype(np.int8)
    ok = ~reset[glast]                                           # groups ending on a reset: 0, 0, nan
    kp = np.searchsorted(keep, glast[ok])
    ru = rid[kp]
    pend = contra[ru] & ~cond[ru]                                # a run under way at the end
    fin_s[ok] = np.where(pend, ~rv[ru], rv[ru])
    fin_r[ok] = np.where(pend, cnt[kp], 0)
    fin_t[ok] = np.where(pend, rs[ru], np.nan)
    return flip_rows, flip_status, groups, fin_s, fin_r, fin_t


def _column_hysteresis(st, s, col: _Column, fs_grows, c, t, starts, ends, pr_fs, fsrow, pending) -> None:
    """The hysteresis of one column's groups (one per person). Persons with nothing contradicting their status
    and no run under way change nothing (a confirming fix only ends a run); the others run `_hysteresis`."""
    e = col.entry[pr_fs]
    grun = np.where(e >= 0, fs_grows[np.maximum(e, 0)], -1)
    has = grun >= 0
    g0 = np.maximum(grun, 0)
    srun = np.where(has, st.g_status[g0], 0)
    if srun.any():
        contra = np.where(np.repeat(srun != 0, ends - starts), c < 0, c == 1)
    else:
        contra = c == 1
    slow = has & ((st.g_run[g0] != 0) | ~np.isnan(st.g_start[g0]))
    cp = np.nonzero(contra)[0]
    if len(cp):
        slow[np.searchsorted(starts, cp, side="right") - 1] = True
    sr = np.nonzero(slow)[0]
    if len(sr) == 0:
        return
    lens = ends[sr] - starts[sr]
    idx = np.repeat(starts[sr] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
    gl = np.repeat(np.arange(len(sr)), lens)
    ci = c[idx]
    dec = (ci != 0) & (ci != _NO_ROW)
    idx, gl, ci = idx[dec], gl[dec], ci[dec]
    if len(idx) == 0:
        return
    gr = grun[sr]
    flip_rows, flip_status, groups, fin_s, fin_r, fin_t = _hysteresis(
        gl, ci, t[idx], st.g_status[gr], st.g_run[gr], st.g_start[gr], s.exit_fixes, s.exit_minutes * 60.0)
    gg = gr[groups]
    st.g_status[gg], st.g_run[gg], st.g_start[gg] = fin_s, fin_r, fin_t
    if len(flip_rows):
        rows = idx[flip_rows]
        slots = col.slot[fsrow[rows]]
        kinds = col.kind[fsrow[rows]]
        for g, i, k, sl, status in zip(gr[gl[flip_rows]].tolist(), rows.tolist(), kinds.tolist(), slots.tolist(),
                                       flip_status.tolist()):
            etype = _EVENT_FOR.get((_KIND_CODE["allowed"] if k == _KIND_CODE["leave"] else k, status))
            if etype:
                pending.append((g, i, etype, sl))


def _fence_rules(fs, fs_grows, st, s, fsrow, t, lon, lat, acc, dev, rows, events, starts, ends):
    if len(fs.slots) == 0:
        return
    lay = _layout(fs)
    if lay is None:
        _fence_rules_pairs(fs, fs_grows, st, s, fsrow, t, lon, lat, acc, dev, rows, events)
        return
    pr_fs = fsrow[starts]                  # the FenceSet row of each person's rows (-1: not in the set)
    if not (pr_fs >= 0).any():
        return
    known = bool((pr_fs >= 0).all())
    need = acc + s.margin_m
    pending: list = []                     # (group row, fix row, event type, slot)
    allowed = None
    for col in lay.columns:
        c = _column_codes(fs, col, s, fsrow, known, t, lon, lat, need)
        if c is None:
            continue
        if not col.allowed:
            _column_hysteresis(st, s, col, fs_grows, c, t, starts, ends, pr_fs, fsrow, pending)
        elif allowed is None:
            allowed = c
        else:
            # the allowed area is the union of the valid allowed and leave fences: min over them
            np.minimum(allowed, c, out=allowed)
    if allowed is not None:
        _column_hysteresis(st, s, lay.columns[0], fs_grows, allowed, t, starts, ends, pr_fs, fsrow, pending)
    if pending:
        pending.sort(key=lambda p: (p[0], p[1]))                # by group, then time: as the rule ran them
        events.extend(_fence_events([(p[2], p[1], p[3]) for p in pending], fs, rows, t, lon, lat, acc, dev,
                                    fsrow))


def _fence_rules_pairs(fs, fs_grows, st, s, fsrow, t, lon, lat, acc, dev, source, events):
    """The rules pair by pair (fix x fence), for fence lists the columns do not fit."""
    have = fsrow >= 0
    if not have.any() or len(fs.slots) == 0:
        return
    fi = np.nonzero(have)[0]
    r = fsrow[fi]
    start = fs.indptr[r]
    cnt = fs.indptr[r + 1] - start
    if cnt.sum() == 0:
        return
    pf = np.repeat(fi, cnt)                                     # pair -> fix
    csr = np.repeat(start - np.cumsum(cnt) + cnt, cnt) + np.arange(cnt.sum())  # pair -> CSR entry
    slot = fs.slots[csr]
    pt = t[pf]
    valid = (fs.valid_from[slot] <= pt) & (pt < fs.valid_to[slot])
    if not valid.all():
        keep = np.nonzero(valid)[0]
        pf, csr, slot, pt = pf[keep], csr[keep], slot[keep], pt[keep]
    if len(pf) == 0:
        return
    need = acc[pf] + s.margin_m
    c = np.zeros(len(pf), dtype=np.int8)                         # +1 decisively outside, -1 inside
    aidx = fs.area_index[slot]
    circ = aidx < 0
    if circ.any():
        ci = np.nonzero(circ)[0]
        sl = slot[ci]
        x, y = _local_xy(lon[pf[ci]], lat[pf[ci]], fs.cx[sl], fs.cy[sl])
        d = np.hypot(x, y) - fs.radius[sl]
        nd = need[ci]
        c[ci] = np.where(d > nd, 1, np.where(d < -nd, -1, 0))
    if (~circ).any():
        pi = np.nonzero(~circ)[0]
        ai = aidx[pi]
        if len(fs.areas) == 1:
            groups = [(0, pi)]
        else:
            # a few areas (counties) shared by many: one pass per area present beats a sort of the pairs
            present = np.bincount(ai, minlength=len(fs.areas))
            if (present > 0).sum() <= 32:
                groups = [(a, pi[ai == a]) for a in np.nonzero(present)[0].tolist()]
            else:
                o = np.argsort(ai, kind="stable")
                bounds = np.nonzero(np.diff(ai[o]))[0] + 1
                groups = [(int(ai[o[g[0]]]), pi[o[g]]) for g in np.split(np.arange(len(o)), bounds)]
        for a, rows in groups:
            c[rows], _ = fs.areas[a].classify(lon[pf[rows]], lat[pf[rows]], need[rows])
    kind = fs.kind[slot]
    excl = kind == _KIND_CODE["exclusion"]
    c[excl] = -c[excl]                                          # an exclusion's violation is being inside
    curf = kind == _KIND_CODE["curfew"]
    if curf.any():
        cu = np.nonzero(curf)[0]
        local = (pt[cu] + s.local_utc_offset_s) % 86400.0
        w = fs.windows[slot[cu]]
        a_s, b_s = w[:, :, 0], w[:, :, 1]
        lt = local[:, None]
        inwin = np.where(a_s <= b_s, (lt >= a_s) & (lt < b_s), (lt >= a_s) | (lt < b_s))
        inwin = (inwin & ~np.isnan(a_s)).any(axis=1)
        c[cu[~inwin]] = _OUT_OF_WINDOW
    grow = fs_grows[csr]
    # A person's allowed area is the union of their valid allowed and leave fences: decisively outside only
    # when outside all of them, decisively inside when inside any (min over the fix's allowed pairs).
    allowed = (kind == _KIND_CODE["allowed"]) | (kind == _KIND_CODE["leave"])
    if allowed.any():
        brk = np.ones(len(pf), dtype=bool)
        brk[1:] = (pf[1:] != pf[:-1]) | (grow[1:] != grow[:-1])
        if not brk.all():
            seg = np.nonzero(brk)[0]
            cmin = np.minimum.reduceat(c, seg)
            pf, csr, slot, grow, pt, c, kind = (v[seg] for v in (pf, csr, slot, grow, pt, c, kind))
            c = cmin
    s0 = st.g_status[grow]
    contra = np.where(s0 == 0, c == 1, c < 0)
    slow = np.zeros(len(st.g_status), dtype=bool)
    if contra.any():
        slow[grow[contra]] = True
    # Fast path (nearly every group): nothing contradicts the current status; a confirming fix ends a run.
    confirm = (c != 0) & ~slow[grow]
    if confirm.any():
        st.g_run[grow[confirm]] = 0
        st.g_start[grow[confirm]] = np.nan
    if not contra.any():
        return
    # Slow path: the groups where something may change, fix by fix in time order.
    rows = np.nonzero(slow[grow] & (c != 0))[0]
    rows = rows[np.argsort(grow[rows], kind="stable")]        # by group; time order kept within a group
    k_fix, t_s = s.exit_fixes, s.exit_minutes * 60.0
    g_prev = -1
    status = run = 0
    rstart = math.nan
    pending: list[tuple[str, int, int]] = []
    # plain lists: indexing NumPy arrays one element at a time costs more than the rule itself
    for i, g, ci, ti in zip(rows.tolist(), grow[rows].tolist(), c[rows].tolist(), pt[rows].tolist()):
        if g != g_prev:
            if g_prev >= 0:
                st.g_status[g_prev], st.g_run[g_prev], st.g_start[g_prev] = status, run, rstart
            g_prev = g
            status, run, rstart = int(st.g_status[g]), int(st.g_run[g]), float(st.g_start[g])
        if ci == _OUT_OF_WINDOW:
            status, run, rstart = 0, 0, math.nan
            continue
        if (ci == 1) == (status == 1):          # confirms the current status
            run, rstart = 0, math.nan
            continue
        if run == 0:
            rstart = ti
        run += 1
        if run >= k_fix or ti - rstart >= t_s:
            status = 1 - status
            run, rstart = 0, math.nan
            k = int(kind[i])
            etype = _EVENT_FOR.get((_KIND_CODE["allowed"] if k == _KIND_CODE["leave"] else k, status))
            if etype:
                pending.append((etype, int(pf[i]), int(slot[i])))
    if g_prev >= 0:
        st.g_status[g_prev], st.g_run[g_prev], st.g_start[g_prev] = status, run, rstart
    if pending:
        events.extend(_fence_events(pending, fs, source, t, lon, lat, acc, dev, fsrow))


def _signed_distances(fs: FenceSet, slots: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Exact signed distances (metres, negative inside) of points to fences, vectorised per prepared area."""
    out = np.zeros(len(slots))
    aidx = fs.area_index[slots]
    ci = np.nonzero(aidx < 0)[0]
    if len(ci):
        sl = slots[ci]
        x, y = _local_xy(lon[ci], lat[ci], fs.cx[sl], fs.cy[sl])
        out[ci] = np.hypot(x, y) - fs.radius[sl]
    for a in np.unique(aidx[aidx >= 0]).tolist():
        rows = np.nonzero(aidx == a)[0]
        area = fs.areas[a]
        x, y = area.project(lon[rows], lat[rows])
        out[rows] = area.signed_distance_exact(x, y)
    return out


def _fence_events(pending, fs, rows, t, lon, lat, acc, dev, fsrow) -> list[Event]:
    """Events for (type, fix, slot) with the distance beyond the fence; for the allowed area, measured to the
    nearest of the person's allowed and leave fences valid at that time (the first such in the person's list on
    a tie)."""
    k = len(pending)
    fix = np.fromiter((p[1] for p in pending), dtype=np.int64, count=k)
    slot = np.fromiter((p[2] for p in pending), dtype=np.int64, count=k)
    al_kind = (fs.kind == _KIND_CODE["allowed"]) | (fs.kind == _KIND_CODE["leave"])
    isal = al_kind[slot]
    ev_parts, sl_parts = [np.nonzero(~isal)[0]], [slot[~isal]]
    a = np.nonzero(isal)[0]
    if len(a):
        r = fsrow[fix[a]]
        first = fs.indptr[r]
        cnt = fs.indptr[r + 1] - first
        ev = np.repeat(a, cnt)
        entry = np.repeat(first - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))
        sl = fs.slots[entry]
        tt = t[fix[ev]]
        ok = al_kind[sl] & (fs.valid_from[sl] <= tt) & (tt < fs.valid_to[sl])
        ev_parts.append(ev[ok])
        sl_parts.append(sl[ok])
    ev = np.concatenate(ev_parts)
    cs = np.concatenate(sl_parts)
    o = np.argsort(ev, kind="stable")
    ev, cs = ev[o], cs[o]
    d = _signed_distances(fs, cs, lon[fix[ev]], lat[fix[ev]])
    head = np.ones(len(ev), dtype=bool)
    head[1:] = ev[1:] != ev[:-1]
    dmin = np.minimum.reduceat(d, np.nonzero(head)[0])
    at = np.nonzero(d == dmin[np.cumsum(head) - 1])[0]
    fm = np.ones(len(at), dtype=bool)
    fm[1:] = ev[at[1:]] != ev[at[:-1]]
    best = at[fm]                                               # one per event, in order
    fences = fs.fences
    out = []
    cols = zip((p[0] for p in pending), rows.pick("person", fix).tolist(), t[fix].tolist(), lon[fix].tolist(),
               lat[fix].tolist(), acc[fix].tolist(), dev[fix].tolist(), d[best].tolist(), cs[best].tolist())
    for etype, person, tm, x, y, a_m, dv, dist, sl in cols:
        f = fences[sl]
        if f.kind == "exclusion":
            dist = -dist
        out.append(Event(type=etype, person=person, time=tm, lon=x, lat=y, fence_id=f.id,
                         distance_m=round(dist, 1), accuracy_m=a_m, device=DEVICE_KINDS[dv],
                         detail={"fence_kind": f.kind}))
    return out


def _ffill_index(mask: np.ndarray) -> np.ndarray:
    """For each position, the index of the last position <= it where mask is True (-1 if none)."""
    idx = np.where(mask, np.arange(len(mask)), -1)
    return np.maximum.accumulate(idx) if len(idx) else idx


def _device_rules(st, s, prow, t, lon, lat, acc, dev, blvl, rows, events, starts, ends):
    single = not dev.any()                 # all phones (the usual batch): no per-device selection
    for d in (0, 1):
        if single:
            if d == 1:
                break
            di, p, ps, pe = None, prow, starts, ends
        else:
            di = np.nonzero(dev == d)[0]
            if len(di) == 0:
                continue
            p = prow[di]
            ps = np.concatenate([[0], np.nonzero(p[1:] != p[:-1])[0] + 1])
            pe = np.concatenate([ps[1:], [len(p)]])

        def sub(a, di=di):
            return a if di is None else a[di]
        _battery_rule(st, d, p, sub(blvl), ps, pe, di, t, lon, lat, acc, rows, events)
        _speed_rule(st, s, d, p, sub(t), sub(lon), sub(lat), sub(acc), di, rows, events, ps, pe)
    _apart_rule(st, s, prow, t, lon, lat, acc, dev, rows, events, None)
    # last fix of each kind, for the next batch's pairing
    for d in (0, 1):
        if single:
            if d == 1:
                break
            li = ends - 1
        else:
            di = np.nonzero(dev == d)[0]
            if len(di) == 0:
                continue
            p = prow[di]
            last = np.ones(len(di), dtype=bool)
            last[:-1] = p[1:] != p[:-1]
            li = di[last]
        lp = prow[li]
        st.dev_t[lp, d], st.dev_x[lp, d], st.dev_y[lp, d], st.dev_acc[lp, d] = t[li], lon[li], lat[li], acc[li]


def _battery_rule(st, d, p, lvl, starts, ends, di, t, lon, lat, acc, rows, events) -> None:
    """battery_low when a device's level goes from armed (+1) to low (-1), skipping unknown levels (0)."""
    nz = lvl != 0
    if not nz.any():
        return
    last_nz = _ffill_index(nz)                                  # the latest known level up to each row
    low = np.nonzero(lvl == -1)[0]
    if len(low):
        prev = np.where(low > 0, last_nz[low - 1], -1)          # the previous known level of the person ...
        ok = prev >= starts[np.searchsorted(starts, low, side="right") - 1]
        prev_lvl = np.where(ok, lvl[np.maximum(prev, 0)], st.bat_level[p[low], d])   # ... or the state's
        fire = low[prev_lvl == 1]
        if len(fire):
            fi = fire if di is None else di[fire]
            for person, tm, x, y, a, b in zip(rows.pick("person", fi).tolist(), t[fi].tolist(), lon[fi].tolist(),
                                              lat[fi].tolist(), acc[fi].tolist(), rows.pick("battery", fi).tolist()):
                events.append(Event("battery_low", person, tm, x, y, accuracy_m=a, device=DEVICE_KINDS[d],
                                    detail={"battery_pct": b}))
    q = last_nz[ends - 1]
    ok = q >= starts
    st.bat_level[p[starts[ok]], d] = lvl[q[ok]]


def _speed_rule(st, s, d, p, t, x, y, a, di, rows, events, ps, pe) -> None:
    """speed_impossible between consecutive usable fixes of one device. Rows grouped by person (runs ps..pe).
    Most persons cannot have an impossible step at all: the extent of all their fixes (and the stored one) is
    an upper bound of every step's distance, the shortest time between two of their fixes a lower bound of its
    time; only the others run the rule fix by fix."""
    use = a <= s.speed_max_accuracy_m
    if not use.any():
        return
    pp = p[ps]
    sx, sy, stt = st.spd_x[pp, d], st.spd_y[pp, d], st.spd_t[pp, d]
    # an upper bound of the great-circle distance between any two of a person's points: along the meridian,
    # then along the parallel (at most M_PER_DEG * (|dlat| + cos(lat) |dlon|), cos(lat) <= cmax), with slack
    cmax = min(1.0, float(np.cos(np.radians(min(np.abs(y).min(), np.nanmin(np.abs(sy), initial=90.0))))) + 1e-12)
    ext = (np.fmax(np.maximum.reduceat(x, ps), sx) - np.fmin(np.minimum.reduceat(x, ps), sx)) * cmax
    ext += np.fmax(np.maximum.reduceat(y, ps), sy) - np.fmin(np.minimum.reduceat(y, ps), sy)
    ext *= _M_PER_DEG * 3.6 * (1.0 + 1e-7)
    gap = np.empty(len(t))
    gap[1:] = t[1:] - t[:-1]
    gap[ps] = np.where(np.isfinite(stt), t[ps] - stt, np.inf)
    dtmin = np.minimum.reduceat(gap, ps)
    cand = np.nonzero(ext + 0.01 > np.maximum(dtmin, 1.0) * (s.max_speed_kmh * (1.0 - 1e-7)))[0]
    # the state: each person's last usable fix, not flagged (the candidates' are set by the exact rule)
    lu = pe - 1                                                 # usually the person's last fix ...
    bad = np.nonzero(~use[lu])[0]
    if len(bad):                                                # ... else the latest usable one (-1: none)
        lens = pe[bad] - ps[bad]
        idx = np.repeat(ps[bad] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
        lu[bad] = np.maximum.reduceat(np.where(use[idx], idx, -1), np.cumsum(lens) - lens)
    ok = lu >= ps
    ok[cand] = False
    lp, li = pp[ok], lu[ok]
    st.spd_t[lp, d], st.spd_x[lp, d], st.spd_y[lp, d] = t[li], x[li], y[li]
    st.spd_acc[lp, d], st.spd_flag[lp, d] = a[li], False
    if len(cand) == 0:
        return
    lens = pe[cand] - ps[cand]
    idx = np.repeat(ps[cand] - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))
    ui = idx[use[idx]]
    if len(ui):
        _speed_exact(st, s, d, p[ui], t[ui], x[ui], y[ui], a[ui], ui if di is None else di[ui], rows, events)


def _speed_exact(st, s, d, pu, tu, xu, yu, au, fix, rows, events) -> None:
    """The speed rule fix by fix over usable fixes grouped by person (fix: their rows, for the events)."""
    m = len(pu)
    newp = np.ones(m, dtype=bool)
    newp[1:] = pu[1:] != pu[:-1]
    firsts = np.nonzero(newp)[0]
    pf_ = pu[firsts]

    def prev(col, stcol):
        # the previous usable fix of the device: the row before, or the state's for a person's first row
        out = np.empty(m)
        out[1:] = col[:-1]
        out[firsts] = stcol[pf_, d]
        return out
    pt_, px, py, pa = prev(tu, st.spd_t), prev(xu, st.spd_x), prev(yu, st.spd_y), prev(au, st.spd_acc)
    has = np.isfinite(pt_)
    dist = _dist_m(px, py, xu, yu)
    dist[~has] = 0.0
    eff = np.maximum(dist - au - np.nan_to_num(pa), 0.0)
    dt = np.maximum(tu - np.nan_to_num(pt_), 1.0)
    kmh = eff / dt * 3.6
    flag = has & (kmh > s.max_speed_kmh)
    if flag.any():
        # a jump out and straight back is one event: a flagged step after a flagged step is not raised
        prev_flag = np.where(newp, st.spd_flag[pu, d], np.concatenate([[False], flag[:-1]]))
        j = np.nonzero(flag & ~prev_flag)[0]
        for person, tm, x, y, a, v, ft, jm in zip(rows.pick("person", fix[j]).tolist(), tu[j].tolist(),
                                                   xu[j].tolist(), yu[j].tolist(), au[j].tolist(), kmh[j].tolist(),
                                                   pt_[j].tolist(), dist[j].tolist()):
            events.append(Event("speed_impossible", person, tm, x, y, accuracy_m=a, device=DEVICE_KINDS[d],
                                detail={"speed_kmh": round(v, 1), "from_time": ft, "jump_m": round(jm, 1)}))
    last = np.ones(m, dtype=bool)
    last[:-1] = newp[1:]
    lp = pu[last]
    st.spd_t[lp, d], st.spd_x[lp, d], st.spd_y[lp, d] = tu[last], xu[last], yu[last]
    st.spd_acc[lp, d], st.spd_flag[lp, d] = au[last], flag[last]


def _apart_rule(st, s, prow, t, lon, lat, acc, dev, fixes: _Rows, events, first_of_person=None):
    """devices_apart: each fix is compared with the latest fix of the person's other device (this batch or the
    state) taken within apart_pair_s. Apart: the distance less both accuracies exceeds apart_m; together: the
    distance is at most apart_m; neither: undecided (changes nothing). Apart for more than apart_minutes
    raises once; together ends it."""
    if not (dev == 1).any() and not np.isfinite(st.dev_t[:, 1]).any():
        return
    # Only persons with a wristband fix now or in the state matter.
    wear = np.zeros(len(st.last_seen), dtype=bool)
    wear[prow[dev == 1]] = True
    wear |= np.isfinite(st.dev_t[:, 1])
    rows = np.nonzero(wear[prow])[0]
    if len(rows) == 0:
        return
    p, tt, xx, yy, aa, dd = prow[rows], t[rows], lon[rows], lat[rows], acc[rows], dev[rows]
    newp = np.ones(len(rows), dtype=bool)
    newp[1:] = p[1:] != p[:-1]
    start = _ffill_index(newp)
    ot = np.full(len(rows), np.nan)
    ox, oy, oa = ot.copy(), ot.copy(), ot.copy()
    for d in (0, 1):
        last_d = _ffill_index(dd == d)                      # latest fix of kind d up to here
        in_batch = last_d >= start
        other = dd != d                                     # rows whose other kind is d
        sel = other & in_batch
        j = last_d[sel]
        ot[sel], ox[sel], oy[sel], oa[sel] = tt[j], xx[j], yy[j], aa[j]
        sel = other & ~in_batch
        pp = p[sel]
        ot[sel], ox[sel], oy[sel], oa[sel] = st.dev_t[pp, d], st.dev_x[pp, d], st.dev_y[pp, d], st.dev_acc[pp, d]
    comp = np.isfinite(ot) & (np.abs(tt - ot) <= s.apart_pair_s)
    dist = np.where(comp, _dist_m(np.nan_to_num(ox), np.nan_to_num(oy), xx, yy), 0.0)
    apart = comp & (dist - aa - np.nan_to_num(oa) > s.apart_m)
    together = comp & ~apart & (dist <= s.apart_m)
    persons = np.unique(p[apart]) if apart.any() else np.zeros(0, dtype=np.int64)
    pending = np.nonzero(np.isfinite(st.apart_start) | (st.apart_status == 1))[0]
    busy = np.zeros(len(st.last_seen), dtype=bool)
    busy[persons] = True
    busy[pending] = True
    # Fast path: persons never apart in this batch and with nothing pending: nothing to do.
    todo = np.nonzero(busy[p] & (apart | together))[0]
    limit = s.apart_minutes * 60.0
    cur = -1
    status, started = 0, math.nan
    for j in todo.tolist():
        r = int(p[j])
        if r != cur:
            if cur >= 0:
                st.apart_status[cur], st.apart_start[cur] = status, started
            cur = r
            status, started = int(st.apart_status[r]), float(st.apart_start[r])
        if together[j]:
            status, started = 0, math.nan
            continue
        if math.isnan(started):
            started = float(min(tt[j], ot[j]))
        if status == 0 and tt[j] - started > limit:
            status = 1
            i = int(rows[j])
            events.append(Event("devices_apart", _plain(fixes.pick("person", i)), float(t[i]), float(lon[i]),
                                float(lat[i]), accuracy_m=float(acc[i]), device=DEVICE_KINDS[int(dev[i])],
                                detail={"apart_m": round(float(dist[j]), 1), "since": started}))
    if cur >= 0:
        st.apart_status[cur], st.apart_start[cur] = status, started


def signal_lost(last_fix_time_per_person: Mapping | EngineState, now: float | datetime, minutes: float
                ) -> list[Event]:
    """The periodic sweep: one signal_lost event per person whose latest fix is older than `minutes`."""
    if isinstance(last_fix_time_per_person, EngineState):
        last_fix_time_per_person = last_fix_time_per_person.last_fix_times()
    now_s = _epoch(now, math.nan)
    limit = now_s - minutes * 60.0
    out = []
    for pid, last in last_fix_time_per_person.items():
        last_s = _epoch(last, -math.inf)
        if last_s < limit:
            out.append(Event("signal_lost", pid, now_s, math.nan, math.nan,
                             detail={"last_fix_time": last_s if math.isfinite(last_s) else None,
                                     "minutes": round((now_s - last_s) / 60.0, 1) if math.isfinite(last_s)
                                     else None}))
    return out
