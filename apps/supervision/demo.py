"""The demo's daily supervision, in the first office of 东湖区 (the demo account `office`): six weeks of report-ins
(a few people missing the last one), visits, talks and thought reports (some waiting to be reviewed), a study session
and a public-welfare activity each month with their attendance (some people short of their hours), and leave at
every stage: waiting for the county, away, due back today, overdue. Dates are relative to the day it is seeded.
Made by the same services an officer uses; called by `manage.py seed_demo` through apps.people.extensions."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from apps.cases.models import Case
from apps.orgs import demo as org_demo
from apps.orgs.models import Organisation
from apps.people.services import today_local

from . import rules, services
from .services import _case_start

SEED = 20261203


def _at(day: date, hour: int, minute: int = 0) -> str:
    return timezone.make_aware(datetime.combine(day, time(hour, minute))).isoformat()


def seed_supervision(*, plan: dict, orgs: dict, users: dict, data_dir: str, today: date | None = None) -> dict:
    today = today or today_local()
    officer = users.get(org_demo.COUNTY_OFFICER["360102"])
    if officer is None:
        return {"records": 0}
    made = {"records": 0, "hours": 0, "requests": 0}
    rng = random.Random(SEED)
    leave_cases = []
    first = users["office"].organisation_id if "office" in users else None
    offices = sorted(Organisation.objects.filter(kind="judicial_office", path__startswith=officer.organisation.path),
                     key=lambda o: (o.pk != first, o.path))  # the demo account's office gets the leave stories
    for office in offices:
        staff = next((u for u in users.values() if u.organisation_id == office.pk and "office_staff" in u.roles), None)
        if staff is None:
            continue
        cases = list(Case.objects.filter(judicial_office=office, is_open=True, status="active",
                                         term_start__lte=today - timedelta(days=14),
                                         term_end__gte=today + timedelta(days=40)).order_by("id")[:24])
        if not staff.minor_access:
            cases = [c for c in cases if not c.is_minor]
        _seed_office(staff, cases, today, rng, made)
        leave_cases += [(staff, c) for c in cases if c.management_level != "strict"][:5 if office.pk == first else 1]
    _seed_leave(officer, leave_cases, today, rng, made)
    _seed_orders(users.get("office"), today, made)
    services.supervision_daily(today)
    return made


def _seed_office(staff, cases, today, rng, made) -> None:
    office = staff.organisation
    now = timezone.now()
    for i, c in enumerate(cases):
        period = rules.Period(services.table("report", today).period[c.management_level])
        step = {"week": 7, "half_month": 14, "month": 28}[period]
        skip_last = i % 6 == 5  # a few have not reported this (or the last) period
        day = max(today - timedelta(days=42), c.term_start + timedelta(days=1))
        while day <= today - timedelta(days=1 if not skip_last else step + 1):
            if day.weekday() < 5:
                services.record_add(actor=staff, case_id=c.pk, kind="report_in", now=now,
                                    data={"happened_at": _at(day, 9 + rng.randint(0, 7), rng.randint(0, 59)),
                                          "findings": rng.choice(["按时到所报到，汇报近期生活、工作情况",
                                                                  "到所报到，情绪稳定", "到所报到并参加谈话"])})
                made["records"] += 1
            day += timedelta(days=step)
        if i % 3 == 0:
            services.record_add(actor=staff, case_id=c.pk, kind="visit", now=now, data={
                "happened_at": _at(today - timedelta(days=rng.randint(2, 12)), 15), "place": rng.choice(
                    ["home", "community", "work"]), "discreet": "1", "findings": "本人在家，家属反映表现良好，无异常"})
            made["records"] += 1
        if c.management_level == "strict" or i % 4 == 0:
            services.record_add(actor=staff, case_id=c.pk, kind="talk", now=now, data={
                "happened_at": _at(today - timedelta(days=rng.randint(1, 6)), 10),
                "findings": "个别教育：就遵守监管规定、按时报到进行谈话，本人表示认识到位"})
            r = services.record_add(actor=staff, case_id=c.pk, kind="thought_report", now=now, data={
                "happened_at": _at(today - timedelta(days=rng.randint(1, 6)), 11),
                "text": "本周按时报到，参加了集中教育。我认识到自己的错误，会遵纪守法，积极参加公益活动。"}).record
            if i % 2 == 0:
                services.record_review(actor=staff, record_id=r.pk, comment="认识较好，继续保持")
            made["records"] += 2
    if not cases:
        return
    for month_start in (rules.add_months(today.replace(day=1), -1), today.replace(day=1)):
        if month_start > today:
            continue
        day = min(month_start + timedelta(days=9), today)
        study = services.activity_create(actor=staff, today=today, data={
            "kind": "study", "form": "group", "title": f"{month_start.month}月集中法治教育", "day": day.isoformat(),
            "hours": "4", "place": f"{office.short_name or office.name}会议室"})
        welfare = services.activity_create(actor=staff, today=today, data={
            "kind": "service", "form": "welfare", "title": f"{month_start.month}月社区环境整治", "day": day.isoformat(),
            "hours": "4", "place": "辖区社区"})
        for i, c in enumerate(cases):
            if _case_start(c) > day:
                continue
            if i % 5 != 4:
                services.hours_add(actor=staff, case_id=c.pk, data={"activity": study.pk}, today=today)
                made["hours"] += 1
            if i % 4 != 3:
                services.hours_add(actor=staff, case_id=c.pk, data={"activity": welfare.pk}, today=today)
                made["hours"] += 1
            if month_start < today.replace(day=1) and i % 7 != 6 and _case_start(c) <= month_start + timedelta(20):  # last month's other hours, with evidence
                services.hours_add(actor=staff, case_id=c.pk, today=today, data={
                    "kind": "study", "hours": "4", "day": (month_start + timedelta(days=20)).isoformat(),
                    "evidence": "网络课程学习证明（“社区矫正在线学习”平台）"})
                services.hours_add(actor=staff, case_id=c.pk, today=today, data={
                    "kind": "service", "hours": "4", "day": (month_start + timedelta(days=21)).isoformat(),
                    "evidence": "社区服务中心出具的公益服务证明"})
                made["hours"] += 2


def _seed_leave(officer, leave_cases, today, rng, made) -> None:
    leave = [  # (days from today to depart, days away, reason, stage)
        (5, 12, "family", "applied"), (3, 4, "medical", "applied"), (-3, 5, "work", "away"),
        (-4, 5, "medical", "due_today"), (-8, 5, "litigation", "overdue")]
    for (start_in, days, reason, stage), (staff, c) in zip(leave, leave_cases):
        start = today + timedelta(days=start_in)
        end = start + timedelta(days=days - 1)
        applied = min(start - timedelta(days=4), today)
        # the trip now away goes to the next district, whose agency is asked to help (实施办法第28条, 通知)
        place, code = ("南昌市西湖区", "360103") if stage == "away" else rng.choice(
            [("上海市", "310101"), ("九江市", "360402"), ("赣州市", "360702"), ("广东省深圳市", "440304")])
        r = services.request_apply(actor=staff, case_id=c.pk, today=applied, data={
            "kind": "leave", "reason": reason, "start": start.isoformat(), "end": end.isoformat(),
            "destination": place, "destination_adcodes": code,
            "detail": {"family": "探望病重的母亲", "medical": "赴外地医院复诊", "work": "参加单位安排的业务培训",
                       "litigation": "出庭参加民事诉讼"}[reason],
            "evidence": {"family": "医院病危通知书复印件", "medical": "医院诊断证明、预约单", "work": "单位出具的培训通知",
                         "litigation": "人民法院传票"}[reason]}).record
        made["requests"] += 1
        if stage == "applied":
            continue
        decider = staff if r.authority == "office" else officer
        services.request_act(actor=decider, request_id=r.pk, code="approve", today=applied + timedelta(days=1),
                             data={"note": "同意，外出期间保持通讯畅通，按期返回销假"})
        services.request_act(actor=staff, request_id=r.pk, code="depart", today=start, data={"day": start.isoformat()})


def _seed_orders(staff, today, made) -> None:
    """A probation with a prohibition order and an application to enter one of its places; a medical parole with
    its hospital checks."""
    if staff is None:
        return
    base = Case.objects.filter(judicial_office=staff.organisation, is_open=True, status="active", is_minor=False)
    c = base.filter(sentence_type="probation", term_end__gte=today + timedelta(days=30)).order_by("id").first()
    if c is not None:
        services.prohibition_record(actor=staff, case_id=c.pk, data={
            "text": "禁止在缓刑考验期内进入夜总会、酒吧、迪厅、网吧等娱乐场所；禁止接触被害人及其近亲属",
            "places": "夜总会\n酒吧\n迪厅\n网吧", "people": "被害人及其近亲属"})
        services.request_apply(actor=staff, case_id=c.pk, today=today, data={
            "kind": "place", "destination": "东湖区某酒吧", "detail": "受雇为该酒吧进行电路检修，白天施工，无营业",
            "start": (today + timedelta(days=3)).isoformat(), "end": (today + timedelta(days=4)).isoformat(),
            "evidence": "装修公司派工单"})
        made["requests"] += 1
    m = base.filter(sentence_type="medical_parole", judgment__temporary_ground="medical",  # 保外就医 only
                    term_start__lte=today - timedelta(days=100)).order_by("id").first()
    if m is not None:
        services.record_add(actor=staff, case_id=m.pk, kind="hospital_check", data={
            "happened_at": _at(today - timedelta(days=80), 10), "hospital": "江西省人民医院",
            "text": "复查结果：病情稳定，需继续治疗"})
        made["records"] += 1
