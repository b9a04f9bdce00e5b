"""`manage.py replay_gps FILE --supervisee ID --speed X`: replays a GeoLife .plt trace (or a directory of them) as
pings through the API (`POST /api/v1/pings`), as the person's bound wristband (or phone) would send them.

The trace is moved so that it starts at a point inside the person's execution county (GeoLife is recorded in
Beijing; the person lives elsewhere): the shape, distances and speeds of the walk are kept, only its origin changes
(`--start LAT,LON` picks another origin, `--no-move` keeps Beijing). Times keep their spacing and are shifted so the
trace's last fix is dated when the replay starts (no fix is ever dated in the future, and speeds stay real); the
batches are sent with the trace's own waits divided by `--speed` (0: as fast as the server answers). Fixes go in batches of
`--batch` fixes or `--every` seconds of trace, whichever comes first.

With `--url` (and `--token`, or ZHIJIAO_API_TOKEN) it posts over HTTP to a running server; without, it calls the
same service in this process as a device gateway account of the person's county (`--as USERNAME`)."""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

import shapely
import shapely.ops
from django.core.management.base import BaseCommand, CommandError

from apps.monitoring import geo


class Command(BaseCommand):
    help = "把 GeoLife 轨迹作为定位数据经接口（POST /api/v1/pings）回放给某个社区矫正对象的定位设备"

    def add_arguments(self, parser):
        parser.add_argument("file", help="GeoLife .plt 文件，或含 .plt 文件的目录")
        parser.add_argument("--supervisee", required=True, type=int, help="社区矫正对象的编号（id）")
        parser.add_argument("--speed", type=float, default=1.0, help="回放倍速（0 为不等待）")
        parser.add_argument("--url", default="", help="服务器地址，如 http://127.0.0.1:8000（不填则在本进程内调用）")
        parser.add_argument("--token", default=os.environ.get("ZHIJIAO_API_TOKEN", ""), help="定位平台接口账户的令牌")
        parser.add_argument("--as", dest="username", default="", help="不经 HTTP 时代为上报的账户（定位平台接口账户）")
        parser.add_argument("--device", default="", help="设备号；默认取该对象绑定的腕带（无腕带时取手机）")
        parser.add_argument("--start", default="", help="轨迹起点移到此处（纬度,经度，WGS-84）；默认执行地县域内一点")
        parser.add_argument("--no-move", action="store_true", help="不移动轨迹")
        parser.add_argument("--batch", type=int, default=50, help="每批最多几条")
        parser.add_argument("--every", type=float, default=60.0, help="每批最多覆盖轨迹的多少秒")
        parser.add_argument("--limit", type=int, default=0, help="只回放前 N 条")
        parser.add_argument("--accuracy", type=float, default=geo.GEOLIFE_ACCURACY_M, help="精度（米）")

    def handle(self, *args, file, supervisee, speed, url, token, username, device, start, no_move, batch, every,
               limit, accuracy, **opts):
        from apps.monitoring.models import Tracker

        try:
            tr = geo.read_trace(file)
        except geo.GeoError as e:
            raise CommandError(str(e)) from None
        if limit:
            tr = geo.Trace(tr.t[:limit], tr.lat[:limit], tr.lon[:limit], tr.altitude_ft[:limit])
        if len(tr) == 0:
            raise CommandError("轨迹中没有定位点")
        trackers = list(Tracker.objects.filter(person_id=supervisee, case__isnull=False).order_by("-kind"))
        if device:
            ident = device
        elif trackers:
            ident = trackers[0].identifier  # wristband sorts after phone: -kind puts it first
        else:
            raise CommandError("该对象没有绑定定位设备（先在“监控”页绑定腕带，或指定 --device）")
        lat, lon = tr.lat.copy(), tr.lon.copy()
        if not no_move:
            la0, lo0 = self._origin(supervisee, start)
            lat += la0 - lat[0]
            lon += lo0 - lon[0]
        t0_wall = time.time()
        dt = tr.t - tr.t[0]
        times = t0_wall - dt[-1] + dt
        send = self._http(url, token) if url else self._local(supervisee, username)
        sent = stored = dup = rej = alerts = 0
        i = 0
        n = len(tr)
        while i < n:
            j = i + 1
            while j < n and j - i < batch and dt[j] - dt[i] < every:
                j += 1
            if speed > 0:  # wait until the last fix of the batch is due
                due = t0_wall + dt[j - 1] / speed
                pause = due - time.time()
                if pause > 0:
                    time.sleep(pause)
            fixes = [{"device": ident, "client_id": f"replay-{int(tr.t[k])}-{k}",
                      "time": datetime.fromtimestamp(times[k], tz=timezone.utc).isoformat(),
                      "lat": round(float(lat[k]), 7), "lon": round(float(lon[k]), 7), "accuracy": accuracy,
                      "source": "gnss", "crs": "wgs84"} for k in range(i, j)]
            res = send(fixes)
            sent += len(fixes)
            stored += res.get("stored", 0)
            dup += res.get("duplicates", 0)
            rej += len(res.get("rejected", []))
            alerts += res.get("alerts", 0)
            if res.get("rejected"):
                self.stderr.write(json.dumps(res["rejected"][:3], ensure_ascii=False))
            i = j
        self.stdout.write(json.dumps({"sent": sent, "stored": stored, "duplicates": dup, "rejected": rej,
                                      "alerts": alerts, "device": ident}, ensure_ascii=False))

    def _origin(self, supervisee: int, start: str) -> tuple[float, float]:
        if start:
            try:
                a, b = (float(x) for x in start.replace("，", ",").split(","))
                return a, b
            except ValueError:
                raise CommandError("--start 应为“纬度,经度”") from None
        from apps.cases.models import Case
        from apps.orgs.models import Organisation

        case = Case.objects.filter(person_id=supervisee, is_open=True).first()
        if case is None:
            raise CommandError("该对象没有在矫的案件")
        org = Organisation.objects.filter(pk=case.execution_county_id).first()
        g = org.boundary if org else None
        if not g:
            raise CommandError("执行地县域没有边界数据，请用 --start 指定起点")
        # the point of the county deepest inside it: a walk of a few km stays in before it leaves
        shape = shapely.geometry.shape(g)
        p = shapely.ops.polylabel(shape if shape.geom_type == "Polygon" else max(shape.geoms, key=lambda x: x.area),
                              tolerance=0.0005)
        return p.y, p.x

    def _http(self, url: str, token: str):
        if not token:
            raise CommandError("经 HTTP 回放需要 --token（定位平台接口账户的 API 令牌）")
        endpoint = url.rstrip("/") + "/api/v1/pings"

        def send(fixes):
            req = urllib.request.Request(endpoint, data=json.dumps({"fixes": fixes}).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {token}"})
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    return json.loads(r.read())
            except urllib.error.HTTPError as e:
                body = e.read().decode(errors="replace")
                if e.code == 422:
                    return json.loads(body)
                raise CommandError(f"服务器拒绝（{e.code}）：{body[:300]}") from None
            except urllib.error.URLError as e:
                raise CommandError(f"无法连接服务器：{e.reason}") from None
        return send

    def _local(self, supervisee: int, username: str):
        from apps.monitoring import location
        from apps.orgs.models import User

        if username:
            actor = User.objects.filter(username=username, is_active=True).first()
        else:
            actor = next((u for u in User.objects.filter(is_active=True).order_by("id")
                          if "device_gateway" in (u.roles or [])), None)
        if actor is None:
            raise CommandError("没有定位平台接口账户：用 --as 指定，或用 --url 和 --token 经 HTTP 回放")

        def send(fixes):
            res = location.ingest(actor=actor, fixes=fixes)
            return {"stored": res.stored, "duplicates": res.duplicates, "rejected": res.rejected,
                    "alerts": res.alerts}
        return send

