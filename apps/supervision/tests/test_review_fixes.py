"""What a review found, pinned: supervision rows follow their case (place and seal), odd input is a clear error and
never a 500, the two-month sum counts the days really away, periods are judged by the level then in force, a missed
month is found even after a gap in the daily job, an on-time return withdraws the overdue fact."""
from __future__ import annotations

import json
from datetime import date

import pytest

from apps.cases.daily import run_daily
from apps.cases.models import Case, Task
from apps.orgs.scope import NotFound
from apps.orgs.services import token_issue
from apps.orgs.testing import TODAY, given_staff
from apps.people.services import InputErrors, supervisee_update
from apps.people.testing import given_supervisee, id_number
from apps.supervision import services
from apps.supervision.models import Fact, Record, Request

D = date.fromisoformat


@pytest.fixture
def staff(tree):
    return given_staff(tree.donghu_office, "office_staff")


def _case(tree, officer, **over) -> Case:
    p = given_supervisee(officer, office=tree.donghu_office, status="active", **over)
    return Case.objects.get(person=p, is_open=True)


def leave(actor, case, start, end, today=TODAY):
    return services.request_apply(actor=actor, case_id=case.pk, today=today, data={
        "kind": "leave", "reason": "medical", "detail": "就医", "destination": "上海市", "evidence": "诊断证明",
        "start": start, "end": end}).record


def test_rows_follow_the_case_to_its_new_office_and_its_seal(tree, officer, staff):
    c = _case(tree, officer)
    r = leave(staff, c, "2026-11-26", "2026-11-28")
    rec = services.record_add(actor=staff, case_id=c.pk, kind="thought_report", data={"text": "汇报"}).record
    supervisee_update(actor=officer, supervisee=c.person, data={"judicial_office": str(tree.donghu_office2.pk)})
    r.refresh_from_db()
    rec.refresh_from_db()
    assert r.org_path == tree.donghu_office2.path == rec.org_path and r.authority_org == tree.donghu_office2
    assert Task.objects.get(kind=f"request:{r.pk}").org == tree.donghu_office2
    with pytest.raises(NotFound):  # the old office no longer sees it
        services.request_act(actor=staff, request_id=r.pk, code="approve", today=TODAY)
    services.request_act(actor=given_staff(tree.donghu_office2, "office_staff"), request_id=r.pk, code="approve",
                         today=TODAY)
    # a corrected birth date makes the person a minor: the file is sealed at once, its records with it
    p = c.person
    p.refresh_from_db()
    supervisee_update(actor=given_staff(tree.donghu, "county_officer", minor_access=True), supervisee=p,
                      data={"id_number": id_number("360102", date(2010, 3, 3), 77), "birth_date": "2010-03-03"})
    rec.refresh_from_db()
    assert rec.is_minor and Request.objects.get(pk=r.pk).is_minor
    with pytest.raises(NotFound):
        services.request_act(actor=given_staff(tree.donghu_office2, "office_staff"), request_id=r.pk, code="depart",
                             today=TODAY)


@pytest.mark.parametrize("body", [{"client_id": "a1", "happened_at": "0001-01-01T00:00:00+14:00"},
                                  {"client_id": "a2", "happened_at": "9999-12-31T23:59:59-12:00"}])
def test_extreme_times_are_refused_not_a_500(client, tree, officer, staff, body):
    c = _case(tree, officer)
    r = client.post(f"/api/v1/cases/{c.pk}/report-ins", json.dumps(body), content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token_issue(user=staff).key}")
    assert r.status_code == 422 and "happened_at" in r.json()["errors"]
    assert not Record.objects.exists()


def test_odd_numbers_and_months_are_refused_not_a_500(client, tree, officer, staff):
    c = _case(tree, officer, sentence_type="medical_parole", original_penalty="有期徒刑二年，暂予监外执行",
              release_date="2026-09-12", sentence_end_date="2027-09-11")
    for hours in ("nan", "inf", "-inf", "1e400"):
        with pytest.raises(InputErrors):
            services.activity_create(actor=staff, data={"kind": "study", "form": "group", "title": "t",
                                                        "hours": hours}, today=TODAY)
    for months in ("³", "²", "-1", "13"):
        with pytest.raises(InputErrors):
            services.request_apply(actor=staff, case_id=c.pk, today=TODAY, data={
                "kind": "extension", "months": months, "detail": "x"})
    client.force_login(staff)
    for q in ("m=9999-12", "m=0001-01", "m=1000-01", "m=2026-13"):
        assert client.get(f"/supervision/month/?{q}").status_code == 200, q
    for q in ("month=9999-12", "month=0001-01"):
        assert client.get(f"/people/{c.person_id}/?tab=checkins&{q}").status_code == 200, q


def test_the_two_month_sum_counts_days_really_away(tree, officer, staff):
    c = _case(tree, officer)
    big = leave(staff, c, "2026-11-23", "2026-12-17")  # 25 days, then not taken
    services.request_act(actor=officer, request_id=big.pk, code="approve", today=TODAY)
    services.request_act(actor=staff, request_id=big.pk, code="cancel", today=TODAY)
    assert leave(staff, c, "2026-12-20", "2026-12-29").authority == "county"  # 10 days, the cancelled 25 not counted


def test_days_back_late_count_toward_the_two_month_sum(tree, officer, staff):
    c = _case(tree, officer)
    t = leave(staff, c, "2026-11-23", "2026-12-12")  # 20 days approved
    services.request_act(actor=officer, request_id=t.pk, code="approve", today=TODAY)
    services.request_act(actor=staff, request_id=t.pk, code="depart", data={"day": "2026-11-23"}, today=D("2026-11-23"))
    services.request_act(actor=staff, request_id=t.pk, code="return", data={"day": "2026-12-22"}, today=D("2026-12-22"))
    nxt = leave(staff, c, "2026-12-26", "2027-01-03", today=D("2026-12-22"))  # 9 more: 30 + 9 within two months
    assert nxt.rolling_days == 39 and nxt.authority == "above"


def test_a_change_of_level_is_judged_from_its_day(tree, officer, staff):
    c = _case(tree, officer, management_level="normal")
    for d in ("2026-10-20T10:00", "2026-11-05T10:00", "2026-11-18T10:00"):
        services.record_add(actor=staff, case_id=c.pk, kind="report_in", data={"happened_at": d})
    supervisee_update(actor=officer, supervisee=c.person, data={"management_level": "strict"})  # on 2026-12-02..
    from apps.supervision.models import LevelChange

    since = LevelChange.objects.get(case=c).since
    run_daily(since + (D("2026-11-23") - D("2026-11-22")), force=True)
    assert not Fact.objects.filter(case=c, kind__in=["missed_report", "four_ones"], period_start__lt=since).exists()


def test_a_missed_month_is_found_after_a_gap_in_the_daily_job(tree, officer):
    c = _case(tree, officer, management_level="lenient")  # since 2026-09-12: September is its first, October whole
    run_daily(D("2026-11-06"), force=True)
    assert Fact.objects.filter(case=c, kind="missed_report", period_start=D("2026-10-01"),
                               period_end=D("2026-10-31")).exists()


def test_an_on_time_return_withdraws_the_overdue_fact(tree, officer, staff):
    c = _case(tree, officer)
    t = leave(staff, c, "2026-11-26", "2026-11-28")
    services.request_act(actor=staff, request_id=t.pk, code="approve", today=TODAY)
    services.request_act(actor=staff, request_id=t.pk, code="depart", data={"day": "2026-11-26"}, today=D("2026-11-26"))
    run_daily(D("2026-11-29"), force=True)
    assert Fact.objects.filter(case=c, kind="late_return").exists()
    services.request_act(actor=staff, request_id=t.pk, code="return", data={"day": "2026-11-28"}, today=D("2026-11-29"))
    assert not Fact.objects.filter(case=c, kind="late_return").exists()


def test_medical_parole_owes_no_community_service_and_an_extension_gets_its_days(tree, officer, staff):
    c = _case(tree, officer, sentence_type="medical_parole", original_penalty="有期徒刑二年，暂予监外执行",
              release_date="2026-09-12", sentence_end_date="2027-09-11")
    services.hours_add(actor=staff, case_id=c.pk, data={"kind": "study", "hours": "8", "day": "2026-10-12",
                                                        "evidence": "证明"}, today=TODAY)
    run_daily(D("2026-11-02"), force=True)
    assert not Fact.objects.filter(case=c, kind="hours_short").exists()
    services.record_add(actor=staff, case_id=c.pk, kind="hospital_check",
                        data={"hospital": "江西省人民医院", "text": "稳定", "happened_at": "2026-09-20T10:00"})
    r = services.request_apply(actor=staff, case_id=c.pk, today=TODAY, data={
        "kind": "extension", "months": "1", "detail": "住院", "evidence": "证明"}).record
    assert r.decide_by == D("2026-11-25")
