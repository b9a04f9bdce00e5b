"""What the officer's pages of location monitoring (定位监控, ADR 0013) read: the alert queue (预警处置), one alert with
its map, the office's map, the statistics, a person's orders, devices and fences for the record page's 监控 tab, and a
day's track. Scoped to the reader (apps.orgs.scope.restrict), minors' rows only with the grant, each page of personal
data logged once (apps.audit.services.audit_view). Out of scope answers like not found.

Coordinates are stored in WGS-84; the map draws them in the tile layer's system: the setting ZHIJIAO_MAP_TILES
({"url", "attribution", "max_zoom", "crs": "wgs84" | "gcj02" | "bd09"}; None: no tiles, drawn in WGS-84)."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
import shapely
from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Case as DbCase
from django.db.models import Count, IntegerField, Q, Value, When
from django.urls import reverse
from django.utils import timezone

from apps.audit.services import audit_view
from apps.cases.models import Case
from apps.monitoring import location, rules
from apps.monitoring.models import Alert, Fence, Fix, MonitoringOrder, Tracker
from apps.orgs import coords
from apps.orgs.models import Organisation, OrgBoundary
from apps.orgs.rules import Action, OrgKind
from apps.orgs.scope import NotFound, parse_pk, restrict, within
from apps.people.models import Supervisee
from apps.supervision.selectors import offices_for

TILE_CRS = {"wgs84": coords.CRS.WGS84, "gcj02": coords.CRS.GCJ02, "bd09": coords.CRS.BD09}
PAGE_SIZE = 50
MAP_MAX_ALERTS = 500
TRACK_MAX_FIXES = 5000
STATS_MAX_ROWS = 20000  # the rows of a range read for the percentiles (beyond: a sample of the newest)
COUNTIES_ON_MAP = 12
CRS_CHOICES = (("wgs84", "WGS-84（GPS）"), ("gcj02", "GCJ-02（高德、腾讯地图）"), ("bd09", "BD-09（百度地图）"))
ALERT_STATES = {"open": "待签收", "acknowledged": "处置中", "closed": "已处置"}


# --- the map's coordinates ------------------------------------------------------------------------------------------

def map_tiles() -> dict | None:
    """The tile layer from the setting (crs checked), or None: no tiles, the map draws in WGS-84."""
    t = getattr(settings, "ZHIJIAO_MAP_TILES", None)
    if not t or not t.get("url"):
        return None
    crs = str(t.get("crs", "wgs84")).lower().replace("-", "").replace("_", "")
    return {"url": t["url"], "attribution": t.get("attribution", ""), "max_zoom": int(t.get("max_zoom", 18)),
            "crs": crs if crs in TILE_CRS else "wgs84"}


def _tile_crs() -> coords.CRS:
    t = map_tiles()
    return TILE_CRS[t["crs"]] if t else coords.CRS.WGS84


def _tiles_for_page() -> dict | None:
    t = map_tiles()
    return {k: t[k] for k in ("url", "attribution", "max_zoom")} if t else None


def to_map(lat, lon, crs: coords.CRS | None = None):
    """(lat, lon) in the tiles' system; arrays accepted."""
    crs = crs or _tile_crs()
    if crs == coords.CRS.WGS84 or lat is None or lon is None:
        return lat, lon
    x, y = coords.convert(lon, lat, src=coords.CRS.WGS84, dst=crs)
    return y, x


def _geometry_to_map(geometry: dict, crs: coords.CRS) -> dict:
    if crs == coords.CRS.WGS84:
        return geometry
    return coords.convert_geometry(geometry, src=coords.CRS.WGS84, dst=crs)


def _in_force(f: Fence, at: datetime) -> bool:
    return (f.valid_from is None or f.valid_from <= at) and (f.valid_to is None or at < f.valid_to)


def fence_features(fences, *, now: datetime | None = None, crs: coords.CRS | None = None) -> dict:
    """The fences as a GeoJSON FeatureCollection for the map (boundaries referred to are resolved)."""
    crs = crs or _tile_crs()
    now = now or timezone.now()
    feats = []
    for f in fences:
        try:
            geom = location.fence_geometry(f.geometry)
        except Exception:  # a boundary not loaded
            continue
        if not geom or geom.get("type") == "GeometryCollection" and not geom.get("geometries"):
            continue
        props = {"id": f.pk, "kind": f.kind, "label": f.label, "valid": _in_force(f, now) and f.retired_at is None}
        if f.radius_m:
            props["radius_m"] = f.radius_m
        feats.append({"type": "Feature", "geometry": _geometry_to_map(geom, crs), "properties": props})
    return {"type": "FeatureCollection", "features": feats}


def boundary_features(orgs, *, crs: coords.CRS | None = None) -> dict:
    """Counties' boundaries as allowed-area features (the office map)."""
    crs = crs or _tile_crs()
    rows = {b.organisation_id: b.geometry for b in OrgBoundary.objects.filter(organisation__in=list(orgs))}
    feats = [{"type": "Feature", "geometry": _geometry_to_map(rows[o.pk], crs),
              "properties": {"id": f"org-{o.pk}", "kind": "allowed", "label": o.name, "valid": True}}
             for o in orgs if o.pk in rows]
    return {"type": "FeatureCollection", "features": feats}


def _outside_mask(fences, t: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Which fixes lie outside the allowed area (county, valid leave) or inside an exclusion zone in force at their
    time. Without an allowed fence nothing is marked outside."""
    out = np.zeros(len(t), dtype=bool)
    if not len(t):
        return out
    allowed_any = False
    inside = np.zeros(len(t), dtype=bool)
    for f in fences:
        try:
            g = location._shape(f.geometry)
        except Exception:
            continue
        ends = [d for d in (f.valid_to, f.retired_at) if d]
        lo = f.valid_from.timestamp() if f.valid_from else -np.inf
        hi = min(ends).timestamp() if ends else np.inf
        when = (t >= lo) & (t < hi)
        if f.kind in (Fence.Kind.ALLOWED, Fence.Kind.LEAVE):
            allowed_any = True
            inside |= when & shapely.contains_xy(g, lon, lat)
        elif f.kind == Fence.Kind.EXCLUSION and f.radius_m is None and g.geom_type != "Point":
            out |= when & shapely.contains_xy(g, lon, lat)
        elif f.kind == Fence.Kind.EXCLUSION and f.radius_m:
            c = g.centroid
            out |= when & (coords.haversine_m(lon, lat, c.x, c.y) <= f.radius_m)
    if allowed_any:
        out |= ~inside
    return out


def track_points(fixes: list, fences, *, crs: coords.CRS | None = None, kinds: dict | None = None) -> list[dict]:
    """Fixes (Fix rows) as the map's track, each marked `out` when outside the allowed area at its time."""
    if not fixes:
        return []
    crs = crs or _tile_crs()
    t = np.array([f.t.timestamp() for f in fixes])
    lon = np.array([f.lon for f in fixes])
    lat = np.array([f.lat for f in fixes])
    out = _outside_mask(list(fences), t, lon, lat)
    mlat, mlon = to_map(lat, lon, crs)
    kinds = kinds or {}
    return [{"lat": round(float(mlat[i]), 7), "lon": round(float(mlon[i]), 7), "t": f.t.isoformat(),
             "acc": f.accuracy, "device": kinds.get(f.tracker_id, "phone"), "out": bool(out[i])}
            for i, f in enumerate(fixes)]


def _alert_marker(a: Alert, crs: coords.CRS) -> dict | None:
    if a.lat is None or a.lon is None:
        return None
    lat, lon = to_map(a.lat, a.lon, crs)
    return {"id": a.pk, "level": a.level, "label": rules.ALERT_TYPES.get(a.type, (a.type,))[0],
            "person": a.person.name, "time": f"{timezone.localtime(a.first_at):%Y-%m-%d %H:%M}",
            "lat": round(float(lat), 7), "lon": round(float(lon), 7), "url": reverse("monitoring:alert", args=[a.pk])}


# --- scope ----------------------------------------------------------------------------------------------------------

def _scoped(qs, user):
    qs = restrict(qs, user, Action.SUPERVISEE_VIEW)
    return qs if user.minor_access else qs.exclude(is_minor=True)


def _one(qs, user, pk):
    row = _scoped(qs, user).filter(pk=parse_pk(pk) or -1).first()
    if row is None:
        raise NotFound()
    return row


def is_county_level(user) -> bool:
    """A reader at a county agency (or above) sees what was escalated to the county first."""
    org = getattr(user, "organisation", None)
    return bool(org) and org.kind in (OrgKind.COUNTY_AGENCY, OrgKind.CITY, OrgKind.PROVINCE)


def _day(text) -> date | None:
    try:
        d = date.fromisoformat(str(text or "").strip()[:10])
    except ValueError:
        return None
    return d if date(2020, 1, 1) <= d <= date(2100, 12, 31) else None


def _aware(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, datetime.min.time()))


def _pick_office(user, office_id) -> tuple[list[Organisation], Organisation | None]:
    offices = offices_for(user)
    if not office_id:
        return offices, None
    office = next((o for o in offices if o.pk == parse_pk(office_id)), None)
    if office is None:
        raise NotFound()
    return offices, office


def label_alert(a: Alert) -> Alert:
    a.type_label = rules.ALERT_TYPES.get(a.type, (a.type,))[0]
    a.level_label = rules.LEVEL_LABELS.get(a.level, a.level)
    a.state_label = ALERT_STATES.get(a.state, a.state)
    a.disposal_label = rules.DISPOSALS.get(a.disposal, a.disposal)
    a.false_cause_label = rules.FALSE_CAUSES.get(a.false_cause, a.false_cause)
    a.distance_km = round(a.distance_m / 1000, 1) if a.distance_m is not None else None
    return a


# --- 1. the queue ---------------------------------------------------------------------------------------------------

@dataclass
class AlertQueue:
    offices: list[Organisation]
    office: Organisation | None
    page: object  # a Paginator page of Alert
    filters: dict
    county_level: bool
    counts: dict = field(default_factory=dict)


QUEUE_STATES = ("open", "acknowledged")


def alert_queue(*, user, params, ip: str = "") -> AlertQueue:
    """The reader's open and acknowledged alerts (or the closed ones when asked), escalated first for county-level
    readers, then red first, newest first; filtered by state, level, type, office and the date of occurrence."""
    offices, office = _pick_office(user, params.get("office", ""))
    qs = _scoped(Alert.objects.all(), user)
    state = params.get("state", "")
    qs = qs.filter(state=state) if state in ALERT_STATES else qs.filter(state__in=QUEUE_STATES)
    level = params.get("level", "")
    if level in rules.LEVELS:
        qs = qs.filter(level=level)
    kind = params.get("type", "")
    if kind in rules.ALERT_TYPES:
        qs = qs.filter(type=kind)
    if office is not None:
        qs = qs.filter(office=office)
    d_from, d_to = _day(params.get("from")), _day(params.get("to"))
    if d_from:
        qs = qs.filter(first_at__gte=_aware(d_from))
    if d_to:
        qs = qs.filter(first_at__lt=_aware(d_to + timedelta(days=1)))
    county = is_county_level(user)
    level_rank = DbCase(When(level="red", then=Value(0)), When(level="yellow", then=Value(1)), default=Value(2),
                       output_field=IntegerField())
    order = ["level_rank", "-first_at", "-id"]
    qs = qs.annotate(level_rank=level_rank)
    if county:
        qs = qs.annotate(esc_rank=DbCase(When(escalated_at__isnull=False, then=Value(0)), default=Value(1),
                                        output_field=IntegerField()))
        order = ["esc_rank", *order]
    qs = qs.select_related("person", "office").order_by(*order)
    page = Paginator(qs, PAGE_SIZE).get_page(params.get("page"))
    rows = list(page.object_list)
    for a in rows:
        label_alert(a)
    page.object_list = rows
    counts = {r["state"]: r["n"] for r in _scoped(Alert.objects.filter(state__in=QUEUE_STATES), user)
              .filter(**({"office": office} if office else {})).values("state").annotate(n=Count("id"))}
    counts["escalated"] = _scoped(Alert.objects.filter(state=Alert.State.OPEN, escalated_at__isnull=False), user) \
        .filter(**({"office": office} if office else {})).count()
    shown = sorted({a.person_id for a in rows})
    if shown:
        audit_view(actor=user, object_type="supervisee", object_ids=shown, ip=ip, action="alert.list",
                   org_path=office.path if office else user.scope_path,
                   summary=f"查阅预警处置列表（第{page.number}页，{len(shown)}人）")
    filters = {"state": state if state in ALERT_STATES else "", "level": level if level in rules.LEVELS else "",
               "type": kind if kind in rules.ALERT_TYPES else "", "office": office.pk if office else "",
               "from": d_from.isoformat() if d_from else "", "to": d_to.isoformat() if d_to else ""}
    return AlertQueue(offices, office, page, filters, county, counts)


# --- 2. one alert ---------------------------------------------------------------------------------------------------

@dataclass
class AlertDetail:
    alert: Alert
    map_data: dict
    fences: list[Fence]
    limit_minutes: int
    may_change: bool
    fixes: int


def alert_for(*, user, alert_id) -> Alert:
    return _one(Alert.objects.select_related("person", "office", "county", "case", "fence"), user, alert_id)


def alert_detail(*, user, alert_id, ip: str = "", log: bool = True) -> AlertDetail:
    a = label_alert(alert_for(user=user, alert_id=alert_id))
    crs = _tile_crs()
    fences = list(Fence.objects.filter(case_id=a.case_id, created_at__lte=max(a.last_at, a.raised_at)).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=a.first_at)).order_by("kind", "id"))
    since, until = a.first_at - timedelta(hours=2), a.last_at + timedelta(hours=2)
    fixes = list(Fix.objects.filter(person_id=a.person_id, t__gte=since, t__lte=until).order_by("t", "id")
                 [:TRACK_MAX_FIXES])
    kinds = dict(Tracker.objects.filter(pk__in={f.tracker_id for f in fixes}).values_list("pk", "kind"))
    marker = _alert_marker(a, crs)
    focus = {"lat": marker["lat"], "lon": marker["lon"]} if marker else None
    if focus is None and fixes:
        la, lo = to_map(fixes[-1].lat, fixes[-1].lon, crs)
        focus = {"lat": float(la), "lon": float(lo)}
    map_data = {"tiles": _tiles_for_page(), "fences": fence_features(fences, now=a.first_at, crs=crs),
                "track": track_points(fixes, fences, crs=crs, kinds=kinds), "alerts": [marker] if marker else [],
                "focus": focus}
    limit = rules.escalation_minutes(location.location_table(timezone.localdate(a.raised_at)), a.level)
    if log:
        audit_view(actor=user, object_type="case", object_ids=[a.case_id], ip=ip, org_path=a.org_path,
                   action="alert.view", summary=f"查看{a.type_label}预警（预警{a.pk}，{len(fixes)} 个定位点）"
                                                + ("【未成年人】" if a.is_minor else ""))
    return AlertDetail(a, map_data, fences, limit, user.can(Action.SUPERVISEE_CHANGE), len(fixes))


# --- 3. the office's map --------------------------------------------------------------------------------------------

@dataclass
class OfficeMap:
    offices: list[Organisation]
    office: Organisation | None
    map_data: dict
    alerts: list[Alert]
    without_place: int
    more: bool


def office_map(*, user, office_id="", ip: str = "") -> OfficeMap:
    offices, office = _pick_office(user, office_id)
    crs = _tile_crs()
    qs = _scoped(Alert.objects.filter(state__in=QUEUE_STATES), user)
    if office is not None:
        qs = qs.filter(office=office)
    placed = list(qs.filter(lat__isnull=False).select_related("person", "office").order_by("-first_at", "-id")
                  [:MAP_MAX_ALERTS + 1])
    without = qs.filter(lat__isnull=True).count()
    more = len(placed) > MAP_MAX_ALERTS
    placed = [label_alert(a) for a in placed[:MAP_MAX_ALERTS]]
    if office is not None:
        counties = [o for o in Organisation.objects.filter(pk=office.parent_id)]
    else:
        counties = list(restrict(Organisation.objects.filter(kind=OrgKind.COUNTY_AGENCY), user,
                                 Action.SUPERVISEE_VIEW).order_by("path")[:COUNTIES_ON_MAP])
        if not counties and getattr(user, "organisation", None) and user.organisation.parent_id:
            counties = list(Organisation.objects.filter(pk=user.organisation.parent_id, kind=OrgKind.COUNTY_AGENCY))
    markers = [m for m in (_alert_marker(a, crs) for a in placed) if m]
    focus = None
    if markers:
        focus = {"lat": markers[0]["lat"], "lon": markers[0]["lon"]}
    map_data = {"tiles": _tiles_for_page(), "fences": boundary_features(counties, crs=crs), "track": [],
                "alerts": markers, "focus": focus}
    shown = sorted({a.person_id for a in placed})
    if shown:
        audit_view(actor=user, object_type="supervisee", object_ids=shown, ip=ip, action="alert.map",
                   org_path=office.path if office else user.scope_path,
                   summary=f"查看预警地图（{len(placed)} 条预警，{len(shown)}人）")
    return OfficeMap(offices, office, map_data, placed, without, more)


# --- 4. statistics --------------------------------------------------------------------------------------------------

@dataclass
class AlertStats:
    offices: list[Organisation]
    office: Organisation | None
    start: date
    end: date
    total: int
    by_type: list[dict]  # {"type", "label", "red", "yellow", "blue", "total"}
    by_level: dict
    ack_median: float | None
    ack_p90: float | None
    dispose_median: float | None
    dispose_p90: float | None
    within_limit: int
    within_rate: float | None
    false_alarms: int
    false_rate: float | None
    false_causes: list[tuple[str, int]]
    device_faults: int
    violations: int
    escalated: int
    disposed: int
    per_office: list[dict]
    sampled: bool


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1], 1)


def alert_stats(*, user, start="", end="", office_id="", today: date, ip: str = "") -> AlertStats:
    """The alerts raised in a range (Beijing dates, this month by default), counted in the database; the minutes to
    acknowledge and to dispose read as two timestamps per row (capped) for the median and the 90th percentile."""
    offices, office = _pick_office(user, office_id)
    s = _day(start) or today.replace(day=1)
    e = _day(end) or today
    if e < s:
        s, e = e, s
    qs = _scoped(Alert.objects.filter(raised_at__gte=_aware(s), raised_at__lt=_aware(e + timedelta(days=1))), user)
    if office is not None:
        qs = qs.filter(office=office)
    grid: dict[str, dict] = {}
    by_level = {lv: 0 for lv in rules.LEVELS}
    for r in qs.values("type", "level").annotate(n=Count("id")).order_by():
        row = grid.setdefault(r["type"], {"type": r["type"], "label": rules.ALERT_TYPES.get(r["type"], (r["type"],))[0],
                                          "red": 0, "yellow": 0, "blue": 0, "total": 0})
        row[r["level"]] = row.get(r["level"], 0) + r["n"]
        row["total"] += r["n"]
        by_level[r["level"]] = by_level.get(r["level"], 0) + r["n"]
    order = list(rules.ALERT_TYPES)
    by_type = sorted(grid.values(), key=lambda r: (order.index(r["type"]) if r["type"] in order else 99))
    total = sum(r["total"] for r in by_type)
    agg = qs.aggregate(false_alarms=Count("id", filter=Q(disposal="false_alarm")),
                       device_faults=Count("id", filter=Q(disposal="device_fault")),
                       violations=Count("id", filter=Q(disposal="violation")),
                       escalated=Count("id", filter=Q(escalated_at__isnull=False)),
                       disposed=Count("id", filter=Q(state=Alert.State.CLOSED)))
    causes = [(rules.FALSE_CAUSES.get(r["false_cause"], r["false_cause"] or "—"), r["n"]) for r in
              qs.filter(disposal="false_alarm").values("false_cause").annotate(n=Count("id")).order_by("-n")]
    rows = list(qs.filter(acknowledged_at__isnull=False).order_by("-raised_at").values_list(
        "level", "raised_at", "acknowledged_at", "disposed_at")[:STATS_MAX_ROWS + 1])
    sampled = len(rows) > STATS_MAX_ROWS
    rows = rows[:STATS_MAX_ROWS]
    table = location.location_table(e)
    ack = [max((ak - ra).total_seconds() / 60, 0) for _lv, ra, ak, _d in rows]
    disp = [max((d - ra).total_seconds() / 60, 0) for _lv, ra, _a, d in rows if d]
    within = 0
    for lv, ra, _a, d in rows:
        if d is None:
            continue
        limit = rules.escalation_minutes(table, lv) if lv in rules.LEVELS else 0
        if not limit or (d - ra).total_seconds() <= limit * 60:
            within += 1
    per_office = []
    names = {o.pk: o for o in Organisation.objects.filter(pk__in=qs.values("office_id"))}
    for r in qs.values("office_id").annotate(
            total=Count("id"), red=Count("id", filter=Q(level="red")),
            pending=Count("id", filter=~Q(state=Alert.State.CLOSED)),
            escalated=Count("id", filter=Q(escalated_at__isnull=False)),
            false_alarms=Count("id", filter=Q(disposal="false_alarm")),
            violations=Count("id", filter=Q(disposal="violation"))).order_by():
        o = names.get(r["office_id"])
        per_office.append({**r, "name": (o.short_name or o.name) if o else "—", "path": o.path if o else "",
                           "false_rate": round(100 * r["false_alarms"] / r["total"], 1) if r["total"] else None})
    per_office.sort(key=lambda r: r["path"])
    audit_view(actor=user, object_type="alert", object_ids=[], ip=ip, action="alert.stats",
               org_path=office.path if office else user.scope_path,
               summary=f"查阅预警统计（{s:%Y-%m-%d}至{e:%Y-%m-%d}，{total} 条预警）")
    return AlertStats(
        offices, office, s, e, total, by_type, by_level, _percentile(ack, 50), _percentile(ack, 90),
        _percentile(disp, 50), _percentile(disp, 90), within,
        round(100 * within / total, 1) if total else None, agg["false_alarms"],
        round(100 * agg["false_alarms"] / total, 1) if total else None, causes, agg["device_faults"],
        agg["violations"], agg["escalated"], agg["disposed"], per_office, sampled)


# --- 5. the person's 定位监控 on the 监控 tab ----------------------------------------------------------------------

@dataclass
class PersonLocation:
    case: Case | None
    orders: list[MonitoringOrder]
    active_order: MonitoringOrder | None
    proposed: bool
    trackers: list[Tracker]
    fences: list[Fence]
    alerts: list[Alert]
    may_change: bool
    may_approve: bool
    may_end: bool
    today: date
    default_end: date


def person_location(*, user, person: Supervisee, case: Case | None, today: date) -> PersonLocation:
    """The record page has read and logged the person: the case's orders, bound devices, fences, open alerts."""
    if case is None:
        return PersonLocation(None, [], None, False, [], [], [], False, False, False, today, today)
    orders = list(MonitoringOrder.objects.filter(case=case).order_by("-created_at", "-id")[:20])
    for o in orders:
        o.ground_label = rules.GROUNDS.get(o.ground, o.ground)
        o.renewal_start = o.end + timedelta(days=1)
        o.renewal_end = rules.order_last_day(o.renewal_start)
    active = next((o for o in orders if o.state == MonitoringOrder.State.ACTIVE), None)
    trackers = list(Tracker.objects.filter(case=case).order_by("kind", "identifier"))
    fences = list(Fence.objects.filter(case=case, retired_at__isnull=True).order_by("kind", "id"))
    now = timezone.now()
    for f in fences:
        f.in_force = _in_force(f, now)
        f.windows_text = "，".join(f"{a}-{b}" for a, b in (f.windows or []))
    alerts = [label_alert(a) for a in Alert.objects.filter(case=case).exclude(state=Alert.State.CLOSED)
              .order_by("-first_at", "-id")[:20]]
    may_change = user.can(Action.SUPERVISEE_CHANGE) and within(user, case.org_path)
    return PersonLocation(
        case, orders, active, any(o.state == MonitoringOrder.State.PROPOSED for o in orders), trackers, fences,
        alerts, may_change, user.can(Action.MONITORING_APPROVE) and within(user, case.org_path),
        (user.can(Action.MONITORING_APPROVE) or user.can(Action.CASE_DECIDE)) and within(user, case.org_path),
        today, rules.order_last_day(today))


# --- 6. the track of a day ------------------------------------------------------------------------------------------

@dataclass
class Track:
    person: Supervisee
    day: date
    fixes: list[Fix]
    map_data: dict
    fences: list[Fence]
    more: bool
    prev_day: date
    next_day: date | None


def person_for(*, user, person_id) -> Supervisee:
    return _one(Supervisee.objects.select_related("judicial_office"), user, person_id)


def track(*, user, person_id, day, today: date, ip: str = "") -> Track:
    p = person_for(user=user, person_id=person_id)
    d = _day(day) or today
    start, end = _aware(d), _aware(d + timedelta(days=1))
    fixes = list(Fix.objects.filter(person_id=p.pk, t__gte=start, t__lt=end).order_by("t", "id")[:TRACK_MAX_FIXES + 1])
    more = len(fixes) > TRACK_MAX_FIXES
    fixes = fixes[:TRACK_MAX_FIXES]
    fences = list(Fence.objects.filter(person_id=p.pk, created_at__lt=end).filter(
        Q(retired_at__isnull=True) | Q(retired_at__gt=start)).order_by("kind", "id"))
    kinds = dict(Tracker.objects.filter(pk__in={f.tracker_id for f in fixes}).values_list("pk", "kind"))
    crs = _tile_crs()
    points = track_points(fixes, fences, crs=crs, kinds=kinds)
    for f, pt in zip(fixes, points):
        f.out = pt["out"]
        f.device_kind = pt["device"]
        f.source_label = location.SOURCE_LABELS.get(f.source, "—")
    focus = {"lat": points[-1]["lat"], "lon": points[-1]["lon"]} if points else None
    map_data = {"tiles": _tiles_for_page(), "fences": fence_features(fences, now=min(end, timezone.now()), crs=crs),
                "track": points, "alerts": [], "focus": focus}
    audit_view(actor=user, object_type="supervisee", object_ids=[p.pk], ip=ip, org_path=p.org_path,
               action="location.track",
               summary=f"查看定位轨迹 {d.isoformat()}（{len(fixes)} 个定位点）" + ("【未成年人】" if p.is_minor else ""))
    return Track(p, d, fixes, map_data, fences, more, d - timedelta(days=1),
                 d + timedelta(days=1) if d < today else None)


# --- the rows the forms act on (for the redirect back to the person) -----------------------------------------------

def case_person_id(*, user, case_id) -> int:
    return _one(Case.objects.all(), user, case_id).person_id


def order_person_id(*, user, order_id) -> int:
    return _one(MonitoringOrder.objects.all(), user, order_id).person_id


def tracker_person_id(*, user, tracker_id) -> int:
    return _one(Tracker.objects.filter(case__isnull=False), user, tracker_id).person_id


def fence_person_id(*, user, fence_id) -> int:
    return _one(Fence.objects.all(), user, fence_id).person_id


def form_read_log(*, user, object_type: str, object_id, path: str, is_minor: bool, what: str, ip: str = "") -> None:
    """A form sent back with its errors shows the person: logged like any read."""
    audit_view(actor=user, object_type=object_type, object_ids=[object_id], ip=ip, org_path=path,
               summary=what + ("【未成年人】" if is_minor else ""), action="monitoring.form")
