"""Tests for apps.orgs.coords (WGS-84 / GCJ-02 / BD-09). Pure functions: no database, no Django."""
import ast
import copy
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from apps.orgs import coords
from apps.orgs.coords import (
    CRS,
    CRS_LABELS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    convert,
    convert_geometry,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    haversine_m,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)


class Pair(NamedTuple):
    """A published conversion: (src_lon, src_lat) -> (dst_lon, dst_lat), reproduced to within tol_deg on each
    axis by the forward conversion. Longitude first (several sources publish latitude first)."""
    src_lon: float
    src_lat: float
    dst_lon: float
    dst_lat: float
    tol_deg: float


# WGS-84 -> GCJ-02 pairs, as published.
PUBLISHED_WGS84_GCJ02_PAIRS = [
    # googollee/eviltransform python/test.py (same table in go/transform_test.go and javascript/test.js),
    # "shanghai", published (wgsLat, wgsLng, gcjLat, gcjLng) at full double precision; same formula, so 1e-9.
    Pair(121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 1e-9),
    # googollee/eviltransform python/test.py, "shenzhen".
    Pair(113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 1e-9),
    # googollee/eviltransform python/test.py, "beijing".
    Pair(116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 1e-9),
    # wandergis/coordtransform test/app.js: wgs84togcj02(116.404, 39.915) (full double precision).
    Pair(116.404, 39.915, 116.41024449916938, 39.91640428150164, 1e-9),
    # hujiulong/gcoord test/unit/crs/WGS84.spec.ts, 'WGS84 to GCJ02': [123, 45] -> published to 8 decimals
    # (truncated, not rounded), so one unit of the 8th decimal.
    Pair(123.0, 45.0, 123.00607541, 45.00197815, 1e-8),
    # Glatzel/pyxis python/tests/test_crypto.py (wgs84 -> gcj02). pyxis uses a = 6378137 (the WGS-84
    # semi-major axis) instead of Krasovsky's 6378245, which moves this point by ~8e-8 deg (< 1 cm); with
    # a = 6378137 our code reproduces it exactly. A single full-precision sample: held to 1e-7 deg (~1 cm).
    Pair(121.0917077, 30.6107779, 121.09626935575027, 30.608604331756705, 1e-7),
]

# GCJ-02 -> BD-09 pairs, as published.
PUBLISHED_GCJ02_BD09_PAIRS = [
    # wandergis/coordtransform test/app.js: gcj02tobd09(116.404, 39.915) (full double precision).
    Pair(116.404, 39.915, 116.41036949371029, 39.92133699351021, 1e-9),
    # wandergis/coordtransform test/app.js: bd09togcj02(116.404, 39.915) = [116.39762729119315, 39.90865673957631],
    # read here as GCJ -> BD. That value came from the one-step closed-form inverse, which is ~4.5e-7 deg
    # (~5 cm) away from the exact inverse, so a single sample held to 1e-6 deg (~0.1 m, under 0.5 m).
    Pair(116.39762729119315, 39.90865673957631, 116.404, 39.915, 1e-6),
    # Glatzel/pyxis python/tests/test_crypto.py (gcj02 -> bd09), full double precision.
    Pair(121.09626935575027, 30.608604331756705, 121.10271732371203, 30.61484572185035, 1e-9),
    # hujiulong/gcoord test/unit/crs/GCJ02.spec.ts, 'GCJ02 to BD09': [123, 45], 8 decimals (truncated).
    Pair(123.0, 45.0, 123.00636499, 45.00636899, 1e-8),
    # hujiulong/gcoord test/fixtures/china-cities.json, 驻马店市 (GCJ02 -> BD09 columns), 7 decimals.
    Pair(114.022306, 33.0115324, 114.0287781, 33.0176697, 1e-7),
    # hujiulong/gcoord test/fixtures/china-cities.json, 那曲地区, 7 decimals.
    Pair(92.0512438, 31.4762063, 92.0576832, 31.4824421, 1e-7),
    # hujiulong/gcoord test/fixtures/china-cities.json, 沈阳市, 7 decimals.
    Pair(123.4314787, 41.8057023, 123.438095, 41.8114013, 1e-7),
    # Alibaba Cloud address-purification API reference, "TransferCoord" example response
    # (https://help.aliyun.com/zh/address-purification/addrpapi/developer-reference/coordinate-system-conversion):
    # GCJ02 120.026268,30.279164 -> BD09 120.032768,30.285238, 6 decimals.
    Pair(120.026268, 30.279164, 120.032768, 30.285238, 1e-6),
]

# WGS-84 -> BD-09 pairs (the composed conversion), as published.
PUBLISHED_WGS84_BD09_PAIRS = [
    # Glatzel/pyxis python/tests/test_crypto.py (wgs84 -> bd09); same a = 6378137 caveat as above.
    Pair(121.0917077, 30.6107779, 121.10271732371203, 30.61484572185035, 1e-7),
    # hujiulong/gcoord test/unit/crs/WGS84.spec.ts, 'WGS84 to BD09': [123, 45], 7 decimals.
    Pair(123.0, 45.0, 123.0124491, 45.0083293, 1e-7),
]

# Looked at and deliberately left out (they do not agree with the standard formulas to their own precision):
# * googollee/eviltransform TESTS_bd (BD -> WGS, Zhejiang): 10-40 m away from the standard formulas.
# * hujiulong/gcoord china-cities.json WGS84 column: ~5e-6 deg (~0.7 m) from WGS->GCJ of the GCJ02 column
#   (the project's own test only checks it to 4 decimals); its GCJ02/BD09 columns are used above.
# * the Alibaba Cloud example's WGS84 value: it is the one-step approximate inverse (~1.7 m from the exact one).

_TABLES = [
    pytest.param(PUBLISHED_WGS84_GCJ02_PAIRS, wgs84_to_gcj02, gcj02_to_wgs84, id="wgs84-gcj02"),
    pytest.param(PUBLISHED_GCJ02_BD09_PAIRS, gcj02_to_bd09, bd09_to_gcj02, id="gcj02-bd09"),
    pytest.param(PUBLISHED_WGS84_BD09_PAIRS, wgs84_to_bd09, bd09_to_wgs84, id="wgs84-bd09"),
]


def test_published_tables_are_big_enough():
    assert len(PUBLISHED_WGS84_GCJ02_PAIRS) >= 4
    assert len(PUBLISHED_GCJ02_BD09_PAIRS) >= 2


@pytest.mark.parametrize("table,forward,inverse", _TABLES)
def test_published_pairs_forward(table, forward, inverse):
    for pair in table:
        lon, lat = forward(pair.src_lon, pair.src_lat)
        assert abs(lon - pair.dst_lon) <= pair.tol_deg, pair
        assert abs(lat - pair.dst_lat) <= pair.tol_deg, pair
        assert haversine_m(lon, lat, pair.dst_lon, pair.dst_lat) < 0.5, pair


@pytest.mark.parametrize("table,forward,inverse", _TABLES)
def test_published_pairs_inverse(table, forward, inverse):
    # Measured: at most ~5 cm (the wandergis one-step sample and the 6-decimal Alibaba Cloud sample); the
    # eviltransform and wandergis full-precision pairs come back to within 1e-6 m.
    for pair in table:
        lon, lat = inverse(pair.dst_lon, pair.dst_lat)
        assert haversine_m(lon, lat, pair.src_lon, pair.src_lat) < 1.0, pair


def test_published_pairs_vectorised_match_the_scalars():
    for table, forward in ((PUBLISHED_WGS84_GCJ02_PAIRS, wgs84_to_gcj02), (PUBLISHED_GCJ02_BD09_PAIRS, gcj02_to_bd09)):
        src_lon = np.array([p.src_lon for p in table])
        src_lat = np.array([p.src_lat for p in table])
        lon, lat = forward(src_lon, src_lat)
        np.testing.assert_allclose(lon, [p.dst_lon for p in table], rtol=0, atol=1e-6)
        np.testing.assert_allclose(lat, [p.dst_lat for p in table], rtol=0, atol=1e-6)


# ------------------------------------------------------------------------------------------ round trips
def _mainland_sample():
    """20,000 random points plus a 1-degree grid over mainland China (lon 73-135, lat 18-53)."""
    rng = np.random.default_rng(20240611)
    lon = rng.uniform(73.0, 135.0, 20_000)
    lat = rng.uniform(18.0, 53.0, 20_000)
    grid_lon, grid_lat = np.meshgrid(np.arange(73.0, 135.5, 1.0), np.arange(18.0, 53.5, 1.0))
    return np.concatenate([lon, grid_lon.ravel()]), np.concatenate([lat, grid_lat.ravel()])


def test_round_trip_wgs_gcj_wgs():
    lon, lat = _mainland_sample()
    assert lon.size >= 10_000
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    err = haversine_m(lon, lat, *back)
    # Measured on this sample: max 6.6e-6 m, on the lon = 105 grid line (where the sqrt(|lon - 105|) term of
    # the offset is not smooth); elsewhere < 1e-6 m. The iteration stops at steps < 1e-9 deg (< 0.1 mm).
    assert err.max() < 0.01


def test_round_trip_gcj_wgs_gcj():
    lon, lat = _mainland_sample()
    back = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert haversine_m(lon, lat, *back).max() < 0.01


def test_round_trip_wgs_bd_wgs():
    lon, lat = _mainland_sample()
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    err = haversine_m(lon, lat, *back)
    # Measured on this sample: max 6.5e-6 m (again on lon = 105).
    assert err.max() < 0.01


def test_round_trip_gcj_bd_gcj():
    lon, lat = _mainland_sample()
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert haversine_m(lon, lat, *back).max() < 0.01


def test_iterative_inverse_beats_the_one_step_approximation():
    # The one-step "gcj - delta(gcj)" is off by metres somewhere in China; ours must not be.
    lon, lat = _mainland_sample()
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    one_lon, one_lat = 2 * g_lon - wgs84_to_gcj02(g_lon, g_lat)[0], 2 * g_lat - wgs84_to_gcj02(g_lon, g_lat)[1]
    assert haversine_m(lon, lat, one_lon, one_lat).max() > 1.0
    assert haversine_m(lon, lat, *gcj02_to_wgs84(g_lon, g_lat)).max() < 0.01


# ------------------------------------------------------------------------------------------ sanity
def test_gcj_offset_near_nanchang_is_the_known_size():
    lon, lat = 115.89, 28.68
    offset = haversine_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert 100 < offset < 700  # ~603 m


def test_gcj_offset_size_over_mainland():
    lon, lat = _mainland_sample()
    offset = haversine_m(lon, lat, *wgs84_to_gcj02(lon, lat))
    assert offset.min() > 0
    assert offset.max() < 1000


OUTSIDE_CHINA = [
    (2.3522, 48.8566),  # Paris
    (-74.006, 40.7128),  # New York
    (139.6917, 35.6895),  # Tokyo (east of 137.8347)
    (151.2093, -33.8688),  # Sydney
    (37.6173, 55.7558),  # Moscow (west of 72.004)
    (100.0, 60.0),  # Siberia (north of 55.8271)
    (100.0, 0.5),  # south of 0.8293
]


@pytest.mark.parametrize("lon,lat", OUTSIDE_CHINA)
@pytest.mark.parametrize("func", [wgs84_to_gcj02, gcj02_to_wgs84])
def test_outside_china_unchanged_by_gcj(func, lon, lat):
    assert func(lon, lat) == (lon, lat)


def test_outside_china_unchanged_in_mixed_arrays():
    lon = np.array([p[0] for p in OUTSIDE_CHINA] + [115.89])
    lat = np.array([p[1] for p in OUTSIDE_CHINA] + [28.68])
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon[:-1], lon[:-1])
        np.testing.assert_array_equal(out_lat[:-1], lat[:-1])
        assert (out_lon[-1], out_lat[-1]) != (lon[-1], lat[-1])
    np.testing.assert_array_equal(coords.out_of_china(lon, lat), [True] * len(OUTSIDE_CHINA) + [False])


def test_bd09_layer_is_undone_outside_china_too():
    # The BD layer is applied everywhere (as Baidu's formula is), and the inverse undoes it.
    for lon, lat in OUTSIDE_CHINA:
        assert haversine_m(lon, lat, *bd09_to_wgs84(*wgs84_to_bd09(lon, lat))) < 0.01


# ------------------------------------------------------------------------------------------ scalar vs array
ALL_FUNCS = [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02, wgs84_to_bd09, bd09_to_wgs84]


@pytest.mark.parametrize("func", ALL_FUNCS, ids=lambda f: f.__name__)
def test_scalar_and_array_inputs_give_identical_results(func):
    lon = np.array([115.89, 121.4737, 87.6168, 126.6424, 2.3522, 116.404])
    lat = np.array([28.68, 31.2304, 43.8256, 45.7567, 48.8566, 39.915])
    out_lon, out_lat = func(lon, lat)
    assert isinstance(out_lon, np.ndarray) and isinstance(out_lat, np.ndarray)
    assert out_lon.shape == lon.shape and out_lon.dtype == np.float64
    for i in range(lon.size):
        s_lon, s_lat = func(float(lon[i]), float(lat[i]))
        assert type(s_lon) is float and type(s_lat) is float
        assert (s_lon, s_lat) == (out_lon[i], out_lat[i])


def test_scalar_types_and_broadcasting():
    assert all(type(v) is float for v in wgs84_to_gcj02(116, 40))  # ints are numbers too
    assert all(type(v) is float for v in gcj02_to_wgs84(np.float64(116.0), np.float64(40.0)))
    lon, lat = wgs84_to_gcj02(np.array([[115.0, 116.0], [117.0, 118.0]]), 40.0)  # scalar lat broadcast
    assert lon.shape == lat.shape == (2, 2)
    assert lat[0, 1] == wgs84_to_gcj02(116.0, 40.0)[1]


def test_inputs_are_not_mutated():
    lon = np.array([115.89, 116.404])
    lat = np.array([28.68, 39.915])
    before = lon.copy(), lat.copy()
    for func in ALL_FUNCS:
        func(lon, lat)
    np.testing.assert_array_equal(lon, before[0])
    np.testing.assert_array_equal(lat, before[1])


def test_nan_passes_through():
    lon, lat = gcj02_to_wgs84(np.array([np.nan, 116.404]), np.array([np.nan, 39.915]))
    assert np.isnan(lon[0]) and np.isnan(lat[0])
    assert np.isfinite(lon[1]) and np.isfinite(lat[1])


# ------------------------------------------------------------------------------------------ convert / CRS
def test_crs_and_labels():
    assert [c.value for c in CRS] == ["WGS84", "GCJ02", "BD09"]
    assert CRS_LABELS == {
        CRS.WGS84: "WGS-84（GPS）",
        CRS.GCJ02: "GCJ-02（国测局，高德/腾讯）",
        CRS.BD09: "BD-09（百度）",
    }


@pytest.mark.parametrize("src,dst,func", [
    (CRS.WGS84, CRS.GCJ02, wgs84_to_gcj02),
    (CRS.GCJ02, CRS.WGS84, gcj02_to_wgs84),
    (CRS.GCJ02, CRS.BD09, gcj02_to_bd09),
    (CRS.BD09, CRS.GCJ02, bd09_to_gcj02),
    (CRS.WGS84, CRS.BD09, wgs84_to_bd09),
    (CRS.BD09, CRS.WGS84, bd09_to_wgs84),
])
def test_convert_dispatches(src, dst, func):
    assert convert(115.89, 28.68, src=src, dst=dst) == func(115.89, 28.68)
    assert convert(115.89, 28.68, src=src.value, dst=dst.value) == func(115.89, 28.68)  # plain strings work


@pytest.mark.parametrize("crs", list(CRS))
def test_convert_identity(crs):
    assert convert(115.89, 28.68, src=crs, dst=crs) == (115.89, 28.68)
    lon = np.array([115.89, 2.35])
    out_lon, _ = convert(lon, np.array([28.68, 48.85]), src=crs, dst=crs)
    np.testing.assert_array_equal(out_lon, lon)
    assert out_lon is not lon


def test_convert_rejects_unknown_crs():
    with pytest.raises(ValueError, match="CGCS2000"):
        convert(115.89, 28.68, src="CGCS2000", dst=CRS.WGS84)


# ------------------------------------------------------------------------------------------ GeoJSON
POLYGON = {
    "type": "Polygon",
    "coordinates": [
        [[115.85, 28.65], [115.93, 28.65], [115.93, 28.71], [115.85, 28.71], [115.85, 28.65]],
        [[115.88, 28.67], [115.90, 28.67], [115.90, 28.69], [115.88, 28.67]],  # a hole
    ],
}

MULTIPOLYGON = {
    "type": "MultiPolygon",
    "coordinates": [
        [[[115.85, 28.65], [115.93, 28.65], [115.93, 28.71], [115.85, 28.65]]],
        [[[116.30, 39.90], [116.45, 39.90], [116.45, 40.00], [116.30, 40.00], [116.30, 39.90]]],
    ],
}


def _expected_ring(ring, func=wgs84_to_gcj02):
    lon, lat = func(np.array([p[0] for p in ring]), np.array([p[1] for p in ring]))
    return [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon, lat)]


def test_convert_geometry_polygon():
    original = copy.deepcopy(POLYGON)
    out = convert_geometry(POLYGON, src=CRS.WGS84, dst=CRS.GCJ02)
    assert POLYGON == original  # input not mutated
    assert out is not POLYGON and out["coordinates"] is not POLYGON["coordinates"]
    assert out["type"] == "Polygon"
    assert [len(r) for r in out["coordinates"]] == [len(r) for r in POLYGON["coordinates"]]
    ring = out["coordinates"][0]
    assert ring == _expected_ring(POLYGON["coordinates"][0])
    assert ring[0] == ring[-1]  # a closed ring stays closed
    assert all(type(v) is float for pos in ring for v in pos)
    assert ring[0] != POLYGON["coordinates"][0][0]  # actually converted
    assert out["coordinates"][1] == _expected_ring(POLYGON["coordinates"][1])


def test_convert_geometry_multipolygon():
    original = copy.deepcopy(MULTIPOLYGON)
    out = convert_geometry(MULTIPOLYGON, src="GCJ02", dst="WGS84")
    assert MULTIPOLYGON == original
    assert out["type"] == "MultiPolygon"
    assert [[len(r) for r in poly] for poly in out["coordinates"]] == \
        [[len(r) for r in poly] for poly in MULTIPOLYGON["coordinates"]]
    assert out["coordinates"][0][0] == _expected_ring(MULTIPOLYGON["coordinates"][0][0], gcj02_to_wgs84)
    assert out["coordinates"][1][0] == _expected_ring(MULTIPOLYGON["coordinates"][1][0], gcj02_to_wgs84)


def test_convert_geometry_round_trip():
    there = convert_geometry(MULTIPOLYGON, src=CRS.WGS84, dst=CRS.BD09)
    back = convert_geometry(there, src=CRS.BD09, dst=CRS.WGS84)
    for poly_a, poly_b in zip(MULTIPOLYGON["coordinates"], back["coordinates"]):
        for ring_a, ring_b in zip(poly_a, poly_b):
            np.testing.assert_allclose(ring_a, ring_b, rtol=0, atol=2e-7)  # 7-decimal rounding twice


def test_convert_geometry_other_types():
    point = convert_geometry({"type": "Point", "coordinates": [115.89, 28.68, 35.0]}, src="WGS84", dst="GCJ02")
    lon, lat = wgs84_to_gcj02(115.89, 28.68)
    assert point == {"type": "Point", "coordinates": [round(lon, 7), round(lat, 7), 35.0]}  # altitude kept

    line = {"type": "LineString", "coordinates": [[115.85, 28.65], [115.93, 28.71]]}
    assert convert_geometry(line, src="WGS84", dst="GCJ02")["coordinates"] == _expected_ring(line["coordinates"])

    multi = {"type": "MultiLineString", "coordinates": [line["coordinates"], []]}
    assert convert_geometry(multi, src="WGS84", dst="GCJ02")["coordinates"] == [_expected_ring(line["coordinates"]), []]

    mp = {"type": "MultiPoint", "coordinates": line["coordinates"]}
    assert convert_geometry(mp, src="WGS84", dst="GCJ02")["coordinates"] == _expected_ring(line["coordinates"])

    collection = {"type": "GeometryCollection", "geometries": [POLYGON, line], "bbox": [0, 0, 1, 1]}
    out = convert_geometry(collection, src="WGS84", dst="GCJ02")
    assert [g["type"] for g in out["geometries"]] == ["Polygon", "LineString"]
    assert out["geometries"][0]["coordinates"][0] == _expected_ring(POLYGON["coordinates"][0])
    assert "bbox" not in out  # it would describe the old coordinates
    assert collection["bbox"] == [0, 0, 1, 1]


def test_convert_geometry_identity_copies():
    out = convert_geometry(POLYGON, src=CRS.WGS84, dst=CRS.WGS84)
    assert out == POLYGON
    assert out["coordinates"][0] is not POLYGON["coordinates"][0]


@pytest.mark.parametrize("bad", [
    {"type": "Circle", "coordinates": [115.89, 28.68]},
    {"type": "Feature", "geometry": {"type": "Point", "coordinates": [115.89, 28.68]}},
    {"coordinates": [115.89, 28.68]},
    {"type": "GeometryCollection", "geometries": [{"type": "Circle", "coordinates": []}]},
])
def test_convert_geometry_unknown_type_raises(bad):
    with pytest.raises(ValueError, match="Unsupported GeoJSON geometry type"):
        convert_geometry(bad, src=CRS.WGS84, dst=CRS.GCJ02)


def test_convert_geometry_malformed_positions_raise():
    with pytest.raises(ValueError, match="position"):
        convert_geometry({"type": "LineString", "coordinates": [[115.89], [115.9, 28.7]]}, src="WGS84", dst="GCJ02")


# ------------------------------------------------------------------------------------------ misc
def test_haversine():
    assert haversine_m(116.0, 40.0, 116.0, 40.0) == 0.0
    # One degree of latitude on the 6371008.8 m sphere.
    assert haversine_m(116.0, 40.0, 116.0, 41.0) == pytest.approx(6371008.8 * np.pi / 180, rel=1e-12)
    d = haversine_m(np.array([116.0, 116.0]), np.array([40.0, 40.0]), 116.0, np.array([40.0, 41.0]))
    assert isinstance(d, np.ndarray) and d.shape == (2,)


def test_module_imports_only_stdlib_and_numpy():
    tree = ast.parse(Path(coords.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    assert "django" not in roots
    assert roots - {"numpy", "__future__"} <= sys.stdlib_module_names


def test_the_frozen_copy_in_the_boundary_migration_matches_the_module():
    """orgs migration 0002 converts the stored boundaries with its own frozen copy of GCJ-02 -> WGS-84 (a migration
    must not import code that may change); it must give what the module gives."""
    import importlib

    m = importlib.import_module("apps.orgs.migrations.0002_boundary_crs_and_password_reset")
    rng = np.random.default_rng(2)
    for lon, lat in zip(rng.uniform(74, 134, 500), rng.uniform(19, 52, 500)):
        a = m.gcj_to_wgs(float(lon), float(lat))
        b = coords.gcj02_to_wgs84(float(lon), float(lat))
        assert coords.haversine_m(a[0], a[1], b[0], b[1]) < 0.01
