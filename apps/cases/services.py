"""Use cases of the case lifecycle. `case_transition` is the one function that changes a case's status: it checks
the transition table (apps.cases.rules), records the history line, writes the audit record, opens and closes the
stage's deadlines and projects the case onto the person's row, all in one transaction."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Mapping

from django.db import models, transaction
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_records
from apps.orgs.models import Organisation
from apps.orgs.rules import Action, OrgKind
from apps.orgs.scope import NotFound, parse_pk, within
from apps.people import rules as people_rules
from apps.people.models import Supervisee
from apps.people import services as people_services
from apps.people.services import InputErrors, supervisee_project, today_local

from . import paperwork, rules, workdays
from .models import Case, CaseEvent, DeadlineSetting, Holiday, HolidayYear, Task, Transfer

use_case = transaction.atomic(durable=True)
log = logging.getLogger(__name__)


class TransitionRefused(Exception):
    """The reasons, each with its article, in the officer's words."""

    def __init__(self, reasons: list[str]):
        super().__init__("；".join(reasons))
        self.reasons = reasons


class NotPermitted(Exception):
    pass


# --- the calendar ----------------------------------------------------------------------------------------------

_CAL: tuple[float, workdays.Calendar] | None = None
CALENDAR_TTL = 300.0  # another process's load reaches this one within five minutes


def calendar() -> workdays.Calendar:
    global _CAL
    now = time.monotonic()
    if _CAL is None or now - _CAL[0] > CALENDAR_TTL:
        _CAL = (now, _read_calendar())
    return _CAL[1]


def _read_calendar() -> workdays.Calendar:
    years = set(HolidayYear.objects.values_list("year", flat=True))
    off, makeup = set(), set()
    for day, is_off in Holiday.objects.values_list("day", "is_off"):
        (off if is_off else makeup).add(day)
    return workdays.Calendar(frozenset(off), frozenset(makeup), frozenset(years))


def calendar_forget() -> None:
    global _CAL
    _CAL = None


@dataclass(frozen=True)
class LoadResult:
    year: int
    off_days: int
    makeup_days: int
    replaced: bool
    recomputed: int


@use_case
def holidays_load(*, actor, schedule: workdays.YearSchedule, ip: str = "") -> LoadResult:
    """Load (or replace) one year's official schedule, then recompute every open deadline counted in working days
    that touches that year: those computed Monday to Friday become official, and a corrected file corrects them."""
    replaced = HolidayYear.objects.filter(year=schedule.year).exists()
    Holiday.objects.filter(year_id=schedule.year).delete()
    # a day the neighbouring year's file also lists (30 December before a New Year holiday) takes this file's word
    Holiday.objects.filter(day__in=[d for d, _ in schedule.off_days + schedule.makeup_days]).delete()
    y, _ = HolidayYear.objects.update_or_create(year=schedule.year, defaults={"source": schedule.source})
    Holiday.objects.bulk_create([Holiday(day=d, year=y, is_off=True, name=n) for d, n in schedule.off_days]
                                + [Holiday(day=d, year=y, is_off=False, name=n) for d, n in schedule.makeup_days])
    # the cached calendar is dropped once this commits; until then only this transaction sees the new year
    transaction.on_commit(calendar_forget)
    recomputed = _recompute_workday_tasks(schedule.year, _read_calendar())
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="calendar.load", object_type="calendar",
                 object_id=schedule.year,
                 summary=f"{'更新' if replaced else '导入'}{schedule.year}年节假日安排（放假{len(schedule.off_days)}天、"
                         f"调休上班{len(schedule.makeup_days)}天），重算期限{recomputed}项",
                 after={"source": schedule.source, "recomputed": recomputed}, ip=ip, org_path="/")
    return LoadResult(schedule.year, len(schedule.off_days), len(schedule.makeup_days), replaced, recomputed)


def _count(cal: workdays.Calendar, kind: str, day_kind: str, anchor: date, n: int) -> workdays.Counted:
    d = rules.DEADLINES.get(kind)
    if day_kind == rules.DayKind.WORK:
        return workdays.add_workdays(cal, anchor, n)
    if day_kind == rules.DayKind.MONTH:
        return workdays.add_months(cal, anchor, n, extend=bool(d and d.extends))
    return workdays.add_days(cal, anchor, n, extend=bool(d and d.extends) and n > 0)


def _recompute_workday_tasks(year: int, cal: workdays.Calendar) -> int:
    changed = []
    qs = Task.objects.filter(state=Task.State.OPEN, anchor_date__lte=date(year, 12, 31),
                             due_date__gte=date(year - 1, 12, 1))
    for t in qs.select_for_update():
        c = _count(cal, t.kind, t.day_kind, t.anchor_date, t.days)
        if c.value != t.due_date or c.provisional != t.provisional:
            t.due_date, t.provisional = c.value, c.provisional
            changed.append(t)
    Task.objects.bulk_update(changed, ["due_date", "provisional"], batch_size=1000)
    return len(changed)


def deadline_days(kind: str, on: date) -> int:
    """The number of days for a deadline starting on `on`: the province's setting in force that day, else the
    default of the table."""
    d = rules.DEADLINES[kind]
    if d.setting:
        row = (DeadlineSetting.objects.filter(kind=kind, effective_from__lte=on).order_by("-effective_from")
               .values_list("days", flat=True).first())
        if row is not None:
            return row
    return d.days


def due_date(kind: str, anchor: date, cal: workdays.Calendar | None = None) -> tuple[date, int, bool]:
    """(due date, days counted, provisional)."""
    n = deadline_days(kind, anchor)
    c = _count(cal or calendar(), kind, rules.DEADLINES[kind].day_kind, anchor, n)
    return c.value, n, c.provisional


@dataclass(frozen=True)
class SettingResult:
    kind: str
    days: int
    effective_from: date
    recomputed: int


@use_case
def deadline_setting_set(*, actor, kind: str, days: Any, effective_from: Any, note: str = "", ip: str = "",
                         today: date | None = None) -> SettingResult:
    """A province sets its own number for a deadline the law does not fix, in force from a date (not earlier than
    today: a deadline already counting keeps the rule it started under unless it starts on or after that date).
    Open deadlines that start counting on or after the date, under no later setting, are recomputed."""
    today = today or today_local()
    if actor is not None and not actor.can(Action.DEADLINE_SET):
        raise NotPermitted("期限设置由省级社区矫正机构办理")
    e: dict[str, str] = {}
    d = rules.DEADLINES.get(str(kind or ""))
    if d is None:
        e["kind"] = "没有这一期限"
    elif not d.setting:
        e["kind"] = f"“{d.title}”的期限由法律规定（{d.article}），不能更改"
    try:
        n = int(str(days).strip())
    except (TypeError, ValueError):
        n = None
        e["days"] = "期限须为整数"
    if d is not None and n is not None and "kind" not in e:
        limit = 12 if d.day_kind == rules.DayKind.MONTH else 365
        if d.days < 0 and not -limit <= n < 0:  # counted back from the end of the term
            e["days"] = f"“{d.title}”在期满前计算，须为 -1 至 -{limit} 之间的整数"
        elif d.days >= 0 and not 1 <= n <= limit:
            e["days"] = f"期限须为 1 至 {limit} 之间的整数"
    try:
        start = effective_from if isinstance(effective_from, date) else date.fromisoformat(str(effective_from).strip())
    except ValueError:
        start = None
        e["effective_from"] = "生效日期格式应为 YYYY-MM-DD"
    if start is not None and start < today:
        e["effective_from"] = "生效日期不能早于今天（已经开始计算的期限按当时的规定）"
    note = str(note or "").strip()
    if len(note) > 200:
        e["note"] = "说明不能超过200字"
    if not e and DeadlineSetting.objects.filter(kind=d.kind, effective_from=start).exists():
        e["effective_from"] = "这一天起生效的设置已经存在"
    if e:
        raise InputErrors(e)
    before = deadline_days(d.kind, start)
    DeadlineSetting.objects.create(kind=d.kind, days=n, effective_from=start, note=note, set_by=actor)
    later = (DeadlineSetting.objects.filter(kind=d.kind, effective_from__gt=start).order_by("effective_from")
             .values_list("effective_from", flat=True).first())
    qs = Task.objects.filter(kind=d.kind, state=Task.State.OPEN, anchor_date__gte=start)
    if later is not None:
        qs = qs.filter(anchor_date__lt=later)
    cal, changed = calendar(), []
    for t in qs.select_for_update():
        c = _count(cal, t.kind, t.day_kind, t.anchor_date, n)
        t.days, t.due_date, t.provisional = n, c.value, c.provisional
        if t.overdue_raised_at and c.value >= today:
            t.overdue_raised_at = None
        changed.append(t)
    Task.objects.bulk_update(changed, ["days", "due_date", "provisional", "overdue_raised_at"], batch_size=1000)
    unit = _unit(d.day_kind)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="deadline.setting", object_type="deadline",
                 object_id=d.kind, summary=f"设置期限：{d.title}自{start.isoformat()}起为{abs(n)}{unit}"
                                           f"（原为{abs(before)}{unit}），重算待办{len(changed)}项",
                 before={"days": before}, after={"days": n, "effective_from": start.isoformat(), "note": note,
                                                 "recomputed": len(changed)}, ip=ip, org_path="/")
    return SettingResult(d.kind, n, start, len(changed))


def _unit(day_kind: str) -> str:
    return {rules.DayKind.WORK: "个工作日", rules.DayKind.MONTH: "个月"}.get(day_kind, "日")


def holiday_years() -> list[dict]:
    """The official years loaded, with their counts; the next year not loaded is counted Monday to Friday."""
    counts = {(r["year_id"], r["is_off"]): r["n"] for r in
              Holiday.objects.values("year_id", "is_off").annotate(n=models.Count("day"))}
    return [{"year": y.year, "source": y.source, "off": counts.get((y.year, True), 0),
             "makeup": counts.get((y.year, False), 0)} for y in HolidayYear.objects.order_by("-year")]


def deadline_table(on: date | None = None) -> list[dict]:
    """Every deadline of the table with the number in force on a day, its history of settings and its article."""
    on = on or today_local()
    hist: dict[str, list[DeadlineSetting]] = {}
    for row in DeadlineSetting.objects.select_related("set_by").order_by("kind", "-effective_from"):
        hist.setdefault(row.kind, []).append(row)
    out = []
    for d in rules.DEADLINES.values():
        rows = hist.get(d.kind, [])
        current = next((r.days for r in rows if r.effective_from <= on), d.days)
        upcoming = [r for r in rows if r.effective_from > on]
        out.append({"d": d, "current": current, "magnitude": abs(current), "history": rows, "upcoming": upcoming,
                    "unit": _unit(d.day_kind)})
    return out


# --- opening cases ---------------------------------------------------------------------------------------------

_JUDGMENT_FIELDS = ("deciding_organ_name", "judgment_number", "crime", "original_penalty", "judgment_date",
                    "effective_date", "term_months", "detention_days", "release_date", "sentence_end_date",
                    "temporary_ground")


def judgment_of(person: Supervisee) -> dict:
    out = {}
    for f in _JUDGMENT_FIELDS:
        v = getattr(person, f)
        out[f] = v.isoformat() if isinstance(v, date) else v
    out["deciding_organ_id"] = person.deciding_organ_id
    return out


def _case_from(person: Supervisee, status: rules.CaseStatus, seq: int = 1) -> Case:
    closed = status in rules.CLOSED
    return Case(person=person, seq=seq, status=status, is_open=not closed,
                execution_county_id=person.execution_county_id, judicial_office_id=person.judicial_office_id,
                org_path=person.org_path, sentence_type=person.sentence_type, judgment=judgment_of(person),
                effective_date=person.effective_date, management_level=person.management_level,
                is_minor=person.is_minor, term_start=person.supervision_start, term_end=person.supervision_end,
                term_basis=_term_basis(person),
                end_reason=(rules.EndReason.EXPIRY if status == rules.CaseStatus.RELEASED
                            else rules.EndReason.UNRECORDED) if closed else "",
                end_date=person.supervision_end if status == rules.CaseStatus.RELEASED else None,
                reported_date=None if status == rules.CaseStatus.AWAITING_REPORT else person.supervision_start,
                steps_done=[] if status == rules.CaseStatus.AWAITING_REPORT else ["migrated_stage"])


def _term_basis(person: Supervisee) -> str:
    p = people_rules.supervision_period(people_rules.Sentence(
        sentence_type=people_rules.SentenceType(person.sentence_type), judgment_date=person.judgment_date,
        effective_date=person.effective_date, term_months=person.term_months,
        detention_days=person.detention_days or 0, release_date=person.release_date,
        sentence_end_date=person.sentence_end_date))
    return p.basis if p.ok else ""


def _actor_name(actor) -> str:
    return (actor.full_name or actor.username) if actor else "系统"


def readmission_refusal(person: Supervisee) -> str | None:
    """The people hook's check before a person is registered again: not over an open case, not a person whose
    last case ended in death (a record to correct by hand, not a new case)."""
    last = Case.objects.filter(person=person).order_by("-seq").first()
    if last is None:
        return None
    if last.is_open:
        return "该人员尚有未结束的社区矫正，不能重复登记"
    if last.end_reason == rules.EndReason.DEATH:
        return "该人员的社区矫正因死亡终止，不能再次登记；如登记有误，请联系上级社区矫正机构核查"
    return None


def case_readmit(*, actor, person: Supervisee, ip: str = "", today: date | None = None) -> Case:
    """The people hook: a person whose earlier cases have all ended is registered again; the next case opens at
    intake with its own judgment and deadlines. The earlier correction team stays with the earlier case (kept in
    its record) and the new case forms its own (法25)."""
    if readmission_refusal(person):
        raise TransitionRefused([readmission_refusal(person)])
    last = Case.objects.filter(person=person).order_by("-seq").first()
    if last is not None:
        from apps.people.services import team_archive
        last.judgment = {**last.judgment, "team": team_archive(actor=actor, person=person, ip=ip)}
        last.save(update_fields=["judgment"])
    seq = (Case.objects.filter(person=person).aggregate(m=models.Max("seq"))["m"] or 0) + 1
    return cases_open(actor=actor, people=[person], ip=ip, today=today, seq=seq, code="readmitted")[0]


def cases_open(*, actor, people: list[Supervisee], ip: str = "", today: date | None = None, seq: int = 1,
               code: str = "open") -> list[Case]:
    """The people hook: a case for each newly created record, at the stage its record gives (a form registration
    starts at 待报到; an import of older files at the stage the sheet names), with its first history line and the
    stage's deadlines. Runs inside the creating transaction; batched for imports and the seed."""
    today = today or today_local()
    cases = [_case_from(p, rules.OPENING_STATUS[people_rules.Status(p.status)], seq) for p in people]
    Case.objects.bulk_create(cases, batch_size=1000)
    CaseEvent.objects.bulk_create([
        CaseEvent(case=c, code=code, label=rules.OPENING_CODES[code], from_status="", to_status=c.status,
                  article="社区矫正法第22条" if c.status == rules.CaseStatus.ACTIVE else "社区矫正法第20条、第21条",
                  day=today, actor=actor, actor_name=_actor_name(actor)) for c in cases], batch_size=1000)
    cal = calendar()
    tasks = []
    intake = [c for c in cases if c.status == rules.CaseStatus.AWAITING_REPORT]
    officers = responsible_officers([c.person_id for c in intake]) if intake else {}
    for c in intake:
        for kind in _intake_deadlines(c):
            tasks.append(_task(c, kind, _anchor(c, rules.DEADLINES[kind].anchor, today), cal, officers))
    Task.objects.bulk_create(tasks, batch_size=1000)
    audit_records([{"actor": actor, "kind": AuditRecord.Kind.CHANGE, "action": "case.open", "object_type": "case",
                    "object_id": c.pk, "summary": f"建立社区矫正案件（{rules.STATUS_LABELS[c.status]}）",
                    "after": {"person": c.person_id, "status": c.status, "term_end": c.term_end.isoformat()},
                    "ip": ip, "org_path": c.org_path} for c in cases])
    return cases


def _intake_deadlines(c: Case) -> list[str]:
    kinds = ["notice_due", "documents_due"]
    kinds.append("handover" if c.sentence_type == "medical_parole" else "report_in")
    return kinds


def _anchor(c: Case, anchor: rules.Anchor, today: date) -> date:
    A = rules.Anchor
    return {A.EFFECTIVE: c.effective_date, A.NOTICE: c.notice_date or today, A.DOCUMENTS: c.documents_date or today,
            A.REPORTED: c.reported_date or today, A.STEP: today, A.TERM_END: c.term_end,
            A.LOST: c.lost_since or today}[anchor]


def _task(c: Case, kind: str, anchor: date, cal, officers: dict[int, int] | None = None) -> Task:
    """The deadline as a task of the unit responsible for it; an office's task goes to the person of the office
    in the correction team (矫正小组) when the team names a staff account (`officers`: person id -> staff id,
    looked up once for many cases)."""
    d = rules.DEADLINES[kind]
    due, n, provisional = due_date(kind, anchor, cal)
    org = c.execution_county if d.actor == rules.Actor.COUNTY else c.judicial_office
    if kind in rules.TRANSFER_TO_SIDE:
        org = c.transfers.filter(is_open=True).values_list("to_county", flat=True).first()
        org = Organisation.objects.get(pk=org)
    if officers is None:
        officers = responsible_officers([c.person_id])
    assignee = officers.get(c.person_id) if d.actor == rules.Actor.OFFICE else None
    return Task(case=c, kind=kind, title=d.title, article=d.article, anchor_date=anchor, days=n,
                day_kind=d.day_kind, due_date=due, provisional=provisional, org=org, org_path=org.path,
                is_minor=c.is_minor, assignee_id=assignee)


def responsible_officers(person_ids: list[int]) -> dict[int, int]:
    """The office's staff member in each person's correction team (the first one named)."""
    from apps.people.models import TeamMember

    out: dict[int, int] = {}
    for i in range(0, len(person_ids), 1000):
        for pid, staff in (TeamMember.objects.filter(supervisee_id__in=person_ids[i:i + 1000], kind="office",
                                                     staff__isnull=False).order_by("id")
                           .values_list("supervisee_id", "staff_id")):
            out.setdefault(pid, staff)
    return out


def case_team_changed(*, actor, person: Supervisee, ip: str = "") -> None:
    """The people hook: a staff account joined or left the correction team. The office's open deadlines of the
    open case follow the team's first staff member (责任人); one audit record says what moved."""
    case = Case.objects.filter(person=person, is_open=True).first()
    if case is None:
        return
    officer = responsible_officers([person.pk]).get(person.pk)
    qs = Task.objects.filter(case=case, state=Task.State.OPEN, org__kind=OrgKind.JUDICIAL_OFFICE)
    moved = list(qs.exclude(assignee_id=officer).values_list("id", flat=True)) if officer else \
        list(qs.filter(assignee__isnull=False).values_list("id", flat=True))
    if not moved:
        return
    Task.objects.filter(id__in=moved).update(assignee_id=officer)
    from django.contrib.auth import get_user_model

    name = _actor_name(get_user_model().objects.get(pk=officer)) if officer else ""
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="case.assign", object_type="case",
                 object_id=case.pk, summary=(f"待办责任人改为{name}" if officer else "待办责任人随矫正小组调整而取消")
                 + f"（{len(moved)}项）", after={"assignee": officer, "tasks": moved}, ip=ip, org_path=case.org_path)


def _case_documents(case: Case):
    from apps.documents.models import Document

    return Document.objects.filter(object_type="case", object_id=str(case.pk))


def case_person_changed(*, actor, person: Supervisee, fields: list[str], ip: str = "") -> None:
    """The people hook: the record's sentence, office or level was edited; the open case follows, its term
    recomputed with the inputs and the article kept, and deadlines that count from the judgment moved."""
    case = Case.objects.select_for_update().filter(person=person, is_open=True).first()
    if case is None:
        return
    before = {"term_start": case.term_start.isoformat(), "term_end": case.term_end.isoformat(),
              "office": case.judicial_office_id, "level": case.management_level}
    case.judicial_office_id = person.judicial_office_id
    case.execution_county_id = person.execution_county_id
    case.org_path = person.org_path
    case.management_level = person.management_level
    case.sentence_type = person.sentence_type
    case.judgment = judgment_of(person)
    case.effective_date = person.effective_date
    case.term_start, case.term_end = person.supervision_start, person.supervision_end
    case.term_basis = _term_basis(person)
    was_minor = case.is_minor
    if case.is_minor != person.is_minor:  # a corrected ID or birth date: the seal follows at once (法54)
        case.is_minor = person.is_minor
        Task.objects.filter(case=case).update(is_minor=person.is_minor)
        _case_documents(case).update(is_minor=person.is_minor)
    case.save()
    Task.objects.filter(case=case, state=Task.State.OPEN, org__kind=OrgKind.JUDICIAL_OFFICE).update(
        org_id=case.judicial_office_id, org_path=case.org_path)
    cal = calendar()
    moved = []
    for t in Task.objects.filter(case=case, state=Task.State.OPEN):
        d = rules.DEADLINES.get(t.kind)  # None: a later app's task (apps.supervision), not counted from the term
        if d is not None and d.anchor in (rules.Anchor.EFFECTIVE, rules.Anchor.TERM_END):
            fresh = _task(case, t.kind, _anchor(case, d.anchor, today_local()), cal)
            if (fresh.due_date, fresh.anchor_date) != (t.due_date, t.anchor_date):
                t.due_date, t.anchor_date, t.provisional = fresh.due_date, fresh.anchor_date, fresh.provisional
                t.save(update_fields=["due_date", "anchor_date", "provisional"])
                moved.append(t.kind)
    after = {"term_start": case.term_start.isoformat(), "term_end": case.term_end.isoformat(),
             "office": case.judicial_office_id, "level": case.management_level}
    if after["term_end"] != before["term_end"] or after["term_start"] != before["term_start"]:
        CaseEvent.objects.create(case=case, code="term_recomputed", label="矫正期限重新计算", from_status=case.status,
                                 to_status=case.status, article=case.term_basis.split("：")[0], day=today_local(),
                                 note=case.term_basis, data={"before": before, "after": after, "fields": fields},
                                 actor=actor, actor_name=_actor_name(actor))
    from .daily import case_moved

    case_moved(case=case, before={**before, "is_minor": was_minor}, actor=actor, ip=ip)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="case.sync", object_type="case", object_id=case.pk,
                 summary="案件随档案修改更新" + ("，期限重算" if before["term_end"] != after["term_end"] else ""),
                 before=before, after={**after, "deadlines_moved": moved}, ip=ip, org_path=case.org_path)


JUDGMENT_REASONS = {"correction": "更正登记错误", "reduction": "减刑裁定", "ruling": "人民法院裁定、决定变更",
                    "other": "其他"}


@use_case
def case_judgment_change(*, actor, case_id: int, data: Mapping[str, Any], ip: str = "",
                         today: date | None = None) -> Case:
    """Change the judgment an open case executes (a registration error corrected, a reduction of sentence, a
    ruling): checked as at registration, with its reason and the document it rests on; the person's row follows,
    the term is recomputed with its article, the deadlines counted from the judgment move, and the case's history
    and the audit trail say what changed and why. Refused while a transfer is open (the case is being handed
    over). Nothing changes when nothing differs."""
    today = today or today_local()
    case = (Case.objects.select_for_update().select_related("person", "person__judicial_office")
            .filter(pk=parse_pk(case_id) or -1).first())
    if case is None or actor is None or not _visible(actor, case):  # (no transfer: visible is within scope)
        raise NotFound()
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您的账号不能变更判决信息")
    if not case.is_open:
        raise TransitionRefused(["案件已解除（终止），判决信息不再变更"])
    if case.transfers.filter(is_open=True).exists():
        raise TransitionRefused(["执行地变更办理中，判决信息待新执行地接收后变更（社区矫正法实施办法第31条）"])
    e: dict[str, str] = {}
    reason = str(data.get("reason") or "")
    if reason not in JUDGMENT_REASONS:
        e["reason"] = "请选择变更原因"
    basis = str(data.get("basis") or "").strip()
    if len(basis) > 100:
        e["basis"] = "依据文书不能超过100字"
    elif reason in ("reduction", "ruling") and not basis:
        e["basis"] = "减刑或裁定变更须填写依据文书及文号"
    person = Supervisee.objects.select_for_update().get(pk=case.person_id)
    try:
        clean = people_services.judgment_clean(person, data, actor=actor, today=today)
    except InputErrors as exc:
        e.update(exc.errors)
        clean = {}
    if e:
        raise InputErrors(e)
    before_judgment = {"sentence_type": case.sentence_type, **case.judgment,
                       "term_start": case.term_start.isoformat(), "term_end": case.term_end.isoformat()}
    changed = people_services.supervisee_judgment_project(person, clean)
    if not changed:
        return case
    label = {f: str(Supervisee._meta.get_field(f).verbose_name) for f in changed}
    words = f"{JUDGMENT_REASONS[reason]}{('（' + basis + '）') if basis else ''}：变更" + "、".join(label.values())
    CaseEvent.objects.create(case=case, code="judgment_changed", label="变更判决信息", from_status=case.status,
                             to_status=case.status, article=basis[:100], day=today, note=words[:500],
                             data={"fields": changed, "reason": reason, "basis": basis}, actor=actor,
                             actor_name=_actor_name(actor))
    case_person_changed(actor=actor, person=person, fields=changed, ip=ip)
    case.refresh_from_db()
    after_judgment = {"sentence_type": case.sentence_type, **case.judgment,
                      "term_start": case.term_start.isoformat(), "term_end": case.term_end.isoformat()}
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="case.judgment", object_type="case",
                 object_id=case.pk, summary=words[:200],
                 before={k: v for k, v in before_judgment.items() if after_judgment.get(k) != v},
                 after={k: v for k, v in after_judgment.items() if before_judgment.get(k) != v},
                 ip=ip, org_path=case.org_path)
    return case


# --- the one transition function ------------------------------------------------------------------------------

def _team_problems(person: Supervisee) -> tuple[str, ...]:
    members = [people_rules.Member(m.gender, m.knows_minors) for m in person.team.all()]
    if not members:
        return ("尚未组建矫正小组（社区矫正法第25条）",)
    return tuple(people_rules.team_problems(gender=person.gender, minor=person.is_minor, members=members))


def current_transfer(case: Case) -> Transfer | None:
    """The open transfer, or the last one while its report-in is still awaited at the new county."""
    t = case.transfers.select_related("from_county", "to_county", "new_office").order_by("-id").first()
    if t is None:
        return None
    if t.is_open or Task.objects.filter(case=case, kind="transfer_report", state=Task.State.OPEN).exists():
        return t
    return None


def _facts(case: Case, today: date, entered: Mapping[str, Any], transfer: Transfer | None = None) -> rules.Facts:
    report_task = case.tasks.filter(kind__in=("report_in", "handover")).order_by("-id").first()
    return rules.Facts(status=rules.CaseStatus(case.status), sentence_type=case.sentence_type,
                       steps_done=frozenset(case.steps_done), documents_in=case.documents_date is not None,
                       today=today, term_end=case.term_end,
                       report_due=report_task.due_date if report_task else None,
                       team_problems=_team_problems(case.person), entered=dict(entered),
                       transfer_stage=transfer.stage if transfer else "", county_id=case.execution_county_id,
                       open_tasks=open_task_kinds(case))


def open_task_kinds(case: Case) -> frozenset[str]:
    return frozenset(Task.objects.filter(case=case, state=Task.State.OPEN).values_list("kind", flat=True))


def _parse_date(value, label: str, today: date, errors: list[str]) -> date | None:
    if isinstance(value, date):
        d = value
    else:
        try:
            d = date.fromisoformat(str(value or "").strip())
        except ValueError:
            errors.append(f"请填写{label}（年-月-日）")
            return None
    if d > today:
        errors.append(f"{label}不能晚于今天")
        return None
    if d < date(2000, 1, 1):
        errors.append(f"{label}过早，请核对")
        return None
    return d


_DATE_FIELDS = {"notice_date": "收到通知日期", "documents_date": "收到法律文书日期", "reported_date": "报到日期",
                "announced_date": "宣告日期", "end_date": "解除（终止）日期", "proposal_date": "提请日期",
                "lost_since": "失去联系日期"}
DOCUMENT_KINDS = ("判决书", "裁定书", "决定书", "执行通知书", "起诉书副本", "结案登记表", "暂予监外执行决定书",
                  "假释裁定书", "病情诊断证明", "保证书")


def _clean_entered(t: rules.Transition, data: Mapping[str, Any], today: date) -> tuple[dict, list[str]]:
    out, errors = {}, []
    for f in t.fields:
        if f == "planned_date":  # a date to come
            try:
                out[f] = date.fromisoformat(str(data.get(f) or "").strip())
            except ValueError:
                errors.append("请填写拟迁居日期（年-月-日）")
                out[f] = None
        elif f in ("to_county", "new_office"):
            ref = str(data.get(f) or "").strip()
            kind = OrgKind.COUNTY_AGENCY if f == "to_county" else OrgKind.JUDICIAL_OFFICE
            pk = parse_pk(ref)
            org = Organisation.objects.filter(pk=pk, kind=kind).first() if pk else None
            if ref and org is None:
                errors.append("所选机构不存在")
            out[f] = org
        elif f == "agree":
            out[f] = data.get(f) if data.get(f) in ("yes", "no") else None
        elif f in _DATE_FIELDS:
            v = data.get(f) or today
            out[f] = _parse_date(v, _DATE_FIELDS[f], today, errors)
        elif f == "documents":
            raw = data.get("documents") or []
            docs = [raw] if isinstance(raw, str) else list(raw)
            bad = [d for d in docs if d not in DOCUMENT_KINDS]
            if bad:
                errors.append(f"未知的法律文书：{'、'.join(map(str, bad))}")
            out[f] = [d for d in DOCUMENT_KINDS if d in docs]
        else:
            v = str(data.get(f) or "").strip()
            limit = 500 if f in ("office_view", "answer_note") else 200
            if len(v) > limit:
                errors.append(f"内容过长（最多{limit}字）")
            out[f] = v[:limit]
    note = str(data.get("note") or "").strip()
    if len(note) > 500:
        errors.append("说明过长（最多500字）")
    out["note"] = note[:500]
    return out, errors


def may_act_on(actor, case: Case, t: rules.Transition, transfer: Transfer | None = None) -> bool:
    """Roles and organisation fit the table; the case is the actor's, or for the receiving county's steps of a
    transfer, the transfer is coming to the actor's county (not the sending one)."""
    if not rules.may_act(t, actor.roles, actor.organisation.kind):
        return False
    if t.side == "to":
        return transfer is not None and within(actor, transfer.to_path)
    return within(actor, case.org_path)


def case_transition(*, actor, case_id: int, code: str, data: Mapping[str, Any] | None = None, ip: str = "",
                    today: date | None = None) -> Case:
    """Make one change of the table, or refuse it with the reasons and articles (TransitionRefused), writing
    nothing. `actor` None is the system's daily job (only its own transitions)."""
    with transaction.atomic(durable=True):
        return _transition(actor=actor, case_id=case_id, code=code, data=data or {}, ip=ip,
                           today=today or today_local())


def _transition(*, actor, case_id: int, code: str, data: Mapping[str, Any], ip: str, today: date) -> Case:
    t = rules.TRANSITIONS.get(code)
    case_id = parse_pk(case_id)
    if case_id is None:
        raise NotFound()
    case = (Case.objects.select_for_update().select_related("person", "judicial_office", "execution_county")
            .filter(pk=case_id).first())
    transfer = current_transfer(case) if case is not None else None
    if case is None or (actor is not None and not _visible(actor, case, transfer)):
        raise NotFound()
    if t is None:
        raise TransitionRefused([f"没有“{code}”这一办理事项"])
    if actor is None:
        if t.actor != rules.Actor.SYSTEM:
            raise NotPermitted(f"“{t.label}”须由工作人员办理")
    elif not may_act_on(actor, case, t, transfer):
        who = "新执行地" if t.side == "to" else ""
        raise NotPermitted(f"“{t.label}”由{who}{rules.ACTOR_LABELS[t.actor]}办理，您的账号不能办理")
    entered, errors = _clean_entered(t, data, today)
    reasons = errors + rules.problems(t, _facts(case, today, entered, transfer))
    if t.code == "transfer_received" and entered.get("new_office") is not None and transfer is not None \
            and entered["new_office"].parent_id != transfer.to_county_id:
        reasons.append("请选择新执行地县级社区矫正机构所属的司法所")
    reasons += _date_order(case, t, entered, transfer)
    if reasons:
        raise TransitionRefused(reasons)
    before = case.status
    _apply(case, t, entered, today)
    if t.code.startswith("transfer_"):
        transfer = _apply_transfer(case, t, entered, today, transfer, actor)
    if t.target is not None:
        case.status = t.target
        if t.target in rules.CLOSED:
            case.is_open = False
            case.end_reason = t.end_reason or ""
            case.end_date = entered.get("end_date") or today
    if (t.target is None or t.code in ("announce",)) and not t.code.startswith("transfer_"):
        case.steps_done = [*case.steps_done, t.code] if t.code not in case.steps_done else case.steps_done
    case.save()
    extra = ("transfer_decide",) if t.code == "transfer_answered" and transfer.agreed else ()
    opened, closed = _deadlines(case, t, today, extra)
    note = entered.pop("note", "")
    stored = {k: (v.isoformat() if isinstance(v, date) else v.pk if isinstance(v, Organisation) else v)
              for k, v in entered.items()}
    docs = paperwork.issue_for(actor=actor, case=case, t=t, today=today, entered=stored, ip=ip)
    if docs:
        stored["documents_issued"] = [d.number for d in docs]
    happened = next((entered[k] for k in ("reported_date", "documents_date", "notice_date", "announced_date",
                                          "end_date", "lost_since", "proposal_date")
                     if isinstance(entered.get(k), date)), today)
    CaseEvent.objects.create(case=case, code=t.code, label=t.label, from_status=before, to_status=case.status,
                             article=t.article, day=happened, note=note, data=stored, actor=actor,
                             actor_name=_actor_name(actor))
    if case.status != before:
        supervisee_project(case.person, status=rules.PERSON_STATUS[rules.CaseStatus(case.status)])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="case.transition", object_type="case",
                 object_id=case.pk, summary=f"{t.label}（{t.article}）",
                 before={"status": before}, after={"status": case.status, "code": t.code, **stored,
                                                   "deadlines_opened": opened, "deadlines_closed": closed},
                 ip=ip, org_path=case.org_path)
    return case


def _visible(actor, case: Case, transfer: Transfer | None = None) -> bool:
    here = within(actor, case.org_path) or (transfer is not None and within(actor, transfer.to_path))
    return actor.can(Action.SUPERVISEE_VIEW) and here and (not case.is_minor or actor.minor_access)


def _apply_transfer(case: Case, t: rules.Transition, entered: dict, today: date, transfer: Transfer | None,
                    actor=None):
    """The transfer's own record: its stage, and on receipt the case's new jurisdiction (the old agency
    supervised until now)."""
    if t.code == "transfer_apply":
        to = entered["to_county"]
        return Transfer.objects.create(
            case=case, from_county=case.execution_county, to_county=to, from_path=case.execution_county.path,
            to_path=to.path, applied_date=today, planned_date=entered["planned_date"],
            new_address=entered["new_address"], reason=entered.get("reason", ""))
    tr = transfer
    if t.code == "transfer_office_view":
        tr.office_view = entered.get("office_view", "")
    elif t.code == "transfer_answered":
        tr.agreed = entered["agree"] == "yes"
        tr.answer_note = entered.get("answer_note", "")
        tr.stage = "agreed" if tr.agreed else "refused"
    elif t.code == "transfer_decided":
        tr.decided_date = today
    elif t.code == "transfer_received":
        office = entered["new_office"]
        tr.received_date, tr.new_office, tr.is_open = today, office, False
        case.execution_county, case.judicial_office, case.org_path = tr.to_county, office, office.path
        case.save(update_fields=["execution_county", "judicial_office", "org_path"])
        supervisee_project(case.person, execution_county=tr.to_county, judicial_office=office, org_path=office.path)
        # the file moves with the case (实施办法第31条: 档案移交): the documents are the new county's to read now
        _case_documents(case).update(org_path=office.path)
        before = {"execution_county": tr.from_county_id, "residence_address": case.person.residence_address}
        supervisee_project(case.person, residence_address=tr.new_address)
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE,
                     action="supervisee.transfer", object_type="supervisee", object_id=case.person_id,
                     summary=f"执行地变更：{tr.from_county.name} → {tr.to_county.name}（{office.name}）",
                     before=before, after={"execution_county": tr.to_county_id, "judicial_office": office.pk,
                                           "residence_address": tr.new_address}, org_path=office.path)
        # the case's remaining deadlines move with it; the new county's own transfer deadlines stay where they are
        for task in Task.objects.filter(case=case, state=Task.State.OPEN).exclude(kind__in=rules.TRANSFER_TO_SIDE):
            d = rules.DEADLINES.get(task.kind)  # None: a later app's task (apps.supervision): it keeps its level
            county_level = d.actor == rules.Actor.COUNTY if d else task.org.kind != OrgKind.JUDICIAL_OFFICE
            org = tr.to_county if county_level else office
            task.org, task.org_path = org, org.path
            task.save(update_fields=["org", "org_path"])
        from .daily import case_moved

        case_moved(case=case, before={"execution_county": tr.from_county_id, "level": case.management_level,
                                      "is_minor": case.is_minor}, actor=actor)
    elif t.code == "transfer_closed":
        tr.is_open = False
    if t.code in rules.TRANSFER_NEXT_STAGE:
        tr.stage = rules.TRANSFER_NEXT_STAGE[t.code]
    tr.save()
    return tr


def _date_order(case: Case, t: rules.Transition, e: dict, transfer: Transfer | None) -> list[str]:
    """Dates must follow each other as the events did: nothing before the judgment, a report-in not before the
    judgment took effect, an announcement not before the report-in, a report-in at the new county not before
    the decision to move, an end not before the term began."""
    out = []
    judged = case.judgment.get("judgment_date")
    judged = date.fromisoformat(judged) if judged else case.effective_date

    def need(key, not_before, what):
        v = e.get(key)
        if isinstance(v, date) and not_before and v < not_before:
            out.append(f"{_DATE_FIELDS.get(key, key)}（{v}）不能早于{what}（{not_before}）")

    need("notice_date", judged, "判决（裁定、决定）日期")
    need("documents_date", judged, "判决（裁定、决定）日期")
    if t.code in ("report_in", "handover"):
        need("reported_date", case.effective_date, "判决（裁定、决定）生效日期")
    if t.code == "transfer_reported" and transfer is not None:
        need("reported_date", transfer.decided_date, "变更执行地决定日期")
    need("announced_date", case.reported_date, "报到日期")
    need("lost_since", case.reported_date or case.term_start, "报到日期")
    need("proposal_date", case.term_start, "矫正起始日")
    if t.code == "release":
        need("end_date", case.term_end, "矫正期满日")
    else:
        need("end_date", case.term_start, "矫正起始日")
    planned = e.get("planned_date")
    if isinstance(planned, date) and planned > case.term_end:
        out.append(f"拟迁居日期（{planned}）晚于矫正期满日（{case.term_end}），无需变更执行地")
    return out


def _apply(case: Case, t: rules.Transition, entered: dict, today: date) -> None:
    for f in ("notice_date", "documents_date", "reported_date", "announced_date", "delivering_unit", "lost_since"):
        if f == "reported_date" and t.code == "transfer_reported":
            continue  # the report-in at the new county is its own fact; the first report-in stays as it was
        if f in entered and entered[f] not in (None, ""):
            setattr(case, f, entered[f])
    if "documents" in entered:
        case.documents = sorted(set(case.documents) | set(entered["documents"]), key=DOCUMENT_KINDS.index)


def _deadlines(case: Case, t: rules.Transition, today: date, extra: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    now = timezone.now()
    open_tasks = {x.kind: x for x in Task.objects.filter(case=case, state=Task.State.OPEN)}
    closes = t.closes
    if t.code == "documents_received" and rules.missing_documents(case.sentence_type, case.documents):
        closes = ()  # 法律文书不全: the documents deadline stays open until the set is complete
    closed = []
    for kind, task in open_tasks.items():
        if kind in closes:
            task.state, task.closed_note = Task.State.DONE, t.label
        elif kind in t.cancels or "*" in t.cancels:
            task.state, task.closed_note = Task.State.CANCELLED, f"因“{t.label}”不再需要"
        else:
            continue
        task.closed_at = now
        task.save(update_fields=["state", "closed_at", "closed_note"])
        closed.append(kind)
    opened = []
    cal = calendar()
    for kind in t.opens + extra:
        if kind == "documents_complete" and case.documents_date is not None:
            continue
        if kind in open_tasks and kind not in closed:
            continue
        Task.objects.create(**_task_fields(_task(case, kind, _anchor(case, rules.DEADLINES[kind].anchor, today), cal)))
        opened.append(kind)
    return opened, closed


def _task_fields(t: Task) -> dict:
    return {f: getattr(t, f) for f in ("case", "kind", "title", "article", "anchor_date", "days", "day_kind",
                                       "due_date", "provisional", "org", "org_path", "is_minor", "assignee_id")}


# --- the daily job ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DailyResult:
    overdue_raised: int
    missing_opened: int
    release_tasks: int


def cases_daily(*, today: date | None = None) -> DailyResult:
    """Once a day (Celery beat at scale, the in-process scheduler by default): cases not reported in time become
    missing-person cases (查找) with their tasks; tasks past due are raised as overdue; the release stage's tasks
    open 30 days before the term ends. Each happens exactly once: a raised task keeps its time, a missing case
    has left 待报到, and a task kind is open once per case."""
    today = today or today_local()
    missing = 0
    for case_id in (Task.objects.filter(state=Task.State.OPEN, kind="report_in", due_date__lt=today,
                                        case__status=rules.CaseStatus.AWAITING_REPORT)
                    .values_list("case_id", flat=True)):
        try:
            case_transition(actor=None, case_id=case_id, code="missing", ip="", today=today)
            missing += 1
        except TransitionRefused:
            continue
        except Exception:  # noqa: BLE001 - one bad case must not stop the others; the next run tries it again
            log.exception("daily job: case %s could not be moved to the search", case_id)
    release = _open_release_tasks(today)
    raised = _raise_overdue(today)
    return DailyResult(raised, missing, release)


@use_case
def _raise_overdue(today: date) -> int:
    now = timezone.now()
    rows = list(Task.objects.select_for_update().filter(state=Task.State.OPEN, due_date__lt=today,
                                                         overdue_raised_at__isnull=True)
                .values_list("pk", "case_id", "org_path", "kind"))
    if not rows:
        return 0
    Task.objects.filter(pk__in=[r[0] for r in rows]).update(overdue_raised_at=now)
    by_org: dict[str, list] = {}
    for pk, case_id, path, kind in rows:
        by_org.setdefault(path, []).append({"task": pk, "case": case_id, "kind": kind})
    audit_records([{"actor": None, "kind": AuditRecord.Kind.CHANGE, "action": "task.overdue", "object_type": "task",
                    "summary": f"{len(items)} 项期限已逾期", "after": {"tasks": items}, "org_path": path}
                   for path, items in by_org.items()])
    return len(rows)


@use_case
def _open_release_tasks(today: date) -> int:
    horizon = today + timedelta(days=30)
    cases = list(Case.objects.select_related("judicial_office", "execution_county")
                 .filter(is_open=True, term_end__lte=horizon,
                         status__in=[rules.CaseStatus.ACTIVE, rules.CaseStatus.REVOCATION_PENDING])
                 .exclude(tasks__kind="release"))
    cal = calendar()
    tasks = []
    officers = responsible_officers([c.person_id for c in cases]) if cases else {}
    for c in cases:
        kinds = ["release_appraisal", "release"] + (["prison_notice"] if c.sentence_type == "medical_parole" else [])
        tasks += [_task(c, k, c.term_end, cal, officers) for k in kinds]
    Task.objects.bulk_create(tasks, batch_size=1000)
    if tasks:
        audit_records([{"actor": None, "kind": AuditRecord.Kind.CHANGE, "action": "case.release_due",
                        "object_type": "case", "object_id": c.pk, "summary": "矫正期满前三十日：开启期满鉴定与解除事项",
                        "org_path": c.org_path} for c in cases])
    return len(tasks)

