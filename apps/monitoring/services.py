"""Information-based verification (信息化核查, ADR 0010): enrol the face from the officer's photo, judge what a phone
sends (a report-in or a spot check's answer: face, liveness frames, place), the random and targeted spot checks, the
sweep that records no answer, the officer's review and disposal, and the daily verification report of each office.

The face work (a few hundred milliseconds of CPU) runs before the transaction opens, so no row lock waits on it; a
retried upload with the same client id stores nothing twice and answers what the first stored."""
from __future__ import annotations

import base64
import binascii
import calendar as _cal
import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from datetime import timezone as dt_timezone
from typing import Any, Mapping

import numpy as np
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_records
from apps.cases.models import Case
from apps.faces import engine
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk, within
from apps.people.actors import is_self
from apps.people.actors import staff as _staff
from apps.people.models import Supervisee
from apps.people.selectors import access_supervisee
from apps.people.services import InputErrors, NotPermitted, today_local
from apps.supervision import services as supervision
from apps.supervision.services import DAILY, SUPERVISED

from . import location
from .models import DailyReport, FaceEnrolment, SpotCheck, Verification

use_case = transaction.atomic(durable=True)
FRAME_MAX = 1_500_000  # bytes per frame (the portal sends ≤480 px JPEGs of about 30 KB; a camera photo is larger)
MAX_FRAMES = 6
CHALLENGE_SALT = "zhijiao.liveness"
CHALLENGE_SECONDS = 10 * 60  # the phone fetches it the moment the person starts; an offline capture has none
AGE_MAX_SECONDS = 30 * 86400  # how long a capture may have waited on the phone
DIRECTIONS = {"left": "请慢慢向左转头", "right": "请慢慢向右转头"}


def check_table(day: date):
    return supervision.table("check", day)


# --- enrolment --------------------------------------------------------------------------------------------------

def _person(actor, person_id) -> Supervisee:
    """The person's record as the people app opens it (out of scope or sealed: not found), for a writer."""
    p = access_supervisee(user=actor, supervisee_id=person_id)
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有登记人脸的权限")
    return p


def current_enrolment(person_id: int) -> FaceEnrolment | None:
    return FaceEnrolment.objects.filter(person_id=person_id, retired_at__isnull=True).first()


def face_enrol(*, actor, person_id, photo: bytes | None = None, ip: str = "") -> FaceEnrolment:
    """Enrol the face the person's checks are compared with, from an uploaded photo or the record's own photo (the
    officer's, taken at 入矫): exactly one face, or a clear reason and nothing written."""
    p = _person(actor, person_id)
    if photo is None:
        if not p.photo:
            raise InputErrors({"photo": "档案中没有照片，请上传本人正面免冠照片"})
        with p.photo.open("rb") as f:
            photo = f.read()
    try:
        face = engine.one_face(photo)
    except engine.FaceError as e:
        raise InputErrors({"photo": str(e)}) from e
    with transaction.atomic(durable=True):
        old = FaceEnrolment.objects.select_for_update().filter(person=p, retired_at__isnull=True).first()
        if old is not None:
            old.retired_at = timezone.now()
            old.save(update_fields=["retired_at"])
        row = FaceEnrolment(person=p, org_path=p.org_path, encoding=[round(float(x), 7) for x in face.encoding],
                            enrolled_by=_staff(actor), enrolled_by_name=actor.full_name or actor.username)
        ext = "png" if photo[:4] == b"\x89PNG" else "jpg"
        row.photo.save(f"p{p.pk}-{timezone.now():%Y%m%d%H%M%S%f}.{ext}", ContentFile(photo), save=False)
        row.save()
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="face.enrol", object_type="supervisee",
                     object_id=p.pk, summary="登记人脸（用于手机报到和信息化核查）" + ("，替换原登记" if old else ""),
                     after={"enrolment": row.pk, "replaced": old.pk if old else None}, ip=ip, org_path=p.org_path)
    return row


# --- challenges -------------------------------------------------------------------------------------------------

def _latest_key(case_id) -> str:
    return f"zhijiao:challenge:{case_id}"


def challenge_new(case_id: int | None = None, now: datetime | None = None) -> dict:
    """A liveness challenge chosen at random by the server, signed so the phone cannot pick its own, for this case,
    answered once, within minutes. Only the case's latest challenge counts (fetching until the wanted direction comes
    up gains nothing: each fetch retires the one before)."""
    direction = secrets.choice(sorted(DIRECTIONS))
    nonce = secrets.token_hex(8)
    at = int((now or timezone.now()).timestamp())
    if case_id is not None:
        cache.set(_latest_key(case_id), nonce, CHALLENGE_SECONDS + 60)
    return {"token": signing.dumps({"d": direction, "n": nonce, "c": case_id, "t": at}, salt=CHALLENGE_SALT),
            "direction": direction, "prompt": DIRECTIONS[direction]}


@dataclass(frozen=True)
class Challenge:
    direction: str
    nonce: str
    from_server: bool
    issued_at: datetime | None = None


def _challenge(token: str, direction: str, case_id: int) -> Challenge:
    """The server's challenge for this case, or (captured offline with no challenge fetched, or a stale or foreign
    token) the phone's own random direction, and the check goes to an officer for review."""
    if token:
        try:
            got = signing.loads(token, salt=CHALLENGE_SALT, max_age=CHALLENGE_SECONDS)
            nonce = str(got.get("n", ""))[:32]
            if (got.get("d") in DIRECTIONS and got.get("c") == case_id
                    and cache.get(_latest_key(case_id)) == nonce):
                return Challenge(got["d"], nonce, True,
                                 datetime.fromtimestamp(int(got.get("t", 0)), tz=dt_timezone.utc))
        except (signing.BadSignature, TypeError, ValueError, OverflowError):
            pass
    return Challenge(direction if direction in DIRECTIONS else "left", "", False)


def _captured(data: Mapping[str, Any], e: dict, *, now: datetime, case) -> datetime:
    """When the frames were taken. The phone sends how long the capture waited (`age_s`, counted on its own clock at
    upload), so a phone whose clock is wrong still gives the right time; `captured_at` is the fallback."""
    raw = data.get("age_s")
    if raw not in (None, ""):
        try:
            age = float(raw)
        except (TypeError, ValueError):
            age = -1.0
        if not (0 <= age <= AGE_MAX_SECONDS) or age != age:
            e["age_s"] = "采集时间不正确"
            return now
        return now - timedelta(seconds=age)
    return supervision._now_or(data.get("captured_at"), e, "captured_at", now=now,
                               not_before=supervision._case_start(case))


# --- what the phone sends ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stored:
    verification: Verification
    created: bool


def _frames(raw: Any, e: dict) -> list[bytes]:
    if not isinstance(raw, (list, tuple)) or not raw:
        e["frames"] = "请拍摄人脸照片"
        return []
    if len(raw) > MAX_FRAMES:
        e["frames"] = f"照片至多{MAX_FRAMES}张"
        return []
    out = []
    for item in raw:
        try:
            data = base64.b64decode(str(item).split(",", 1)[-1], validate=True)
        except (binascii.Error, ValueError):
            e["frames"] = "照片应为 base64 编码的 JPG"
            return []
        if len(data) > FRAME_MAX:
            e["frames"] = "单张照片不能超过 1.5 MB"
            return []
        out.append(data)
    return out


def _float(data: Mapping[str, Any], key: str, lo: float, hi: float, e: dict) -> float | None:
    raw = data.get(key)
    if raw in (None, ""):
        return None
    try:
        v = float(raw)
    except (TypeError, ValueError):
        e[key] = "定位数据格式不正确"
        return None
    if not (lo <= v <= hi) or v != v:
        e[key] = "定位数据超出范围"
        return None
    return v


def verify_upload(*, actor, data: Mapping[str, Any], ip: str = "", now: datetime | None = None) -> Stored:
    """A face check from the supervisee's phone (`actor` is their SelfActor): purpose report_in or spot_check (with
    spot_check id), client_id, captured_at, lat/lon/accuracy, the challenge token and direction, frames (base64).
    A report-in becomes a supervision record (verified pass or fail); a spot check's answer sets its outcome. A failure
    waits for an officer's review. Bad input changes nothing."""
    from apps.faces import liveness

    if not is_self(actor):
        raise NotPermitted("只有社区矫正对象本人可以通过手机核验")
    now = now or timezone.now()
    cid = str(data.get("client_id") or "").strip()[:64]
    e: dict[str, str] = {}
    if not cid:
        e["client_id"] = "缺少 client_id（手机为每次采集生成的唯一编号）"
    purpose = str(data.get("purpose") or "report_in")
    if purpose not in Verification.Purpose.values:
        e["purpose"] = "用途无效"
    before = Verification.objects.filter(case_id=actor.case_id, client_id=cid).first() if cid else None
    if before is not None:
        return Stored(before, False)
    frames = _frames(data.get("frames"), e)
    lat, lon = _float(data, "lat", -90, 90, e), _float(data, "lon", -180, 180, e)
    accuracy = _float(data, "accuracy", 0, 100_000, e)
    case = Case.objects.filter(pk=actor.case_id, person_id=actor.person_id).select_related("judicial_office").first()
    if case is None or not case.is_open or case.status not in SUPERVISED:
        raise NotFound()
    captured = _captured(data, e, now=now, case=case)
    spot = None
    if purpose == Verification.Purpose.SPOT_CHECK:
        spot = SpotCheck.objects.filter(pk=parse_pk(data.get("spot_check")) or -1, case=case).first()
        if spot is None or spot.issued_at > now + supervision.CLOCK_SKEW:
            e["spot_check"] = "没有这次核查"
        elif spot.state not in (SpotCheck.State.OPEN, SpotCheck.State.MISSED):
            e["spot_check"] = "这次核查已经答复"
    if e:
        raise InputErrors(e)
    ch = _challenge(str(data.get("challenge") or ""), str(data.get("direction") or ""), case.pk)
    direction, nonce, from_server = ch.direction, ch.nonce, ch.from_server
    if from_server and captured < ch.issued_at - supervision.CLOCK_SKEW:
        captured = ch.issued_at  # the frames answer a challenge issued then: they cannot be older
    if spot is not None and captured < spot.issued_at - supervision.CLOCK_SKEW:
        raise InputErrors({"captured_at": "采集时间早于这次核查发出的时间"})
    enrolment = current_enrolment(case.person_id)
    table = check_table(timezone.localtime(captured).date())
    result = liveness.check(frames, direction, np.asarray(enrolment.encoding) if enrolment else None,
                            min_shift=table.turn_percent / 100)
    passed = result.passed and from_server and enrolment is not None
    reason = result.message
    if result.passed and not from_server:
        reason = "离线采集，动作未经服务器随机指定，请工作人员复核"
    if enrolment is None:
        reason = "尚未登记人脸，无法比对，请工作人员复核"
    try:
        with transaction.atomic(durable=True):
            v = Verification(case=case, person_id=case.person_id, office_id=case.judicial_office_id,
                             org_path=case.org_path, is_minor=case.is_minor, purpose=purpose, client_id=cid,
                             device=actor.device[:60], captured_at=captured, lat=lat, lon=lon, accuracy=accuracy,
                             frames=len(frames), challenge=direction, challenge_nonce=nonce, distance=result.distance,
                             threshold=engine.THRESHOLD if result.distance is not None else None, turn=result.shift,
                             code=result.code, passed=passed, reason=reason[:200], spot_check=spot,
                             review="" if passed else Verification.Review.PENDING)
            photo = frames[result.photo_index] if frames else b""
            if photo:
                v.photo.save(f"c{case.pk}-{cid[:24]}.jpg", ContentFile(photo), save=False)
            v.save()
            if purpose == Verification.Purpose.REPORT_IN:
                place = f"定位 {lat:.6f},{lon:.6f}" + (f"（精度{accuracy:.0f}米）" if accuracy is not None else "") \
                    if lat is not None and lon is not None else ""
                rec = supervision._record_add(
                    actor=actor, case_id=case.pk, kind="report_in", device=actor.device, ip=ip, now=now,
                    data={"client_id": cid, "happened_at": captured.isoformat(), "channel": "portal",
                          "verified": "pass" if passed else "fail", "verify_note": reason[:200],
                          "place_note": place, "photo": base64.b64encode(photo).decode() if photo else ""}).record
                v.record_id = rec.pk
                v.save(update_fields=["record_id"])
            if spot is not None:
                spot = SpotCheck.objects.select_for_update().get(pk=spot.pk)
                # lateness by the later of capture and challenge: an old token cannot make a late answer timely
                answered = max(captured, ch.issued_at) if from_server else captured
                spot.answered_at = answered
                spot.state = supervision.rules.spot_check_outcome(passed=passed, answered_at=answered,
                                                                  due_at=spot.due_at)
                spot.save(update_fields=["answered_at", "state"])
                if spot.state == SpotCheck.State.FAILED:
                    location.alert_for_spot_checks([(spot.pk, "failed")], now=now)
            audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="verification.upload", object_type="case",
                         object_id=case.pk, summary=f"{Verification.Purpose(purpose).label}人脸核验"
                                                    f"{'通过' if passed else '未通过'}（{reason[:60]}）",
                         after={"verification": v.pk, "code": result.code, "distance": result.distance,
                                "client_id": cid, "spot_check": spot.pk if spot else None},
                         ip=ip, org_path=case.org_path)
    except IntegrityError:
        again = Verification.objects.filter(case=case, client_id=cid).first()
        if again is not None:
            return Stored(again, False)
        raise InputErrors({"challenge": "该动作指令已使用过，请重新核验"}) from None
    return Stored(v, True)


# --- the officer's side -----------------------------------------------------------------------------------------

def _scoped(actor, model, pk):
    row = model.objects.select_for_update().filter(pk=parse_pk(pk) or -1).first()
    if row is None or not (actor.can(Action.SUPERVISEE_VIEW) and within(actor, row.org_path)
                           and (not row.is_minor or actor.minor_access)):
        raise NotFound()
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有处置核查的权限")
    return row


@use_case
def verification_review(*, actor, verification_id, outcome: str, note: str, ip: str = "") -> Verification:
    """复核 a failed or unverifiable check: confirmed the person (a report-in then counts, superseding the failed record)
    or confirmed an anomaly (not the person, no liveness: a matter for the case)."""
    v = _scoped(actor, Verification, verification_id)
    note = (note or "").strip()[:300]
    e = {}
    if v.review != Verification.Review.PENDING:
        e["outcome"] = "该核验无需复核或已复核"
    if outcome not in (Verification.Review.CONFIRMED, Verification.Review.REJECTED):
        e["outcome"] = "请选择复核结论"
    if not note:
        e["note"] = "请填写复核意见（如何核实）"
    if e:
        raise InputErrors(e)
    if outcome == Verification.Review.CONFIRMED and v.record_id:
        supervision.record_confirm(actor=actor, record_id=v.record_id, note=note, ip=ip)
    v.review, v.reviewed_by, v.reviewer_name, v.reviewed_at, v.review_note = (
        outcome, _staff(actor), actor.full_name or actor.username, timezone.now(), note)
    v.save(update_fields=["review", "reviewed_by", "reviewer_name", "reviewed_at", "review_note"])
    if v.spot_check_id:
        SpotCheck.objects.filter(pk=v.spot_check_id, disposed_at__isnull=True).update(
            disposed_at=v.reviewed_at, disposed_by=_staff(actor), disposed_by_name=v.reviewer_name,
            disposal=f"{Verification.Review(outcome).label}：{note}"[:300])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="verification.review", object_type="case",
                 object_id=v.case_id, summary=f"复核人脸核验：{Verification.Review(outcome).label}（{note[:80]}）",
                 after={"verification": v.pk, "outcome": outcome}, ip=ip, org_path=v.org_path)
    return v


@use_case
def spot_check_issue(*, actor, case_id, note: str = "", ip: str = "", now: datetime | None = None) -> SpotCheck:
    """点对点核查: the officer asks one person for a face photo and a location now, within the province's minutes."""
    now = now or timezone.now()
    case = supervision._case(actor, case_id)
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有发起核查的权限")
    if SpotCheck.objects.filter(case=case, state=SpotCheck.State.OPEN, due_at__gt=now).exists():
        raise InputErrors({"note": "该社区矫正对象有一项核查尚未答复，请等待答复或截止后再发起"})
    t = check_table(timezone.localtime(now).date())
    s = SpotCheck.objects.create(case=case, person_id=case.person_id, office_id=case.judicial_office_id,
                                 org_path=case.org_path, is_minor=case.is_minor, kind=SpotCheck.Kind.TARGETED,
                                 day=timezone.localtime(now).date(), issued_at=now,
                                 due_at=now + timedelta(minutes=t.answer_minutes), issued_by=_staff(actor),
                                 issued_by_name=actor.full_name or actor.username, note=(note or "").strip()[:200])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="spot_check.issue", object_type="case",
                 object_id=case.pk, summary=f"发起点对点核查（{t.answer_minutes}分钟内答复）",
                 after={"spot_check": s.pk}, ip=ip, org_path=case.org_path)
    return s


@use_case
def spot_check_dispose(*, actor, spot_check_id, note: str, ip: str = "") -> SpotCheck:
    """Dispose of an anomaly (failed, late, no answer): what the officer found and did."""
    s = _scoped(actor, SpotCheck, spot_check_id)
    note = (note or "").strip()[:300]
    if s.state in (SpotCheck.State.OPEN, SpotCheck.State.PASSED):
        raise InputErrors({"note": "该核查没有需要处置的异常"})
    if s.disposed_at is not None:
        raise InputErrors({"note": "该核查已处置"})
    if not note:
        raise InputErrors({"note": "请填写处置情况（如电话联系、实地查访的结果）"})
    s.disposed_at, s.disposed_by, s.disposed_by_name, s.disposal = (
        timezone.now(), _staff(actor), actor.full_name or actor.username, note)
    s.save(update_fields=["disposed_at", "disposed_by", "disposed_by_name", "disposal"])
    location.close_for_spot_check(s.pk, actor=actor, note=note)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="spot_check.dispose", object_type="case",
                 object_id=s.case_id, summary=f"处置核查异常（{s.get_state_display()}）：{note[:80]}",
                 after={"spot_check": s.pk}, ip=ip, org_path=s.org_path)
    return s


# --- the jobs ---------------------------------------------------------------------------------------------------

def sweep(now: datetime | None = None) -> int:
    """Open spot checks past their window become 未答复 (one audit record for the batch)."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        ids = list(SpotCheck.objects.select_for_update().filter(state=SpotCheck.State.OPEN, due_at__lt=now)
                   .values_list("pk", "case_id", "org_path")[:10_000])
        if not ids:
            return 0
        SpotCheck.objects.filter(pk__in=[i for i, _c, _p in ids], state=SpotCheck.State.OPEN).update(
            state=SpotCheck.State.MISSED)
        location.alert_for_spot_checks([(i, "missed") for i, _c, _p in ids], now=now)
        audit_records([{"actor": "系统", "kind": AuditRecord.Kind.CHANGE, "action": "spot_check.missed",
                        "object_type": "case", "object_id": c, "summary": "核查超过答复时限未答复",
                        "after": {"spot_check": i}, "org_path": p} for i, c, p in ids])
    return len(ids)


def sweep_if_embedded(now: datetime | None = None) -> int:
    """Without Celery beat (the embedded default) a page that shows spot checks sweeps first, so a missed check
    reads as missed the moment its window closes. One indexed query when there is nothing to do."""
    if settings.ZHIJIAO_DAILY_JOBS == "celery":
        return 0
    now = now or timezone.now()
    if not SpotCheck.objects.filter(state=SpotCheck.State.OPEN, due_at__lt=now).exists():
        return 0
    return sweep(now)


def _seed(case_id: int, day: date) -> int:
    return int.from_bytes(hashlib.sha256(f"spot:{case_id}:{day.isoformat()}".encode()).digest()[:8], "big")


def random_checks_for(day: date) -> int:
    """Draw the day's random spot checks: each supervised case whose person has a bound phone and an enrolled face,
    with the chance of its level (the month's number over its days), at a time within the province's hours. The draw
    is a pure function of the case and the day, so running it twice draws the same and stores nothing twice."""
    t = check_table(day)
    days = _cal.monthrange(day.year, day.month)[1]
    phones = set(FaceEnrolment.objects.filter(retired_at__isnull=True).values_list("person_id", flat=True))
    rows = [r for r in Case.objects.filter(is_open=True, status__in=DAILY, term_start__lte=day,
                                           person_id__in=_bound_people())
            .values_list("pk", "person_id", "org_path", "is_minor", "management_level", "judicial_office_id")
            if r[1] in phones]
    if not rows:
        return 0
    seeds = np.array([_seed(r[0], day) for r in rows], dtype=np.uint64)
    odds = np.array([supervision.rules.spot_check_odds(level=r[4], days_in_month=days, table=t) for r in rows])
    draw = (seeds % np.uint64(1_000_000)).astype(np.float64) / 1_000_000
    minute = (seeds // np.uint64(1_000_000)) % np.uint64(max(1, (t.day_end_hour - t.day_start_hour) * 60))
    start = timezone.make_aware(datetime.combine(day, time(t.day_start_hour)))
    made = [SpotCheck(case_id=r[0], person_id=r[1], org_path=r[2], is_minor=r[3], office_id=r[5],
                      kind=SpotCheck.Kind.RANDOM, day=day, issued_at=start + timedelta(minutes=int(m)),
                      due_at=start + timedelta(minutes=int(m) + t.answer_minutes), issued_by_name="系统随机")
            for r, hit, m in zip(rows, draw < odds, minute) if hit]
    with transaction.atomic(durable=True):
        had = SpotCheck.objects.filter(day=day, kind=SpotCheck.Kind.RANDOM).count()
        SpotCheck.objects.bulk_create(made, batch_size=1000, ignore_conflicts=True)  # drawn before: kept as it was
        done = SpotCheck.objects.filter(day=day, kind=SpotCheck.Kind.RANDOM).count() - had
        if done:
            audit_record(actor="系统", kind=AuditRecord.Kind.CHANGE, action="spot_check.draw", object_type="day",
                         object_id=day.isoformat(), summary=f"生成{day:%Y-%m-%d}随机核查{done}次",
                         after={"cases": [s.case_id for s in made][:1000]}, org_path="")
    return done


_reachable: list = []


def register_reachable(fn) -> None:
    """The portal (above) says who has a bound phone: `fn()` -> a queryset of person ids."""
    if fn not in _reachable:
        _reachable.append(fn)


def _bound_people():
    if not _reachable:
        return Supervisee.objects.none().values("pk")
    return _reachable[0]()


def daily_report_make(day: date) -> int:
    """The verification report of each office with checks that day (made the morning after; made again, it is
    replaced with what the rows now say)."""
    counts: dict[int, dict] = {}
    anomalies: dict[int, list] = {}
    paths: dict[int, str] = {}
    start = timezone.make_aware(datetime.combine(day, time()))
    end = start + timedelta(days=1)
    for office, path, state, pk, case_id in SpotCheck.objects.filter(day=day).values_list(
            "office_id", "office__path", "state", "pk", "case_id"):
        c = counts.setdefault(office, {})
        paths[office] = path
        c["spot_" + state] = c.get("spot_" + state, 0) + 1
        c["spot_total"] = c.get("spot_total", 0) + 1
        if state in (SpotCheck.State.FAILED, SpotCheck.State.LATE, SpotCheck.State.MISSED):
            anomalies.setdefault(office, []).append({"type": state, "spot_check": pk, "case": case_id})
    for office, path, purpose, passed, pk, case_id, spot in Verification.objects.filter(
            captured_at__gte=start, captured_at__lt=end).values_list("office_id", "office__path", "purpose", "passed",
                                                                     "pk", "case_id", "spot_check_id"):
        c = counts.setdefault(office, {})
        paths[office] = path
        key = f"{purpose}_{'passed' if passed else 'failed'}"
        c[key] = c.get(key, 0) + 1
        if not passed and spot is None:
            anomalies.setdefault(office, []).append({"type": "verify_failed", "verification": pk, "case": case_id})
    with transaction.atomic(durable=True):
        DailyReport.objects.filter(day=day).delete()
        DailyReport.objects.bulk_create([DailyReport(office_id=o, org_path=paths[o], day=day, counts=c,
                                                     anomalies=anomalies.get(o, [])) for o, c in counts.items()])
        if counts:
            audit_record(actor="系统", kind=AuditRecord.Kind.CHANGE, action="verification.report", object_type="day",
                         object_id=day.isoformat(), summary=f"生成{day:%Y-%m-%d}核查报告（{len(counts)}个司法所）",
                         org_path="")
    return len(counts)


def monitoring_daily(today: date) -> dict:
    return {"missed": sweep(), "drawn": random_checks_for(today),
            "reports": daily_report_make(today - timedelta(days=1))}


__all__ = ["face_enrol", "current_enrolment", "challenge_new", "verify_upload", "verification_review",
           "spot_check_issue", "spot_check_dispose", "sweep", "random_checks_for", "daily_report_make",
           "monitoring_daily", "today_local"]
