"""Location monitoring (issue 8, ADR 0013): monitoring orders under 社区矫正法第29条, devices and their bindings,
fences with history, the pings a device sends (stored first, then evaluated by the engine), the alerts the events
raise (de-duplicated while open, escalated when not acknowledged, disposed with what was done), and the sweep.

A batch of fixes is stored in one transaction and answered only then; the engine runs after the commit, in its own
transaction that also marks the batch evaluated, so a crash between the two leaves the batch for the sweep and no fix
is lost or judged twice."""
from __future__ import annotations

import hashlib
from collections import namedtuple
import json
import logging
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Iterable

import numpy as np
import shapely
import shapely.errors
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_records
from apps.cases.models import Case, Task
from apps.cases import rules as case_rules
from apps.orgs import coords
from apps.orgs.models import Organisation, OrgBoundary
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk, within
from apps.people.actors import is_self
from apps.people.actors import staff as _staff
from apps.people.services import InputErrors, NotPermitted, today_local
from apps.supervision import services as supervision

from . import bulk
from . import engine as E
from . import partitions, rules
from .models import Alert, Fence, Fix, MonitoringOrder, PingBatch, SpotCheck, Tracker, TrackerBinding, TrackState

log = logging.getLogger(__name__)
use_case = transaction.atomic(durable=True)
MAX_BATCH = 10_000  # fixes in one request
CLOCK_SKEW = timedelta(minutes=5)
SOURCES = {"gnss": 0, "gps": 0, "cell": 1, "wifi": 2}
SOURCE_LABELS = {0: "卫星定位", 1: "基站定位", 2: "WiFi定位"}
DEFAULT_ACCURACY = {0: 30.0, 1: 1000.0, 2: 100.0}  # metres, when a device sends none
CRS_NAMES = {"wgs84": coords.CRS.WGS84, "gcj02": coords.CRS.GCJ02, "bd09": coords.CRS.BD09}
ALERT_EVENTS = {"fence_exit", "exclusion_enter", "curfew_breach", "devices_apart", "speed_impossible",
                "battery_low"}


def location_table(day: date) -> rules.LocationTable:
    return supervision.rules.table_on(supervision.tables("location", shipped=rules.LOCATION_TABLES), day)


def engine_settings(t: rules.LocationTable) -> E.EngineSettings:
    return E.EngineSettings(exit_fixes=t.exit_fixes, exit_minutes=t.exit_minutes, margin_m=t.margin_m)


def _name(actor) -> str:
    if isinstance(actor, str):
        return actor
    return getattr(actor, "full_name", "") or getattr(actor, "username", "") or "系统"


def _case_for(actor, case_id, *, lock: bool = True) -> Case:
    """The case to write on (scope, minors' seal, a case in correction), as daily supervision opens it."""
    return supervision._case(actor, case_id, lock=lock)


# --- monitoring orders (社区矫正法第29条) -----------------------------------------------------------------------

def _date(value, errors: dict, key: str, label: str) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        errors[key] = f"请填写{label}（年-月-日）"
        return None


@use_case
def order_propose(*, actor, case_id, ground: str, detail: str, start, end, renews_id=None, review_note: str = "",
                  ip: str = "") -> MonitoringOrder:
    """提请使用（或延长使用）电子定位装置: the officer's proposal, to be approved by the county bureau's head."""
    case = _case_for(actor, case_id)
    errors: dict[str, str] = {}
    detail = (detail or "").strip()[:300]
    if not detail:
        errors["detail"] = "请写明适用情形的具体事实"
    s = _date(start, errors, "start", "开始日期")
    e = _date(end, errors, "end", "结束日期")
    prev = None
    if renews_id:
        prev = MonitoringOrder.objects.filter(pk=parse_pk(renews_id), case=case).first()
        if prev is None or prev.state != MonitoringOrder.State.ACTIVE:
            errors["renews"] = "只能延长正在使用的电子定位装置"
    if errors:
        raise InputErrors(errors)
    today = today_local()
    refusals = rules.order_refusals(ground=str(ground), approver_is_bureau_head=True, start=s, end=e, today=today,
                                    renewal_of_end=prev.end if prev else None,
                                    reviewed=bool((review_note or "").strip()) if prev else False)
    if refusals:
        raise InputErrors({"end" if "期限" in r or "结束" in r else "ground" if "情形" in r else "start": r
                           for r in refusals})
    if MonitoringOrder.objects.filter(case=case, state=MonitoringOrder.State.PROPOSED).exists():
        raise InputErrors({"ground": "该对象已有待审批的电子定位装置使用提请"})
    if prev is None and MonitoringOrder.objects.filter(case=case, state=MonitoringOrder.State.ACTIVE).exists():
        raise InputErrors({"ground": "该对象正在使用电子定位装置：期满需要继续使用的，请提请延长"})
    o = MonitoringOrder.objects.create(
        case=case, person_id=case.person_id, org_path=case.org_path, is_minor=case.is_minor, ground=str(ground),
        ground_detail=detail, proposed_by_name=_name(actor), start=s, end=e, renews=prev,
        review_note=(review_note or "").strip()[:300], created_by=_staff(actor))
    what = "延长使用" if prev else "使用"
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="monitoring_order.propose", object_type="case",
                 object_id=case.pk, summary=f"提请{what}电子定位装置（{rules.GROUNDS[o.ground]}，"
                                            f"{s:%Y-%m-%d}至{e:%Y-%m-%d}）",
                 after={"order": o.pk, "ground": o.ground, "renews": prev.pk if prev else None}, ip=ip,
                 org_path=case.org_path)
    return o


def _order(actor, order_id, *, lock=True) -> MonitoringOrder:
    pk = parse_pk(order_id)
    qs = MonitoringOrder.objects.select_related("case")
    o = (qs.select_for_update() if lock else qs).filter(pk=pk).first() if pk else None
    if o is None or not within(actor, o.org_path) or (o.is_minor and not actor.minor_access) \
            or not actor.can(Action.SUPERVISEE_VIEW):
        raise NotFound()
    return o


@use_case
def order_decide(*, actor, order_id, approve: bool, note: str = "", ip: str = "") -> MonitoringOrder:
    """The county bureau head's decision (第29条第一款). An approved renewal takes over from the order it renews."""
    o = _order(actor, order_id)
    if not actor.can(Action.MONITORING_APPROVE):
        raise NotPermitted("使用电子定位装置须经县级司法行政部门负责人批准")
    if o.state != MonitoringOrder.State.PROPOSED:
        raise InputErrors({"decision": "该提请已审批"})
    note = (note or "").strip()[:300]
    if not approve and not note:
        raise InputErrors({"note": "不予批准的，请写明理由"})
    today = today_local()
    o.approver, o.approver_name, o.approved_on, o.decision_note = _staff(actor), _name(actor), today, note
    if approve:
        if o.renews_id and not MonitoringOrder.objects.select_for_update().filter(
                pk=o.renews_id, state=MonitoringOrder.State.ACTIVE).exists():
            raise InputErrors({"decision": "原电子定位装置已解除或期满，不能延长；请重新提请使用"})
        if not o.renews_id and MonitoringOrder.objects.filter(case_id=o.case_id,
                                                              state=MonitoringOrder.State.ACTIVE).exists():
            raise InputErrors({"decision": "该对象正在使用电子定位装置"})
        if o.renews_id:
            MonitoringOrder.objects.filter(pk=o.renews_id).update(
                state=MonitoringOrder.State.ENDED, ended_at=timezone.now(), ended_by_name=_name(actor),
                end_reason=f"经评估延长使用（{o.start:%Y-%m-%d}至{o.end:%Y-%m-%d}）")
            TrackerBinding.objects.filter(order_id=o.renews_id, unbound_at__isnull=True).update(order=o)
        o.state = MonitoringOrder.State.ACTIVE
        _order_task_close(o.renews_id, "已延长使用")
    else:
        o.state = MonitoringOrder.State.REFUSED
    o.save()
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="monitoring_order.decide", object_type="case",
                 object_id=o.case_id, summary=("批准" if approve else "不予批准") + f"使用电子定位装置（{o.start:%Y-%m-%d}"
                                              f"至{o.end:%Y-%m-%d}）" + (f"：{note}" if note else ""),
                 after={"order": o.pk, "state": o.state}, ip=ip, org_path=o.org_path)
    return o


# an unbound device keeps nothing of its last wearer (their position, battery, last fix)
_UNBOUND = {"case": None, "person": None, "org_path": "", "is_minor": False, "bound_at": None, "last_seen_at": None,
            "last_lat": None, "last_lon": None, "last_accuracy": None, "battery": None}


def _unbind_under(order_id: int, reason: str, by: str, now: datetime) -> list[int]:
    rows = list(TrackerBinding.objects.filter(order_id=order_id, unbound_at__isnull=True).values_list("pk", "tracker_id"))
    if rows:
        TrackerBinding.objects.filter(pk__in=[b for b, _t in rows]).update(unbound_at=now, unbound_by_name=by,
                                                                          unbind_reason=reason)
        Tracker.objects.filter(pk__in=[t for _b, t in rows]).update(**_UNBOUND)
    return [t for _b, t in rows]


@use_case
def order_end(*, actor, order_id, reason: str, ip: str = "") -> MonitoringOrder:
    """解除使用: no longer needed (第29条第二款: 及时解除). Its wristbands are unbound."""
    o = _order(actor, order_id)
    if not (actor.can(Action.MONITORING_APPROVE) or actor.can(Action.CASE_DECIDE)):
        raise NotPermitted("您没有解除使用电子定位装置的权限")
    reason = (reason or "").strip()[:200]
    if o.state != MonitoringOrder.State.ACTIVE:
        raise InputErrors({"reason": "该电子定位装置不在使用中"})
    if not reason:
        raise InputErrors({"reason": "请写明解除原因"})
    now = timezone.now()
    o.state, o.ended_at, o.ended_by_name, o.end_reason = MonitoringOrder.State.ENDED, now, _name(actor), reason
    o.save(update_fields=["state", "ended_at", "ended_by_name", "end_reason"])
    trackers = _unbind_under(o.pk, f"解除使用：{reason}", _name(actor), now)
    _order_task_close(o.pk, "已解除使用")
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="monitoring_order.end", object_type="case",
                 object_id=o.case_id, summary=f"解除使用电子定位装置：{reason}",
                 after={"order": o.pk, "trackers": trackers}, ip=ip, org_path=o.org_path)
    return o


def _order_task_close(order_id, note: str) -> None:
    if order_id:
        Task.objects.filter(kind=f"morder:{order_id}", state=Task.State.OPEN).update(
            state=Task.State.DONE, closed_at=timezone.now(), closed_note=note)


def orders_sweep(today: date) -> dict:
    """Orders past their end expire and unbind their wristbands; an officer is reminded (a case task) the
    province's days before the end."""
    now = timezone.now()
    out = {"expired": 0, "reminded": 0}
    t = location_table(today)
    with transaction.atomic(durable=True):
        expired = list(MonitoringOrder.objects.select_for_update().filter(state=MonitoringOrder.State.ACTIVE,
                                                                          end__lt=today))
        recs = []
        for o in expired:
            o.state, o.ended_at, o.ended_by_name, o.end_reason = (MonitoringOrder.State.EXPIRED, now, "系统",
                                                                  "期限届满")
            o.save(update_fields=["state", "ended_at", "ended_by_name", "end_reason"])
            trackers = _unbind_under(o.pk, "使用期限届满", "系统", now)
            _order_task_close(o.pk, "期限届满，已解除")
            recs.append({"actor": "系统", "kind": AuditRecord.Kind.CHANGE, "action": "monitoring_order.expire",
                         "object_type": "case", "object_id": o.case_id,
                         "summary": f"电子定位装置使用期限届满（{o.end:%Y-%m-%d}），自动解除并解绑腕带",
                         "after": {"order": o.pk, "trackers": trackers}, "org_path": o.org_path})
        due = [o for o in MonitoringOrder.objects.select_for_update().select_related("case")
               .filter(state=MonitoringOrder.State.ACTIVE, reminded_on__isnull=True,
                       end__lte=today + timedelta(days=t.order_remind_days))]
        for o in due:
            case = o.case
            office = Organisation.objects.get(pk=case.judicial_office_id)
            Task.objects.create(case=case, kind=f"morder:{o.pk}", title="电子定位装置期满评估",
                                article=rules.ARTICLE_29 + "第二款", anchor_date=today,
                                days=max((o.end - today).days, 0), day_kind=case_rules.DayKind.CALENDAR,
                                due_date=o.end, org=office, org_path=office.path, is_minor=case.is_minor)
            o.reminded_on = today
            o.save(update_fields=["reminded_on"])
            recs.append({"actor": "系统", "kind": AuditRecord.Kind.CHANGE, "action": "monitoring_order.remind",
                         "object_type": "case", "object_id": o.case_id,
                         "summary": f"电子定位装置将于{o.end:%Y-%m-%d}期满，提醒评估是否延长或解除",
                         "after": {"order": o.pk}, "org_path": o.org_path})
        if recs:
            audit_records(recs)
        out["expired"], out["reminded"] = len(expired), len(due)
    return out


# --- devices ------------------------------------------------------------------------------------------------------

@use_case
def tracker_bind(*, actor, case_id, kind: str, identifier: str, label: str = "", ip: str = "") -> Tracker:
    """Bind a device to the person. A wristband needs a monitoring order in force (第29条); a phone does not."""
    case = _case_for(actor, case_id)
    identifier = (identifier or "").strip()
    errors = {}
    if kind not in Tracker.Kind.values:
        errors["kind"] = "请选择设备类型"
    if not identifier or len(identifier) > 40 or not all(c.isalnum() or c in "-_:" for c in identifier):
        errors["identifier"] = "请填写设备号（IMEI，字母、数字）"
    if errors:
        raise InputErrors(errors)
    order = None
    if kind == Tracker.Kind.WRISTBAND:
        order = MonitoringOrder.objects.filter(case=case, state=MonitoringOrder.State.ACTIVE).first()
        today = today_local()
        if order is None or not (order.start <= today <= order.end):
            raise InputErrors({"identifier": f"佩戴电子定位腕带须有经批准且在期限内的电子定位装置使用审批（{rules.ARTICLE_29}）"})
    tr = Tracker.objects.select_for_update().filter(identifier=identifier).first()
    if tr is not None and tr.case_id is not None:
        raise InputErrors({"identifier": "该设备已绑定其他社区矫正对象，请先解绑"})
    if tr is None:
        tr = Tracker.objects.create(kind=kind, identifier=identifier, label=(label or "")[:100])
    elif tr.kind != kind:
        raise InputErrors({"kind": "设备类型与登记的不一致"})
    now = timezone.now()
    tr.case, tr.person_id, tr.org_path, tr.is_minor, tr.bound_at = case, case.person_id, case.org_path, case.is_minor, now
    if label:
        tr.label = label[:100]
    tr.save()
    TrackerBinding.objects.create(tracker=tr, case=case, person_id=case.person_id, org_path=case.org_path,
                                  is_minor=case.is_minor, order=order, bound_at=now, bound_by_name=_name(actor))
    fences_sync(case)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="tracker.bind", object_type="case",
                 object_id=case.pk, summary=f"绑定{tr.get_kind_display()}（{identifier}）",
                 after={"tracker": tr.pk, "order": order.pk if order else None}, ip=ip, org_path=case.org_path)
    return tr


@use_case
def tracker_unbind(*, actor, tracker_id, reason: str, ip: str = "") -> Tracker:
    pk = parse_pk(tracker_id)
    tr = Tracker.objects.select_for_update().filter(pk=pk).first() if pk else None
    if tr is None or tr.case_id is None:
        raise NotFound()
    case = _case_for(actor, tr.case_id)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise InputErrors({"reason": "请写明解绑原因（如设备故障更换、解除使用）"})
    now = timezone.now()
    TrackerBinding.objects.filter(tracker=tr, unbound_at__isnull=True).update(unbound_at=now,
                                                                             unbound_by_name=_name(actor),
                                                                             unbind_reason=reason)
    Tracker.objects.filter(pk=tr.pk).update(**_UNBOUND)
    tr.refresh_from_db()
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="tracker.unbind", object_type="case",
                 object_id=case.pk, summary=f"解绑{tr.get_kind_display()}（{tr.identifier}）：{reason}",
                 after={"tracker": tr.pk}, ip=ip, org_path=case.org_path)
    return tr


def phone_tracker(case: Case, portal_device_id: int, label: str = "") -> Tracker:
    """The tracker of a phone the portal approved (created on its first fix), bound to the account's case."""
    ident = f"phone-{portal_device_id}"
    tr = Tracker.objects.filter(identifier=ident).first()
    if tr is not None and tr.case_id == case.pk:
        return tr
    with transaction.atomic():
        tr = Tracker.objects.select_for_update().filter(identifier=ident).first()
        if tr is None:
            tr = Tracker.objects.create(kind=Tracker.Kind.PHONE, identifier=ident, label=label[:100])
        if tr.case_id != case.pk:
            now = timezone.now()
            TrackerBinding.objects.filter(tracker=tr, unbound_at__isnull=True).update(
                unbound_at=now, unbound_by_name="系统", unbind_reason="手机改由他人使用")
            tr.last_seen_at = tr.last_lat = tr.last_lon = tr.last_accuracy = tr.battery = None
            tr.case, tr.person_id, tr.org_path, tr.is_minor, tr.bound_at = (case, case.person_id, case.org_path,
                                                                            case.is_minor, now)
            tr.save()
            TrackerBinding.objects.create(tracker=tr, case=case, person_id=case.person_id, org_path=case.org_path,
                                          is_minor=case.is_minor, bound_at=now, bound_by_name="系统（手机审核通过）")
            fences_sync(case)
    return tr


# --- fences -------------------------------------------------------------------------------------------------------

def _county_boundary(case: Case):
    org = Organisation.objects.filter(pk=case.execution_county_id).select_related("boundary_row").first()
    return org, (org.boundary if org else None)


def fences_sync(case: Case, *, by: str = "系统") -> int:
    """Make the person's derived fences what the case says: the execution county's boundary as the allowed area,
    and a leave fence per approved leave with a destination county whose boundary is known. Called inside the
    caller's transaction; returns how many rows changed."""
    from apps.supervision.models import Request

    changed = 0
    current = {f.source: f for f in Fence.objects.filter(case=case, retired_at__isnull=True)}
    org, geom = _county_boundary(case)
    want: dict[str, dict] = {}
    if geom:  # a reference, not a copy: 100,000 people share a few county outlines of ~50 KB each
        want[f"county:{org.pk}"] = {"kind": Fence.Kind.ALLOWED, "label": f"{org.name}（执行地县域）",
                                    "geometry": {"ref": [org.pk]}}
    for r in Request.objects.filter(case=case, kind="leave", state__in=("approved", "departed", "arrived")):
        codes = [c for c in (r.destination_adcodes or []) if c]
        refs = sorted(OrgBoundary.objects.filter(organisation__adcode__in=codes).values_list("organisation_id",
                                                                                             flat=True))
        if not refs:
            continue
        start = timezone.make_aware(datetime.combine(r.start, datetime.min.time()))
        end = timezone.make_aware(datetime.combine(r.end + timedelta(days=1), datetime.min.time()))
        geometry = {"ref": refs}
        want[f"request:{r.pk}"] = {"kind": Fence.Kind.LEAVE, "label": f"请假外出：{r.destination or '目的地'}",
                                   "geometry": geometry, "valid_from": start, "valid_to": end}
    now = timezone.now()
    for src, f in current.items():
        if (src.startswith("county:") or src.startswith("request:")) and src not in want:
            f.retired_at, f.retired_by_name = now, by
            f.save(update_fields=["retired_at", "retired_by_name"])
            changed += 1
    for src, w in want.items():
        old = current.get(src)
        if old is not None and old.geometry == w["geometry"] and old.valid_from == w.get("valid_from") \
                and old.valid_to == w.get("valid_to"):
            continue
        if old is not None:
            old.retired_at, old.retired_by_name = now, by
            old.save(update_fields=["retired_at", "retired_by_name"])
        Fence.objects.create(case=case, person_id=case.person_id, org_path=case.org_path, is_minor=case.is_minor,
                             source=src, replaces=old, created_by_name=by, **w)
        changed += 1
    return changed


def fences_sync_if_monitored(case_id: int) -> int:
    """Sync the fences of a case that has a bound device (the others get theirs when one is bound)."""
    if not Tracker.objects.filter(case_id=case_id).exists():
        return 0
    case = Case.objects.filter(pk=case_id).first()
    return fences_sync(case) if case else 0


def case_moved(*, case: Case, before: dict, actor=None, ip: str = "") -> None:
    """The cases app's hook (in the case's transaction): a transfer or a corrected minor status moves every location
    row of the case with it (out of scope stays not found, 法54 stays sealed), and the allowed area follows the
    new execution county."""
    from .models import Verification

    for model in (MonitoringOrder, Fence, Alert, TrackerBinding, Tracker, SpotCheck, Verification):
        model.objects.filter(case_id=case.pk).exclude(org_path=case.org_path, is_minor=case.is_minor).update(
            org_path=case.org_path, is_minor=case.is_minor)
    Alert.objects.filter(case_id=case.pk).exclude(state=Alert.State.CLOSED).update(
        office_id=case.judicial_office_id, county_id=case.execution_county_id)
    if Tracker.objects.filter(case_id=case.pk).exists():
        fences_sync(case)


def _parse_windows(text: str) -> list[list[str]]:
    out = []
    for part in (text or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        a, _sep, b = part.replace("～", "-").replace("至", "-").partition("-")
        for v in (a, b):
            h, _c, m = v.strip().partition(":")
            if not (h.isdigit() and m.isdigit() and 0 <= int(h) < 24 and 0 <= int(m) < 60):
                raise ValueError(part)
        out.append([a.strip().zfill(5), b.strip().zfill(5)])
    return out


@use_case
def fence_add(*, actor, case_id, kind: str, label: str, lat=None, lon=None, radius_m=None, geometry=None,
              crs: str = "wgs84", windows: str = "", valid_from=None, valid_to=None, ip: str = "") -> Fence:
    """An exclusion zone of a prohibition order (a circle or a polygon) or a home-curfew circle with its hours."""
    case = _case_for(actor, case_id)
    errors: dict[str, str] = {}
    label = (label or "").strip()[:100]
    if kind not in (Fence.Kind.EXCLUSION, Fence.Kind.CURFEW):
        errors["kind"] = "请选择围栏类型（禁止进入区域或宵禁区域）"
    if not label:
        errors["label"] = "请填写名称（如禁止令所列场所）"
    if crs not in CRS_NAMES:
        errors["crs"] = "坐标系须为 WGS-84、GCJ-02 或 BD-09"
    geo = None
    r = None
    if geometry:
        try:
            g = shapely.geometry.shape(geometry if isinstance(geometry, dict) else json.loads(geometry))
            if g.geom_type not in ("Polygon", "MultiPolygon") or not g.is_valid or g.is_empty:
                raise ValueError
            geo = coords.convert_geometry(shapely.geometry.mapping(g), src=CRS_NAMES.get(crs, "wgs84"),
                                          dst=coords.CRS.WGS84) if crs in CRS_NAMES else None
        except Exception:
            errors["geometry"] = "区域边界须为有效的 GeoJSON 多边形"
    else:
        try:
            la, lo, r = float(lat), float(lon), float(radius_m)
            if not (-90 <= la <= 90 and -180 <= lo <= 180) or not math.isfinite(la + lo):
                raise ValueError
            if not (10 <= r <= 50_000):
                errors["radius_m"] = "半径须在 10 米至 50 公里之间"
            if crs in CRS_NAMES:
                lo, la = coords.convert(lo, la, src=CRS_NAMES[crs], dst=coords.CRS.WGS84)
            geo = {"type": "Point", "coordinates": [float(lo), float(la)]}
        except (TypeError, ValueError):
            errors["lat"] = "请填写圆心的纬度、经度和半径（米）"
    wins = []
    if kind == Fence.Kind.CURFEW:
        try:
            wins = _parse_windows(windows)
        except ValueError:
            errors["windows"] = "时段格式如 22:00-06:00，多个时段用逗号分隔"
        if not wins and "windows" not in errors:
            errors["windows"] = "宵禁区域须填写时段（如 22:00-06:00）"
        if geometry:
            errors["geometry"] = "宵禁区域为以居所为圆心的圆"
    vf = vt = None
    for key, value in (("valid_from", valid_from), ("valid_to", valid_to)):
        if value:
            d = _date(value, errors, key, "日期")
            if d:
                dt = timezone.make_aware(datetime.combine(d + timedelta(days=1 if key == "valid_to" else 0),
                                                          datetime.min.time()))
                vf, vt = (dt, vt) if key == "valid_from" else (vf, dt)
    if vf and vt and vt <= vf:
        errors["valid_to"] = "失效日期不能早于生效日期"
    if errors:
        raise InputErrors(errors)
    f = Fence.objects.create(case=case, person_id=case.person_id, org_path=case.org_path, is_minor=case.is_minor,
                             kind=kind, label=label, source="manual", geometry=geo, radius_m=r, windows=wins,
                             valid_from=vf, valid_to=vt, created_by_name=_name(actor))
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="fence.add", object_type="case",
                 object_id=case.pk, summary=f"设置{f.get_kind_display()}：{label}",
                 after={"fence": f.pk}, ip=ip, org_path=case.org_path)
    return f


@use_case
def fence_retire(*, actor, fence_id, ip: str = "") -> Fence:
    pk = parse_pk(fence_id)
    f = Fence.objects.select_for_update().filter(pk=pk, retired_at__isnull=True).first() if pk else None
    if f is None:
        raise NotFound()
    case = _case_for(actor, f.case_id)
    if f.source != "manual":
        raise InputErrors({"fence": "执行地县域和请假区域由系统按案件维护，不能删除"})
    f.retired_at, f.retired_by_name = timezone.now(), _name(actor)
    f.save(update_fields=["retired_at", "retired_by_name"])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="fence.retire", object_type="case",
                 object_id=case.pk, summary=f"撤销{f.get_kind_display()}：{f.label}", after={"fence": f.pk}, ip=ip,
                 org_path=case.org_path)
    return f


# --- pings --------------------------------------------------------------------------------------------------------

@dataclass
class IngestResult:
    batch_id: int | None
    stored: int
    duplicates: int
    rejected: list = field(default_factory=list)  # [{"index": i, "client_id": ..., "errors": {field: reason}}]
    alerts: int = 0


def _parse_time(v) -> datetime | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        # epoch milliseconds (devices) when large, else seconds
        try:
            if not math.isfinite(v):
                return None
            s = v / 1000.0 if v > 1e11 else float(v)
            return datetime.fromtimestamp(s, tz=dt_timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(v, str) or len(v) > 40:
        return None
    try:
        dt = datetime.fromisoformat(v.strip())
    except ValueError:
        return None
    return dt.astimezone(dt_timezone.utc) if dt.tzinfo is not None else None  # stored as UTC, as Django does


def _num(v) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float, str)):
        return None
    try:
        f = float(v)
    except (ValueError, OverflowError):
        return None
    return f if math.isfinite(f) else None


# bound_s, last_seen_s: epoch seconds (a thousand devices' times are read a request; floats cost nothing to load)
_TrackerRow = namedtuple("_TrackerRow", "pk identifier kind case_id person_id org_path is_minor bound_s last_seen_s")
_TRACKER_SQL = ("id, identifier, kind, case_id, person_id, org_path, is_minor, extract(epoch from bound_at)::float8, "
                "extract(epoch from last_seen_at)::float8")


def _epoch(d: datetime | None) -> float | None:
    return None if d is None else d.timestamp()


_IDENT = re.compile(r"[A-Za-z0-9_:-]{1,40}")


def _ident(v) -> str:
    """A device id as sent, or "" when it cannot be one (the characters a binding accepts, at most 40)."""
    if isinstance(v, str):
        return v if _IDENT.fullmatch(v) else ""
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
        return v if _IDENT.fullmatch(v) else ""
    return ""


def _trackers_for(actor, identifiers: set[str]) -> dict[str, _TrackerRow]:
    """The bound devices the actor may send for: a gateway account within its scope; a supervisee their own."""
    if not identifiers:
        return {}
    if connection.vendor == "postgresql":  # a gateway sends a thousand devices a request
        rows = map(_TrackerRow._make, bulk.run(
            f"SELECT {_TRACKER_SQL} FROM monitoring_tracker WHERE identifier = ANY(%s::text[]) AND "
            f"case_id IS NOT NULL", [bulk.texts(sorted(identifiers))], fetch=True))
    else:
        rows = (_TrackerRow(*r[:7], _epoch(r[7]), _epoch(r[8])) for r in Tracker.objects.filter(
            identifier__in=list(identifiers), case__isnull=False).values_list(
            "pk", "identifier", "kind", "case_id", "person_id", "org_path", "is_minor", "bound_at", "last_seen_at"
        ).order_by())
    out = {}
    for tr in rows:
        if is_self(actor):
            if tr.case_id != actor.case_id:
                continue
        elif not (within(actor, tr.org_path) and (not tr.is_minor or getattr(actor, "minor_access", False))):
            continue
        out[tr.identifier] = tr
    return out


def ingest(*, actor, fixes: Any, ip: str = "", now: datetime | None = None, evaluate_now: bool = True
           ) -> IngestResult:
    """Validate a batch fix by fix, store the good ones (a client id already stored is a duplicate, not an error),
    audit the batch as one record, commit, then evaluate. Raises InputErrors only when the batch itself is bad."""
    if not is_self(actor) and not actor.can(Action.LOCATION_INGEST):
        raise NotPermitted("该账户不能上报定位数据")
    if not isinstance(fixes, list) or not fixes:
        raise InputErrors({"fixes": "请提供定位数据列表（fixes）"})
    if len(fixes) > MAX_BATCH:
        raise InputErrors({"fixes": f"每批最多 {MAX_BATCH} 条定位数据"})
    now = now or timezone.now()
    t = location_table(timezone.localdate(now))
    oldest = now - timedelta(days=t.max_fix_age_days)
    newest = now + CLOCK_SKEW
    idents = {d for d in (_ident(f.get("device")) for f in fixes if isinstance(f, dict)) if d}
    trackers = _trackers_for(actor, idents)
    rejected = []
    good = []  # (index, tracker, t, lon, lat, acc, source, battery, crs, client_id)
    seen: set = set()
    dup_in_batch = 0
    for i, f in enumerate(fixes):
        if not isinstance(f, dict):
            rejected.append({"index": i, "client_id": None, "errors": {"fix": "每条定位数据须为对象"}})
            continue
        errs = {}
        cid = f.get("client_id")
        if not isinstance(cid, str) or not (1 <= len(cid) <= 64) or not cid.isprintable():
            errs["client_id"] = "缺少客户端编号（client_id，1-64 个字符），无法防止重复"
        tr = trackers.get(_ident(f.get("device")))
        if tr is None:
            errs["device"] = "未知设备或设备未绑定"
        ts = _parse_time(f.get("time"))
        ts_s = ts.timestamp() if ts is not None else 0.0
        if ts is None:
            errs["time"] = "定位时间须为带时区的 ISO 8601 时间或毫秒时间戳"
        elif ts > newest:
            errs["time"] = "定位时间晚于当前时间"
        elif ts < oldest:
            errs["time"] = f"定位时间早于 {t.max_fix_age_days} 天，不再接收"
        elif tr is not None and tr.bound_s and ts_s < tr.bound_s - 600:
            errs["time"] = "定位时间早于设备绑定时间"
        lat, lon = _num(f.get("lat")), _num(f.get("lon"))
        if lat is None or not -90 <= lat <= 90:
            errs["lat"] = "纬度须在 -90 至 90 之间"
        if lon is None or not -180 <= lon <= 180:
            errs["lon"] = "经度须在 -180 至 180 之间"
        src_name = f.get("source", "gnss")
        src = SOURCES.get(src_name if isinstance(src_name, str) else "", None)
        if src is None:
            errs["source"] = "定位方式须为 gnss、cell 或 wifi"
        acc = f.get("accuracy")
        acc = DEFAULT_ACCURACY.get(src or 0) if acc is None else _num(acc)
        if acc is None or not 0 <= acc <= 100_000:
            errs["accuracy"] = "精度须为 0 至 100000 米"
        bat = f.get("battery")
        bat = None if bat is None else _num(bat)
        if f.get("battery") is not None and (bat is None or not 0 <= bat <= 100):
            errs["battery"] = "电量须为 0 至 100"
        crs = f.get("crs", "wgs84")
        crs = crs.lower().replace("-", "").replace("_", "") if isinstance(crs, str) else ""
        if crs not in CRS_NAMES:
            errs["crs"] = "坐标系须为 wgs84、gcj02 或 bd09"
        if errs:
            rejected.append({"index": i, "client_id": cid if isinstance(cid, str) else None, "errors": errs})
            continue
        key = (tr.pk, cid)
        if key in seen:
            dup_in_batch += 1
            continue
        seen.add(key)
        good.append((i, tr, ts, lon, lat, acc, src, bat, crs, cid, bool(f.get("tamper")), ts_s))
    if good:  # a client id stored before is a duplicate even when re-dated (the key also has the time, for
        # the partitions; nothing older than the accepted age can be there, so the lookup stays in recent months)
        known = _stored_client_ids(good, oldest - CLOCK_SKEW)
        if known:
            kept = [g for g in good if (g[1].pk, g[9]) not in known]
            dup_in_batch += len(good) - len(kept)
            good = kept
    if not good:
        return IngestResult(None, 0, dup_in_batch, rejected)
    lon = np.array([g[3] for g in good])
    lat = np.array([g[4] for g in good])
    crs_col = np.array([g[8] for g in good])
    for name in ("gcj02", "bd09"):
        m = crs_col == name
        if m.any():
            lon[m], lat[m] = coords.convert(lon[m], lat[m], src=CRS_NAMES[name], dst=coords.CRS.WGS84)
    with transaction.atomic(durable=True):
        batch = PingBatch.objects.create(received_at=now, actor_name=_name(actor)[:60],
                                         first_t=min(g[2] for g in good), rejected=len(rejected))
        rows = [(batch.pk, g[1].pk, g[1].case_id, g[1].person_id, g[2], float(lat[k]), float(lon[k]), g[5], g[6],
                 g[7], g[8], g[9]) for k, g in enumerate(good)]
        stored = _insert_fixes(rows)
        duplicates = len(rows) - stored + dup_in_batch
        PingBatch.objects.filter(pk=batch.pk).update(stored=stored, duplicates=duplicates)
        _touch_trackers(good, lat, lon, now)
        tampers = [g for g in good if g[10]]
        paths = sorted({g[1].org_path for g in good})
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="location.batch", object_type="ping_batch",
                     object_id=batch.pk, summary=f"接收定位数据 {stored} 条（重复 {duplicates} 条，拒收 {len(rejected)} 条）",
                     after={"cases": sorted({g[1].case_id for g in good})[:200], "stored": stored},
                     ip=ip, org_path=_common_path(paths))
        n_alerts = 0
        if tampers:
            n_alerts += _raise_tamper(tampers, now)
    res = IngestResult(batch.pk, stored, duplicates, rejected, n_alerts)
    if evaluate_now and stored:
        # the rows just stored, judged from memory (when another request stored some of them at the same
        # instant, the batch's own rows are read back instead)
        mem = [(r[3], r[2], r[1], r[4], r[6], r[5], r[7], r[8], r[9]) for r in rows] if stored == len(rows) else None
        kinds = {g[1].pk: g[1].kind for g in good}
        try:
            res.alerts += evaluate_batch(batch.pk, table=t, rows=mem, kinds=kinds)
        except Exception:  # stored is stored: the sweep evaluates it again
            log.exception("evaluation of batch %s failed; left for the sweep", batch.pk)
    elif not stored:
        PingBatch.objects.filter(pk=batch.pk).update(evaluated_at=now)
    return res


def _stored_client_ids(good, since: datetime) -> set:
    """The (tracker, client id) pairs of the batch stored since `since`: one index probe a pair (a device's month of
    fixes is never scanned)."""
    pairs = sorted({(g[1].pk, g[9]) for g in good})
    rows: list = []
    if connection.vendor == "postgresql":
        rows = bulk.run("SELECT f.tracker_id, f.client_id FROM unnest(%s::bigint[], %s::text[]) AS v(tr, cid) "
                        "JOIN monitoring_fix f ON f.tracker_id = v.tr AND f.client_id = v.cid WHERE f.t >= %s",
                        [bulk.ints(p[0] for p in pairs), bulk.texts(p[1] for p in pairs), since], fetch=True)
        return {tuple(r) for r in rows}
    since_db = connection.ops.adapt_datetimefield_value(since)
    with connection.cursor() as cur:
        for i in range(0, len(pairs), 400):
            chunk = pairs[i:i + 400]
            cur.execute(f"WITH v(tr, cid) AS (VALUES {', '.join(['(%s, %s)'] * len(chunk))}) "
                        f"SELECT f.tracker_id, f.client_id FROM v JOIN monitoring_fix f ON f.tracker_id = v.tr "
                        f"AND f.client_id = v.cid WHERE f.t >= %s", [*(x for p in chunk for x in p), since_db])
            rows += cur.fetchall()
    return {tuple(r) for r in rows}


def _common_path(paths: list[str]) -> str:
    if not paths:
        return ""
    first, last = paths[0], paths[-1]
    i = 0
    while i < min(len(first), len(last)) and first[i] == last[i]:
        i += 1
    return first[: first.rfind("/", 0, i + 1) + 1] if i < len(first) else first


_COLS = ("batch_id", "tracker_id", "case_id", "person_id", "t", "lat", "lon", "accuracy", "source", "battery", "crs",
         "client_id")


def _insert_fixes(rows: list[tuple]) -> int:
    """Insert, skipping what is stored already (tracker, client id, time): the number of rows inserted."""
    if connection.vendor == "postgresql":
        cols = list(zip(*rows))
        kinds = (("bigint", bulk.ints), ("bigint", bulk.ints), ("bigint", bulk.ints), ("bigint", bulk.ints),
                 ("timestamptz", bulk.times), ("float8", bulk.floats), ("float8", bulk.floats),
                 ("float8", bulk.floats), ("int2", bulk.ints), ("float8", bulk.floats), ("text", bulk.texts),
                 ("text", bulk.texts))
        sel = ", ".join(f"%s::{ty}[]" for ty, _f in kinds)
        return bulk.run(f"INSERT INTO monitoring_fix ({', '.join(_COLS)}) SELECT * FROM unnest({sel}) "
                        f"ON CONFLICT (tracker_id, client_id, t) DO NOTHING",
                        [f(c) for (_ty, f), c in zip(kinds, cols)])
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(*r[:4], adapt(r[4]), *r[5:]) for r in rows]
    with connection.cursor() as cur:
        before = _changes(cur)
        cur.executemany(f"INSERT OR IGNORE INTO monitoring_fix ({', '.join(_COLS)}) VALUES "
                        f"({', '.join(['%s'] * len(_COLS))})", rows)
        return _changes(cur) - before


def _changes(cur) -> int:
    cur.execute("SELECT total_changes()")
    return cur.fetchone()[0]


def _touch_trackers(good, lat, lon, now: datetime) -> None:
    """Each device's battery and latest fix, in one statement (a later fix already recorded is kept)."""
    latest: dict[int, tuple] = {}
    for k, g in enumerate(good):
        tr = g[1]
        if tr.last_seen_s is None or g[11] > tr.last_seen_s:
            cur = latest.get(tr.pk)
            if cur is None or g[11] > cur[5]:
                latest[tr.pk] = (g[2], float(lat[k]), float(lon[k]), g[5], g[7], g[11])
    rows = [(pk, ts, la, lo, acc, bat) for pk, (ts, la, lo, acc, bat, _s) in latest.items()]
    if rows and connection.vendor == "postgresql":
        c = list(zip(*rows))
        cols = [bulk.ints(c[0]), bulk.times(c[1]), bulk.floats(c[2]), bulk.floats(c[3]), bulk.floats(c[4]),
                bulk.floats(c[5])]
        bulk.run("UPDATE monitoring_tracker t SET last_seen_at = v.ts, last_lat = v.la, last_lon = v.lo, "
                 "last_accuracy = v.acc, battery = COALESCE(v.bat, t.battery) FROM unnest(%s::bigint[], "
                 "%s::timestamptz[], %s::float8[], %s::float8[], %s::float8[], %s::float8[]) "
                 "AS v(id, ts, la, lo, acc, bat) WHERE t.id = v.id AND (t.last_seen_at IS NULL OR "
                 "t.last_seen_at < v.ts)", cols)
    elif rows:
        adapt = connection.ops.adapt_datetimefield_value
        with connection.cursor() as cur:
            cur.executemany("UPDATE monitoring_tracker SET last_seen_at = %s, last_lat = %s, last_lon = %s, "
                            "last_accuracy = %s, battery = COALESCE(%s, battery) WHERE id = %s AND "
                            "(last_seen_at IS NULL OR last_seen_at < %s)",
                            [(adapt(ts), la, lo, acc, bat, pk, adapt(ts)) for pk, ts, la, lo, acc, bat in rows])
    # a fix clears an open signal-lost alert of that device (of its own case). Such an alert needs a minute of
    # silence at least (the province's minutes are whole), so a device seen within the last minute has none.
    now_s = now.timestamp()
    tr_of = {g[1].pk: g[1] for g in good}
    silent = [pk for pk in latest if tr_of[pk].last_seen_s is None or tr_of[pk].last_seen_s < now_s - 60]
    if not silent:
        return
    want = sorted({(tr_of[pk].case_id, f"signal_lost:{pk}") for pk in silent})
    if connection.vendor == "postgresql":
        bulk.run("UPDATE monitoring_alert a SET cleared_at = %s FROM unnest(%s::bigint[], %s::text[]) AS "
                 "v(c, k) WHERE a.case_id = v.c AND a.key = v.k AND a.state <> 'closed' AND a.cleared_at IS "
                 "NULL AND a.type = 'signal_lost'", [now, bulk.ints(c for c, _k in want),
                                                      bulk.texts(k for _c, k in want)])
        return
    wanted = set(want)
    open_ = Alert.objects.filter(type="signal_lost", cleared_at__isnull=True, key__in=[k for _c, k in want]
                                 ).exclude(state=Alert.State.CLOSED).values_list("pk", "case_id", "key")
    hit = [pk for pk, c, k in open_ if (c, k) in wanted]
    if hit:
        Alert.objects.filter(pk__in=hit).update(cleared_at=now)


def _upsert_states(rows: list[tuple]) -> None:
    """(person id, packed state bytes, last fix time, now) rows into TrackState, inserted or replaced (the JSON
    state of rows written before the packed one is emptied)."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        c = list(zip(*rows))
        bulk.run("INSERT INTO monitoring_trackstate (person_id, state, packed, last_fix_at, updated_at) "
                 "SELECT v.p, '{}'::jsonb, decode(v.b, 'hex'), v.lt, v.up FROM unnest(%s::bigint[], "
                 "%s::text[], %s::timestamptz[], %s::timestamptz[]) AS v(p, b, lt, up) "
                 "ON CONFLICT (person_id) DO UPDATE SET state = EXCLUDED.state, packed = EXCLUDED.packed, "
                 "last_fix_at = EXCLUDED.last_fix_at, updated_at = EXCLUDED.updated_at",
                 [bulk.ints(c[0]), bulk.hexes(c[1]), bulk.times(c[2]), bulk.times(c[3])])
        return
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cur:
        cur.executemany("INSERT INTO monitoring_trackstate (person_id, state, packed, last_fix_at, updated_at) "
                        "VALUES (%s, '{}', %s, %s, %s) ON CONFLICT (person_id) DO UPDATE SET state = excluded.state, "
                        "packed = excluded.packed, last_fix_at = excluded.last_fix_at, "
                        "updated_at = excluded.updated_at",
                        [(p, st, adapt(lt), adapt(now)) for p, st, lt, now in rows])


def _raise_tamper(tampers, now) -> int:
    events = [AlertEvent(type="strap_tamper", case_id=g[1].case_id, person_id=g[1].person_id, time=g[2],
                         lat=None, lon=None, key=f"strap_tamper:{g[1].pk}",
                         detail={"device": g[1].identifier}) for g in tampers]
    return raise_alerts(events, now=now)


# --- evaluation ------------------------------------------------------------------------------------------------------

_geom_cache: dict[str, Any] = {}
_area_cache: dict = {}  # the engine's prepared grids of the shapes above, kept with them


def fence_geometry(geometry: dict) -> dict:
    """A fence's GeoJSON geometry (WGS-84): its own, or the boundaries of the organisations it refers to."""
    if "ref" not in geometry:
        return geometry
    rows = [g for g in OrgBoundary.objects.filter(organisation_id__in=geometry["ref"]).values_list("geometry",
                                                                                                flat=True)]
    if len(rows) == 1:
        return rows[0]
    return {"type": "GeometryCollection", "geometries": rows}


def _shape(geometry: dict):
    """The shapely geometry of a fence, one object per distinct outline (so the engine prepares each once); a
    boundary referred to is read once per process (boundaries change with a new data release, and a restart)."""
    key = ("ref:" + ",".join(map(str, geometry["ref"])) if "ref" in geometry else
           hashlib.sha1(json.dumps(geometry, sort_keys=True, separators=(",", ":")).encode()).hexdigest())
    g = _geom_cache.get(key)
    if g is None:
        geometry = fence_geometry(geometry)
        if not geometry.get("geometries", True):
            raise ValueError("the fence refers to a boundary that is not loaded")
        if geometry.get("type") == "GeometryCollection":
            g = shapely.union_all([shapely.geometry.shape(x) for x in geometry["geometries"]])
        else:
            g = shapely.geometry.shape(geometry)
        if g.geom_type not in ("Polygon", "MultiPolygon", "Point"):
            g = shapely.union_all([p for p in getattr(g, "geoms", [g]) if p.geom_type in ("Polygon", "MultiPolygon")])
        if len(_geom_cache) > 5000:
            _geom_cache.clear()
            _area_cache.clear()
        g = _geom_cache[key] = g
    return g


_FENCE_PLAIN = {"pk", "person_id", "kind", "geometry", "radius_m", "windows", "replaces_id"}
# times as epoch seconds
_FenceRow = namedtuple("_FenceRow", "pk person_id kind geometry radius_m windows valid_from valid_to retired_at "
                                    "replaces_id created_at")


def engine_fences(case_ids: Iterable[int], since: datetime | None = None) -> tuple[dict, dict]:
    """{person id: [engine.Fence]} for the cases, every fence row in force at some time from `since` (a retired row
    until its retirement), and {fence id: Fence row} (times in epoch seconds)."""
    case_ids = sorted(set(case_ids))
    if connection.vendor == "postgresql":  # a batch from a platform touches a thousand cases
        cols = ", ".join("id" if c == "pk" else c if c in _FENCE_PLAIN else f"extract(epoch from {c})::float8"
                         for c in _FenceRow._fields)
        sql = f"SELECT {cols} FROM monitoring_fence WHERE case_id = ANY(%s::bigint[]) AND (retired_at IS NULL"
        args: list = [bulk.ints(case_ids)]
        if since:
            sql += " OR retired_at > %s"
            args.append(since)
        found = bulk.run(sql + ")", args, fetch=True)  # JSON (text or read) is decoded below for a new fence
    else:
        qs = Fence.objects.filter(case_id__in=case_ids)
        qs = qs.filter(Q(retired_at__isnull=True) | Q(retired_at__gt=since)) if since else qs.filter(
            retired_at__isnull=True)
        found = [tuple(_epoch(v) if isinstance(v, datetime) else v for v in r)
                 for r in qs.values_list(*_FenceRow._fields).order_by()]
    by_person: dict[int, list] = {}
    rows = {}
    for f in map(_FenceRow._make, found):
        rows[f.pk] = f
        # a fence row's outline and kind never change (a change retires the row): its engine fence is kept while
        # its times are the same
        ck = (f.pk, f.valid_from, f.valid_to, f.retired_at, f.created_at)
        ef = _fence_cache.get(ck)
        if ef is None:
            valid_to = min([d for d in (f.valid_to, f.retired_at) if d is not None], default=None)
            valid_from = f.valid_from
            if f.replaces_id is not None and valid_from is None:
                valid_from = f.created_at
            geometry = json.loads(f.geometry) if isinstance(f.geometry, str) else f.geometry
            windows = json.loads(f.windows) if isinstance(f.windows, str) else f.windows
            try:
                ef = E.Fence(id=f.pk, kind=f.kind, geometry=_shape(geometry), valid_from=valid_from,
                             valid_to=valid_to, windows=[tuple(w) for w in windows] or None, radius_m=f.radius_m)
            except (ValueError, TypeError, KeyError, shapely.errors.ShapelyError):
                log.error("fence %s cannot be read (its boundary is not loaded?); judged without it", f.pk)
                continue
            if len(_fence_cache) > 200_000:
                _fence_cache.clear()
            _fence_cache[ck] = ef
        by_person.setdefault(f.person_id, []).append(ef)
    return by_person, rows


_fence_cache: dict[tuple, E.Fence] = {}


@dataclass
class AlertEvent:
    type: str
    case_id: int
    person_id: int
    time: datetime
    lat: float | None
    lon: float | None
    key: str
    accuracy: float | None = None
    distance_m: float | None = None
    fence_id: int | None = None
    spot_check_id: int | None = None
    detail: dict = field(default_factory=dict)


_StateRow = namedtuple("_StateRow", "person_id state last_fix_at")  # packed bytes, epoch seconds


def _fixes_of(batch_id: int):
    return list(Fix.objects.filter(batch_id=batch_id).values_list(
        "person_id", "case_id", "tracker_id", "t", "lon", "lat", "accuracy", "source", "battery").order_by())


def evaluate_batch(batch_id: int, *, now: datetime | None = None, table: rules.LocationTable | None = None,
                   rows: list[tuple] | None = None, kinds: dict | None = None) -> int:
    """Run the engine on a stored batch with each person's saved state; raise the alerts; save the states and mark
    the batch evaluated, all in one transaction (skipped if another worker holds or did it). Returns alerts raised.
    `rows` (as `_fixes_of` reads them) and `kinds` ({tracker id: kind}) are the batch's fixes as just stored, when
    the caller has them."""
    now = now or timezone.now()
    with transaction.atomic():
        qs = PingBatch.objects.filter(pk=batch_id, evaluated_at__isnull=True)
        if connection.vendor == "postgresql":
            qs = qs.select_for_update(skip_locked=True)
        batch = qs.first()
        if batch is None:
            return 0
        if rows is None:
            rows = _fixes_of(batch_id)
        n = _evaluate_rows(rows, now, table, kinds)
        PingBatch.objects.filter(pk=batch_id).update(evaluated_at=now)
    return n


def _read_states(pids: list[int]) -> dict:
    """{person id: (packed bytes, last fix time in epoch seconds)} of the persons' saved states, locked for this transaction (a
    state saved as JSON before the packed form is packed here)."""
    if connection.vendor == "postgresql":
        found = bulk.run("SELECT person_id, packed, CASE WHEN packed IS NULL THEN state END, "
                         "extract(epoch from last_fix_at)::float8 FROM monitoring_trackstate WHERE "
                         "person_id = ANY(%s::bigint[]) FOR UPDATE", [bulk.ints(pids)], fetch=True)
    else:
        found = [(*r[:3], _epoch(r[3])) for r in TrackState.objects.select_for_update().filter(
            person_id__in=pids).values_list("person_id", "packed", "state", "last_fix_at").order_by()]
    out, legacy = {}, {}
    for pid, packed, state, last in found:
        if packed is not None:
            out[pid] = (bytes(packed), last)
        else:
            if isinstance(state, str):
                state = json.loads(state)
            legacy[pid] = (state, last)
    if legacy:
        try:
            packed = E.EngineState.restore({p: v[0] for p, v in legacy.items()}).pack()
        except TypeError:  # not expected: fence ids are ints here
            packed = {}
        for p, (_state, last) in legacy.items():
            out[p] = (packed.get(p), last)
    return out


def _evaluate_rows(rows: list[tuple], now: datetime, table: rules.LocationTable | None = None,
                   kinds: dict | None = None) -> int:
    if not rows:
        return 0
    person = np.array([r[0] for r in rows], dtype=np.int64)
    case_of = {r[0]: r[1] for r in rows}
    if kinds is None or not {r[2] for r in rows} <= kinds.keys():
        kinds = dict(Tracker.objects.filter(pk__in={r[2] for r in rows}).values_list("pk", "kind"))
    t = np.array([r[3].timestamp() for r in rows])
    lon = np.array([r[4] for r in rows])
    lat = np.array([r[5] for r in rows])
    acc = np.array([r[6] for r in rows])
    src = np.array([r[7] for r in rows], dtype=np.int8)
    bat = np.array([np.nan if r[8] is None else r[8] for r in rows])
    dev = np.array([1 if kinds.get(r[2]) == Tracker.Kind.WRISTBAND else 0 for r in rows], dtype=np.int8)
    pids = sorted(set(person.tolist()))
    states = {p: _StateRow(p, packed, last) for p, (packed, last) in _read_states(pids).items()}
    last_of = {p: s.last_fix_at for p, s in states.items() if s.last_fix_at is not None}
    last = np.array([last_of.get(p, -np.inf) for p in person.tolist()])
    late = t < last
    since = datetime.fromtimestamp(float(t.min()), tz=dt_timezone.utc)
    fences, _rows = engine_fences(set(case_of.values()), since)
    table = table or location_table(timezone.localdate(now))  # the caller's, read once a request
    st_settings = engine_settings(table)
    fs = E.compile_fences({p: fences.get(p, []) for p in pids}, st_settings, area_cache=_area_cache)
    events: list[AlertEvent] = []
    cleared: list[tuple[int, str]] = []

    def collect(evs, is_late: bool):
        for ev in evs:
            p = int(ev.person)
            when = datetime.fromtimestamp(ev.time, tz=dt_timezone.utc)
            if ev.type in rules.CLEARED_BY:
                if not is_late:
                    cleared.append((case_of[p], _key(rules.CLEARED_BY[ev.type], ev.fence_id, ev.device)))
                continue
            if ev.type not in ALERT_EVENTS:
                continue
            detail = {k: v for k, v in ev.detail.items() if isinstance(v, (int, float, str, bool)) or v is None}
            if ev.device:
                detail["device"] = ev.device
            if is_late:
                detail["late"] = True
            events.append(AlertEvent(type=ev.type, case_id=case_of[p], person_id=p, time=when, lat=ev.lat,
                                     lon=ev.lon, key=_key(ev.type, ev.fence_id, ev.device),
                                     accuracy=ev.accuracy_m, distance_m=ev.distance_m,
                                     fence_id=ev.fence_id if isinstance(ev.fence_id, int) else None, detail=detail))

    on = ~late
    new_states = {}
    if on.any():
        idx = np.nonzero(on)[0]
        fx = E.Fixes(person=person[idx], t=t[idx], lon=lon[idx], lat=lat[idx], accuracy=acc[idx], source=src[idx],
                     battery=bat[idx], device=dev[idx])
        restored = E.EngineState.unpack({p: states[p].state for p in pids if p in states and states[p].state})
        evs, st = E.evaluate(fx, fs, restored, st_settings)
        collect(evs, False)
        new_states = st.pack(sorted(set(person[idx].tolist())))
    if late.any():  # fixes older than what was judged: judged in their own time order, the live state untouched
        idx = np.nonzero(late)[0]
        fx = E.Fixes(person=person[idx], t=t[idx], lon=lon[idx], lat=lat[idx], accuracy=acc[idx], source=src[idx],
                     battery=bat[idx], device=dev[idx])
        evs, _st = E.evaluate(fx, fs, None, st_settings)
        collect(evs, True)
    # save the states (one statement: a batch from a platform touches a thousand people)
    last_by = {}
    for p, tt in zip(person[on].tolist(), t[on].tolist()):
        last_by[p] = max(last_by.get(p, -math.inf), tt)
    rows_out = []
    now_s = now.timestamp()
    for p, state in new_states.items():
        lt = last_by.get(p)
        if lt is not None and lt > now_s:  # a clock a little ahead must not make the next honest fixes "late"
            lt = now_s
        old = states[p].last_fix_at if p in states else None
        if old is not None and (lt is None or old > lt):
            lt = old
        rows_out.append((p, state, None if lt is None else datetime.fromtimestamp(lt, tz=dt_timezone.utc), now))
    _upsert_states(rows_out)
    for case_id, key in cleared:
        Alert.objects.filter(case_id=case_id, key=key, cleared_at__isnull=True).exclude(
            state=Alert.State.CLOSED).update(cleared_at=now)
    return raise_alerts(events, now=now, table=table) if events else 0


def _key(kind: str, fence_id, device=None) -> str:
    if kind in ("fence_exit",):
        return "fence_exit"  # the allowed area is one (county and valid leave fences together)
    if kind in ("exclusion_enter", "curfew_breach"):
        return f"{kind}:{fence_id}"
    if kind in ("speed_impossible", "battery_low"):
        return f"{kind}:{device or ''}"
    return kind


def evaluate_pending(limit: int = 200, *, older_than_s: float = 0.0, now: datetime | None = None) -> int:
    """Evaluate stored batches the engine has not seen (after a crash, or an error), oldest first."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    ids = list(PingBatch.objects.filter(evaluated_at__isnull=True, received_at__lte=cutoff)
               .order_by("id").values_list("pk", flat=True)[:limit])
    done = 0
    for pk in ids:
        try:
            evaluate_batch(pk, now=now)
            done += 1
        except Exception:  # one bad batch must not hold back the others (it stays unevaluated, and logged)
            log.exception("evaluation of batch %s failed", pk)
    return done


# --- alerts ---------------------------------------------------------------------------------------------------------

def raise_alerts(events: list[AlertEvent], *, now: datetime | None = None,
                 table: rules.LocationTable | None = None) -> int:
    """Open an alert per new condition (routed to the case's office, its county beside it); a condition already
    open counts a repetition and may raise the level. One audit record per alert opened. Inside the caller's
    transaction. Returns the number of alerts opened."""
    if not events:
        return 0
    now = now or timezone.now()
    table = table or location_table(timezone.localdate(now))
    case_ids = {e.case_id for e in events}
    cases = {c.pk: c for c in Case.objects.filter(pk__in=case_ids).only(
        "pk", "person_id", "judicial_office_id", "execution_county_id", "org_path", "is_minor")}
    open_rows = {(a.case_id, a.key): a for a in Alert.objects.select_for_update().filter(case_id__in=case_ids).exclude(
        state=Alert.State.CLOSED)}
    window_from = now - timedelta(days=table.repeat_window_days)
    earlier = {(r["person_id"], r["type"]): r["n"] for r in Alert.objects.filter(
        person_id__in={e.person_id for e in events}, raised_at__gte=window_from).values("person_id", "type").annotate(
        n=Count("id"))}
    made: list[Alert] = []
    touched: dict[int, Alert] = {}
    for e in sorted(events, key=lambda e: e.time):
        c = cases.get(e.case_id)
        if c is None:
            continue
        a = open_rows.get((e.case_id, e.key))
        if a is not None:
            a.repeats += 1
            a.last_at = max(a.last_at, e.time)
            a.cleared_at = None
            level = rules.alert_level(e.type, repeats_open=a.repeats, earlier_in_window=earlier.get(
                (e.person_id, e.type), 1) - 1, repeat_open_step=table.repeat_open_step,
                repeat_window_step=table.repeat_window_step)
            if rules.LEVELS.index(level) > rules.LEVELS.index(a.level):
                a.level = level
            if a.pk:
                touched[a.pk] = a
            continue
        level = rules.alert_level(e.type, repeats_open=1, earlier_in_window=earlier.get((e.person_id, e.type), 0),
                                  repeat_open_step=table.repeat_open_step,
                                  repeat_window_step=table.repeat_window_step)
        a = Alert(case_id=c.pk, person_id=c.person_id, office_id=c.judicial_office_id, county_id=c.execution_county_id,
                  org_path=c.org_path, is_minor=c.is_minor, type=e.type, level=level, key=e.key, first_at=e.time,
                  last_at=e.time, raised_at=now, lat=e.lat, lon=e.lon, accuracy=e.accuracy, distance_m=e.distance_m,
                  fence_id=e.fence_id, spot_check_id=e.spot_check_id, detail=e.detail)
        open_rows[(e.case_id, e.key)] = a
        earlier[(e.person_id, e.type)] = earlier.get((e.person_id, e.type), 0) + 1
        made.append(a)
    if touched:
        Alert.objects.bulk_update(list(touched.values()), ["repeats", "last_at", "cleared_at", "level"],
                                  batch_size=500)
    if made:
        try:
            with transaction.atomic():
                Alert.objects.bulk_create(made, batch_size=500)
        except IntegrityError:  # another worker opened one of them meanwhile: one at a time, counting on theirs
            made = _create_one_by_one(made)
        made = list(Alert.objects.filter(case_id__in={a.case_id for a in made}, raised_at=now,
                                         key__in={a.key for a in made}).exclude(state=Alert.State.CLOSED))
        audit_records([{"actor": "系统", "kind": AuditRecord.Kind.CHANGE, "action": "alert.raise",
                        "object_type": "case", "object_id": a.case_id,
                        "summary": f"{rules.LEVEL_LABELS[a.level]}：{rules.ALERT_TYPES[a.type][0]}"
                                   f"（{timezone.localtime(a.first_at):%Y-%m-%d %H:%M}）",
                        "after": {"alert": a.pk, "type": a.type, "level": a.level}, "org_path": a.org_path}
                       for a in made])
    return len(made)


def _create_one_by_one(made: list[Alert]) -> list[Alert]:
    out = []
    for a in made:
        try:
            with transaction.atomic():
                a.save()
            out.append(a)
        except IntegrityError:
            Alert.objects.filter(case_id=a.case_id, key=a.key).exclude(state=Alert.State.CLOSED).update(
                repeats=F("repeats") + 1)
    return out


def alert_for_spot_checks(items: list[tuple[int, str]], *, now: datetime | None = None) -> int:
    """Failed or unanswered spot checks join the same queue: items are (spot check id, "failed" | "missed")."""
    now = now or timezone.now()
    checks = {s.pk: s for s in SpotCheck.objects.filter(pk__in=[i for i, _k in items])}
    events = []
    for pk, kind in items:
        s = checks.get(pk)
        if s is None:
            continue
        events.append(AlertEvent(type=f"spot_check_{kind}", case_id=s.case_id, person_id=s.person_id,
                                 time=s.due_at if kind == "missed" else (s.answered_at or now), lat=None, lon=None,
                                 key=f"spot_check:{s.pk}", spot_check_id=s.pk,
                                 detail={"kind": s.get_kind_display()}))
    return raise_alerts(events, now=now)


def _alert(actor, alert_id, *, lock=True) -> Alert:
    pk = parse_pk(alert_id)
    qs = Alert.objects.select_related("case")
    a = (qs.select_for_update() if lock else qs).filter(pk=pk).first() if pk else None
    if a is None or not actor.can(Action.SUPERVISEE_VIEW) or not within(actor, a.org_path) \
            or (a.is_minor and not actor.minor_access):
        raise NotFound()
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有处置预警的权限")
    return a


@use_case
def alert_acknowledge(*, actor, alert_id, ip: str = "") -> Alert:
    """签收: the officer has seen it and works on it (the escalation clock stops)."""
    a = _alert(actor, alert_id)
    if a.state != Alert.State.OPEN:
        raise InputErrors({"alert": "该预警已签收"})
    a.state, a.acknowledged_at, a.acknowledged_by_name = Alert.State.ACKNOWLEDGED, timezone.now(), _name(actor)
    a.save(update_fields=["state", "acknowledged_at", "acknowledged_by_name"])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="alert.acknowledge", object_type="case",
                 object_id=a.case_id, summary=f"签收{rules.ALERT_TYPES[a.type][0]}预警", after={"alert": a.pk}, ip=ip,
                 org_path=a.org_path)
    return a


@use_case
def alert_dispose(*, actor, alert_id, disposal: str, note: str, false_cause: str = "", ip: str = "") -> Alert:
    """处置: what was done (called, visited, verified), and what it was (a violation, which opens the task of a
    proposal for the sanction under 第28条; a false alarm and its cause; a device fault)."""
    a = _alert(actor, alert_id)
    if a.state == Alert.State.CLOSED:
        raise InputErrors({"alert": "该预警已处置"})
    note = (note or "").strip()[:500]
    errors = rules.disposal_errors(disposal, note, false_cause)
    if errors:
        raise InputErrors(errors)
    now = timezone.now()
    if a.acknowledged_at is None:
        a.acknowledged_at, a.acknowledged_by_name = now, _name(actor)
    a.state, a.disposal, a.disposal_note, a.disposed_at = Alert.State.CLOSED, disposal, note, now
    a.false_cause = false_cause if disposal == "false_alarm" else ""
    a.disposed_by, a.disposed_by_name = _staff(actor), _name(actor)
    if disposal == "violation":
        case = a.case
        office = Organisation.objects.get(pk=case.judicial_office_id)
        days = location_table(today_local()).violation_task_days
        today = today_local()
        task, _new = Task.objects.get_or_create(
            case=case, kind=f"violation:{a.pk}", state=Task.State.OPEN,
            defaults=dict(title="违规处理建议（训诫、警告等）", article="《中华人民共和国社区矫正法》第二十八条",
                          anchor_date=today, days=days, day_kind=case_rules.DayKind.CALENDAR,
                          due_date=today + timedelta(days=days), org=office, org_path=office.path,
                          is_minor=case.is_minor))
        a.task_id = task.pk
    a.save()
    if a.spot_check_id:
        SpotCheck.objects.filter(pk=a.spot_check_id, disposed_at__isnull=True).update(
            disposed_at=now, disposed_by=_staff(actor), disposed_by_name=_name(actor),
            disposal=f"{rules.DISPOSALS[disposal]}：{note}"[:300])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="alert.dispose", object_type="case",
                 object_id=a.case_id, summary=f"处置{rules.ALERT_TYPES[a.type][0]}预警（{rules.DISPOSALS[disposal]}"
                                              + (f"，{rules.FALSE_CAUSES[a.false_cause]}" if a.false_cause else "")
                                              + f"）：{note[:80]}",
                 after={"alert": a.pk, "disposal": disposal, "task": a.task_id}, ip=ip, org_path=a.org_path)
    return a


def close_for_spot_check(spot_check_id: int, *, actor, note: str) -> None:
    """A spot check disposed on its own page closes its alert the same way (inside the caller's transaction)."""
    now = timezone.now()
    Alert.objects.filter(spot_check_id=spot_check_id).exclude(state=Alert.State.CLOSED).update(
        state=Alert.State.CLOSED, disposal="verified", disposal_note=note[:500], disposed_at=now,
        disposed_by=_staff(actor), disposed_by_name=_name(actor), acknowledged_at=now)


# --- the sweep ------------------------------------------------------------------------------------------------------

def escalate(now: datetime | None = None) -> int:
    """Alerts not acknowledged within the province's minutes of their level go to the county agency."""
    now = now or timezone.now()
    table = location_table(timezone.localdate(now))
    n = 0
    with transaction.atomic(durable=True):
        recs = []
        for level in rules.LEVELS:
            minutes = rules.escalation_minutes(table, level)
            if not minutes:
                continue
            rows = list(Alert.objects.select_for_update().filter(
                state=Alert.State.OPEN, escalated_at__isnull=True, level=level,
                raised_at__lt=now - timedelta(minutes=minutes)).values_list("pk", "case_id", "org_path", "type")[:5000])
            if not rows:
                continue
            Alert.objects.filter(pk__in=[r[0] for r in rows]).update(escalated_at=now)
            recs += [{"actor": "系统", "kind": AuditRecord.Kind.CHANGE, "action": "alert.escalate",
                      "object_type": "case", "object_id": c,
                      "summary": f"{rules.ALERT_TYPES[ty][0]}预警超过{minutes}分钟未签收，上报县级社区矫正机构",
                      "after": {"alert": pk}, "org_path": p} for pk, c, p, ty in rows]
            n += len(rows)
        if recs:
            audit_records(recs)
    return n


def signal_sweep(now: datetime | None = None) -> int:
    """A bound wristband silent for the province's minutes raises 定位信号丢失 (a phone reports only while its page
    is open, so silence there is not an alarm)."""
    now = now or timezone.now()
    table = location_table(timezone.localdate(now))
    cutoff = now - timedelta(minutes=max(1, table.signal_lost_minutes))  # a minute at least (_touch_trackers)
    rows = list(Tracker.objects.filter(kind=Tracker.Kind.WRISTBAND, case__isnull=False).filter(
        Q(last_seen_at__lt=cutoff) | Q(last_seen_at__isnull=True, bound_at__lt=cutoff)).values_list(
        "pk", "case_id", "person_id", "last_seen_at", "last_lat", "last_lon", "identifier")[:10000])
    if not rows:
        return 0
    with transaction.atomic(durable=True):
        events = [AlertEvent(type="signal_lost", case_id=c, person_id=p, time=seen or now, lat=la, lon=lo,
                             key=f"signal_lost:{pk}", detail={"device": ident, "minutes": table.signal_lost_minutes})
                  for pk, c, p, seen, la, lo, ident in rows]
        open_keys = set(Alert.objects.filter(key__in=[e.key for e in events]).exclude(
            state=Alert.State.CLOSED).values_list("case_id", "key"))
        return raise_alerts([e for e in events if (e.case_id, e.key) not in open_keys], now=now)


def sweep(now: datetime | None = None) -> dict:
    """Each step on its own: one failing does not stop the others (nor a page that sweeps first)."""
    now = now or timezone.now()
    out = {}
    for name, step in (("evaluated", lambda: evaluate_pending(older_than_s=30, now=now)),
                       ("signal_lost", lambda: signal_sweep(now)), ("escalated", lambda: escalate(now))):
        try:
            out[name] = step()
        except Exception:
            log.exception("location sweep step %s failed", name)
            out[name] = None
    return out


def daily(today: date) -> dict:
    t = location_table(today)
    made = partitions.ensure(today, back_days=min(t.retention_days, t.max_fix_age_days + 31))
    cutoff = timezone.now() - timedelta(days=t.retention_days)
    dropped = partitions.drop_before(cutoff)
    return {"orders": orders_sweep(today), "partitions_made": len(made), "dropped": dropped}


def sweep_if_embedded(now: datetime | None = None) -> dict:
    """Without Celery beat (the embedded default) the pages that show alerts sweep first, at most every 30 s."""
    from django.conf import settings
    from django.core.cache import cache

    if settings.ZHIJIAO_DAILY_JOBS == "celery" or not cache.add("zhijiao.location_sweep", 1, 30):
        return {}
    return sweep(now)
