"""The documents a case's changes issue: the facts each form needs, gathered from the case, the person, the
organs concerned; issued through apps.documents in the transition's transaction (numbered there, gap-free)."""
from __future__ import annotations

from datetime import date

from apps.documents.render import date_cn
from apps.documents.services import document_issue
from apps.orgs.models import Organisation
from apps.people import rules as people_rules

from . import rules

_GENDER = {"M": "男", "F": "女"}


def _cn(v) -> str:
    if isinstance(v, date):
        return date_cn(v)
    if isinstance(v, str) and len(v) == 10 and v[4] == "-":
        try:
            return date_cn(date.fromisoformat(v))
        except ValueError:
            return v
    return v or ""


def _organ(county: Organisation, kind: str) -> str:
    org = Organisation.objects.filter(kind=kind, oversees=county).only("name").first()
    return org.name if org else {"procuratorate": "人民检察院", "police": "公安机关"}[kind]


def context(case, *, today: date, entered: dict | None = None) -> dict:
    p = case.person
    j = case.judgment or {}
    team = [{"name": m.name, "kind": m.get_kind_display(), "phone": m.phone} for m in p.team.all()]
    entered = entered or {}
    d = {
        "person_name": p.name, "gender": _GENDER.get(p.gender, ""), "born": _cn(p.birth_date),
        "id_number": p.id_number, "residence_address": p.residence_address,
        "sentence_type": case.sentence_type,
        "sentence_label": people_rules.SENTENCE_LABELS[people_rules.SentenceType(case.sentence_type)],
        "crime": j.get("crime", ""), "original_penalty": j.get("original_penalty", ""),
        "deciding_organ_name": j.get("deciding_organ_name", ""), "judgment_number": j.get("judgment_number", ""),
        "judgment_date": _cn(j.get("judgment_date")), "effective_date": _cn(case.effective_date),
        "term_start": _cn(case.term_start), "term_end": _cn(case.term_end),
        "county_name": case.execution_county.name, "office_name": case.judicial_office.name,
        "procuratorate_name": _organ(case.execution_county, "procuratorate"),
        "police_name": _organ(case.execution_county, "police"),
        "documents": list(case.documents), "documents_date": _cn(case.documents_date),
        "reported_date": _cn(case.reported_date), "announced_date": _cn(case.announced_date or today),
        "delivering_unit": case.delivering_unit, "handover": bool(case.delivering_unit),
        "team": team, "team_text": "、".join(f"{m['name']}（{m['kind']}）" for m in team),
        "not_public": case.is_minor, "release_wording": rules.release_wording(case.sentence_type),
        "end_reason": case.end_reason, "end_date": _cn(case.end_date or today),
        "appraisal": entered.get("appraisal") or _last_appraisal(case),
        "search_date": _cn(today), "lost_since": _cn(case.lost_since) if case.status == "absconded" else "",
    }
    tr = case.transfers.select_related("to_county").order_by("-id").first()
    if tr is not None:
        d.update({"to_county_name": tr.to_county.name, "to_area": tr.to_county.short_name or tr.to_county.name,
                  "reason": tr.reason or "居住地变化", "new_address": tr.new_address, "applied": _cn(tr.applied_date),
                  "cc": f"{d['procuratorate_name']}、{d['police_name']}"})
    report = case.tasks.filter(kind__in=("report_in", "handover")).order_by("-id").first()
    if report:
        d["report_due"] = _cn(report.due_date)
        if case.reported_date and case.reported_date > report.due_date:
            d["late_days"] = (case.reported_date - report.due_date).days
    if case.end_reason in (rules.EndReason.PROBATION_REVOKED, rules.EndReason.PAROLE_REVOKED,
                           rules.EndReason.RECOMMITTED):
        ruling = entered.get("ruling_number") or ""
        # 法46: the original court, or the court where the sentence is carried out; 法49: the deciding organ
        organ = entered.get("ruling_organ") or d["deciding_organ_name"]
        what, form = {"probation_revoked": ("撤销缓刑", "裁定"), "parole_revoked": ("撤销假释", "裁定"),
                      "recommitted": ("收监执行", "决定")}[case.end_reason]
        d["ruling_text"] = f"经{organ}{('以' + ruling) if ruling else ''}{form}{what}，"
    d["sentence_phrase"] = sentence_phrase(case.sentence_type, d["original_penalty"])
    d["revocation_words"] = {"probation": "依法提请撤销缓刑", "parole": "依法提请撤销假释",
                             "medical_parole": "依法提请收监执行", "control": ""}[case.sentence_type]
    return d


def sentence_phrase(sentence_type: str, penalty: str) -> str:
    """How an official letter says what the deciding organ did: 判处 a control order or a suspended sentence,
    裁定假释, 决定（批准）暂予监外执行."""
    if sentence_type == "parole":
        return f"刑事裁定书裁定假释（原判{penalty}）" if penalty else "刑事裁定书裁定假释"
    if sentence_type == "medical_parole":
        return f"决定书决定（批准）暂予监外执行（原判{penalty}）" if penalty else "决定书决定（批准）暂予监外执行"
    return f"刑事判决书判处{penalty}"


def _last_appraisal(case) -> str:
    e = case.events.filter(code="appraised").order_by("-id").first()
    return (e.data or {}).get("appraisal", "") if e else ""


def issue_for(*, actor, case, t: rules.Transition, today: date, entered: dict, ip: str = "") -> list:
    if not t.documents:
        return []
    ctx = context(case, today=today, entered=entered)
    cc = ctx.pop("cc", "")
    return [document_issue(actor=actor, agency=case.execution_county, doc_type=code, object_type="case",
                           object_id=case.pk, org_path=case.org_path,
                           context={**ctx, "cc": cc} if code == "transfer_decision" else ctx, issued_on=today,
                           is_minor=case.is_minor, ip=ip) for code in t.documents]
