"""Conversions between China's three geographic coordinate systems. Pure Python + NumPy, no Django.

The three systems
-----------------
* **WGS-84** - the GPS datum. Raw fixes from GPS/BeiDou chips, GPX/KML files, Google Earth, OpenStreetMap
  and every map outside mainland China are WGS-84.
* **GCJ-02** ("国测局坐标", "Mars coordinates") - WGS-84 run through the state-mandated obfuscation of the
  State Bureau of Surveying and Mapping. Every map licensed in mainland China must display GCJ-02, so AMap
  (高德), Tencent Maps (腾讯), Google Maps China and most location SDKs on Chinese phones (including the
  system location APIs of iOS/Android when a Chinese map SDK is used) hand out GCJ-02.
* **BD-09** - Baidu's extra layer of obfuscation on top of GCJ-02. Baidu Maps (百度地图) and the Baidu
  location SDK return BD-09 (longitude/latitude, "bd09ll") unless asked otherwise.

The offsets are large: a WGS-84 point plotted on an AMap tile as if it were GCJ-02 lands some 100-700 m away,
and BD-09 adds another ~1 km on top of that. Mixing systems silently puts a supervised person in the wrong
village, so **storage in this project is always WGS-84**: anything arriving from a GCJ-02/BD-09 source is
converted with `convert`/`convert_geometry` on the way in, and converted back only for display on a Chinese
tile layer.

The formulas
------------
* WGS-84 -> GCJ-02 is the widely circulated reverse-engineered obfuscation (Krasovsky-1940 ellipsoid,
  a = 6378245.0, e^2 = 0.00669342162296594323). It has no closed-form inverse, so GCJ-02 -> WGS-84 is
  solved here by fixed-point iteration (``w <- w - (f(w) - g)``) until every point moves by less than
  1e-9 degrees (about 0.1 mm), at most 30 rounds; it converges in 3-4 rounds because the offset field varies
  slowly. This is far better than the common one-step approximation ``w = g - delta(g)``, which is off by
  up to about 5 m inside China.
* GCJ-02 -> BD-09 is Baidu's closed-form formula (x_pi = pi * 3000 / 180, offsets 0.0065 / 0.006). The
  widely published "inverse" of it is not an exact inverse (it is off by up to about 0.2 m), so
  `bd09_to_gcj02` starts from that one-step formula and refines it with the same fixed-point iteration
  against `gcj02_to_bd09`, making the pair exact inverses to sub-millimetre level.

Points outside China
--------------------
Only points inside mainland China are obfuscated. As everybody does, "inside China" is the rough bounding
box lon 72.004..137.8347, lat 0.8293..55.8271 (it includes e.g. parts of Mongolia and Southeast Asia and
excludes nothing in mainland China). The GCJ transforms return points outside that box unchanged; the box is
tested on the *input* coordinates of each direction, so points within a few hundred metres of the box edge may
not round-trip. The BD-09 layer itself is applied everywhere, as Baidu's formula is.

Every conversion accepts Python numbers or NumPy arrays (broadcast together): numbers in give a tuple of
floats out; arrays (or lists) in give a tuple of float64 arrays out. Longitude always comes first.
"""
from __future__ import annotations

import copy
import math
from enum import StrEnum
from typing import Any

import numpy as np

__all__ = [
    "CRS",
    "CRS_LABELS",
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "wgs84_to_bd09",
    "bd09_to_wgs84",
    "convert",
    "convert_geometry",
    "haversine_m",
    "out_of_china",
]


class CRS(StrEnum):
    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"


CRS_LABELS = {
    CRS.WGS84: "WGS-84（GPS）",
    CRS.GCJ02: "GCJ-02（国测局，高德/腾讯）",
    CRS.BD09: "BD-09（百度）",
}

# Krasovsky-1940 ellipsoid, as used by the GCJ-02 obfuscation.
_A = 6378245.0
_EE = 0.00669342162296594323
# Baidu's constant.
_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# Rough "is this in China" box used by every GCJ-02 implementation.
_CHINA_LON_MIN, _CHINA_LON_MAX = 72.004, 137.8347
_CHINA_LAT_MIN, _CHINA_LAT_MAX = 0.8293, 55.8271

_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_ITER = 30

# Geodesic helpers: mean Earth radius (IUGG), metres.
_EARTH_RADIUS_M = 6371008.8

_GEOJSON_TYPES = (
    "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection",
)
_DECIMALS = 7  # ~1 cm, ample for GeoJSON storage


# --------------------------------------------------------------------------------------------- helpers
def _prepare(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Both inputs as broadcast float64 arrays, plus whether the caller passed plain numbers."""
    scalar = not isinstance(lon, np.ndarray) and not isinstance(lat, np.ndarray) \
        and np.ndim(lon) == 0 and np.ndim(lat) == 0
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_a, lat_a, scalar


def _finish(lon: np.ndarray, lat: np.ndarray, scalar: bool):
    if scalar:
        return float(lon), float(lat)
    return lon, lat


def _out_of_china(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return (lon < _CHINA_LON_MIN) | (lon > _CHINA_LON_MAX) | (lat < _CHINA_LAT_MIN) | (lat > _CHINA_LAT_MAX)


def out_of_china(lon, lat):
    """True where the point lies outside the rough China box (so GCJ-02 == WGS-84 there)."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    mask = _out_of_china(lon_a, lat_a)
    return bool(mask) if scalar else mask


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 obfuscation offset (dlon, dlat) in degrees at WGS-84 (lon, lat), with no China test."""
    x = lon - 105.0
    y = lat - 35.0
    xpi = x * math.pi
    ypi = y * math.pi
    common = (20.0 * np.sin(6.0 * xpi) + 20.0 * np.sin(2.0 * xpi)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))

    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
            + common
            + (20.0 * np.sin(ypi) + 40.0 * np.sin(ypi / 3.0)) * 2.0 / 3.0
            + (160.0 * np.sin(ypi / 12.0) + 320.0 * np.sin(ypi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
            + common
            + (20.0 * np.sin(xpi) + 40.0 * np.sin(xpi / 3.0)) * 2.0 / 3.0
            + (150.0 * np.sin(xpi / 12.0) + 300.0 * np.sin(xpi / 30.0)) * 2.0 / 3.0)

    # Metres-ish values above -> degrees on the Krasovsky ellipsoid at this latitude.
    rad_lat = np.radians(lat)
    sin_lat = np.sin(rad_lat)
    w = 1.0 - _EE * sin_lat * sin_lat
    sqrt_w = np.sqrt(w)
    dlat = dlat * 180.0 / ((_A * (1.0 - _EE)) / (w * sqrt_w) * math.pi)
    dlon = dlon * 180.0 / (_A / sqrt_w * np.cos(rad_lat) * math.pi)
    return dlon, dlat


def _wgs_to_gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_offset(lon, lat)
    outside = _out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def _fixed_point_inverse(forward, target_lon, target_lat, lon, lat):
    """Solve forward(lon, lat) == target by iterating x <- x - (forward(x) - target), from a first guess.

    Converges quickly because forward is the identity plus a slowly varying offset (true of both GCJ-02 and
    BD-09: their Jacobians differ from the identity by a few times 1e-3, so each round gains two to three
    digits; only on the lon = 105 line, where the GCJ offset has a sqrt(|lon - 105|) kink, is it slower).
    Each point stops on its own once its step is below 1e-9 degrees, so a point gets exactly the same answer
    whether it is converted alone or inside a large array."""
    shape = np.shape(lon)
    target_lon, target_lat = np.ravel(target_lon), np.ravel(target_lat)
    lon, lat = np.array(lon, dtype=np.float64).ravel(), np.array(lat, dtype=np.float64).ravel()
    active = np.ones(lon.shape, dtype=bool)
    for _ in range(_INVERSE_MAX_ITER):
        if not active.any():
            break
        f_lon, f_lat = forward(lon[active], lat[active])
        step_lon = f_lon - target_lon[active]
        step_lat = f_lat - target_lat[active]
        lon[active] -= step_lon
        lat[active] -= step_lat
        # NaN steps compare False and so count as done: nothing more can be done for those points.
        active[active] = (np.abs(step_lon) >= _INVERSE_TOL_DEG) | (np.abs(step_lat) >= _INVERSE_TOL_DEG)
    return lon.reshape(shape), lat.reshape(shape)


def _gcj_to_wgs(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    outside = _out_of_china(lon, lat)
    dlon, dlat = _gcj_offset(lon, lat)  # one-step approximation as the first guess (error: a few metres)
    # Iterate with the raw offset (no box test) so that points near the box edge converge too.

    def forward(x, y):
        ox, oy = _gcj_offset(x, y)
        return x + ox, y + oy

    w_lon, w_lat = _fixed_point_inverse(forward, lon, lat, lon - dlon, lat - dlat)
    return np.where(outside, lon, w_lon), np.where(outside, lat, w_lat)


def _gcj_to_bd(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The commonly published closed-form inverse (good to ~0.2 m) as first guess, then refine.
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _fixed_point_inverse(_gcj_to_bd, lon, lat, z * np.cos(theta), z * np.sin(theta))


# ------------------------------------------------------------------------------------------ public API
def wgs84_to_gcj02(lon, lat):
    """WGS-84 -> GCJ-02. Points outside the China box are returned unchanged."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    return _finish(*_wgs_to_gcj(lon_a, lat_a), scalar)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 -> WGS-84 by iterative inversion (error well under 1 mm). Points outside the China box
    (tested on the GCJ-02 input) are returned unchanged."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_wgs(lon_a, lat_a), scalar)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 -> BD-09 (Baidu's closed-form formula)."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_bd(lon_a, lat_a), scalar)


def bd09_to_gcj02(lon, lat):
    """BD-09 -> GCJ-02, the exact (iteratively refined) inverse of `gcj02_to_bd09`."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    return _finish(*_bd_to_gcj(lon_a, lat_a), scalar)


def wgs84_to_bd09(lon, lat):
    """WGS-84 -> GCJ-02 -> BD-09."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_bd(*_wgs_to_gcj(lon_a, lat_a)), scalar)


def bd09_to_wgs84(lon, lat):
    """BD-09 -> GCJ-02 -> WGS-84."""
    lon_a, lat_a, scalar = _prepare(lon, lat)
    return _finish(*_gcj_to_wgs(*_bd_to_gcj(lon_a, lat_a)), scalar)


_CONVERTERS = {
    (CRS.WGS84, CRS.GCJ02): wgs84_to_gcj02,
    (CRS.GCJ02, CRS.WGS84): gcj02_to_wgs84,
    (CRS.GCJ02, CRS.BD09): gcj02_to_bd09,
    (CRS.BD09, CRS.GCJ02): bd09_to_gcj02,
    (CRS.WGS84, CRS.BD09): wgs84_to_bd09,
    (CRS.BD09, CRS.WGS84): bd09_to_wgs84,
}


def _as_crs(value: Any, name: str) -> CRS:
    try:
        return CRS(value)
    except ValueError:
        raise ValueError(
            f"Unknown coordinate system {value!r} for {name}; expected one of {', '.join(c.value for c in CRS)}"
        ) from None


def convert(lon, lat, *, src, dst):
    """Convert between any two of the systems (`CRS` members or their string values)."""
    src, dst = _as_crs(src, "src"), _as_crs(dst, "dst")
    if src == dst:
        lon_a, lat_a, scalar = _prepare(lon, lat)
        return _finish(lon_a.copy(), lat_a.copy(), scalar)
    return _CONVERTERS[(src, dst)](lon, lat)


# --------------------------------------------------------------------------------------------- GeoJSON
def _convert_positions(positions: list, src: CRS, dst: CRS) -> list:
    """A list of GeoJSON positions ([lon, lat] or [lon, lat, ...]) converted as one vectorised batch.
    Ordinates beyond the second (altitude, measure) are carried over unchanged."""
    if not isinstance(positions, (list, tuple)):
        raise ValueError(f"Expected a list of positions, got {type(positions).__name__}")
    if len(positions) == 0:
        return []
    for pos in positions:
        if not isinstance(pos, (list, tuple)) or len(pos) < 2:
            raise ValueError(f"Invalid GeoJSON position {pos!r}: expected [lon, lat]")
    lon = np.array([p[0] for p in positions], dtype=np.float64)
    lat = np.array([p[1] for p in positions], dtype=np.float64)
    out_lon, out_lat = convert(lon, lat, src=src, dst=dst)
    out_lon = np.round(out_lon, _DECIMALS).tolist()
    out_lat = np.round(out_lat, _DECIMALS).tolist()
    return [[x, y, *copy.deepcopy(list(p[2:]))] for x, y, p in zip(out_lon, out_lat, positions)]


def _convert_geometry(geometry: Any, src: CRS, dst: CRS) -> dict:
    if not isinstance(geometry, dict):
        raise ValueError(f"A GeoJSON geometry must be a dict, got {type(geometry).__name__}")
    gtype = geometry.get("type")
    if gtype not in _GEOJSON_TYPES:
        raise ValueError(
            f"Unsupported GeoJSON geometry type {gtype!r}; expected one of {', '.join(_GEOJSON_TYPES)}"
        )
    # Keep foreign members, but drop "bbox": it would describe the old coordinates.
    result = {k: copy.deepcopy(v) for k, v in geometry.items() if k not in ("coordinates", "geometries", "bbox")}
    if gtype == "GeometryCollection":
        geometries = geometry.get("geometries")
        if not isinstance(geometries, (list, tuple)):
            raise ValueError("A GeometryCollection needs a 'geometries' list")
        result["geometries"] = [_convert_geometry(g, src, dst) for g in geometries]
        return result

    if "coordinates" not in geometry:
        raise ValueError(f"A {gtype} needs 'coordinates'")
    coords = geometry["coordinates"]
    if gtype == "Point":
        result["coordinates"] = _convert_positions([coords], src, dst)[0]
    elif gtype in ("MultiPoint", "LineString"):
        result["coordinates"] = _convert_positions(coords, src, dst)
    elif gtype in ("MultiLineString", "Polygon"):
        result["coordinates"] = [_convert_positions(part, src, dst) for part in coords]
    else:  # MultiPolygon
        result["coordinates"] = [[_convert_positions(ring, src, dst) for ring in polygon] for polygon in coords]
    return result


def convert_geometry(geometry: dict, *, src, dst) -> dict:
    """Convert a GeoJSON geometry dict (any of the seven geometry types) from `src` to `dst`.

    Each ring / line / point list is converted as one NumPy batch; output positions are lists of floats
    rounded to 7 decimals (~1 cm). Returns a new dict: the input is never mutated. A stale "bbox" member is
    dropped; other members are copied. Unknown types raise ValueError."""
    return _convert_geometry(geometry, _as_crs(src, "src"), _as_crs(dst, "dst"))


# ------------------------------------------------------------------------------------------- distances
def haversine_m(lon1, lat1, lon2, lat2):
    """Great-circle distance in metres on a sphere of radius 6371008.8 m. Vectorised; numbers in give a
    float out, arrays in give an array out."""
    scalar = all(not isinstance(v, np.ndarray) and np.ndim(v) == 0 for v in (lon1, lat1, lon2, lat2))
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2))
    h = np.sin((lat2 - lat1) / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2
    d = 2.0 * _EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))
    return float(d) if scalar else d
