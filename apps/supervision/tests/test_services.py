"""Daily supervision through its services: records are facts (dated, attributable, stored once per client id,
corrected by superseding), hours with the minors kept apart, leave from application to a late return, and the daily
job raising each missing thing once."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.cases.daily import run_daily
from apps.cases.models import Case, Task
from apps.documents.models import Document
from apps.orgs.scope import NotFound
from apps.orgs.testing import TODAY, given_staff
from apps.people.services import InputErrors, NotPermitted
from apps.people.testing import given_supervisee
from apps.supervision import services
from apps.supervision.models import Fact, Hours, Record, Request
from apps.supervision.selectors import leave_windows, office_day, office_month, schedule

D = date.fromisoformat


def at(text: str) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(text))


NOW = at("2026-11-22 18:00")  # TODAY, a Sunday


@pytest.fixture
def staff(tree):
    return given_staff(tree.donghu_office, "office_staff")


@pytest.fixture
def case(tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active", management_level="normal")
    return Case.objects.get(person=p, is_open=True)


def _case(tree, officer, **over) -> Case:
    p = given_supervisee(officer, office=tree.donghu_office, status="active", **over)
    return Case.objects.get(person=p, is_open=True)


def add(actor, case, kind="report_in", now=NOW, device="", **data):
    return services.record_add(actor=actor, case_id=case.pk, kind=kind, data=data, device=device, now=now)


# --- records -------------------------------------------------------------------------------------------------------

def test_a_report_in_is_a_dated_attributable_fact_with_its_audit_record(tree, staff, case):
    s = add(staff, case, happened_at="2026-11-20T09:30", findings="到所报到，汇报近期就业情况")
    r = s.record
    assert s.created and r.channel == "office" and r.recorded_by == staff and r.person_id == case.person_id
    assert timezone.localtime(r.happened_at) == at("2026-11-20 09:30") and r.org_path == case.org_path
    a = AuditRecord.objects.get(action="supervision.record", object_id=str(case.pk))
    assert "报到" in a.summary and "2026-11-20 09:30" in a.summary


def test_a_kiosk_upload_retried_with_the_same_client_id_is_stored_once(tree, case):
    kiosk = given_staff(tree.donghu_office, "office_staff", username="kiosk01")
    data = {"client_id": "k1-0001", "channel": "kiosk", "verified": "pass", "happened_at": "2026-11-22T08:59:00+08:00"}
    first = add(kiosk, case, device="自助报到终端01", **data)
    again = add(kiosk, case, device="自助报到终端01", **data)
    assert first.created and not again.created and again.record.pk == first.record.pk
    assert Record.objects.filter(case=case).count() == 1
    assert AuditRecord.objects.filter(action="supervision.record").count() == 1
    # a page cannot claim to be the kiosk, and a device cannot claim to be staff in person
    with pytest.raises(InputErrors) as e:
        add(kiosk, case, channel="kiosk")
    assert "channel" in e.value.errors
    with pytest.raises(InputErrors):
        add(kiosk, case, device="自助报到终端01", channel="office", client_id="k1-0002")


@pytest.mark.parametrize("kind, data, field", [
    ("visit", {"findings": "在家"}, "place"),
    ("visit", {"place": "home"}, "findings"),
    ("thought_report", {}, "text"),
    ("hospital_check", {"text": "病情稳定"}, "hospital"),
    ("report_in", {"happened_at": "2026-11-23T09:00"}, "happened_at"),  # after now
    ("report_in", {"happened_at": "2025-01-01T09:00"}, "happened_at"),  # before the case
    ("report_in", {"happened_at": "yesterday"}, "happened_at"),
    ("report_in", {"photo": "bm90IGFuIGltYWdl"}, "photo"),  # base64 of "not an image"
])
def test_a_bad_record_is_refused_by_field_and_nothing_is_written(tree, staff, case, kind, data, field):
    with pytest.raises(InputErrors) as e:
        add(staff, case, kind=kind, **data)
    assert field in e.value.errors
    assert not Record.objects.exists() and not AuditRecord.objects.filter(action="supervision.record").exists()


def test_out_of_scope_is_not_found_and_a_reader_cannot_record(tree, case):
    with pytest.raises(NotFound):
        add(given_staff(tree.xihu_office, "office_staff"), case)
    with pytest.raises(NotPermitted):
        add(given_staff(tree.donghu, "police_secondee"), case)


def test_a_visit_at_work_warns_of_art26_unless_discreet(tree, staff, case):
    from apps.supervision.rules import visit_warnings

    r = add(staff, case, kind="visit", place="work", findings="在岗", discreet="1").record
    assert r.discreet and visit_warnings(place=r.place, discreet=r.discreet) == ()
    assert "第26条" in visit_warnings(place="work", discreet=False)[0]


def test_a_thought_report_is_reviewed_once(tree, staff, case):
    r = add(staff, case, kind="thought_report", text="本月思想汇报").record
    services.record_review(actor=staff, record_id=r.pk, comment="认识深刻，继续保持")
    r.refresh_from_db()
    assert r.review_comment == "认识深刻，继续保持" and r.reviewed_by == staff
    with pytest.raises(InputErrors):
        services.record_review(actor=staff, record_id=r.pk, comment="再批一次")
    rep = add(staff, case).record
    with pytest.raises(InputErrors):
        services.record_review(actor=staff, record_id=rep.pk, comment="x")


def test_a_correction_supersedes_the_record_and_keeps_it(tree, staff, case):
    old = add(staff, case, kind="visit", place="home", findings="不在家", happened_at="2026-11-21T10:00").record
    with pytest.raises(InputErrors):
        services.record_supersede(actor=staff, record_id=old.pk, reason="", data={})
    new = services.record_supersede(actor=staff, record_id=old.pk, reason="地点登记错误", data={"place": "work"})
    old.refresh_from_db()
    assert old.superseded_by == new and old.supersede_reason == "地点登记错误" and old.place == "home"
    assert new.place == "work" and new.findings == "不在家"
    assert timezone.localtime(new.happened_at) == at("2026-11-21 10:00")
    with pytest.raises(InputErrors):
        services.record_supersede(actor=staff, record_id=old.pk, reason="再改", data={})


# --- schedule and the daily job --------------------------------------------------------------------------------------

def test_the_schedule_follows_the_level(tree, officer, staff):
    strict = _case(tree, officer, management_level="strict")
    lenient = _case(tree, officer, management_level="lenient")
    assert schedule(strict, TODAY).next_due == D("2026-11-22")  # the week ends on Sunday
    assert schedule(lenient, TODAY).next_due == D("2026-11-30")
    add(staff, strict, happened_at="2026-11-20T09:00")
    s = schedule(strict, TODAY)
    assert s.reported_this_period and s.next_due == D("2026-11-29") and s.last_report == D("2026-11-20")
    assert [done for _, done in s.four_ones] == [True, False, False, False]


def test_the_daily_job_raises_a_missed_report_in_once_and_a_report_in_closes_its_task(tree, officer, staff):
    c = _case(tree, officer, management_level="strict")  # supervised since 2026-09-12
    add(staff, c, happened_at="2026-11-13T09:00")  # the week of 11-09 reported; 11-16..22 not
    run_daily(D("2026-11-23"), force=True)
    facts = Fact.objects.filter(case=c, kind="missed_report")
    assert (D("2026-11-16"), D("2026-11-22")) in [(f.period_start, f.period_end) for f in facts]
    assert (D("2026-11-09"), D("2026-11-15")) not in [(f.period_start, f.period_end) for f in facts]
    task = Task.objects.get(case=c, kind="missed_report", state="open")
    assert task.org == tree.donghu_office and task.due_date == D("2026-11-24")
    n = facts.count()
    run_daily(D("2026-11-23"), force=True)
    assert Fact.objects.filter(case=c, kind="missed_report").count() == n
    assert Task.objects.filter(case=c, kind="missed_report").count() == 1
    add(staff, c, now=at("2026-11-23 10:00"))
    task.refresh_from_db()
    assert task.state == "done"


def test_a_strict_week_closed_without_the_four_ones_is_a_fact(tree, officer, staff):
    c = _case(tree, officer, management_level="strict")
    for kind, extra in (("report_in", {}), ("visit", {"place": "home", "findings": "在家"}),
                        ("thought_report", {"text": "汇报"})):
        add(staff, c, kind=kind, happened_at="2026-11-18T10:00", **extra)
    run_daily(D("2026-11-23"), force=True)
    f = Fact.objects.get(case=c, kind="four_ones", period_start=D("2026-11-16"))
    assert f.detail["missing"] == ["education"] and "个别教育" in f.summary
    add(staff, c, kind="talk", findings="个别教育", now=at("2026-11-30 10:00"), happened_at="2026-11-25T10:00")
    for k in ("report_in",):
        add(staff, c, kind=k, now=at("2026-11-30 10:00"), happened_at="2026-11-25T09:00")
    run_daily(D("2026-11-30"), force=True)
    f = Fact.objects.get(case=c, kind="four_ones", period_start=D("2026-11-23"))
    assert f.detail["missing"] == ["thought_report", "visit"]


# --- hours -------------------------------------------------------------------------------------------------------------

def test_hours_from_an_activity_and_with_evidence_and_the_months_shortfall(tree, officer, staff, case):
    a = services.activity_create(actor=staff, data={"kind": "study", "form": "group", "title": "法治教育",
                                                    "day": "2026-11-10", "hours": "3"}, today=TODAY)
    services.hours_add(actor=staff, case_id=case.pk, data={"activity": a.pk}, today=TODAY)
    with pytest.raises(InputErrors) as e:
        services.hours_add(actor=staff, case_id=case.pk, data={"activity": a.pk}, today=TODAY)
    assert "已登记" in e.value.errors["activity"]
    with pytest.raises(InputErrors) as e:
        services.hours_add(actor=staff, case_id=case.pk, data={"kind": "service", "hours": "4", "day": "2026-11-12"},
                           today=TODAY)
    assert "evidence" in e.value.errors
    services.hours_add(actor=staff, case_id=case.pk, data={"kind": "service", "hours": "8", "day": "2026-11-12",
                                                           "evidence": "社区服务中心证明"}, today=TODAY)
    for bad in ({"kind": "study", "hours": "9", "evidence": "x"}, {"kind": "study", "hours": "0", "evidence": "x"},
                {"kind": "study", "hours": "两", "evidence": "x"},
                {"kind": "study", "hours": "2", "evidence": "x", "day": "2026-11-23"}):
        with pytest.raises(InputErrors):
            services.hours_add(actor=staff, case_id=case.pk, data=bad, today=TODAY)
    assert Hours.objects.filter(case=case).count() == 2
    m = office_month(user=staff, month="2026-11", today=TODAY)
    row = next(r for r in m.rows if r.case_id == case.pk)
    assert (row.study, row.service, row.study_short, row.service_short) == (3.0, 8.0, 5.0, 0.0)
    run_daily(D("2026-12-01"), force=True)
    f = Fact.objects.get(case=case, kind="hours_short", period_start=D("2026-11-01"))
    assert f.detail == {"study": 5.0, "service": 0.0}


def test_minors_and_adults_do_not_share_a_group_activity_art52(tree, officer, staff):
    minor = _case(tree, officer, minor=True)
    adult = _case(tree, officer)
    grant = given_staff(tree.donghu_office, "office_staff", minor_access=True)
    adults = services.activity_create(actor=staff, data={"kind": "service", "form": "welfare", "title": "社区清扫",
                                                         "day": "2026-11-15", "hours": "4"}, today=TODAY)
    kids = services.activity_create(actor=grant, data={"kind": "study", "form": "group", "title": "青少年法治课",
                                                       "day": "2026-11-15", "hours": "2", "for_minors": "1"},
                                    today=TODAY)
    with pytest.raises(InputErrors) as e:
        services.hours_add(actor=grant, case_id=minor.pk, data={"activity": adults.pk}, today=TODAY)
    assert "第52条" in e.value.errors["activity"]
    with pytest.raises(InputErrors):
        services.hours_add(actor=staff, case_id=adult.pk, data={"activity": kids.pk}, today=TODAY)
    services.hours_add(actor=grant, case_id=minor.pk, data={"activity": kids.pk}, today=TODAY)
    with pytest.raises(NotFound):  # the sealed file (法54)
        services.hours_add(actor=staff, case_id=minor.pk, data={"activity": kids.pk}, today=TODAY)


# --- leave ---------------------------------------------------------------------------------------------------------------

def apply(actor, case, start, end, today=TODAY, **over):
    data = {"kind": "leave", "reason": "medical", "detail": "赴上海就医", "destination": "上海市",
            "destination_adcodes": "310101", "evidence": "诊断证明", "start": start, "end": end, **over}
    return services.request_apply(actor=actor, case_id=case.pk, data=data, today=today).record


def test_leave_authority_by_days_and_the_rolling_sum(tree, officer, staff, case):
    short = apply(staff, case, "2026-11-26", "2026-11-30")
    assert short.authority == "office" and short.authority_org == tree.donghu_office
    long = apply(staff, case, "2026-12-01", "2026-12-12")
    assert long.authority == "county" and long.authority_org == tree.donghu and not long.tell_procuratorate
    services.request_act(actor=officer, request_id=long.pk, code="approve", today=TODAY)
    services.request_act(actor=staff, request_id=short.pk, code="approve", today=TODAY)
    # 5 + 12 approved; 20 more within two months is over 30: one level up, the procuratorate told
    third = apply(staff, case, "2026-12-20", "2027-01-08")
    assert third.authority == "above" and third.authority_org == tree.city and third.tell_procuratorate
    assert third.rolling_days == 37
    # two days' notice only: a warning the officer sees, not a refusal
    soon = apply(staff, case, "2026-11-24", "2026-11-24")
    assert soon.warnings and "提前3日" in soon.warnings[0]
    assert soon.decide_by == D("2026-11-23")  # decided before the trip begins, sooner than the three days


def test_leaving_the_country_is_refused_with_the_article_and_nothing_is_written(tree, staff, case):
    with pytest.raises(services.RequestRefused) as e:
        apply(staff, case, "2026-12-01", "2026-12-05", abroad="1", destination="泰国曼谷")
    assert "出境入境管理法第12条" in e.value.reasons[0]
    assert not Request.objects.exists() and not Task.objects.filter(kind__startswith="request:").exists()


def test_a_twelve_day_leave_approved_by_the_county_returns_late_and_raises_a_task(tree, officer, staff, case):
    r = apply(staff, case, "2026-11-26", "2026-12-07")
    assert r.days == 12 and r.state == "applied" and r.decide_by == D("2026-11-25")
    t = Task.objects.get(kind=f"request:{r.pk}", state="open")
    assert t.org == tree.donghu
    with pytest.raises(NotPermitted) as e:  # the office cannot decide more than seven days
        services.request_act(actor=staff, request_id=r.pk, code="approve", today=TODAY)
    assert "东湖区" in str(e.value)
    services.request_act(actor=officer, request_id=r.pk, code="approve", data={"note": "同意，按期返回"}, today=TODAY)
    r.refresh_from_db()
    t.refresh_from_db()
    assert r.state == "approved" and r.decided_by == officer and t.state == "done"
    doc = Document.objects.get(doc_type="leave_approval", object_id=str(case.pk))
    assert doc.context["request"] == r.pk and doc.context["days"] == 12 and "同意" in doc.context["opinion"]
    assert "东湖区矫外批字第1号" in doc.number
    services.request_act(actor=staff, request_id=r.pk, code="depart", data={"day": "2026-11-26"},
                         today=D("2026-11-26"))
    run_daily(D("2026-12-08"), force=True)  # the last approved day has passed
    r.refresh_from_db()
    assert r.state == "overdue"
    late = Task.objects.get(kind=f"leave_overdue:{r.pk}", state="open")
    assert late.org == tree.donghu_office and late.due_date == D("2026-12-09")
    assert Fact.objects.get(case=case, kind="late_return").period_start == D("2026-12-08")
    run_daily(D("2026-12-09"), force=True)
    assert Task.objects.filter(kind=f"leave_overdue:{r.pk}").count() == 1
    services.request_act(actor=staff, request_id=r.pk, code="return", data={"day": "2026-12-10"},
                         today=D("2026-12-10"))
    r.refresh_from_db()
    late.refresh_from_db()
    assert r.state == "returned" and r.late_days == 3 and late.state == "done"
    f = Fact.objects.get(case=case, kind="late_return")
    assert f.detail["late_days"] == 3 and f.period_end == D("2026-12-10")
    assert AuditRecord.objects.filter(action="request.return", object_id=str(r.pk)).exists()


def test_a_step_out_of_order_or_by_the_wrong_organ_changes_nothing(tree, officer, staff, case):
    r = apply(staff, case, "2026-11-26", "2026-11-28")
    with pytest.raises(services.RequestRefused):
        services.request_act(actor=staff, request_id=r.pk, code="return", today=TODAY)
    with pytest.raises(InputErrors):
        services.request_act(actor=staff, request_id=r.pk, code="refuse", data={"note": ""}, today=TODAY)
    with pytest.raises(NotFound):
        services.request_act(actor=given_staff(tree.xihu, "county_officer"), request_id=r.pk, code="approve",
                             today=TODAY)
    r.refresh_from_db()
    assert r.state == "applied" and not Document.objects.filter(doc_type="leave_approval").exists()


def test_a_standing_permit_lasts_at_most_six_months_and_is_published_with_approved_leave(tree, officer, staff):
    case = _case(tree, officer, term_months="12", original_penalty="有期徒刑一年，缓刑一年")
    with pytest.raises(services.RequestRefused) as e:
        services.request_apply(actor=staff, case_id=case.pk, today=TODAY, data={
            "kind": "permit", "detail": "每周往返九江送货", "destination": "九江市", "destination_adcodes": "360402",
            "start": "2026-11-25", "end": "2027-06-01"})
    assert "6个月" in e.value.reasons[0]
    p = services.request_apply(actor=staff, case_id=case.pk, today=TODAY, data={
        "kind": "permit", "detail": "每周往返九江送货", "destination": "九江市", "destination_adcodes": "360402",
        "start": "2026-11-25", "end": "2027-02-28"}).record
    services.request_act(actor=officer, request_id=p.pk, code="approve", today=TODAY)
    trip = apply(staff, case, "2026-12-01", "2026-12-03")
    services.request_act(actor=staff, request_id=trip.pk, code="approve", today=TODAY)
    w = leave_windows([case.person_id], D("2026-11-01"), D("2026-12-31"))
    assert [(x.kind, x.start, x.end, x.destination_adcodes) for x in w] == [
        ("permit", D("2026-11-25"), D("2027-02-28"), ("360402",)),
        ("leave", D("2026-12-01"), D("2026-12-03"), ("310101",))]
    assert leave_windows([case.person_id], D("2027-03-01"), D("2027-03-05")) == []
    # a business trip to a permitted destination within the permit is filed, not decided (法27: 简化批准程序)
    filed = services.request_apply(actor=staff, case_id=case.pk, today=TODAY, data={
        "kind": "leave", "reason": "business", "detail": "送货", "destination": "九江市", "destination_adcodes": "360402",
        "evidence": "购销合同", "start": "2026-12-10", "end": "2026-12-11"}).record
    assert filed.state == "approved" and filed.authority == "permit" and "备案" in filed.decision_note
    assert not Task.objects.filter(kind=f"request:{filed.pk}").exists()
    elsewhere = services.request_apply(actor=staff, case_id=case.pk, today=TODAY, data={
        "kind": "leave", "reason": "business", "detail": "送货", "destination": "赣州市", "destination_adcodes": "360702",
        "evidence": "购销合同", "start": "2026-12-14", "end": "2026-12-15",  # outside the permit: the proofs again
        "business_evidence": list(services.table("leave", TODAY).business_evidence)},
        files=[SimpleUploadedFile("合同.pdf", b"%PDF-1.4 contract", content_type="application/pdf")]).record
    assert elsewhere.state == "applied" and elsewhere.authority == "office"
    assert Document.objects.filter(doc_type="permit_approval").count() == 1
    run_daily(D("2027-03-01"), force=True)
    p.refresh_from_db()
    assert p.state == "closed"


def test_a_provinces_own_leave_table_applies_from_its_date(tree, officer, staff, case):
    prov = given_staff(tree.city.parent, "province_supervisor") if tree.city.parent else None
    if prov is None:
        pytest.skip("no province in the test tree")
    services.rule_setting_set(actor=prov, table_name="leave", values={"office_max_days": 3},
                              effective_from=D("2026-11-01"))
    r = apply(staff, case, "2026-11-26", "2026-11-30")
    assert r.authority == "county"  # five days is more than the province's three
    with pytest.raises(InputErrors):
        services.rule_setting_set(actor=prov, table_name="leave", values={"nonsense": 1},
                                  effective_from=D("2026-11-01"))


# --- views of the office, pinned ---------------------------------------------------------------------------------------------

def test_the_day_view_shows_who_is_due_and_overdue_in_a_fixed_number_of_queries(tree, officer, staff,
                                                                                   django_assert_max_num_queries):
    cases = [_case(tree, officer, management_level="strict") for _ in range(3)]
    add(staff, cases[0], happened_at="2026-11-20T09:00")
    run_daily(D("2026-11-23"), force=True)
    add(staff, cases[1], now=at("2026-11-23 09:00"))
    for _ in range(5):
        _case(tree, officer, management_level="normal")
    with django_assert_max_num_queries(12):
        v = office_day(user=staff, today=D("2026-11-23"))
    overdue = {r.case.pk for r in v.overdue}
    assert cases[2].pk in overdue and cases[1].pk not in overdue
    with django_assert_max_num_queries(12):
        m = office_month(user=staff, month="2026-11", today=D("2026-11-23"))
    assert len(m.rows) == 8


def test_only_whole_periods_are_judged_the_first_had_its_intake_report_in(tree, officer):
    c = _case(tree, officer, management_level="strict", effective_date="2026-11-15", judgment_date="2026-11-03")
    assert c.term_start == D("2026-11-15")  # a Sunday: its week has one day under supervision
    run_daily(D("2026-11-23"), force=True)
    assert [(f.period_start, f.period_end) for f in Fact.objects.filter(case=c, kind="missed_report")] == [
        (D("2026-11-16"), D("2026-11-22"))]
    row = next(r for r in office_month(user=given_staff(tree.donghu_office, "office_staff"), month="2026-11",
                                       today=D("2026-12-01")).rows if r.case_id == c.pk)
    assert row.partial and row.study_short == 0 == row.service_short  # began mid-month: no shortfall judged
    run_daily(D("2026-12-01"), force=True)
    assert not Fact.objects.filter(case=c, kind="hours_short").exists()


# --- prohibition orders, special places, the hospital check -----------------------------------------------------------

def test_a_prohibition_order_is_data_and_makes_entry_a_matter_for_the_county(tree, officer, staff, case):
    with pytest.raises(services.RequestRefused) as e:  # no order: nothing to approve
        services.request_apply(actor=staff, case_id=case.pk, today=TODAY, data={
            "kind": "place", "detail": "陪同母亲就医须经过", "destination": "八一广场", "start": "2026-11-25",
            "end": "2026-11-25"})
    assert "无需审批" in e.value.reasons[0]
    with pytest.raises(InputErrors):  # it must forbid something
        services.prohibition_record(actor=staff, case_id=case.pk, data={"text": "禁止令"})
    p = services.prohibition_record(actor=staff, case_id=case.pk, data={
        "text": "禁止进入夜总会、酒吧、迪厅、网吧等娱乐场所", "places": "夜总会\n酒吧；网吧", "people": "被害人张某"})
    assert p.places == ["夜总会", "酒吧", "网吧"] and p.people == ["被害人张某"] and p.start == case.term_start
    r = services.request_apply(actor=staff, case_id=case.pk, today=TODAY, data={
        "kind": "place", "detail": "受雇在酒吧从事装修", "destination": "某酒吧", "start": "2026-11-25",
        "end": "2026-11-27"}).record
    assert r.authority == "county" and r.tell_procuratorate and r.authority_org == tree.donghu
    fixed = services.prohibition_record(actor=staff, case_id=case.pk, data={
        "text": p.text, "places": "夜总会\n酒吧\n网吧\n迪厅", "supersedes": p.pk, "reason": "漏登迪厅"})
    p.refresh_from_db()
    assert p.superseded_by == fixed and AuditRecord.objects.filter(action="supervision.prohibition").count() == 2


def test_a_parolee_has_no_prohibition_order(tree, officer, staff):
    c = _case(tree, officer, sentence_type="parole", original_penalty="有期徒刑三年", release_date="2026-09-12",
              sentence_end_date="2027-03-11")
    with pytest.raises(InputErrors) as e:
        services.prohibition_record(actor=staff, case_id=c.pk, data={"text": "x", "places": "酒吧"})
    assert "第72条" in e.value.errors["order"]


def test_a_hospital_check_is_due_every_three_months_and_an_extension_goes_up(tree, officer, staff):
    c = _case(tree, officer, sentence_type="medical_parole", original_penalty="有期徒刑二年，暂予监外执行",
              release_date="2026-09-12", sentence_end_date="2027-09-11")
    from apps.supervision.services import check_due

    assert check_due(c) is None  # until a first check is recorded
    add(staff, c, kind="hospital_check", hospital="江西省人民医院", text="病情稳定", happened_at="2026-09-20T10:00")
    assert check_due(c) == D("2026-12-20")
    r = services.request_apply(actor=staff, case_id=c.pk, today=TODAY, data={
        "kind": "extension", "months": "2", "detail": "术后住院，无法按期复查", "evidence": "住院证明"}).record
    assert r.authority == "above" and r.authority_org == tree.city and r.tell_procuratorate and r.end == D("2027-02-20")
    city = given_staff(tree.city, "city_supervisor")
    with pytest.raises(NotPermitted):
        services.request_act(actor=officer, request_id=r.pk, code="approve", today=TODAY)
    services.request_act(actor=city, request_id=r.pk, code="approve", today=TODAY)
    assert check_due(c) == D("2027-02-20")
    assert Document.objects.filter(doc_type="extension_approval", context__request=r.pk).exists()
    long = services.request_apply(actor=staff, case_id=c.pk, today=TODAY, data={
        "kind": "extension", "months": "4", "detail": "x", "evidence": "y"}).record
    assert long.authority == "province" and long.authority_org == tree.city.parent
    run_daily(D("2027-02-21"), force=True)
    assert Fact.objects.get(case=c, kind="check_missing").period_start == D("2027-02-20")
    t = Task.objects.get(case=c, kind="check_missing", state="open")
    add(staff, c, kind="hospital_check", hospital="江西省人民医院", text="好转", now=at("2027-02-22 10:00"))
    t.refresh_from_db()
    assert t.state == "done"


def test_the_settings_command_lists_and_sets_a_provinces_table(tree, capsys):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("supervision_settings", "set", "report", '{"period": {"strict": "week", "normal": "week", '
                 '"lenient": "half_month"}}', "--from", "2027-01-01", "--note", "赣司发〔2026〕1号")
    call_command("supervision_settings", "list")
    out = capsys.readouterr().out
    assert "report\t2027-01-01\tupcoming" in out and '"lenient": "half_month"' in out
    assert services.table("report", D("2027-01-05")).period["normal"] == "week"
    assert services.table("report", D("2026-12-31")).period["normal"] == "half_month"
    with pytest.raises(CommandError):
        call_command("supervision_settings", "set", "hours", '{"bogus": 1}', "--from", "2027-01-01")
    with pytest.raises(CommandError):
        call_command("supervision_settings", "set", "leave", '{"office_max_days": "seven"}', "--from", "2027-01-01")
    with pytest.raises(CommandError):
        call_command("supervision_settings", "set", "report", '{"period": {"strict": "daily"}}', "--from", "2027-01-01")
