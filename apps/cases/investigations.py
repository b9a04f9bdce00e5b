"""Use cases of the pre-sentence investigation (调查评估, 社区矫正法第18条): a request received from a court,
procuratorate, police or prison administration; assigned to an office; its findings; the opinion issued within
10 working days (5 under fast-track, 实施办法第13条 [M]) on the official calendar, copied to the procuratorate,
and the record locked. Each change: its history in the audit log, its deadline, its document."""
from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_view
from apps.documents.render import date_cn
from apps.documents.services import document_issue
from apps.orgs.models import Organisation
from apps.orgs.rules import Action, OrgKind
from apps.orgs.scope import NotFound, access, parse_pk, restrict, within
from apps.orgs.text import TextError, clean_person_name, clean_text
from apps.people import rules as people_rules
from apps.people.services import InputErrors, today_local

from . import rules
from .models import Investigation, Task
from .services import NotPermitted, TransitionRefused, calendar, due_date

use_case = transaction.atomic(durable=True)


def _county_of(actor) -> Organisation:
    org = actor.organisation
    if org.kind != OrgKind.COUNTY_AGENCY or not actor.can(Action.CASE_DECIDE):
        raise NotPermitted("调查评估由县级社区矫正机构受理（社区矫正法第18条）")
    return org


def _date(raw, label: str, errors: dict, key: str, today: date) -> date | None:
    try:
        d = raw if isinstance(raw, date) else date.fromisoformat(str(raw or "").strip())
    except ValueError:
        errors[key] = f"请填写{label}（年-月-日）"
        return None
    if d > today:
        errors[key] = f"{label}不能晚于今天"
        return None
    if d.year < 1900:
        errors[key] = f"{label}过早，请核对"
        return None
    return d


def investigation_clean(raw: Mapping[str, Any], *, county: Organisation, today: date) -> dict:
    e: dict[str, str] = {}
    out: dict[str, Any] = {}
    try:
        out["subject_name"] = clean_person_name(raw.get("subject_name"))
    except TextError as exc:
        e["subject_name"] = str(exc)
    number = str(raw.get("subject_id_number") or "").strip()
    if number:
        try:
            info = people_rules.parse_id_number(number, today=today)
            out["subject_id_number"], out["subject_birth_date"] = info.number, info.birth_date
            out["subject_gender"] = info.gender
        except people_rules.IdError as exc:
            e["subject_id_number"] = str(exc)
    if "subject_birth_date" not in out and not number:  # without a number, the birth date and sex are asked for
        out["subject_birth_date"] = _date(raw.get("subject_birth_date"), "出生日期", e, "subject_birth_date", today)
        out["subject_id_number"] = ""
    if "subject_gender" not in out and not number:
        g = raw.get("subject_gender")
        if g not in ("M", "F"):
            e["subject_gender"] = "请选择性别"
        out["subject_gender"] = g
    for key, label, n in (("subject_address", "居住地址", 200), ("crime", "涉嫌罪名", 60),
                          ("letter_number", "委托函文号", 60)):
        try:
            out[key] = clean_text(raw.get(key), max_len=n, required=True, label=label)
        except TextError as exc:
            e[key] = str(exc)
    proposed = raw.get("proposed")
    if proposed not in people_rules.SENTENCE_LABELS:
        e["proposed"] = "请选择拟适用的社区矫正类别"
    out["proposed"] = proposed
    kind = raw.get("requester_kind")
    if kind not in rules.REQUESTER_KINDS:
        e["requester_kind"] = "请选择委托机关类别"
    out["requester_kind"] = kind
    ref = str(raw.get("requester") or "").strip()
    if kind in ("court", "procuratorate", "police", "prison") and ref:
        org = Organisation.objects.filter(pk=parse_pk(ref) or -1, kind=kind).first()
        if org is None:
            e["requester"] = "委托机关不存在"
        else:
            out["requester"], out["requester_name"] = org, org.name
    if "requester_name" not in out:
        try:
            out["requester_name"] = clean_text(raw.get("requester_name"), max_len=100, required=True,
                                               label="委托机关名称")
        except TextError as exc:
            e["requester_name"] = str(exc)
    out["received_date"] = _date(raw.get("received_date") or today, "收到委托函日期", e, "received_date", today)
    out["fast_track"] = str(raw.get("fast_track") or "") in ("1", "on", "true", "True")
    if e:
        raise InputErrors(e)
    born = out["subject_birth_date"]
    out["is_minor"] = people_rules.age_on(born, out["received_date"]) < 18
    out["county"] = county
    return out


def _snapshot(inv: Investigation) -> dict:
    return {"status": inv.status, "office": inv.office_id, "opinion": inv.opinion, "fast_track": inv.fast_track,
            "received_date": inv.received_date.isoformat(), "requester": inv.requester_name}


@use_case
def investigation_create(*, actor, data: Mapping[str, Any], ip: str = "", today: date | None = None) -> Investigation:
    today = today or today_local()
    county = _county_of(actor)
    clean = investigation_clean(data, county=county, today=today)
    inv = Investigation.objects.create(**clean, org_path=county.path, created_by=actor)
    kind = "investigation_fast" if inv.fast_track else "investigation"
    d = rules.DEADLINES[kind]
    due, n, provisional = due_date(kind, inv.received_date, calendar())
    Task.objects.create(investigation=inv, kind=kind, title=d.title, article=d.article, anchor_date=inv.received_date,
                        days=n, day_kind=d.day_kind, due_date=due, provisional=provisional, org=county,
                        org_path=county.path, is_minor=inv.is_minor)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="investigation.create", object_type="investigation",
                 object_id=inv.pk, summary=f"受理调查评估委托（{inv.requester_name}，{inv.letter_number}）",
                 after={**_snapshot(inv), "due": due.isoformat(), "provisional": provisional}, ip=ip,
                 org_path=inv.org_path)
    return inv


def _visible(actor, inv: Investigation) -> bool:
    return (actor.can(Action.SUPERVISEE_VIEW) and within(actor, inv.org_path)
            and (not inv.is_minor or actor.minor_access))


def investigation_transition(*, actor, investigation_id: int, code: str, data: Mapping[str, Any] | None = None,
                             ip: str = "", today: date | None = None) -> Investigation:
    with transaction.atomic(durable=True):
        return _transition(actor, investigation_id, code, data or {}, ip, today or today_local())


def _transition(actor, inv_id, code, data, ip, today) -> Investigation:
    inv_id = parse_pk(inv_id)
    # lock the investigation row alone (the office is an outer join, which PostgreSQL cannot lock)
    inv = (Investigation.objects.select_for_update(of=("self",)).select_related("county", "office")
           .filter(pk=inv_id).first() if inv_id else None)
    if inv is None or not _visible(actor, inv):
        raise NotFound()
    t = rules.INV_TRANSITIONS.get(code)
    if t is None:
        raise TransitionRefused([f"没有“{code}”这一办理事项"])
    if not rules.may_act(rules.Transition(t.code, t.label, frozenset(), None, t.actor, t.article), actor.roles,
                         actor.organisation.kind):
        raise NotPermitted(f"“{t.label}”由{rules.ACTOR_LABELS[t.actor]}办理，您的账号不能办理")
    entered, errors = _entered(t, data, inv)
    reasons = errors + rules.investigation_problems(t, rules.InvStatus(inv.status),
                                                    {**entered, "findings": {**inv.findings,
                                                                             **entered.get("findings", {})}})
    if reasons:
        raise TransitionRefused(reasons)
    before = _snapshot(inv)
    if code == "assign":
        inv.office = entered["office"]
        inv.org_path = inv.office.path
    elif code == "findings":
        inv.findings = {**inv.findings, **entered["findings"]}
    elif code == "issue":
        inv.opinion, inv.opinion_text, inv.issued_date = entered["opinion"], entered["opinion_text"], today
    elif code == "cannot":
        inv.cannot_reason, inv.issued_date = entered["cannot_reason"], today
    if t.target is not None:
        inv.status = t.target
    inv.save()
    issued = []
    if code in ("issue", "cannot"):
        now = timezone.now()
        Task.objects.filter(investigation=inv, state=Task.State.OPEN).update(
            state=Task.State.DONE, closed_at=now, closed_note=t.label)
        issued = [_issue_opinion(actor, inv, today, ip)]
    elif code == "assign":  # the office does the work now: the deadline shows in its queue (the county still sees it)
        Task.objects.filter(investigation=inv, state=Task.State.OPEN).update(org=inv.office, org_path=inv.org_path)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="investigation.transition",
                 object_type="investigation", object_id=inv.pk, summary=f"{t.label}（{t.article}）",
                 before=before, after={**_snapshot(inv), "code": code,
                                       "documents_issued": [d.number for d in issued]}, ip=ip, org_path=inv.org_path)
    return inv


def _entered(t: rules.InvTransition, data, inv: Investigation) -> tuple[dict, list[str]]:
    out, errors = {}, []
    if "office" in t.fields:
        ref = str(data.get("office") or "")
        office = Organisation.objects.filter(pk=parse_pk(ref) or -1, kind=OrgKind.JUDICIAL_OFFICE,
                                             parent=inv.county).first()
        if office is None:
            errors.append("请选择本县（区）的司法所")
        out["office"] = office
    if t.code == "findings":
        out["findings"] = {}
        for key in t.fields:
            v = str(data.get(key) or "").strip()
            if len(v) > 2000:
                errors.append("每项调查情况不超过2000字")
            if v:
                out["findings"][key] = v[:2000]
        if not out["findings"]:
            errors.append("请至少填写一项调查情况")
    if t.code == "issue":
        out["opinion"] = data.get("opinion")
        out["opinion_text"] = str(data.get("opinion_text") or "").strip()[:2000]
    if t.code == "cannot":
        out["cannot_reason"] = str(data.get("cannot_reason") or "").strip()[:300]
    return out, errors


def _procuratorate(county: Organisation) -> str:
    org = Organisation.objects.filter(kind=OrgKind.PROCURATORATE, oversees=county).only("name").first()
    return org.name if org else "人民检察院"


def _issue_opinion(actor, inv: Investigation, today: date, ip: str):
    f = inv.findings
    g = {"M": "男", "F": "女"}.get(inv.subject_gender, "")
    word = rules.OPINIONS.get(inv.opinion, "")
    sentence = people_rules.SENTENCE_LABELS[people_rules.SentenceType(inv.proposed)]
    # before the court's judgment a defendant; a prisoner when a prison asks about parole or 暂予监外执行
    role = "罪犯" if inv.requester_kind == "prison" else "被告人"
    ctx = {"requester_name": inv.requester_name, "received": date_cn(inv.received_date),
           "subject_name": inv.subject_name, "subject_gender": g, "subject_born": date_cn(inv.subject_birth_date),
           "office_name": inv.office.name if inv.office else inv.county.name,
           "residence": f.get("residence", ""), "family": f.get("family", ""), "victim": f.get("victim", ""),
           "impact": f.get("impact", ""), "cannot": inv.status == rules.InvStatus.RETURNED,
           "cannot_reason": inv.cannot_reason,
           "opinion_text": f"综合以上情况，我局认为{role}{inv.subject_name}{word}（拟适用{sentence}）。"
                           + (inv.opinion_text or ""),
           "procuratorate_name": _procuratorate(inv.county), "cc": _procuratorate(inv.county),
           "letter_number": inv.letter_number, "subject_role": role}
    kind = "investigation_impossible" if inv.status == rules.InvStatus.RETURNED else "investigation_opinion"
    return document_issue(actor=actor, agency=inv.county, doc_type=kind,
                          object_type="investigation", object_id=inv.pk, org_path=inv.county.path, context=ctx,
                          issued_on=today, is_minor=inv.is_minor, ip=ip)


# --- reading --------------------------------------------------------------------------------------------------

def investigation_list(*, user, status: str = "", ip: str = "") -> list[Investigation]:
    """The latest 200 of the reader's jurisdiction (minors' sealed), each with its deadline; the names on the page
    are a read of personal data and are logged."""
    qs = restrict(Investigation.objects.select_related("office", "county").prefetch_related("tasks"), user,
                  Action.SUPERVISEE_VIEW)
    if not user.minor_access:
        qs = qs.exclude(is_minor=True)
    if status in rules.INV_LABELS:
        qs = qs.filter(status=status)
    rows = list(qs.order_by("-id")[:200])
    if rows:
        audit_view(actor=user, object_type="investigation", object_ids=[i.pk for i in rows],
                   summary=f"查看调查评估列表（{len(rows)}条）", ip=ip, action="investigation.view",
                   org_path=user.organisation.scope_path)
    return rows


def access_investigation(*, user, investigation_id, ip: str = "") -> Investigation:
    inv = access(Investigation, user=user, pk=investigation_id, action=Action.SUPERVISEE_VIEW,
                 qs=Investigation.objects.select_related("office", "county"))
    if inv.is_minor and not user.minor_access:
        raise NotFound()
    audit_view(actor=user, object_type="investigation", object_ids=[inv.pk], summary="查阅调查评估",
               ip=ip, org_path=inv.org_path, action="investigation.view")
    return inv


def investigation_tasks(inv: Investigation) -> list[Task]:
    return list(inv.tasks.order_by("id"))


def requesters_for(user) -> list[Organisation]:
    """Who may send a request: the court, procuratorate and police that oversee the user's county, and the
    prisons of its province (before parole or 暂予监外执行)."""
    org = user.organisation
    if org.kind != OrgKind.COUNTY_AGENCY:
        return []
    province = org.path.split("/")[1]
    return list(Organisation.objects.filter(Q(oversees=org, kind__in=("court", "procuratorate", "police"))
                                            | Q(kind=OrgKind.PRISON, path__startswith=f"/{province}/"))
                .order_by("kind", "name"))
