"""Reading fences and traces from files, for the engine. Django-free (an import-linter contract keeps it so).

* `load_fence_geometry(path_or_dict, crs)` -> a WGS-84 shapely (Multi)Polygon from GeoJSON: a Polygon or
  MultiPolygon geometry, a Feature, or a FeatureCollection (all its polygon features, unioned). Boundaries from
  AMap (the county files in ../shared/data/admin_boundaries) are GCJ-02: pass crs="gcj02".
* `read_plt(path)` / `read_trace(path_or_dir)` -> `Trace` columns from GeoLife .plt files (WGS-84, UTC).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from apps.orgs.coords import CRS, convert_geometry

__all__ = ["GeoError", "CRS_CHOICES", "parse_crs", "load_fence_geometry", "Trace", "read_plt", "read_trace",
           "GEOLIFE_ACCURACY_M"]

CRS_CHOICES = {"wgs84": CRS.WGS84, "gcj02": CRS.GCJ02, "bd09": CRS.BD09}
# GeoLife records no accuracy; its loggers were consumer GNSS receivers (typically 5-15 m). 10 m is assumed.
GEOLIFE_ACCURACY_M = 10.0
_POLYGONAL = ("Polygon", "MultiPolygon")


class GeoError(ValueError):
    """A file that cannot be used, with a message fit for the person who gave it."""


def parse_crs(value: str) -> CRS:
    key = str(value).lower().replace("-", "").replace("_", "")
    if key not in CRS_CHOICES:
        raise GeoError(f"unknown coordinate system {value!r}; expected one of {', '.join(CRS_CHOICES)}")
    return CRS_CHOICES[key]


def _geometries(doc: Any) -> list[dict]:
    if not isinstance(doc, dict) or "type" not in doc:
        raise GeoError("not a GeoJSON object (no 'type')")
    kind = doc["type"]
    if kind == "FeatureCollection":
        feats = doc.get("features")
        if not isinstance(feats, list):
            raise GeoError("a FeatureCollection needs a 'features' list")
        out = [g for f in feats for g in _geometries(f)]
        return out
    if kind == "Feature":
        g = doc.get("geometry")
        if g is None:
            return []
        return _geometries(g)
    if kind == "GeometryCollection":
        return [g for part in doc.get("geometries") or [] for g in _geometries(part)]
    if kind in _POLYGONAL:
        return [doc]
    return []  # points and lines in a collection are not fences


def load_fence_geometry(source: str | Path | dict, crs: str | CRS = "wgs84", *, feature: str | None = None):
    """A fence polygon in WGS-84. `feature`: with a FeatureCollection, use only the feature whose properties'
    adcode or name equals this (e.g. "110108" or "海淀区")."""
    if isinstance(source, dict):
        doc = source
    else:
        path = Path(source)
        if not path.is_file():
            raise GeoError(f"fence file not found: {path}")
        try:
            doc = json.loads(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise GeoError(f"{path}: not valid JSON ({e})") from None
    src = crs if isinstance(crs, CRS) else parse_crs(crs)
    if feature is not None:
        feats = [f for f in (doc.get("features") or []) if isinstance(f, dict)
                 and feature in (str((f.get("properties") or {}).get("adcode")), (f.get("properties") or {}).get("name"))]
        if not feats:
            raise GeoError(f"no feature with adcode or name {feature!r}")
        doc = {"type": "FeatureCollection", "features": feats}
    geoms = _geometries(doc)
    if not geoms:
        raise GeoError("the GeoJSON holds no Polygon or MultiPolygon")
    polys = []
    for g in geoms:
        try:
            if src != CRS.WGS84:
                g = convert_geometry(g, src=src, dst=CRS.WGS84)
            p = shape(g)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, shapely.errors.ShapelyError) as e:
            raise GeoError(f"bad polygon in the GeoJSON: {e}") from None
        if p.is_empty:
            continue
        if not p.is_valid:
            p = shapely.make_valid(p)
            p = shapely.union_all([q for q in shapely.get_parts(p) if q.geom_type in _POLYGONAL])
        polys.append(p)
    if not polys:
        raise GeoError("the GeoJSON's polygons are empty")
    geom = polys[0] if len(polys) == 1 else shapely.union_all(polys)
    lon0, lat0, lon1, lat1 = geom.bounds
    if not (-180 <= lon0 <= lon1 <= 180 and -90 <= lat0 <= lat1 <= 90):
        raise GeoError("the polygon's coordinates are not longitude/latitude degrees")
    return geom


@dataclass
class Trace:
    t: np.ndarray        # epoch seconds, UTC
    lat: np.ndarray
    lon: np.ndarray
    altitude_ft: np.ndarray

    def __len__(self) -> int:
        return len(self.t)


_EPOCH_1899 = datetime(1899, 12, 30, tzinfo=timezone.utc).timestamp()


def read_plt(path: str | Path) -> Trace:
    """One GeoLife .plt file: 6 header lines, then lat, lon, 0, altitude (feet, -777 unknown), days since
    1899-12-30, date, time (GMT). The date and time columns give the time; the day count is the fallback."""
    path = Path(path)
    if not path.is_file():
        raise GeoError(f"trace file not found: {path}")
    t, la, lo, al = [], [], [], []
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise GeoError(f"{path}: {e}") from None
    for n, line in enumerate(lines[6:], start=7):
        line = line.strip()
        if not line:
            continue
        parts = line.split(",")
        try:
            lat, lon = float(parts[0]), float(parts[1])
            alt = float(parts[3]) if len(parts) > 3 else np.nan
            if len(parts) >= 7:
                ts = datetime.strptime(f"{parts[5].strip()} {parts[6].strip()}", "%Y-%m-%d %H:%M:%S")
                sec = ts.replace(tzinfo=timezone.utc).timestamp()
            else:
                sec = _EPOCH_1899 + float(parts[4]) * 86400.0
        except (ValueError, IndexError):
            raise GeoError(f"{path}:{n}: not a GeoLife row: {line[:80]!r}") from None
        t.append(sec)
        la.append(lat)
        lo.append(lon)
        al.append(alt)
    return Trace(np.asarray(t, dtype=np.float64), np.asarray(la), np.asarray(lo), np.asarray(al))


def read_trace(path: str | Path) -> Trace:
    """A .plt file, or a directory of them (searched recursively, e.g. a GeoLife user's folder with its
    Trajectory/ subfolder), merged in time order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("*.plt"))
        if not files:
            raise GeoError(f"no .plt files in {path}")
        parts = [read_plt(f) for f in files]
        tr = Trace(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("t", "lat", "lon", "altitude_ft")))
    elif path.is_file():
        tr = read_plt(path)
    else:
        raise GeoError(f"trace not found: {path}")
    order = np.argsort(tr.t, kind="stable")
    return Trace(tr.t[order], tr.lat[order], tr.lon[order], tr.altitude_ft[order])
