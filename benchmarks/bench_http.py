"""Location through the API end to end, on the database of DATABASE_URL (run by benchmarks/run.py once on SQLite
and once on PostgreSQL): `POST /api/v1/pings` served by granian (WSGI, 2 workers, one blocking thread each, as in
../shared/STACK.md), load generated from the same 2-core machine. Each request stores its fixes durably (one
transaction, one audit record), runs the engine with each person's saved state and raises the alerts.

The people: ZHIJIAO_BENCH_HTTP_PEOPLE (default 5,000) supervisees of 东湖区 with a wristband each and the district's
real boundary as their allowed area; a gateway sends the latest fix of 1,000 wristbands per request (a platform
forwarding its devices every minute), a few of them outside the district (alerts are raised and de-duplicated).
The baseline in the same run: one fix per request.

Prints one JSON object on its last line: http_fixes_per_s, http_batch_p99_ms, http_batch_p50_ms,
http_single_fix_per_s, http_batch_to_single, http_fixes (counted as stored in the database afterwards)."""
from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhijiao.settings")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import shapely  # noqa: E402
import shapely.ops  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.utils import timezone as dj_tz  # noqa: E402

PEOPLE = int(os.environ.get("ZHIJIAO_BENCH_HTTP_PEOPLE", 5000))
BATCH = int(os.environ.get("ZHIJIAO_BENCH_HTTP_BATCH", 1000))
SECONDS = float(os.environ.get("ZHIJIAO_BENCH_SECONDS", 8))
CLIENTS = int(os.environ.get("ZHIJIAO_BENCH_HTTP_CLIENTS", 4))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def setup() -> tuple[str, list[str], tuple[float, float]]:
    """The people, their wristbands and fences, and a gateway token (made once per database, kept)."""
    from apps.cases.models import Case
    from apps.monitoring import location
    from apps.monitoring.models import Fence, Tracker, TrackerBinding
    from apps.orgs.models import Organisation, OrgBoundary, User
    from apps.orgs.places import load_boundaries
    from apps.orgs.services import token_issue
    from apps.orgs.testing import given_staff, given_tree
    from apps.people.models import Supervisee
    from apps.people.testing import given_supervisee

    call_command("migrate", verbosity=0)
    donghu = Organisation.objects.filter(adcode="360102", kind="county_agency").first()
    if donghu is None:
        tree = given_tree()
        donghu = tree.donghu
    geo = load_boundaries(str(ROOT / "data" / "demo"))["360102"]["geometry"]
    OrgBoundary.objects.update_or_create(organisation=donghu, defaults={"geometry": geo, "source": "bench"})
    shape = shapely.geometry.shape(geo)
    p = shapely.ops.polylabel(shape if shape.geom_type == "Polygon" else max(shape.geoms, key=lambda g: g.area), 0.0005)
    office = Organisation.objects.filter(parent=donghu, kind="judicial_office").order_by("id").first()
    have = Tracker.objects.filter(identifier__startswith="bench-").count()
    if have < PEOPLE:
        log(f"setting up {PEOPLE} people with wristbands …")
        officer = User.objects.filter(username="bench_officer").first() or given_staff(
            donghu, "county_officer", username="bench_officer")
        model = given_supervisee(officer, office=office, status="active")
        case0 = Case.objects.get(person=model, is_open=True)
        now = dj_tz.now() - timedelta(days=2)
        with transaction.atomic():
            people = []
            for i in range(PEOPLE - have):
                s = Supervisee.objects.get(pk=model.pk)
                s.pk = None
                s.id_number = f"B{have + i:017d}"
                s.name = f"压测{have + i}"
                people.append(s)
            Supervisee.objects.bulk_create(people, batch_size=1000)
            cases = []
            for s in people:
                c = Case.objects.get(pk=case0.pk) if not cases else Case(**{
                    f.attname: getattr(cases[0], f.attname) for f in Case._meta.concrete_fields})
                c.pk = None
                c.person_id = s.pk
                cases.append(c)
            Case.objects.bulk_create(cases, batch_size=1000)
            trackers = [Tracker(kind="wristband", identifier=f"bench-{have + i}", case_id=c.pk, person_id=c.person_id,
                                org_path=c.org_path, bound_at=now) for i, c in enumerate(cases)]
            Tracker.objects.bulk_create(trackers, batch_size=1000)
            trackers = list(Tracker.objects.filter(identifier__in=[t.identifier for t in trackers]))
            TrackerBinding.objects.bulk_create([TrackerBinding(
                tracker=t, case_id=t.case_id, person_id=t.person_id, org_path=t.org_path, bound_at=now,
                bound_by_name="压测") for t in trackers], batch_size=1000)
            Fence.objects.bulk_create([Fence(
                case_id=c.pk, person_id=c.person_id, org_path=c.org_path, kind="allowed", label="东湖区（执行地县域）",
                source=f"county:{donghu.pk}", geometry={"ref": [donghu.pk]}) for c in cases], batch_size=1000)
    gateway = User.objects.filter(username="bench_gateway").first() or given_staff(
        donghu, "device_gateway", username="bench_gateway")
    token = token_issue(user=gateway, name="bench").key
    idents = list(Tracker.objects.filter(identifier__startswith="bench-").order_by("id")
                  .values_list("identifier", flat=True)[:PEOPLE])
    assert location  # the service the server runs
    return token, idents, (p.y, p.x)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    env = {**os.environ, "ZHIJIAO_DEBUG": "0", "DJANGO_DEBUG": "0"}
    proc = subprocess.Popen([str(Path(sys.executable).parent / "granian"), "--interface", "wsgi", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", "2", "--blocking-threads", "1",
                             "--no-ws", "zhijiao.wsgi:application"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("granian did not start: " + (proc.stderr.read() or b"").decode()[-2000:])


class Bodies:
    """Request bodies made ahead of the clock (the client must not be the bottleneck): round r moves every person a
    little."""

    def __init__(self, idents, origin, batch, start):
        self.idents, self.batch, self.start = idents, batch, start
        self.tag = f"{int(start.timestamp())}-{batch}"  # client ids never repeat across runs and phases
        self.lat0, self.lon0 = origin
        self.lock = threading.Lock()
        self.n = 0
        self.rng = np.random.default_rng(7)

    def prepare(self, count: int) -> None:
        """Make the first `count` bodies now, before the clock starts."""
        self.ready = [self.make(k) for k in range(count)]

    def next(self) -> tuple[bytes, int]:
        with self.lock:
            k = self.n
            self.n += 1
        ready = getattr(self, "ready", [])
        return ready[k] if k < len(ready) else self.make(k)

    def make(self, k: int) -> tuple[bytes, int]:
        first = (k * self.batch) % len(self.idents)
        rnd = (k * self.batch) // len(self.idents)
        t = self.start + timedelta(seconds=20 * rnd)
        stamp = t.isoformat()
        fixes = []
        for j in range(self.batch):
            i = (first + j) % len(self.idents)
            out = i % 200 == 0 and rnd >= 1  # one in 200 wanders off after the first round
            la = self.lat0 + (0.25 if out else ((i * 7919) % 1000 - 500) * 4e-6)
            lo = self.lon0 + ((i * 104729) % 1000 - 500) * 4e-6
            fixes.append({"device": self.idents[i], "client_id": f"{self.tag}-{k}-{j}", "time": stamp, "lat": round(la, 6),
                          "lon": round(lo, 6), "accuracy": 15, "source": "gnss", "battery": 80})
        return json.dumps({"fixes": fixes}).encode(), len(fixes)


def load(port: int, token: str, bodies: Bodies, seconds: float, clients: int) -> tuple[int, list[float], int]:
    lat: list[float] = []
    sent = [0]
    errors = [0]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        hdr = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        while time.perf_counter() < stop:
            body, n = bodies.next()
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/pings", body=body, headers=hdr)
            r = conn.getresponse()
            payload = r.read()
            dt = time.perf_counter() - t0
            with lock:
                if r.status == 200:
                    lat.append(dt)
                    sent[0] += json.loads(payload)["stored"]
                else:
                    errors[0] += 1
                    if errors[0] < 3:
                        log(f"HTTP {r.status}: {payload[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return sent[0], lat, errors[0]


def main() -> None:
    from apps.monitoring.models import Alert, Fix, PingBatch

    token, idents, origin = setup()
    vendor = connection.vendor
    connection.close()
    port = free_port()
    srv = start_server(port)
    try:
        start = datetime.now(timezone.utc) - timedelta(hours=6)
        warm = Bodies(idents, origin, BATCH, start - timedelta(hours=1))
        load(port, token, warm, 2.0, CLIENTS)  # the workers compile the fences and warm their caches
        bodies = Bodies(idents, origin, BATCH, start)
        bodies.prepare(int(SECONDS * 60_000 / BATCH) + CLIENTS)  # enough for 60,000 fixes a second
        before = Fix.objects.count()
        t0 = time.perf_counter()
        stored, lat, err = load(port, token, bodies, SECONDS, CLIENTS)
        wall = time.perf_counter() - t0
        in_db = Fix.objects.count() - before
        single_bodies = Bodies(idents, origin, 1, start + timedelta(hours=3))
        single_bodies.prepare(int(max(SECONDS / 2, 3.0) * 2000))
        t1 = time.perf_counter()
        s_stored, s_lat, s_err = load(port, token, single_bodies, max(SECONDS / 2, 3.0), CLIENTS)
        s_wall = time.perf_counter() - t1
        pending = PingBatch.objects.filter(evaluated_at__isnull=True).count()
        alerts = Alert.objects.count()
    finally:
        srv.terminate()
        try:
            srv.wait(10)
        except subprocess.TimeoutExpired:
            srv.kill()
    lat_ms = sorted(x * 1000 for x in lat)
    out = {
        "http_fixes_per_s": round(stored / wall, 1),
        "http_fixes_in_db_per_s": round(in_db / wall, 1),
        "http_batch_p50_ms": round(statistics.median(lat_ms), 1) if lat_ms else None,
        "http_batch_p99_ms": round(lat_ms[min(len(lat_ms) - 1, int(len(lat_ms) * 0.99))], 1) if lat_ms else None,
        "http_batch_size": BATCH,
        "http_batch_errors": err,
        "http_single_fix_per_s": round(s_stored / s_wall, 1),
        "http_single_errors": s_err,
        "http_batches_unevaluated": pending,
        "http_alerts_raised": alerts,
        "http_people": len(idents),
    }
    out["http_batch_to_single"] = round(out["http_fixes_per_s"] / max(out["http_single_fix_per_s"], 1e-9), 1)
    out["http_national_headroom"] = round(out["http_fixes_per_s"] / (700_000 / 300), 1)
    log(f"{vendor}: {out}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
