"""`manage.py evaluate_trace --fence FENCE.geojson --trace TRACE.plt|DIR [--fence-crs wgs84|gcj02|bd09]`:
replays a GeoLife trace (WGS-84, GMT; a directory of .plt files is read in time order) through the fence engine
with its default settings against one allowed-area fence, and prints one JSON object per event per line
(type, time in ISO 8601 with Beijing time, lat, lon, fence_id, distance_m outside the fence, ...). Officers use it
to re-check a disputed track; we use it to count false alarms."""
from __future__ import annotations

import json
from pathlib import Path
from datetime import datetime, timedelta, timezone

from django.core.management.base import BaseCommand, CommandError

from apps.monitoring import engine, geo

BEIJING = timezone(timedelta(hours=8))


class Command(BaseCommand):
    help = "用围栏引擎（默认参数）复核一条 GeoLife 轨迹，每个事件输出一行 JSON"

    def add_arguments(self, parser):
        parser.add_argument("--fence", required=True, help="允许活动区域的 GeoJSON（Polygon/MultiPolygon/Feature/FeatureCollection）")
        parser.add_argument("--trace", required=True, help="GeoLife .plt 文件，或含 .plt 文件的目录")
        parser.add_argument("--fence-crs", default="wgs84", help="围栏坐标系：wgs84、gcj02（高德/腾讯）或 bd09（百度）")
        parser.add_argument("--feature", default=None, help="FeatureCollection 中只取此 adcode 或名称的要素")
        parser.add_argument("--accuracy", type=float, default=geo.GEOLIFE_ACCURACY_M,
                            help="轨迹未记录精度时假定的精度半径（米）")

    def handle(self, *args, fence, trace, fence_crs, feature, accuracy, **opts):
        try:
            crs = geo.parse_crs(fence_crs)
            geometry = geo.load_fence_geometry(fence, crs, feature=feature)
            tr = geo.read_trace(trace)
        except geo.GeoError as e:
            raise CommandError(str(e)) from None
        if len(tr) == 0:
            raise CommandError(f"the trace has no fixes: {trace}")
        fixes = engine.Fixes.from_columns("trace", tr.t, tr.lon, tr.lat, accuracy)
        fences = engine.compile_fences({"trace": [engine.Fence(id=Path(fence).stem, kind="allowed", geometry=geometry)]})
        events, _ = engine.evaluate(fixes, fences, None, engine.EngineSettings())
        for e in events:
            out = e.as_dict()
            out.pop("person", None)
            out["time"] = datetime.fromtimestamp(e.time, tz=BEIJING).isoformat()
            if "from_time" in out:
                out["from_time"] = datetime.fromtimestamp(out["from_time"], tz=BEIJING).isoformat()
            self.stdout.write(json.dumps(out, ensure_ascii=False))
