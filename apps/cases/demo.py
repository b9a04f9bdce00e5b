"""The demo's cases at every stage, so every queue and every document can be seen at once: in each county a few
people are registered with dates relative to the day the demo is made (real today, so the queues are live
whenever it is seeded), then carried through the stages by the same services an officer uses:

  awaiting report-in · documents in · reported, awaiting the announcement · announced (with its documents) ·
  not reported in time (missing, with its search tasks) · transferring to the next county (its letter sent) ·
  near release (the release stage's tasks open) · released on expiry (appraisal, announcement, certificate,
  notices) · probation revoked (termination notice) · release held while a revocation is pending ·
  investigations received, under way and issued.

Called by `manage.py seed_demo` through apps.people.extensions (people does not import cases)."""
from __future__ import annotations

from datetime import date, timedelta

from django.db import transaction

from apps.orgs import demo as org_demo
from apps.people import demo as people_demo
from apps.people import rules as people_rules
from apps.people.services import supervisee_bulk_create, today_local

from . import investigations, services
from .models import Case

STORY_SEED = 20261202
TERM = 12  # months of the story probations


def _story_people(plan, county: dict, today: date, n: int, g, sampler, counties) -> list[dict]:
    out = []
    for i in range(n):
        office = county["offices"][i % len(county["offices"])]
        p = people_demo._person(g, sampler, county, office, counties, today, minor=False, status="active")
        p["status"] = "active"
        out.append(p)
    return out


def _probation(p: dict, *, effective: date, status: str) -> dict:
    d = dict(p["data"])
    d.update(sentence_type="probation", effective_date=effective, judgment_date=effective - timedelta(days=15),
             term_months=TERM, detention_days=0, release_date=None, sentence_end_date=None, temporary_ground="",
             original_penalty=f"有期徒刑一年，缓刑{people_demo.cn_term(TERM)}")
    if d.get("crime") in ("故意杀人罪", "强奸罪"):
        d["crime"] = "盗窃罪"
    return {**p, "data": d, "status": status, "deciding_organ": None}


def seed_stages(*, plan: dict, orgs: dict, users: dict, data_dir: str, today: date | None = None,
                counties: list[str] | None = None) -> dict[str, int]:
    today = today or today_local()
    g = people_demo._Gen(STORY_SEED, str(data_dir))
    sampler = people_demo._Sampler(plan)
    by_code = {c["adcode"]: c for c in plan["counties"]}
    codes = counties or [c["adcode"] for c in plan["counties"]]
    made = {"people": 0, "investigations": 0}
    for k, code in enumerate(codes):
        county = by_code[code]
        officer = users[org_demo.COUNTY_OFFICER[code]]
        nxt = users[org_demo.COUNTY_OFFICER[codes[(k + 1) % len(codes)]]] if len(codes) > 1 else None
        people = _story_people(plan, county, today, 11, g, sampler, by_code)
        end_in = lambda days: people_rules.add_months(today + timedelta(days=days), -TERM) + timedelta(days=1)  # noqa: E731
        plans = [
            ("awaiting", _probation(people[0], effective=today - timedelta(days=3), status="pending")),
            ("documents_in", _probation(people[1], effective=today - timedelta(days=4), status="pending")),
            ("reported", _probation(people[2], effective=today - timedelta(days=6), status="pending")),
            ("announced", _probation(people[3], effective=today - timedelta(days=8), status="pending")),
            ("missing", _probation(people[4], effective=today - timedelta(days=16), status="pending")),
            ("overdue_docs", _probation(people[5], effective=today - timedelta(days=9), status="pending")),
            ("transferring", _probation(people[6], effective=today - timedelta(days=120), status="active")),
            ("near_release", _probation(people[7], effective=end_in(20), status="active")),
            ("released", _probation(people[8], effective=end_in(-1), status="active")),
            ("revoked", _probation(people[9], effective=today - timedelta(days=200), status="active")),
            ("held", _probation(people[10], effective=end_in(-2), status="active")),
        ]
        with transaction.atomic():
            rows = [(i, {**p["data"], "judicial_office": orgs[f"office:{p['office']}"], "status": p["status"],
                         "residence_lon": p["lon"], "residence_lat": p["lat"]}) for i, (_s, p) in enumerate(plans, 1)]
            woman = {"name": "刘芳", "kind": "community", "gender": "F", "phone": "13907910011", "knows_minors": False}
            families = [(p["contacts"], [{k: v for k, v in m.items() if k != "staff"} for m in p["team"]
                                         if not m["staff"]] + [woman]) for _s, p in plans]
            created = supervisee_bulk_create(actor=officer, rows=rows, today=today, families=families).created
        made["people"] += len(created)
        cases = {stage: Case.objects.get(person=person) for (stage, _p), person in zip(plans, created)}
        _walk(cases, officer, nxt, orgs, today)
        made["investigations"] += _investigations(officer, county, orgs, today, g)
    services.cases_daily(today=today)  # the missing case, overdue deadlines, the release stage's tasks
    return made


def _act(actor, case, code, today, **data):
    return services.case_transition(actor=actor, case_id=case.pk, code=code, data=data, today=today)


def _intake(officer, case, today, *, announce: bool):
    _act(officer, case, "notice_received", today, notice_date=str(case.effective_date + timedelta(days=1)))
    _act(officer, case, "documents_received", today, documents=["判决书", "执行通知书"],
         documents_date=str(case.effective_date + timedelta(days=2)))
    _act(officer, case, "receipt_sent", today)
    _act(officer, case, "report_in", today, reported_date=str(case.effective_date + timedelta(days=5)))
    if announce:
        for step in ("documents_checked", "identity_verified", "registered", "file_opened"):
            _act(officer, case, step, today)
        _act(officer, case, "announce", today)


def _walk(cases: dict, officer, nxt, orgs, today: date) -> None:
    _act(officer, cases["documents_in"], "documents_received", today, documents=["判决书", "执行通知书"],
         documents_date=str(today - timedelta(days=1)))
    _intake(officer, cases["reported"], today, announce=False)
    _intake(officer, cases["announced"], today, announce=True)
    if nxt is not None:
        c = cases["transferring"]
        _act(officer, c, "transfer_apply", today, to_county=nxt.organisation_id,
             new_address=f"{nxt.organisation.name.replace('社区矫正管理局', '')}阳光花园3栋2单元501室",
             reason="随子女共同生活", planned_date=str(today + timedelta(days=40)))
        _act(officer, c, "transfer_office_view", today, office_view="经核实，新居住地有固定住所，同意变更")
        _act(officer, c, "transfer_letter_sent", today)
    services.cases_daily(today=today)  # opens the release stage's deadlines (T-30) that the appraisal answers
    c = cases["released"]
    _act(officer, c, "appraised", today, appraisal="矫正期间认罪悔罪，遵守法律法规和监督管理规定，积极参加教育学习和公益活动")
    _act(officer, c, "release", today)
    c = cases["revoked"]
    _act(officer, c, "revocation_proposed", today, proposal_date=str(today - timedelta(days=20)),
         note="脱离监管超过一个月，经查找到案，依法提请撤销缓刑")
    _act(officer, c, "probation_revoked", today, ruling_number=f"（{today.year}）赣01刑更{c.pk}号",
         end_date=str(today))
    c = cases["held"]
    _act(officer, c, "revocation_proposed", today, proposal_date=str(today - timedelta(days=10)),
         note="违反禁止令，情节严重，依法提请撤销缓刑")


def _investigations(officer, county: dict, orgs: dict, today: date, g) -> int:
    court = orgs.get(f"court:{county['adcode']}")
    base = {"requester_kind": "court", "requester": str(court.pk) if court else "", "requester_name": "人民法院",
            "subject_address": f"江西省南昌市{county['short_name']}幸福路{len(county['offices'])}号", "crime": "危险驾驶罪", "proposed": "probation"}
    made = []
    for i, (days_ago, fast) in enumerate(((1, False), (4, False), (2, True), (9, False))):
        gender = "M" if i % 2 == 0 else "F"
        born = date(1980 + i * 3, 3 + i, 10 + i)
        data = {**base, "letter_number": f"（{today.year}）{county['name'][:2]}刑初委{100 + i}号",
                "received_date": str(today - timedelta(days=days_ago)), "fast_track": "1" if fast else "",
                "subject_name": g.full_name(gender, born.year), "subject_birth_date": str(born),
                "subject_gender": gender}
        if i == 1 and orgs.get("prison:1"):  # a prison asks before proposing parole (实施办法第12条)
            data.update(requester_kind="prison", requester=str(orgs["prison:1"].pk), proposed="parole",
                        letter_number=f"赣南狱评字〔{today.year}〕{100 + i}号", crime="盗窃罪")
        made.append(investigations.investigation_create(actor=officer, data=data, today=today))
    office = next((o for k, o in orgs.items() if k.startswith(f"office:{county['adcode']}")), None)
    if office is not None:
        for inv in made[1:]:
            investigations.investigation_transition(actor=officer, investigation_id=inv.pk, code="assign",
                                                    data={"office": office.pk}, today=today)
        inv = made[3]
        investigations.investigation_transition(
            actor=officer, investigation_id=inv.pk, code="findings", today=today,
            data={"residence": "在本辖区有固定住所，与配偶子女同住", "family": "家庭关系和睦，家属愿意协助监管",
                  "victim": "无被害人（危险驾驶）", "impact": "村（居）委会认为对社区无重大不良影响"})
        investigations.investigation_transition(actor=officer, investigation_id=inv.pk, code="issue", today=today,
                                                data={"opinion": "suitable"})
    return len(made)
