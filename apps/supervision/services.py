"""Use cases of daily supervision: record a report-in, a visit, a contact, a talk, a thought report or a health
report; enter hours of study and service; apply for leave (and the other approvals) and take each step of it; the
daily job that raises what is missing. Each checks, writes and audits in one transaction, or writes nothing and
says why (InputErrors by field, RequestRefused with the article). A retried upload with the same client id
returns what the first stored."""
from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_records
from apps.cases import rules as case_rules
from apps.cases import workdays
from apps.cases.models import Case, Task
from apps.cases.services import calendar, responsible_officers
from apps.documents.services import document_issue
from apps.orgs.models import Organisation
from apps.orgs.rules import Action, OrgKind
from apps.orgs.scope import NotFound, parse_pk, within
from apps.people.services import InputErrors, NotPermitted, today_local
from apps.people.actors import is_self
from apps.people.actors import staff as _staff

from . import rules
from .models import Activity, Fact, Hours, Record, Request, RequestEvent, RuleSetting

use_case = transaction.atomic(durable=True)
log = logging.getLogger(__name__)
CS = case_rules.CaseStatus
# a case is supervised day to day from the report-in until it ends (the search of 待报到 is the case lifecycle's)
SUPERVISED = frozenset({CS.REPORTED, CS.ACTIVE, CS.TRANSFERRING, CS.REVOCATION_PENDING, CS.ABSCONDED})
DAILY = frozenset({CS.ACTIVE, CS.TRANSFERRING, CS.REVOCATION_PENDING})  # what the daily job judges
CLOCK_SKEW = timedelta(minutes=5)  # a device's clock may run this far ahead


class RequestRefused(Exception):
    """What the law forbids, each reason with its article; nothing was written."""

    def __init__(self, reasons):
        super().__init__("；".join(reasons))
        self.reasons = list(reasons)


# --- the tables in force (a province's rows replace the shipped ones' fields) -------------------------------

_TABLES = {"leave": rules.LEAVE_TABLES, "report": rules.REPORT_TABLES, "hours": rules.HOURS_TABLES,
           "check": rules.CHECK_TABLES}


def tables(name: str, settings_rows=None, shipped: tuple | None = None) -> tuple:
    """The shipped tables and the province's rows (read here, or given: the settings page reads them all once).
    Another app's table passes its own shipped rows (apps.monitoring: "location")."""
    shipped = shipped if shipped is not None else _TABLES[name]
    base = shipped[0]
    given = ([r for r in settings_rows if r.table == name] if settings_rows is not None
             else RuleSetting.objects.filter(table=name).order_by("effective_from"))
    rows = [dataclasses.replace(base, effective_from=r.effective_from,
                                **{k: tuple(v) if isinstance(v, list) else v for k, v in r.values.items()})
            for r in sorted(given, key=lambda r: r.effective_from)]
    return tuple(shipped) + tuple(rows)


def table(name: str, day: date):
    return rules.table_on(tables(name), day)


# --- reading the case to write on it --------------------------------------------------------------------------

def _visible(actor, case: Case) -> bool:
    if is_self(actor):  # the supervisee sees their own open case, nothing else
        return case.pk == actor.case_id and case.person_id == actor.person_id
    return (actor.can(Action.SUPERVISEE_VIEW) and within(actor, case.org_path)
            and (not case.is_minor or actor.minor_access))


def _case(actor, case_id, *, lock: bool = True) -> Case:
    pk = parse_pk(case_id)
    qs = Case.objects.select_related("person", "judicial_office", "execution_county")
    case = (qs.select_for_update() if lock else qs).filter(pk=pk).first() if pk else None
    if case is None or not _visible(actor, case):
        raise NotFound()
    if not is_self(actor) and not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有登记日常监管记录的权限")
    if not case.is_open or case.status not in SUPERVISED:
        raise NotPermitted("该案件当前不在社区矫正期间（尚未报到或已解除、终止），不能登记日常监管记录")
    return case


def _now_or(value: Any, errors: dict, key: str, *, now: datetime, not_before: date) -> datetime:
    """A time from a form (2026-12-02T09:30 or 2026-12-02 09:30) or a device (ISO 8601 with offset); now if
    empty. Not in the future, not before the case began."""
    if value in (None, ""):
        return now
    if isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace(" ", "T")
        try:
            dt = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
        except ValueError:
            errors[key] = "时间格式不正确，应为 2026-12-02 09:30 这样的时间"
            return now
    if not 2000 <= dt.year <= 2100:
        errors[key] = "时间超出合理范围"
        return now
    try:
        if timezone.is_naive(dt):
            dt = timezone.make_aware(dt)
        local_day = timezone.localtime(dt).date()
    except (OverflowError, ValueError):
        errors[key] = "时间超出合理范围"
        return now
    if dt > now + CLOCK_SKEW:
        errors[key] = "时间不能晚于现在"
    elif local_day < not_before:
        errors[key] = f"时间不能早于本次社区矫正开始之日（{not_before.isoformat()}）"
    return dt


def _day(value: Any, label: str, errors: dict, key: str, *, default: date | None = None) -> date | None:
    if value in (None, ""):
        if default is None:
            errors[key] = f"请填写{label}"
        return default
    if isinstance(value, date):
        return value
    try:
        d = date.fromisoformat(str(value).strip().replace("/", "-"))
    except ValueError:
        errors[key] = f"{label}格式不正确，应为 2026-12-02 这样的日期"
        return None
    if not 2000 <= d.year <= 2100:
        errors[key] = f"{label}超出合理范围"
        return None
    return d


def _text(data: Mapping, key: str, limit: int) -> str:
    return str(data.get(key) or "").strip()[:limit]


def _flag(data: Mapping, key: str) -> bool:
    return str(data.get(key) or "").lower() in ("1", "true", "on", "yes")


def _case_start(case: Case) -> date:
    return min(d for d in (case.reported_date, case.term_start) if d)


# --- records ---------------------------------------------------------------------------------------------------

NEEDS_TEXT = {Record.Kind.THOUGHT: "请填写思想汇报内容", Record.Kind.HEALTH: "请填写病情报告内容"}
NEEDS_FINDINGS = {Record.Kind.VISIT: "请填写查访情况", Record.Kind.PHONE: "请填写联络情况",
                  Record.Kind.TALK: "请填写谈话（个别教育）内容"}
DEFAULT_CHANNEL = {Record.Kind.REPORT_IN: Record.Channel.OFFICE, Record.Kind.VISIT: Record.Channel.FIELD,
                   Record.Kind.PHONE: Record.Channel.PHONE, Record.Kind.TALK: Record.Channel.OFFICE,
                   Record.Kind.THOUGHT: Record.Channel.PAPER, Record.Kind.HEALTH: Record.Channel.PAPER,
                   Record.Kind.CHECK: Record.Channel.PAPER}
STAFF_CHANNELS = {Record.Channel.OFFICE, Record.Channel.FIELD, Record.Channel.PHONE, Record.Channel.PAPER}
DEVICE_CHANNELS = {Record.Channel.KIOSK, Record.Channel.PORTAL}
PHOTO_MAX = 2 * 1024 * 1024


@dataclass(frozen=True)
class Stored:
    record: Any
    created: bool  # False: a retry of an upload already stored (same client id)


def _photo_bytes(raw: Any, errors: dict) -> bytes | None:
    """A JPEG or PNG, as bytes (an upload) or base64 (the device API)."""
    if raw in (None, ""):
        return None
    if hasattr(raw, "read"):
        if getattr(raw, "size", 0) > PHOTO_MAX:
            errors["photo"] = "照片不能超过 2 MB"
            return None
        data = raw.read()
    else:
        try:
            data = base64.b64decode(str(raw), validate=True)
        except (binascii.Error, ValueError):
            errors["photo"] = "照片应为 base64 编码的 JPG 或 PNG"
            return None
    if len(data) > PHOTO_MAX:
        errors["photo"] = "照片不能超过 2 MB"
        return None
    if not (data[:3] == b"\xff\xd8\xff" or data[:8] == b"\x89PNG\r\n\x1a\n"):
        errors["photo"] = "照片须为 JPG 或 PNG 格式"
        return None
    return data


def record_add(*, actor, case_id, kind: str, data: Mapping[str, Any], device: str = "", ip: str = "",
               now: datetime | None = None) -> Stored:
    """Register one record. From a page `device` is empty and the channel is the staff's; the kiosk and the portal
    post through the API with their device name and a client id."""
    return _stored_once(Record, case_id, data, lambda: _record_add(
        actor=actor, case_id=case_id, kind=kind, data=data, device=device, ip=ip, now=now or timezone.now()))


def _stored_once(model, case_id, data: Mapping[str, Any], write) -> Stored:
    """Run `write` in one transaction. A concurrent retry with the same client id that stored first (the unique
    constraint refuses this one) is answered with what it stored."""
    try:
        with transaction.atomic(durable=True):
            return write()
    except IntegrityError:
        cid = _text(data, "client_id", 64)
        row = model.objects.filter(case_id=parse_pk(case_id), client_id=cid).first() if cid else None
        if row is None:
            raise
        return Stored(row, False)


def _stored_before(model, case: Case, cid: str) -> Stored | None:
    """The row a retried upload stored already (same case, same client id), if any."""
    row = model.objects.filter(case=case, client_id=cid).first() if cid else None
    return Stored(row, False) if row is not None else None


def _record_add(*, actor, case_id, kind: str, data: Mapping[str, Any], device: str, ip: str,
                now: datetime) -> Stored:
    case = _case(actor, case_id)
    if kind not in Record.Kind.values:
        raise InputErrors({"kind": f"没有“{kind}”这类监管记录"})
    cid = _text(data, "client_id", 64)
    if before := _stored_before(Record, case, cid):
        return before
    e: dict[str, str] = {}
    channel = str(data.get("channel") or DEFAULT_CHANNEL[kind])
    allowed = DEVICE_CHANNELS if device else STAFF_CHANNELS
    if channel not in allowed:
        e["channel"] = "方式无效，可选：" + "、".join(Record.Channel(c).label for c in sorted(allowed))
    happened = _now_or(data.get("happened_at"), e, "happened_at", now=now, not_before=_case_start(case))
    place = _text(data, "place", 20)
    if kind == Record.Kind.VISIT and place not in rules.PLACES:
        e["place"] = "请选择查访地点：" + "、".join(rules.PLACES.values())
    elif place and place not in rules.PLACES:
        e["place"] = "地点无效"
    findings, text = _text(data, "findings", 4000), _text(data, "text", 8000)
    if kind in NEEDS_FINDINGS and not findings:
        e["findings"] = NEEDS_FINDINGS[kind]
    if kind in NEEDS_TEXT and not text:
        e["text"] = NEEDS_TEXT[kind]
    extra = {}
    if kind == Record.Kind.CHECK:
        extra["hospital"] = _text(data, "hospital", 100)
        if not extra["hospital"]:
            e["hospital"] = "请填写复查医院（省级人民政府指定医院）"
        if not text:
            e["text"] = "请填写复查结果"
    verified = _text(data, "verified", 10)
    if verified not in ("", "pass", "fail"):
        e["verified"] = "核验结果应为 pass 或 fail"
    photo = _photo_bytes(data.get("photo"), e)
    if e:
        raise InputErrors(e)
    rec = Record(case=case, person_id=case.person_id, org_path=case.org_path, is_minor=case.is_minor, kind=kind,
                 channel=channel, happened_at=happened, recorded_by=_staff(actor), recorder_name=actor.full_name or actor.username,
                 device=device[:60], client_id=cid, place=place, place_note=_text(data, "place_note", 200),
                 findings=findings, discreet=_flag(data, "discreet"), verified=verified,
                 verify_note=_text(data, "verify_note", 200), text=text, data=extra)
    if photo:
        ext = "png" if photo.startswith(b"\x89PNG") else "jpg"
        rec.photo.save(f"c{case.pk}-{timezone.now():%Y%m%d%H%M%S%f}.{ext}", ContentFile(photo), save=False)
    rec.save()
    label = Record.Kind(kind).label
    when = timezone.localtime(happened)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.record", object_type="case",
                 object_id=case.pk, summary=f"登记{label}（{Record.Channel(channel).label}，{when:%Y-%m-%d %H:%M}）",
                 after={"record": rec.pk, "kind": kind, "channel": channel, "device": device, "verified": verified,
                        "client_id": cid}, ip=ip, org_path=case.org_path)
    if kind == Record.Kind.REPORT_IN and verified != "fail":
        _close_task(case, "missed_report", f"已于{when:%Y-%m-%d}报到")
    if kind == Record.Kind.CHECK:
        _close_task(case, "check_missing", f"已于{when:%Y-%m-%d}提交病情复查情况")
    return Stored(rec, True)


def _close_task(case: Case, kind: str, note: str) -> None:
    Task.objects.filter(case=case, kind=kind, state=Task.State.OPEN).update(
        state=Task.State.DONE, closed_at=timezone.now(), closed_note=note[:200])


@use_case
def record_review(*, actor, record_id, comment: str, ip: str = "") -> Record:
    """批阅 a thought report (once: a second opinion is a new comment on a new record, not an overwrite)."""
    rec = Record.objects.select_for_update().filter(pk=parse_pk(record_id) or -1).first()
    if rec is None:
        raise NotFound()
    case = _case(actor, rec.case_id)
    comment = (comment or "").strip()[:500]
    if rec.kind != Record.Kind.THOUGHT:
        raise InputErrors({"comment": "只有思想汇报需要批阅"})
    if rec.reviewed_at is not None:
        raise InputErrors({"comment": "该思想汇报已批阅"})
    if not comment:
        raise InputErrors({"comment": "请填写批阅意见"})
    rec.reviewed_by, rec.reviewer_name, rec.reviewed_at, rec.review_comment = (
        actor, actor.full_name or actor.username, timezone.now(), comment)
    rec.save(update_fields=["reviewed_by", "reviewer_name", "reviewed_at", "review_comment"])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.review", object_type="case",
                 object_id=case.pk, summary=f"批阅思想汇报（{timezone.localtime(rec.happened_at):%Y-%m-%d}）",
                 after={"record": rec.pk, "comment": comment}, ip=ip, org_path=case.org_path)
    return rec


def record_supersede(*, actor, record_id, reason: str, data: Mapping[str, Any], ip: str = "") -> Record:
    """Correct a record: a new one with the corrected facts supersedes it, with the reason; the old stays."""
    reason = (reason or "").strip()[:200]
    with transaction.atomic(durable=True):
        old = Record.objects.select_for_update().filter(pk=parse_pk(record_id) or -1).first()
        if old is None:
            raise NotFound()
        _case(actor, old.case_id)
        if old.superseded_by_id:
            raise InputErrors({"reason": "该记录已被更正，请更正最新的记录"})
        if old.channel in DEVICE_CHANNELS:
            raise InputErrors({"reason": "终端上传的记录不能更正，可另行登记并说明"})
        if not reason:
            raise InputErrors({"reason": "请填写更正理由"})
        fields = {"channel": old.channel, "happened_at": timezone.localtime(old.happened_at).isoformat(),
                  "place": old.place, "place_note": old.place_note, "findings": old.findings, "text": old.text,
                  "discreet": "1" if old.discreet else "", "hospital": old.data.get("hospital", "")}
        fields.update({k: v for k, v in data.items() if k in fields})
        new = _record_add(actor=actor, case_id=old.case_id, kind=old.kind, data=fields, device="", ip=ip,
                          now=timezone.now()).record
        old.superseded_by, old.supersede_reason = new, reason
        old.save(update_fields=["superseded_by", "supersede_reason"])
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.correct", object_type="case",
                     object_id=old.case_id, summary=f"更正{Record.Kind(old.kind).label}记录：{reason}",
                     before={"record": old.pk}, after={"record": new.pk, "reason": reason}, ip=ip,
                     org_path=old.org_path)
        return new


def record_confirm(*, actor, record_id, note: str, ip: str = "") -> Record:
    """An officer confirms a report-in the phone's face check failed (e.g. poor light), having verified the person
    another way: a new record with the same facts and `verified=pass` supersedes it, with the reason; the old stays.
    Runs inside the caller's transaction (the review that decides it)."""
    note = (note or "").strip()[:200]
    with transaction.atomic():
        old = Record.objects.select_for_update().filter(pk=parse_pk(record_id) or -1).first()
        if old is None:
            raise NotFound()
        case = _case(actor, old.case_id)
        if old.superseded_by_id:
            raise InputErrors({"note": "该记录已被更正"})
        if old.verified != "fail":
            raise InputErrors({"note": "只有核验未通过的记录需要人工确认"})
        if not note:
            raise InputErrors({"note": "请写明如何核实了本人（如电话、视频、到所）"})
        new = Record(case=case, person_id=old.person_id, org_path=old.org_path, is_minor=old.is_minor, kind=old.kind,
                     channel=old.channel, happened_at=old.happened_at, recorded_by=_staff(actor),
                     recorder_name=actor.full_name or actor.username, device=old.device, place=old.place,
                     place_note=old.place_note, findings=old.findings, verified="pass",
                     verify_note=f"人工核验确认：{note}"[:200], text=old.text, data=old.data, photo=old.photo.name)
        new.save()
        old.superseded_by, old.supersede_reason = new, f"人工核验确认：{note}"[:200]
        old.save(update_fields=["superseded_by", "supersede_reason"])
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.confirm", object_type="case",
                     object_id=case.pk, summary=f"人工核验确认{Record.Kind(old.kind).label}：{note}",
                     before={"record": old.pk}, after={"record": new.pk}, ip=ip, org_path=old.org_path)
        if new.kind == Record.Kind.REPORT_IN:
            _close_task(case, "missed_report", f"已于{timezone.localtime(new.happened_at):%Y-%m-%d}报到（人工核验）")
        return new


# --- 双八 hours -------------------------------------------------------------------------------------------------

def _hours_value(value: Any, errors: dict) -> Decimal | None:
    try:
        h = Decimal(str(value).strip())
        if h.is_finite():
            if abs(h) > 1000:
                errors["hours"] = f"时长应在 0.5 至 {rules.MAX_HOURS_A_DAY:g} 小时之间"
                return None
            h = h.quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        errors["hours"] = "时长应为数字，如 2 或 1.5"
        return None
    if not h.is_finite():
        errors["hours"] = "时长应为数字，如 2 或 1.5"
        return None
    return h


@use_case
def activity_create(*, actor, data: Mapping[str, Any], ip: str = "", today: date | None = None) -> Activity:
    """An office's study session or public-welfare activity (集中教育、公益活动), or an online course."""
    today = today or today_local()
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有组织教育学习和公益活动的权限")
    e: dict[str, str] = {}
    office = actor.organisation if actor.organisation.kind == OrgKind.JUDICIAL_OFFICE else None
    if office is None:  # a county agency organises for one of its offices
        office = Organisation.objects.filter(pk=parse_pk(data.get("office")) or -1,
                                             kind=OrgKind.JUDICIAL_OFFICE).first()
        if office is None or not within(actor, office.path):
            e["office"] = "请选择组织活动的司法所"
    kind, form = _text(data, "kind", 10), _text(data, "form", 10)
    if kind not in rules.HOURS_KINDS:
        e["kind"] = "请选择类别：" + "、".join(rules.HOURS_KINDS.values())
    if form not in Activity.Form.values:
        e["form"] = "请选择形式"
    title = _text(data, "title", 100)
    if not title:
        e["title"] = "请填写活动名称"
    day = _day(data.get("day"), "日期", e, "day", default=today)
    hours = _hours_value(data.get("hours"), e)
    if hours is not None and not 0 < hours <= Decimal(str(rules.MAX_HOURS_A_DAY)):
        e["hours"] = f"时长应在 0.5 至 {rules.MAX_HOURS_A_DAY:g} 小时之间"
    if day and day > today + timedelta(days=60):
        e["day"] = "日期过远"
    if e:
        raise InputErrors(e)
    a = Activity.objects.create(office=office, org_path=office.path, kind=kind, form=form,
                                title=title, day=day, hours=hours, place=_text(data, "place", 200),
                                for_minors=_flag(data, "for_minors"), created_by=_staff(actor))
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.activity", object_type="activity",
                 object_id=a.pk, summary=f"组织{rules.HOURS_KINDS[kind]}：{title}（{day.isoformat()}，{hours}小时）",
                 after={"activity": a.pk}, ip=ip, org_path=a.org_path)
    return a


def hours_add(*, actor, case_id, data: Mapping[str, Any], ip: str = "", today: date | None = None) -> Stored:
    """Hours one person did: in an activity of their office (the activity's hours unless signed in and out), or
    entered with evidence (an online course's certificate, the host's confirmation)."""
    today = today or today_local()
    return _stored_once(Hours, case_id, data, lambda: _hours_add(actor=actor, case_id=case_id, data=data, ip=ip,
                                                                 today=today))


def _hours_add(*, actor, case_id, data, ip, today) -> Stored:
    case = _case(actor, case_id)
    cid = _text(data, "client_id", 64)
    if before := _stored_before(Hours, case, cid):
        return before
    e: dict[str, str] = {}
    activity = None
    if data.get("activity"):
        activity = Activity.objects.filter(pk=parse_pk(data.get("activity")) or -1).first()
        if activity is None or activity.office_id != case.judicial_office_id:
            e["activity"] = "活动不存在或不属于该对象的司法所"
            activity = None
    kind = activity.kind if activity else _text(data, "kind", 10)
    if kind not in rules.HOURS_KINDS:
        e["kind"] = "请选择类别：" + "、".join(rules.HOURS_KINDS.values())
    day = activity.day if activity else _day(data.get("day"), "日期", e, "day", default=today)
    signed_in = signed_out = None
    if data.get("signed_in") or data.get("signed_out"):
        now = timezone.now()
        signed_in = _now_or(data.get("signed_in"), e, "signed_in", now=now, not_before=_case_start(case))
        signed_out = _now_or(data.get("signed_out"), e, "signed_out", now=now, not_before=_case_start(case))
        if "signed_in" not in e and "signed_out" not in e and signed_out <= signed_in:
            e["signed_out"] = "签退时间应晚于签到时间"
    if signed_in and signed_out and not e:
        hours = Decimal(str(round((signed_out - signed_in).total_seconds() / 3600 * 2) / 2)).quantize(Decimal("0.1"))
        if activity:
            hours = min(hours, activity.hours)
    elif activity and data.get("hours") in (None, ""):
        hours = activity.hours
    else:
        hours = _hours_value(data.get("hours"), e)
    evidence = _text(data, "evidence", 300)
    if activity is None and not evidence and not e.get("kind"):
        e["evidence"] = "未参加司法所组织的活动时，请写明佐证材料（如网络课程学习证明、公益服务单位证明）"
    if day and hours is not None and not e:
        group = activity is not None and activity.form in (Activity.Form.GROUP, Activity.Form.WELFARE)
        for r in rules.hours_refusals(hours=float(hours), day=day, today=today, is_minor=case.is_minor,
                                      activity_for_minors=activity.for_minors if activity else None, group=group):
            e.setdefault("hours" if "时长" in r else ("day" if "日期" in r else "activity"), r)
        if day and day < _case_start(case):
            e["day"] = "日期不能早于本次社区矫正开始之日"
        if activity and Hours.objects.filter(case=case, activity=activity, superseded_by__isnull=True).exists():
            e["activity"] = "该对象已登记参加此活动"
    if e:
        raise InputErrors(e)
    h = Hours.objects.create(case=case, person_id=case.person_id, org_path=case.org_path, is_minor=case.is_minor,
                             kind=kind, activity=activity, day=day, hours=hours, signed_in=signed_in,
                             signed_out=signed_out, evidence=evidence, client_id=cid, recorded_by=_staff(actor),
                             recorder_name=actor.full_name or actor.username)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.hours", object_type="case",
                 object_id=case.pk, summary=f"登记{rules.HOURS_KINDS[kind]}{hours}小时（{day.isoformat()}"
                                            + (f"，{activity.title}" if activity else "") + "）",
                 after={"hours": h.pk, "kind": kind, "value": str(hours), "activity": activity.pk if activity else None},
                 ip=ip, org_path=case.org_path)
    return Stored(h, True)


# --- requests: leave, permits, special places, meetings ------------------------------------------------------------

TAKEN = (rules.RequestState.APPROVED, rules.RequestState.DEPARTED, rules.RequestState.ARRIVED,
         rules.RequestState.OVERDUE, rules.RequestState.RETURNED, rules.RequestState.CLOSED)


def _authority_org(case: Case, authority: str) -> Organisation:
    if authority == rules.Authority.OFFICE:
        return case.judicial_office
    if authority == rules.Authority.COUNTY:
        return case.execution_county
    if authority == "province":
        return case.execution_county.parent.parent  # 省级社区矫正机构
    return case.execution_county.parent  # 上一级社区矫正机构: the city's


def other_trips(case: Case, around: rules.Trip, *, exclude: int | None = None,
                today: date | None = None) -> list[rules.Trip]:
    """The case's other leave within the window around a trip, as days actually away or approved to be: a trip
    approved but not taken does not count; one returned late counts to its return; one still overdue counts to
    today (实施办法第28条: 两个月内累计)."""
    today = today or today_local()
    qs = Request.objects.filter(case=case, kind="leave", state__in=TAKEN, end__gte=around.start - timedelta(60),
                                start__lte=around.end + timedelta(60))
    if exclude:
        qs = qs.exclude(pk=exclude)
    out = []
    for s, e, back, gone, state in qs.values_list("start", "end", "returned_on", "departed_on", "state"):
        if state == rules.RequestState.CLOSED and gone is None:
            continue  # approved, never taken (未成行)
        last = back if back else (max(e, today) if state == rules.RequestState.OVERDUE else e)
        out.append(rules.Trip(gone or s, max(last, gone or s)))
    return out


def _clean_request(case: Case, kind: str, data: Mapping[str, Any], today: date) -> dict:
    e: dict[str, str] = {}
    if kind not in rules.REQUEST_KINDS:
        raise InputErrors({"kind": f"没有“{kind}”这类申请"})
    out = {"kind": kind, "detail": _text(data, "detail", 500), "destination": _text(data, "destination", 200),
           "evidence": _text(data, "evidence", 300), "abroad": _flag(data, "abroad"),
           "reason": _text(data, "reason", 20)}
    out["destination_adcodes"] = [c for c in str(data.get("destination_adcodes") or "").replace("，", ",").split(",")
                                  if c.strip()]
    for c in out["destination_adcodes"]:
        if not (c.strip().isdigit() and len(c.strip()) == 6):
            e["destination_adcodes"] = "行政区划代码应为6位数字，多个用逗号分隔"
    out["destination_adcodes"] = [c.strip() for c in out["destination_adcodes"]]
    if kind == "extension":
        months = str(data.get("months") or "").strip()
        ok = months.isascii() and months.isdigit() and 1 <= int(months) <= 12
        if not ok:
            e["months"] = "延长月数应为1至12的整数"
        out["months"] = int(months) if ok else 0
        due = check_due(case)
        out["start"], out["end"] = today, rules.add_months(due, out["months"]) if due and out["months"] else today
        if not rules.needs_hospital_check(case.sentence_type, ground_of(case)):
            e["months"] = "只有保外就医的社区矫正对象需要定期病情复查（实施办法第24条）"
        elif due is None:
            e["months"] = "尚未登记病情复查，请先登记最近一次复查情况"
    else:
        out["start"] = _day(data.get("start"), "开始日期", e, "start")
        out["end"] = _day(data.get("end"), "结束日期", e, "end")
    if not out["detail"]:
        e["detail"] = "请写明具体事由"
    if kind in ("leave", "permit") and not out["destination"]:
        e["destination"] = "请填写目的地"
    if kind == "leave" and out["reason"] not in rules.REASONS and not out["abroad"]:
        e["reason"] = "请选择外出事由：" + "、".join(rules.REASONS.values())
    if kind == "leave" and not out["evidence"] and out["reason"] != "business":  # business: the ticked proofs
        e["evidence"] = "请写明所附证明材料（如诊断证明、入学通知、开庭传票、单位证明）"
    if out["start"] and out["end"] and out["end"] < out["start"]:
        e["end"] = "结束日期不能早于开始日期"
    if out["end"] and out["end"] > case.term_end and kind not in ("meeting", "extension"):
        e["end"] = f"结束日期不能晚于矫正期满日（{case.term_end.isoformat()}）"
    if e:
        raise InputErrors(e)
    return out


ATTACHMENT_MAX = 5 * 1024 * 1024
ATTACHMENTS_MAX = 10


def uploads_from_base64(items) -> list:
    """The device API's files, (name, base64 text) each, as uploads attachments_check reads (bad base64: an error)."""
    out = []
    for name, text in items[:ATTACHMENTS_MAX + 1]:
        try:
            data = base64.b64decode(str(text), validate=True)
        except (binascii.Error, ValueError):
            raise InputErrors({"files": f"“{str(name)[:60]}”应为 base64 编码的 PDF、JPG 或 PNG"}) from None
        out.append(ContentFile(data, name=str(name)[:100] or "file"))
    return out


def attachments_check(files) -> list[tuple[str, str, bytes]]:
    """The proofs uploaded with an application, checked before anything is written: PDF, JPG or PNG, at most
    5 MB each and ten in all. Returns (name, content type, bytes)."""
    files = [f for f in (files or []) if f]
    if len(files) > ATTACHMENTS_MAX:
        raise InputErrors({"files": f"证明材料最多上传{ATTACHMENTS_MAX}个文件"})
    out = []
    for f in files:
        if getattr(f, "size", 0) > ATTACHMENT_MAX:
            raise InputErrors({"files": f"“{f.name[:60]}”超过 5 MB"})
        data = f.read()
        if len(data) > ATTACHMENT_MAX:
            raise InputErrors({"files": f"“{f.name[:60]}”超过 5 MB"})
        kind = ("application/pdf" if data[:5] == b"%PDF-" else "image/jpeg" if data[:3] == b"\xff\xd8\xff"
                else "image/png" if data[:8] == b"\x89PNG\r\n\x1a\n" else "")
        if not kind:
            raise InputErrors({"files": f"“{f.name[:60]}”不是 PDF、JPG 或 PNG 文件"})
        out.append((str(f.name)[-120:], kind, data))
    return out


def request_apply(*, actor, case_id, data: Mapping[str, Any], channel: str = "office", ip: str = "",
                  today: date | None = None, files=None) -> Stored:
    """Register an application (the office on the person's written application, or the portal). The authority
    and the decide-by day come from the rules; what the law forbids is refused with its article."""
    today = today or today_local()
    checked = attachments_check(files)

    def write() -> Stored:
        stored = _request_apply(actor=actor, case_id=case_id, data=data, channel=channel, ip=ip, today=today,
                                files=len(checked or ()))
        if stored.created and checked:
            _attach(actor, stored.record, checked)
        return stored

    return _stored_once(Request, case_id, data, write)


def _business_evidence_given(data: Mapping[str, Any], required: tuple[str, ...]) -> list[str]:
    """The proofs ticked on the form (be_0, be_1, ...: the table's items in order) or listed by the API."""
    listed = data.get("business_evidence")
    if isinstance(listed, (list, tuple)):
        return [x for x in required if x in listed]
    return [x for i, x in enumerate(required) if _flag(data, f"be_{i}")]


def _request_apply(*, actor, case_id, data, channel, ip, today, files: int = 0) -> Stored:
    case = _case(actor, case_id)
    cid = _text(data, "client_id", 64)
    if before := _stored_before(Request, case, cid):
        return before
    kind = _text(data, "kind", 10) or "leave"
    c = _clean_request(case, kind, data, today)
    lt = table("leave", today)
    warnings: tuple[str, ...] = ()
    rolling, tell = 0, False
    if kind == "leave":
        trip = rules.Trip(c["start"], c["end"])
        d = rules.leave_authority(trip=trip, reason=c["reason"], applied=today, abroad=c["abroad"],
                                  others=tuple(other_trips(case, trip, today=today)), table=lt)
        if d.authority is None:
            raise RequestRefused(d.refusals)
        authority, warnings, rolling, tell = d.authority, d.warnings, d.rolling_days, d.tell_procuratorate
    elif kind == "permit":
        refusals = rules.permit_refusals(start=c["start"], end=c["end"], destinations=c["destination_adcodes"])
        if refusals:
            raise RequestRefused(refusals)
        authority = rules.Authority.COUNTY  # the county agency approves (实施办法第29条)
    elif kind == "extension":  # 1-3 months one level up, more the province; the procuratorate told (实施办法第24条)
        authority, tell = rules.extension_authority(c["months"]), True
    elif kind == "place":  # only a prohibition order in force makes the entry a matter for approval
        if not prohibitions_in_force(case, c["start"], c["end"]):
            raise RequestRefused(["该社区矫正对象在此期间没有有效的禁止令，进入该区域（场所）无需审批"])
        authority, tell = rules.Authority.COUNTY, True  # the county agency decides and tells the procuratorate
    else:  # a meeting (会客) with the victim, an accomplice...: the county agency decides (社区矫正法第23条)
        authority, tell = rules.Authority.COUNTY, False
    permit = covering_permit(case, c) if kind == "leave" and authority != rules.Authority.ABOVE else None
    if kind == "leave" and c["reason"] == "business" and permit is None:  # a permit's trips were proved with it
        given = _business_evidence_given(data, lt.business_evidence)
        missing = rules.business_evidence_missing(required=lt.business_evidence, given=given, files=files)
        if missing:
            raise InputErrors({"business_evidence": "；".join(missing) + "（本省经营性外出规定）"})
        c["evidence"] = ((c["evidence"] + "；" if c["evidence"] else "") + "；".join(given))[:300]
    if permit is not None:
        return _file_under_permit(actor, case, c, permit, cid=cid, channel=channel, rolling=rolling, ip=ip,
                                  today=today)
    org = _authority_org(case, authority)
    # the decision is due within the province's days, and before the trip begins when it begins sooner
    decide_by = workdays.add_days(calendar(), today, lt.decide_days).value
    if kind != "extension":
        decide_by = max(today, min(decide_by, c["start"] - timedelta(days=1)))
    r = Request.objects.create(
        case=case, person_id=case.person_id, org_path=case.org_path, is_minor=case.is_minor, channel=channel,
        client_id=cid, applied_on=today, authority=authority, authority_org=org, decide_by=decide_by,
        tell_procuratorate=tell, rolling_days=rolling, warnings=list(warnings), created_by=_staff(actor),
        **{k: v for k, v in c.items()})
    label = rules.REQUEST_KINDS[kind]
    _event(r, "apply", "提出申请", "", r.state, today, actor,
           f"{label}：{r.start:%Y-%m-%d}至{r.end:%Y-%m-%d}" + (f"，{r.destination}" if r.destination else ""))
    Task.objects.create(case=case, kind=f"request:{r.pk}", title=f"{label}审批", article=_article(kind),
                        anchor_date=today, days=(decide_by - today).days, day_kind=case_rules.DayKind.CALENDAR,
                        due_date=decide_by, org=org, org_path=org.path, is_minor=case.is_minor)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="request.apply", object_type="request",
                 object_id=r.pk, summary=f"登记{label}申请（{r.start:%Y-%m-%d}至{r.end:%Y-%m-%d}，{r.days}日），"
                                         f"由{org.name}审批",
                 after={"case": case.pk, "authority": authority, "rolling_days": rolling, "warnings": list(warnings)},
                 ip=ip, org_path=case.org_path)
    return Stored(r, True)


def _attach(actor, r: Request, checked: list[tuple[str, str, bytes]]) -> None:
    from .models import Attachment

    ext = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}
    for i, (name, kind, data) in enumerate(checked, 1):
        a = Attachment(request=r, name=name, content_type=kind, size=len(data), uploaded_by=_staff(actor))
        a.file.save(f"r{r.pk}-{i}.{ext[kind]}", ContentFile(data), save=False)
        a.save()
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="request.attach", object_type="request",
                 object_id=r.pk, summary=f"附证明材料{len(checked)}份", after={"files": [n for n, _k, _d in checked]},
                 org_path=r.org_path)


def covering_permit(case: Case, c: dict):
    """An approved standing permit (经常性跨市县) in force over the whole trip whose destinations include every
    destination of the trip: the law's simplified path (社区矫正法第27条第一款: 简化批准程序和方式)."""
    want = set(c.get("destination_adcodes") or [])
    if not want:
        return None
    for p in Request.objects.filter(case=case, kind="permit", state=rules.RequestState.APPROVED,
                                    start__lte=c["start"], end__gte=c["end"]).select_related("authority_org"):
        if want <= set(p.destination_adcodes):
            return p
    return None


def _file_under_permit(actor, case: Case, c: dict, permit: Request, *, cid, channel, rolling, ip, today) -> Stored:
    """A trip within a standing permit is filed, not decided: approved on the permit's authority at once, the
    person reporting by phone during it (实施办法第29条)."""
    note = f"在经常性跨市县活动审批（申请{permit.pk}，有效期至{permit.end:%Y-%m-%d}）范围内，备案"
    r = Request.objects.create(
        case=case, person_id=case.person_id, org_path=case.org_path, is_minor=case.is_minor, channel=channel,
        client_id=cid, applied_on=today, authority="permit", authority_org=permit.authority_org, decide_by=today,
        tell_procuratorate=False, rolling_days=rolling, state=rules.RequestState.APPROVED, decided_on=today,
        decided_by=_staff(actor), decision_note=note, created_by=_staff(actor), **{k: v for k, v in c.items()})
    _event(r, "apply", "提出申请", "", rules.RequestState.APPLIED, today, actor,
           f"外出：{r.start:%Y-%m-%d}至{r.end:%Y-%m-%d}，{r.destination}")
    _event(r, "filed", "依经常性跨市县活动审批备案", rules.RequestState.APPLIED, r.state, today, actor, note)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="request.filed", object_type="request",
                 object_id=r.pk, summary=f"外出备案（{r.start:%Y-%m-%d}至{r.end:%Y-%m-%d}，{r.destination}）：{note}",
                 after={"case": case.pk, "permit": permit.pk}, ip=ip, org_path=case.org_path)
    return Stored(r, True)


def _article(kind: str) -> str:
    return {"leave": "社区矫正法第27条、实施办法第26条至第28条", "permit": "社区矫正法第27条、实施办法第29条",
            "place": "刑法第38条、第72条（禁止令）", "meeting": "社区矫正法第23条",
            "extension": "实施办法第24条"}[kind]


def _event(r: Request, code, label, frm, to, day, actor, note=""):
    RequestEvent.objects.create(request=r, code=code, label=label, from_state=frm, to_state=to, day=day,
                                note=note[:500], actor=_staff(actor),
                                actor_name=(actor.full_name or actor.username) if actor else "系统")


def may_decide(actor, r: Request) -> bool:
    """The authority's own staff (or, for an office's decision, the county agency above it)."""
    if not actor.can(Action.APPROVAL_DECIDE) or r.authority_org_id is None:
        return False
    if actor.organisation_id == r.authority_org_id:
        return True
    return r.authority == rules.Authority.OFFICE and actor.organisation_id == r.case.execution_county_id \
        and "county_officer" in actor.roles


def request_steps(actor, r: Request) -> list[rules.Step]:
    out = []
    for s in rules.steps_available(r.kind, r.state):
        if s.who == "authority" and may_decide(actor, r):
            out.append(s)
        elif s.who == "office" and actor.can(Action.SUPERVISEE_CHANGE) and within(actor, r.org_path):
            if s.code == "withdraw" and may_decide(actor, r):
                continue  # the decider decides; withdrawing is the applicant's (through the office)
            out.append(s)
    return out


def _request(actor, request_id, *, lock=True) -> Request:
    qs = Request.objects.select_related("case", "case__person", "case__judicial_office", "case__execution_county",
                                        "authority_org")
    r = (qs.select_for_update(of=("self",)) if lock else qs).filter(pk=parse_pk(request_id) or -1).first()
    if r is None:
        raise NotFound()
    here = within(actor, r.org_path) or (r.authority_org_id and within(actor, r.authority_org.path))
    if not (actor.can(Action.SUPERVISEE_VIEW) and here and (not r.is_minor or actor.minor_access)):
        raise NotFound()
    return r


DOC_FOR = {"leave": "leave_approval", "permit": "permit_approval", "place": "place_approval",
           "meeting": "meeting_approval", "extension": "extension_approval"}


def request_act(*, actor, request_id, code: str, data: Mapping[str, Any] | None = None, ip: str = "",
                today: date | None = None) -> Request:
    data = data or {}
    today = today or today_local()
    with transaction.atomic(durable=True):
        r = _request(actor, request_id)
        step = rules.STEPS.get(code)
        if step is None or r.kind not in step.kinds or step.who == "system":
            raise RequestRefused([f"没有“{code}”这一办理事项"])
        if r.state not in step.sources:
            raise RequestRefused([f"申请当前为“{r.state_label}”，不能{step.label}"])
        if step not in request_steps(actor, r):
            if step.who == "authority":
                raise NotPermitted(f"该申请由{r.authority_org.name}审批（{_article(r.kind)}）")
            raise NotPermitted("您不能办理该申请")
        note = _text(data, "note", 500)
        e: dict[str, str] = {}
        day = _day(data.get("day"), "日期", e, "day", default=today)
        if day and day > today:
            e["day"] = "日期不能晚于今天"
        if code == "refuse" and not note:
            e["note"] = "不予批准的，请写明理由"
        if code in ("depart", "arrive", "return") and day and day < r.start - timedelta(days=1):
            e["day"] = f"日期不能早于外出开始日期（{r.start.isoformat()}）"
        if e:
            raise InputErrors(e)
        frm = r.state
        if code == "approve":
            # the rules again, on the day of the decision (another trip may have been approved since)
            if r.kind == "leave":
                d = rules.leave_authority(trip=rules.Trip(r.start, r.end), reason=r.reason, applied=r.applied_on,
                                          abroad=r.abroad, others=tuple(other_trips(r.case, rules.Trip(r.start, r.end),
                                                                                    exclude=r.pk, today=today)),
                                          table=table("leave", r.applied_on))
                if d.authority is None:
                    raise RequestRefused(d.refusals)
                if d.authority != r.authority:
                    raise RequestRefused([f"两个月内累计外出已达{d.rolling_days}日，须由"
                                          f"{rules.AUTHORITY_LABELS[d.authority]}审批（实施办法第28条）；请撤回后重新申请"])
        if code in ("approve", "refuse"):
            r.decided_by, r.decided_on, r.decision_note = actor, day, note
        if code == "depart":
            r.departed_on = day
        if code == "arrive":
            r.arrived_on = day
        if code == "return":
            r.returned_on = day
            r.late_days = rules.late_days(end=r.end, returned=day)
        r.state = step.target
        r.save()
        _event(r, code, step.label, frm, r.state, day, actor, note)
        if code in ("approve", "refuse", "withdraw"):
            _close_task(r.case, f"request:{r.pk}", f"{step.label}（{day.isoformat()}）")
        if code in ("approve", "refuse"):
            form = _issue_form(actor, r, day, approved=code == "approve", ip=ip)
            if code == "approve":
                _notify_approved(actor, r, day, form, assist=str(data.get("assist", "1")).lower()
                                 not in ("0", "false", "off", ""), ip=ip)
        if code == "return":
            _notify_returned(actor, r, day, ip=ip)
        if code == "return":
            _close_task(r.case, f"leave_overdue:{r.pk}", f"已于{day.isoformat()}销假")
            if r.late_days:
                _fact(r.case, "late_return", r.end + timedelta(1), day, today,
                      f"外出逾期{r.late_days}日返回（批准至{r.end:%Y-%m-%d}，{day:%Y-%m-%d}销假）",
                      {"request": r.pk, "late_days": r.late_days}, update=True)
            else:  # back on time after all (the return was registered late): the job's overdue fact is withdrawn
                n, _ = Fact.objects.filter(case=r.case, kind="late_return", period_start=r.end + timedelta(1),
                                           detail__request=r.pk).delete()
                if n:
                    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.fact_withdrawn",
                                 object_type="case", object_id=r.case_id, org_path=r.org_path, ip=ip,
                                 summary=f"按期销假（{day:%Y-%m-%d}），撤销逾期未归记录", after={"request": r.pk})
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action=f"request.{code}", object_type="request",
                     object_id=r.pk, summary=f"{rules.REQUEST_KINDS[r.kind]}申请：{step.label}"
                                             + (f"（逾期{r.late_days}日）" if code == "return" and r.late_days else "")
                                             + (f"：{note}" if note else ""),
                     before={"state": frm}, after={"state": r.state, "day": day.isoformat()}, ip=ip,
                     org_path=r.org_path)
        return r


def _issue_form(actor, r: Request, day: date, *, approved: bool, ip: str) -> None:
    from apps.documents.render import date_cn
    from apps.people.rules import SENTENCE_LABELS, SentenceType

    p, case = r.case.person, r.case
    ctx = {"name": p.name, "gender": {"M": "男", "F": "女"}.get(p.gender, ""), "id_number": p.id_number,
           "sentence": SENTENCE_LABELS[SentenceType(case.sentence_type)], "office": case.judicial_office.name,
           "kind": rules.REQUEST_KINDS[r.kind], "reason": rules.REASONS.get(r.reason, ""), "detail": r.detail,
           "destination": r.destination, "start": date_cn(r.start), "end": date_cn(r.end), "days": r.days,
           "evidence": r.evidence, "applied": date_cn(r.applied_on), "rolling_days": r.rolling_days,
           "authority": r.authority_org.name, "opinion": ("同意" if approved else "不同意") + (
               f"。{r.decision_note}" if r.decision_note else ""),
           "decided": date_cn(day), "decider": actor.full_name or actor.username, "article": _article(r.kind),
           "cc": "人民检察院" if r.tell_procuratorate else "", "request": r.pk, "months": r.months}
    return document_issue(actor=actor, agency=r.authority_org if r.authority_org.kind != OrgKind.JUDICIAL_OFFICE
                          else case.execution_county, doc_type=DOC_FOR[r.kind], object_type="case",
                          object_id=case.pk, org_path=case.org_path, context=ctx, issued_on=day,
                          is_minor=case.is_minor, ip=ip)


# --- the notices an approval requires (apps.notices) ----------------------------------------------------------------

NOTICE_FACT_LABELS = ("社区矫正对象", "公民身份号码", "矫正类别", "矫正期限", "负责司法所", "延长病情复查期限", "外出事由",
                      "具体事由", "目的地", "外出时间", "返回（销假）日期")  # the particulars' labels (translated on the page)


def _facts(r: Request) -> list[tuple[str, str]]:
    from apps.people.rules import SENTENCE_LABELS, SentenceType

    p, case = r.case.person, r.case
    out = [("社区矫正对象", p.name), ("公民身份号码", p.id_number),
           ("矫正类别", SENTENCE_LABELS[SentenceType(case.sentence_type)]),
           ("矫正期限", f"{case.term_start:%Y-%m-%d} 至 {case.term_end:%Y-%m-%d}"),
           ("负责司法所", case.judicial_office.name)]
    if r.kind == "extension":
        out.append(("延长病情复查期限", f"{r.months}个月，至{r.end:%Y-%m-%d}"))
    else:
        out += [("外出事由", rules.REASONS.get(r.reason, "") or rules.REQUEST_KINDS[r.kind]), ("具体事由", r.detail),
                ("目的地", r.destination), ("外出时间", f"{r.start:%Y-%m-%d} 至 {r.end:%Y-%m-%d}（{r.days}日）")]
    return out


def destination_agencies(r: Request) -> tuple[list[Organisation], list[str]]:
    """The county (or city) agencies of a trip's destinations other than the person's own county, and the codes no
    agency in the system answers to (to be written to by other means)."""
    codes = [c for c in r.destination_adcodes if c and c != r.case.execution_county.adcode]
    if not codes:
        return [], []
    found = {o.adcode: o for o in Organisation.objects.filter(
        kind__in=[OrgKind.COUNTY_AGENCY, OrgKind.CITY], adcode__in=codes).order_by("kind", "pk")}
    return ([found[c] for c in dict.fromkeys(codes) if c in found and found[c].pk != r.case.execution_county_id],
            [c for c in dict.fromkeys(codes) if c not in found])


def _notify_approved(actor, r: Request, day: date, form, *, assist: bool, ip: str) -> None:
    """What an approval must tell others: the procuratorate of a leave decided one level up or of an extended
    hospital check (实施办法第27条、第24条); the destination's agency asked to help supervise (实施办法第28条)."""
    from apps.documents.render import date_cn
    from apps.notices.services import notice_send
    from apps.people.rules import SENTENCE_LABELS, SentenceType

    case, county = r.case, r.case.execution_county
    ref, facts, notes = f"request:{r.pk}", _facts(r), []
    what = rules.REQUEST_KINDS[r.kind]
    if r.tell_procuratorate or r.kind == "extension":
        proc = Organisation.objects.filter(kind=OrgKind.PROCURATORATE, oversees=county).order_by("pk").first()
        basis = {"leave": "社区矫正法实施办法第27条", "extension": "社区矫正法实施办法第24条"}.get(r.kind, _article(r.kind))
        if proc is None:
            notes.append(f"本系统中没有{county.name}对应的人民检察院，请另行书面通报（{basis}）")
        else:
            notice_send(actor=actor, kind="procuratorate", to_org=proc, from_org=county, ref=ref, case=case,
                        document=form, ip=ip, facts=facts,
                        subject=f"关于社区矫正对象{case.person.name}{what}获批的通报",
                        body=f"{r.authority_org.name}于{date_cn(day)}批准社区矫正对象{case.person.name}的{what}申请"
                             f"（{form.number}），依照{basis}的规定，现予通报。")
            notes.append(f"已通报{proc.name}")
    if r.kind == "leave" and r.destination_adcodes:
        orgs, unknown = destination_agencies(r)
        if assist and orgs:
            p = case.person
            for org in orgs:
                letter = document_issue(
                    actor=actor, agency=county, doc_type="leave_assist_letter", object_type="case", object_id=case.pk,
                    org_path=case.org_path, issued_on=day, is_minor=case.is_minor, ip=ip,
                    context={"request": r.pk, "to_name": org.name, "name": p.name,
                             "gender": {"M": "男", "F": "女"}.get(p.gender, ""), "id_number": p.id_number,
                             "sentence": SENTENCE_LABELS[SentenceType(case.sentence_type)],
                             "term_start": date_cn(case.term_start), "term_end": date_cn(case.term_end),
                             "office": case.judicial_office.name, "reason": rules.REASONS.get(r.reason, "外出"),
                             "detail": r.detail, "start": date_cn(r.start), "end": date_cn(r.end), "days": r.days,
                             "destination": r.destination or org.name,
                             "contact": case.judicial_office.name, "phone": case.judicial_office.phone or county.phone})
                notice_send(actor=actor, kind="assist", to_org=org, from_org=county, ref=ref, case=case,
                            document=letter, ip=ip, facts=facts,
                            subject=f"关于协助监督管理外出社区矫正对象{p.name}的函",
                            body=f"社区矫正对象{p.name}经批准于{r.start:%Y-%m-%d}至{r.end:%Y-%m-%d}前往你地。"
                                 "依照社区矫正法实施办法第28条，请协助监督管理：其到达和离开时应向你局报告，"
                                 "请及时反馈其表现情况。")
            notes.append("已函请" + "、".join(o.name for o in orgs) + "协助监督管理")
        if assist and unknown:
            notes.append(f"目的地（{'、'.join(unknown)}）的社区矫正机构不在本系统中，需要协助监督管理的，请另行函告")
    if notes:
        _event(r, "notice", "通报与协助", r.state, r.state, day, actor, "；".join(notes))


def _notify_returned(actor, r: Request, day: date, *, ip: str) -> None:
    """The agencies asked to help are told the trip is over (they stop expecting reports)."""
    from apps.notices.models import Notice
    from apps.notices.services import notice_send

    ref = f"request:{r.pk}"
    asked = Notice.objects.filter(ref=ref, kind="assist").select_related("to_org", "from_org")
    told = set(Notice.objects.filter(ref=ref, kind="assist_end").values_list("to_org_id", flat=True))
    names = []
    for n in asked:
        if n.to_org_id in told:
            continue
        told.add(n.to_org_id)
        notice_send(actor=actor, kind="assist_end", to_org=n.to_org, from_org=n.from_org, ref=ref, case=r.case,
                    ip=ip, facts=_facts(r) + [("返回（销假）日期", day.isoformat())],
                    subject=f"关于社区矫正对象{r.case.person.name}外出结束的通知",
                    body=f"社区矫正对象{r.case.person.name}已于{day:%Y-%m-%d}返回并销假，协助监督管理结束。感谢协助。")
        names.append(n.to_org.name)
    if names:
        _event(r, "notice", "通报与协助", r.state, r.state, day, actor, "已告知" + "、".join(names) + "协助监督管理结束")


def _fact(case: Case, kind: str, start: date, end: date, today: date, summary: str, detail: dict,
          *, update: bool = False) -> bool:
    """Raise a fact once (case, kind, period start); `update` refreshes an open one's detail (a late return's days)."""
    f, created = Fact.objects.get_or_create(
        case=case, kind=kind, period_start=start,
        defaults={"person_id": case.person_id, "org_path": case.org_path, "is_minor": case.is_minor,
                  "period_end": end, "article": rules.FACT_ARTICLES[kind], "detail": detail, "summary": summary,
                  "raised_on": today})
    if not created and update:
        f.period_end, f.detail, f.summary = end, detail, summary
        f.save(update_fields=["period_end", "detail", "summary"])
    return created


# --- prohibition orders (禁止令) and the hospital check ------------------------------------------------------------------

def _lines(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        items = value
    else:
        items = str(value or "").replace("；", "\n").replace(";", "\n").splitlines()
    return [x.strip()[:100] for x in items if str(x).strip()][:30]


def prohibition_record(*, actor, case_id, data: Mapping[str, Any], ip: str = "") -> Any:
    """Record the judgment's prohibition order as data; `supersedes` (with `reason`) corrects an earlier one."""
    from .models import Prohibition

    with transaction.atomic(durable=True):
        case = _case(actor, case_id)
        e: dict[str, str] = {}
        text = _text(data, "text", 2000)
        if not text:
            e["text"] = "请填写判决书中禁止令的内容"
        items = {k: _lines(data.get(k)) for k in rules.PROHIBITION_ITEMS}
        start = _day(data.get("start"), "开始日期", e, "start", default=case.term_start)
        end = _day(data.get("end"), "结束日期", e, "end", default=case.term_end)
        old = None
        if data.get("supersedes"):
            old = Prohibition.objects.select_for_update().filter(pk=parse_pk(data.get("supersedes")) or -1,
                                                                 case=case, superseded_by__isnull=True).first()
            if old is None:
                e["supersedes"] = "要更正的禁止令不存在或已被更正"
            elif not _text(data, "reason", 200):
                e["reason"] = "请填写更正理由"
        if not e and start and end:
            refusals = rules.prohibition_refusals(sentence_type=case.sentence_type, start=start, end=end,
                                                  term_start=case.term_start, term_end=case.term_end, items=items)
            if refusals:
                e["order"] = "；".join(refusals)
        if e:
            raise InputErrors(e)
        p = Prohibition.objects.create(case=case, person_id=case.person_id, org_path=case.org_path,
                                       is_minor=case.is_minor, text=text, start=start, end=end, recorded_by=_staff(actor),
                                       recorder_name=actor.full_name or actor.username, **items)
        if old is not None:
            old.superseded_by, old.supersede_reason = p, _text(data, "reason", 200)
            old.save(update_fields=["superseded_by", "supersede_reason"])
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.prohibition", object_type="case",
                     object_id=case.pk, summary=f"登记禁止令（{start.isoformat()}至{end.isoformat()}）"
                                                + ("，更正原记录" if old else ""),
                     after={"prohibition": p.pk, **items, "supersedes": old.pk if old else None}, ip=ip,
                     org_path=case.org_path)
        return p


def prohibitions_in_force(case: Case, start: date, end: date) -> list:
    from .models import Prohibition

    return list(Prohibition.objects.filter(case=case, superseded_by__isnull=True, start__lte=end, end__gte=start))


def check_due(case: Case) -> date | None:
    """保外就医: the day the next hospital check result is due (three months after the last recorded check, plus the
    extensions approved since), or None while no check is recorded (other 暂予监外执行 have none)."""
    if not rules.needs_hospital_check(case.sentence_type, ground_of(case)):
        return None
    return check_dues([case.pk]).get(case.pk)


def ground_of(case: Case) -> str:
    """The 暂予监外执行 ground the case executes (its judgment, 刑事诉讼法第265条); blank before it was recorded."""
    return str((case.judgment or {}).get("temporary_ground") or "")


# --- the case moved: its rows follow -------------------------------------------------------------------------------

def level_since(case_ids: list[int]) -> dict[int, date]:
    """The day each case's current management level began, where it changed during the case."""
    from .models import LevelChange

    out: dict[int, date] = {}
    for i in range(0, len(case_ids), 1000):
        for cid, since in (LevelChange.objects.filter(case_id__in=case_ids[i:i + 1000]).order_by("case_id", "since")
                           .values_list("case_id", "since")):
            out[cid] = since
    return out


def case_moved(*, case: Case, before: dict, actor=None, ip: str = "") -> None:
    """The cases app's hook (in the case's transaction): the case's office, county, level or seal changed. Every
    supervision row of the case takes its place and seal (out of scope stays not found, 法54 stays sealed); a pending
    application goes to the authority of the new place; a change of level is dated for the daily job."""
    from .models import LevelChange, Prohibition

    for model in (Record, Hours, Request, Fact, Prohibition):
        model.objects.filter(case=case).exclude(org_path=case.org_path, is_minor=case.is_minor).update(
            org_path=case.org_path, is_minor=case.is_minor)
    case = Case.objects.select_related("judicial_office", "execution_county__parent__parent").get(pk=case.pk)
    for r in Request.objects.filter(case=case, state=rules.RequestState.APPLIED):
        org = _authority_org(case, r.authority)
        if org.pk != r.authority_org_id:
            Request.objects.filter(pk=r.pk).update(authority_org=org)
            _event(r, "moved", "随案件变更审批机关", r.state, r.state, today_local(), actor, f"改由{org.name}审批")
            Task.objects.filter(case=case, kind=f"request:{r.pk}", state=Task.State.OPEN).update(
                org=org, org_path=org.path)
    if before.get("level") and before["level"] != case.management_level:
        LevelChange.objects.create(case=case, level=case.management_level, since=today_local())


def check_dues(case_ids: list[int]) -> dict[int, date]:
    """check_due for many cases: two queries per thousand."""
    from django.db.models import Max

    out: dict[int, date] = {}
    for i in range(0, len(case_ids), 1000):
        part = case_ids[i:i + 1000]
        last = {cid: timezone.localtime(at).date() for cid, at in (
            Record.objects.filter(case_id__in=part, kind=Record.Kind.CHECK, superseded_by__isnull=True)
            .values_list("case_id").annotate(m=Max("happened_at")).values_list("case_id", "m"))}
        months: dict[int, list[int]] = {}
        for cid, n, applied in (Request.objects.filter(case_id__in=list(last), kind="extension", state__in=TAKEN)
                                .values_list("case_id", "months", "applied_on")):
            if applied >= last[cid]:
                months.setdefault(cid, []).append(n)
        out.update({cid: rules.check_due_with(last_check=d, approved_months=months.get(cid, []))
                    for cid, d in last.items()})
    return out


# --- the daily job -------------------------------------------------------------------------------------------------

LOOKBACK_DAYS = 35  # a missed run of the daily job is made up for this far back


def supervision_daily(today: date) -> dict:
    light = _light_cases(today)  # read once for the steps that judge every case
    return {"missed_reports": _daily_missed_reports(today, light), "four_ones": _daily_four_ones(today, light),
            "late_returns": _daily_late_returns(today), "hours_short": _daily_hours(today, light),
            "health_missing": _daily_health(today, light), "check_missing": _daily_checks(today),
            "permits_expired": _daily_expire(today)}


@dataclass(frozen=True)
class _Case:
    """What the daily job reads of each case (a whole Case row, its judgment and all, costs five times as much)."""

    pk: int
    person_id: int
    org_path: str
    is_minor: bool
    management_level: str
    sentence_type: str
    term_start: date
    reported_date: date | None
    announced_date: date | None
    judicial_office_id: int


_LIGHT = [f.name for f in dataclasses.fields(_Case)]


def _light_cases(today: date) -> list[_Case]:
    qs = Case.objects.filter(is_open=True, status__in=DAILY, term_start__lte=today).order_by("pk")
    return [_Case(*row) for row in qs.values_list(*_LIGHT)]


def _cases_for_daily(today: date, **filters) -> list[Case]:
    return list(Case.objects.select_related("judicial_office").filter(is_open=True, status__in=DAILY,
                                                                      term_start__lte=today, **filters))


def _dates_of(case_ids: list[int], kinds: list[str], since: date) -> dict[int, list[tuple[str, date]]]:
    """Each case's (kind, local day) of records since a day: one query per thousand cases."""
    out: dict[int, list[tuple[str, date]]] = {}
    since_dt = timezone.make_aware(datetime.combine(since, time.min))
    for i in range(0, len(case_ids), 1000):
        for cid, kind, at in (Record.objects.filter(case_id__in=case_ids[i:i + 1000], kind__in=kinds,
                                                    happened_at__gte=since_dt, superseded_by__isnull=True)
                              .exclude(verified="fail").values_list("case_id", "kind", "happened_at")):
            out.setdefault(cid, []).append((kind, timezone.localtime(at).date()))
    return out


def _raise_facts(kind: str, rows: list[tuple], today: date, summarize=None) -> list[tuple]:
    """Raise many facts at once, each once (case, kind, period start): the ones already raised are read in one
    query per thousand cases and the new ones written in batches. Returns the rows that were new."""
    if not rows:
        return []
    ids = sorted({c.pk for c, *_ in rows})
    first = min(ps for _, ps, *_ in rows)
    have: set[tuple[int, date]] = set()
    for i in range(0, len(ids), 1000):
        have |= set(Fact.objects.filter(kind=kind, case_id__in=ids[i:i + 1000], period_start__gte=first)
                    .values_list("case_id", "period_start"))
    new = [r for r in rows if (r[0].pk, r[1]) not in have]
    if summarize is not None:  # the words are made for the new facts only (most rows were raised on earlier days)
        new = [(c, ps, pe, summarize(c, ps, pe, detail), detail) for c, ps, pe, _s, detail in new]
    Fact.objects.bulk_create([Fact(case_id=c.pk, person_id=c.person_id, org_path=c.org_path, is_minor=c.is_minor, kind=kind,
                                   period_start=ps, period_end=pe, article=rules.FACT_ARTICLES[kind], detail=detail,
                                   summary=summary, raised_on=today) for c, ps, pe, summary, detail in new],
                             batch_size=1000, ignore_conflicts=True)
    return new


def _open_task_cases(cases: list, kind: str) -> set[int]:
    ids = [c.pk for c in cases]
    out: set[int] = set()
    for i in range(0, len(ids), 1000):
        out |= set(Task.objects.filter(case_id__in=ids[i:i + 1000], kind=kind, state=Task.State.OPEN)
                   .values_list("case_id", flat=True))
    return out


@use_case
def _daily_missed_reports(today: date, light: list[_Case] | None = None) -> int:
    """Each whole report-in period that closed without a report-in: a fact, and for the office one task to look
    into it (open until the person reports). Batched: a handful of queries per thousand cases."""
    cases = light if light is not None else _light_cases(today)
    since = today - timedelta(LOOKBACK_DAYS)
    seen = _dates_of([c.pk for c in cases], [Record.Kind.REPORT_IN], since - timedelta(days=31))
    levels = level_since([c.pk for c in cases])
    rtabs = tables("report")
    rows = []
    for c in cases:
        # judged from the day supervision at this level began: the case's start (its first period had the intake
        # report-in) or the last change of level (the periods before it were under the other level's rule)
        origin = max(_case_start(c), c.announced_date or c.term_start, levels.get(c.pk, date.min))
        first = max(origin, since)
        rt = rules.table_on(rtabs, first)
        period = rules.Period(rt.period[c.management_level])
        ps, pe = rules.period_of(period, first)
        # whole periods only: the lookback's period is judged whole (its report-ins were read), the origin's is not
        start = ps if ps >= origin else pe + timedelta(days=1)
        days = [d for _, d in seen.get(c.pk, [])]
        for ps, pe in rules.missed_report_periods(level=c.management_level, reports=days, since=start, today=today,
                                                  table=rt):
            rows.append((c, ps, pe, "", {"period": period.value}))
    new = _raise_facts("missed_report", rows, today,
                       summarize=lambda c, ps, pe, d: f"{ps:%m月%d日}至{pe:%m月%d日}未按规定报到")
    audit_records([_sys_audit(c, "supervision.missed", f"{ps:%Y-%m-%d}至{pe:%Y-%m-%d}未按规定报到")
                   for c, ps, pe, *_ in new])
    to_open = {c.pk: c for c, *_ in new}
    for pk in _open_task_cases(list(to_open.values()), "missed_report"):
        to_open.pop(pk, None)
    if to_open:
        cal = calendar()
        due = workdays.add_workdays(cal, today, 1)
        officers = responsible_officers([c.person_id for c in to_open.values()])
        paths = dict(Organisation.objects.filter(pk__in={c.judicial_office_id for c in to_open.values()})
                     .values_list("pk", "path"))
        Task.objects.bulk_create([
            Task(case_id=c.pk, kind="missed_report", title="核查未按规定报到",
                 article=rules.FACT_ARTICLES["missed_report"], anchor_date=today, days=1,
                 day_kind=case_rules.DayKind.WORK, due_date=due.value, provisional=due.provisional,
                 org_id=c.judicial_office_id, org_path=paths[c.judicial_office_id], is_minor=c.is_minor,
                 assignee_id=officers.get(c.person_id)) for c in to_open.values()],
            batch_size=1000)
    return len(new)


FOUR_ONES_KINDS = {Record.Kind.REPORT_IN: "report_in", Record.Kind.THOUGHT: "thought_report",
                   Record.Kind.TALK: "education", Record.Kind.VISIT: "visit"}


@use_case
def _daily_four_ones(today: date, light: list[_Case] | None = None) -> int:
    """The 严管 weeks that closed (up to five back) without each of the four ones: a fact each."""
    cases = [c for c in (light if light is not None else _light_cases(today)) if c.management_level == "strict"]
    this_monday = today - timedelta(today.weekday())
    first = this_monday - timedelta(weeks=5)
    done = _dates_of([c.pk for c in cases], list(FOUR_ONES_KINDS), first)
    levels = level_since([c.pk for c in cases])
    rows = []
    for c in cases:
        items = [(FOUR_ONES_KINDS[k], d) for k, d in done.get(c.pk, [])]
        origin = max(_case_start(c), levels.get(c.pk, date.min))  # 严管 since then
        week = max(first, origin - timedelta(origin.weekday()))
        while week < this_monday:
            if week >= origin:  # a whole week under supervision at 严管
                missing = rules.four_ones_missing(week_start=week, done=items, today=today)
                if missing:
                    rows.append((c, week, week + timedelta(6), "", {"missing": list(missing)}))
            week += timedelta(7)
    new = _raise_facts("four_ones", rows, today, summarize=lambda c, ps, pe, d: f"{ps:%m月%d日}一周“四个一”未完成：缺"
                       + "、".join(rules.FOUR_ONES[m] for m in d["missing"]))
    audit_records([_sys_audit(c, "supervision.four_ones", f"{week:%Y-%m-%d}一周严管“四个一”未完成")
                   for c, week, *_ in new])
    return len(new)


@use_case
def _daily_late_returns(today: date) -> int:
    """Trips whose last day has passed without a return: overdue, a task for the office, a fact."""
    rows = list(Request.objects.select_for_update(of=("self",)).select_related("case", "case__judicial_office")
                .filter(kind="leave", state__in=[rules.RequestState.DEPARTED, rules.RequestState.ARRIVED],
                        end__lt=today))
    cal = calendar()
    officers = responsible_officers([r.person_id for r in rows]) if rows else {}
    audit = []
    for r in rows:
        frm, r.state = r.state, rules.RequestState.OVERDUE
        r.late_days = (today - r.end).days
        r.save(update_fields=["state", "late_days"])
        _event(r, "overdue", "逾期未归", frm, r.state, today, None, f"批准外出至{r.end:%Y-%m-%d}，未按期返回销假")
        c = r.case
        due = workdays.add_workdays(cal, today, 1)
        Task.objects.get_or_create(case=c, kind=f"leave_overdue:{r.pk}", state=Task.State.OPEN, defaults=dict(
            title="外出逾期未归，责令返回", article="社区矫正法第27条、实施办法第28条", anchor_date=today, days=1,
            day_kind=case_rules.DayKind.WORK, due_date=due.value, provisional=due.provisional, org=c.judicial_office,
            org_path=c.judicial_office.path, is_minor=c.is_minor, assignee_id=officers.get(c.person_id)))
        _fact(c, "late_return", r.end + timedelta(1), today, today, f"外出批准至{r.end:%Y-%m-%d}，逾期未归",
              {"request": r.pk, "late_days": r.late_days})
        audit.append({"actor": None, "kind": AuditRecord.Kind.CHANGE, "action": "request.overdue",
                      "object_type": "request", "object_id": r.pk, "org_path": r.org_path,
                      "summary": f"外出批准至{r.end:%Y-%m-%d}，逾期未归"})
    audit_records(audit)
    return len(rows)


def able_to_work(sentence_type: str) -> bool:
    """暂予监外执行 (illness, pregnancy, unable to care for oneself) owes no community service."""
    return sentence_type != "medical_parole"


def month_hours(case_ids: list[int], month: date) -> dict[int, dict[str, float]]:
    """Each case's hours of study and service in a month (superseded entries left out)."""
    first = month.replace(day=1)
    nxt = rules.add_months(first, 1)
    out: dict[int, dict[str, float]] = {}
    for i in range(0, len(case_ids), 1000):
        for cid, kind, total in (Hours.objects.filter(case_id__in=case_ids[i:i + 1000], day__gte=first, day__lt=nxt,
                                                      superseded_by__isnull=True)
                                 .values_list("case_id", "kind").annotate(t=Sum("hours")).values_list("case_id", "kind", "t")):
            out.setdefault(cid, {})[kind] = float(total)
    return out


@use_case
def _daily_hours(today: date, light: list[_Case] | None = None) -> int:
    """In the first days of a month, last month's shortfalls (for those supervised the whole month)."""
    last_month = rules.add_months(today.replace(day=1), -1)
    month_end = today.replace(day=1) - timedelta(1)
    cases = [c for c in (light if light is not None else _light_cases(today)) if _case_start(c) <= last_month]
    hours = month_hours([c.pk for c in cases], last_month)
    ht = table("hours", last_month)
    rows = []
    for c in cases:
        h = hours.get(c.pk, {})
        s = rules.monthly_shortfall(level=c.management_level, study_hours=h.get("study", 0.0),
                                    service_hours=h.get("service", 0.0), month=last_month, table=ht,
                                    able_to_work=able_to_work(c.sentence_type))
        if s.any:
            rows.append((c, last_month, month_end,
                         f"{last_month:%Y年%m月}教育学习缺{s.study:g}小时、社区服务缺{s.service:g}小时",
                         {"study": s.study, "service": s.service}))
    new = _raise_facts("hours_short", rows, today)
    audit_records([_sys_audit(c, "supervision.hours_short", f"{last_month:%Y年%m月}教育学习、社区服务时长不足")
                   for c, *_ in new])
    return len(new)


@use_case
def _daily_health(today: date, light: list[_Case] | None = None) -> int:
    """暂予监外执行: last month's health report (实施办法第24条)."""
    last_month = rules.add_months(today.replace(day=1), -1)
    month_end = today.replace(day=1) - timedelta(1)
    cases = [c for c in (light if light is not None else _light_cases(today))
             if c.sentence_type == "medical_parole" and _case_start(c) <= last_month]
    seen = _dates_of([c.pk for c in cases], [Record.Kind.HEALTH], last_month)
    rows = [(c, last_month, month_end, f"{last_month:%Y年%m月}未报告病情", {}) for c in cases
            if not any(last_month <= d <= month_end for _, d in seen.get(c.pk, []))]
    new = _raise_facts("health_missing", rows, today)
    audit_records([_sys_audit(c, "supervision.health_missing", f"{last_month:%Y年%m月}未报告病情") for c, *_ in new])
    return len(new)


@use_case
def _daily_checks(today: date) -> int:
    """保外就医: a hospital check result past its due day (with the approved extensions): a fact and a task."""
    cal = calendar()
    raised, audit = 0, []
    # the ground read with the case (not pregnancy, not incapacity); whole rows only for the checks past due
    rows = (Case.objects.filter(is_open=True, status__in=DAILY, term_start__lte=today, sentence_type="medical_parole")
            .order_by("pk").values_list("pk", "sentence_type", "judgment__temporary_ground"))
    dues = check_dues([pk for pk, st, ground in rows if rules.needs_hospital_check(st, str(ground or ""))])
    late = sorted(pk for pk, due in dues.items() if due < today)
    cases = [c for i in range(0, len(late), 1000) for c in _cases_for_daily(today, pk__in=late[i:i + 1000])]
    for c in cases:
        due = dues.get(c.pk)
        if due is None or due >= today:
            continue
        if _fact(c, "check_missing", due, due, today, f"病情复查情况应于{due:%Y-%m-%d}前提交，尚未提交", {"due": str(due)}):
            raised += 1
            d = workdays.add_workdays(cal, today, 1)
            Task.objects.get_or_create(case=c, kind="check_missing", state=Task.State.OPEN, defaults=dict(
                title="督促提交病情复查情况", article=rules.FACT_ARTICLES["check_missing"], anchor_date=today, days=1,
                day_kind=case_rules.DayKind.WORK, due_date=d.value, provisional=d.provisional, org=c.judicial_office,
                org_path=c.judicial_office.path, is_minor=c.is_minor))
            audit.append(_sys_audit(c, "supervision.check_missing", f"病情复查情况应于{due:%Y-%m-%d}前提交，尚未提交"))
    audit_records(audit)
    return raised


@use_case
def _daily_expire(today: date) -> int:
    rows = list(Request.objects.select_for_update().filter(kind__in=["permit", "place", "meeting", "extension"],
                                                           state=rules.RequestState.APPROVED, end__lt=today))
    for r in rows:
        r.state = rules.RequestState.CLOSED
        r.save(update_fields=["state"])
        _event(r, "expire", "期满办结", rules.RequestState.APPROVED, r.state, today, None)
    audit_records([{"actor": None, "kind": AuditRecord.Kind.CHANGE, "action": "request.expire", "object_type": "request",
                    "object_id": r.pk, "org_path": r.org_path,
                    "summary": f"{rules.REQUEST_KINDS[r.kind]}批准期满（{r.end:%Y-%m-%d}），办结"} for r in rows])
    return len(rows)


def _sys_audit(c: Case, action: str, summary: str) -> dict:
    return {"actor": None, "kind": AuditRecord.Kind.CHANGE, "action": action, "object_type": "case",
            "object_id": c.pk, "org_path": c.org_path, "summary": summary}


# --- settings ----------------------------------------------------------------------------------------------------

@use_case
def rule_setting_set(*, actor, table_name: str, values: dict, effective_from: date, note: str = "",
                     ip: str = "") -> RuleSetting:
    """A province's own leave, report-in or hours table from a date (province supervisors; `actor` None is the
    server's administrator through manage.py supervision_settings)."""
    if actor is not None and not actor.can(Action.DEADLINE_SET):
        raise NotPermitted("只有省级社区矫正机构可以设置本省规则")
    if table_name not in _TABLES:
        raise InputErrors({"table": "表应为 leave、report 或 hours"})
    base = _TABLES[table_name][0]
    known = {f.name for f in dataclasses.fields(base)} - {"effective_from"}
    bad = set(values) - known
    if bad:
        raise InputErrors({"values": f"未知的项：{'、'.join(sorted(bad))}；可设置：{'、'.join(sorted(known))}"})
    problems = []
    for k, v in values.items():
        want = getattr(base, k)
        if isinstance(want, bool):
            ok = isinstance(v, bool)
        elif isinstance(want, int):
            ok = isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 366
        elif isinstance(want, tuple):  # a list of words (the proofs a business trip needs)
            ok = isinstance(v, (list, tuple)) and len(v) <= 20 and all(
                isinstance(x, str) and 0 < len(x.strip()) <= 100 for x in v)
        elif isinstance(want, dict):  # per level: a period (report) or hours (hours)
            ok = isinstance(v, dict) and set(v) == set(want) and all(
                (x in rules.Period.__members__.values() or x in {p.value for p in rules.Period})
                if table_name == "report" else (isinstance(x, (int, float)) and 0 <= x <= 200) for x in v.values())
        else:
            ok = False
        if not ok:
            problems.append(f"{k}的值无效")
    if problems:
        raise InputErrors({"values": "；".join(problems)})
    row, _ = RuleSetting.objects.update_or_create(table=table_name, effective_from=effective_from,
                                                  defaults={"values": values, "note": note[:200], "set_by": actor})
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="supervision.setting", object_type="rule_setting",
                 object_id=row.pk, summary=f"设置本省{table_name}规则，自{effective_from.isoformat()}起施行",
                 after={"values": values, "note": note}, ip=ip, org_path="/")
    return row


# --- the province's tables on a page (/supervision/settings/) ---------------------------------------------------------

TABLE_META = {
    "leave": ("外出审批", "社区矫正法第27条；社区矫正法实施办法第26条至第28条"),
    "report": ("报到频次", "社区矫正法第23条；社区矫正法实施办法第24条"),
    "hours": ("教育学习和社区服务时长", "社区矫正法第36条、第42条；每月时长由本省规定"),
    "check": ("信息化核查", "社区矫正法第26条；抽查频次、答复时限由本省规定"),
}
FIELD_LABELS = {
    "office_max_days": "司法所可批准的外出天数上限（日）",
    "approval_max_days": "每次批准外出的天数上限（日）",
    "window_days": "累计外出的计算期间（日）",
    "window_max_days": "计算期间内累计外出超过此数报上一级审批（日）",
    "advance_days": "应提前提出申请的天数（日）",
    "office_entrusted": "县级社区矫正机构委托司法所批准短期外出",
    "decide_days": "作出审批决定的期限（日）",
    "business_evidence": "经营性外出应当提交的材料",
    "period": "到司法所报到的周期",
    "study": "每月教育学习时长（小时）",
    "service": "每月社区服务时长（小时）",
    "spot_checks": "每月随机人脸核查次数",
    "answer_minutes": "核查答复时限（分钟）",
    "day_start_hour": "随机核查开始时间（时）",
    "day_end_hour": "随机核查结束时间（时）",
    "turn_percent": "活体检测转头幅度（两眼间距的百分比）",
}
LEVEL_WORDS = {"strict": "严管", "normal": "普管", "lenient": "宽管"}
PERIOD_WORDS = {"week": "每周", "half_month": "每半月", "month": "每月"}


def _kind_of(value) -> str:
    return ("bool" if isinstance(value, bool) else "int" if isinstance(value, int) else
            "lines" if isinstance(value, tuple) else "levels")


def settings_overview(today: date) -> list[dict]:
    """Each table as the page shows it: the values in force today field by field, the rows set from a date (who,
    why), and those not yet in force."""
    from django.contrib.auth import get_user_model

    rows = list(RuleSetting.objects.order_by("table", "effective_from"))
    names = dict(get_user_model().objects.filter(pk__in={r.set_by_id for r in rows if r.set_by_id})
                 .values_list("pk", "full_name"))

    def shown(t, keep=lambda key: True) -> list[dict]:
        fields = []
        for f in dataclasses.fields(t):
            if f.name == "effective_from" or not keep(f.name):
                continue
            v = getattr(t, f.name)
            fields.append({"key": f.name, "label": FIELD_LABELS.get(f.name, f.name), "kind": _kind_of(v),
                           "value": v, "levels": [(k, LEVEL_WORDS[k], v[k]) for k in LEVEL_WORDS]
                           if isinstance(v, dict) else [], "text": "\n".join(v) if isinstance(v, tuple) else ""})
        return fields

    out = []
    for name, (title, article) in TABLE_META.items():
        every = tables(name, rows)
        now = rules.table_on(every, today)
        history = []
        for r in rows:
            if r.table != name:
                continue
            # what the row changed: its table against the one in force the day before it began (or the shipped one)
            cur = rules.table_on(every, r.effective_from)
            earlier = [t for t in every if t.effective_from < r.effective_from]
            before = rules.table_on(earlier, r.effective_from) if earlier else _TABLES[name][0]
            history.append({"effective_from": r.effective_from, "values": r.values, "note": r.note,
                            "by": names.get(r.set_by_id, "系统管理员"), "upcoming": r.effective_from > today,
                            "changes": shown(cur, lambda key: getattr(cur, key) != getattr(before, key))})
        out.append({"name": name, "title": title, "article": article, "in_force_from": now.effective_from,
                    "fields": shown(now), "history": history})
    return out


def rule_setting_from_form(*, actor, table_name: str, post: Mapping[str, Any], ip: str = "",
                           today: date | None = None) -> RuleSetting:
    """The page's add-row form: every field as text, turned into the table's types; the date not in the past and a
    basis named. A row replaces the shipped table's fields (see `tables`), so it stores every field that differs from
    the shipped table, the province's earlier changes included."""
    today = today or today_local()
    if actor is None or not actor.can(Action.DEADLINE_SET):
        raise NotPermitted("只有省级社区矫正机构可以设置本省规则")
    if table_name not in _TABLES:
        raise InputErrors({"table": "没有这张规则表"})
    e: dict[str, str] = {}
    start = _day(post.get("effective_from"), "施行日期", e, "effective_from")
    if start and start < today:
        e["effective_from"] = "施行日期不能早于今天（已经开始计算的事项不追溯）"
    note = _text(post, "note", 200)
    if not note:
        e["note"] = "请写明依据（文件名称、文号）"
    base, shipped = table(table_name, start if start and start >= today else today), _TABLES[table_name][0]
    values: dict[str, Any] = {}
    changed = False
    for f in dataclasses.fields(base):
        if f.name == "effective_from":
            continue
        now, kind, label = getattr(base, f.name), _kind_of(getattr(base, f.name)), FIELD_LABELS.get(f.name, f.name)
        if kind == "bool":
            v: Any = _flag(post, f.name)
        elif kind == "int":
            raw = str(post.get(f.name) or "").strip()
            if not (raw.isascii() and raw.isdigit() and int(raw) <= 366):
                e[f.name] = f"{label}应为0至366的整数"
                continue
            v = int(raw)
        elif kind == "lines":
            v = tuple(x.strip() for x in str(post.get(f.name) or "").splitlines() if x.strip())
            if len(v) > 20 or any(len(x) > 100 for x in v):
                e[f.name] = f"{label}至多20项，每项不超过100字"
                continue
        else:
            v = {}
            for level, word in LEVEL_WORDS.items():
                raw = str(post.get(f"{f.name}.{level}") or "").strip()
                if table_name == "report":
                    if raw not in PERIOD_WORDS:
                        e[f"{f.name}.{level}"] = f"{word}的{label}无效"
                    v[level] = raw
                else:
                    try:
                        x = float(raw)
                    except ValueError:
                        x = -1
                    if not 0 <= x <= 200:
                        e[f"{f.name}.{level}"] = f"{word}的{label}应为0至200之间的数"
                    v[level] = int(x) if x == int(x) else x
        changed = changed or v != now
        if v != getattr(shipped, f.name):
            values[f.name] = list(v) if isinstance(v, tuple) else v
    if table_name == "check" and not e:
        merged = dataclasses.replace(shipped, **values)
        if not 0 <= merged.day_start_hour < merged.day_end_hour <= 24:
            e["day_end_hour"] = "随机核查的时段应在0时至24时之间，且结束晚于开始"
        if not 1 <= merged.answer_minutes <= 240:
            e["answer_minutes"] = "核查答复时限应为1至240分钟"
        if not 3 <= merged.turn_percent <= 60:
            e["turn_percent"] = "转头幅度应为3至60"
    if not e and not changed:
        e["values"] = "与该日施行的规则相同，没有需要保存的变更"
    if e:
        raise InputErrors(e)
    return rule_setting_set(actor=actor, table_name=table_name, values=values, effective_from=start, note=note, ip=ip)
