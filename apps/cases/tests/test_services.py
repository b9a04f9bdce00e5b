"""The case lifecycle through its services: one transition function over one table, each change with its history
line, audit record and deadlines; the daily job raising each thing once; the holiday calendar loaded and deadlines
recomputed."""
from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit.models import AuditRecord
from apps.cases import services
from apps.cases.models import Case, CaseEvent, HolidayYear, Task
from apps.orgs.scope import NotFound
from apps.orgs.testing import TODAY, given_staff
from apps.people.models import Supervisee
from apps.people.services import supervisee_register, team_member_add, supervisee_update
from apps.people.testing import supervisee_data

D = date.fromisoformat


def _register(officer, office, **over):
    return supervisee_register(actor=officer, data=supervisee_data(office, **over), today=TODAY)


def _case(person) -> Case:
    return Case.objects.get(person=person, is_open=True)


def _open_tasks(case) -> dict[str, Task]:
    return {t.kind: t for t in Task.objects.filter(case=case, state="open")}


def _act(actor, case, code, today=TODAY, **data):
    return services.case_transition(actor=actor, case_id=case.pk, code=code, data=data, today=today)


@pytest.fixture
def office_staff(tree):
    return given_staff(tree.donghu_office, "office_staff")


def test_a_registration_opens_a_case_at_intake_with_the_laws_deadlines(tree, officer):
    p = _register(officer, tree.donghu_office, effective_date="2026-11-16", judgment_date="2026-11-05")
    c = _case(p)
    assert c.status == "awaiting_report" and p.status == "pending"
    tasks = _open_tasks(c)
    assert tasks["report_in"].due_date == D("2026-11-26") and tasks["report_in"].article == "社区矫正法第21条第一款"
    assert tasks["notice_due"].due_date == D("2026-11-23")  # the 5th day is a Saturday (刑诉法第105条)
    assert tasks["documents_due"].due_date == D("2026-11-26")
    assert tasks["report_in"].org == tree.donghu_office and tasks["documents_due"].org == tree.donghu
    assert CaseEvent.objects.filter(case=c, code="open").count() == 1
    assert AuditRecord.objects.filter(action="case.open", object_id=str(c.pk)).count() == 1


def test_intake_to_announcement_in_the_laws_order(tree, officer, office_staff):
    p = _register(officer, tree.donghu_office, effective_date="2026-11-16", judgment_date="2026-11-05",
                  male=False)
    c = _case(p)
    # the office cannot record the documents: the county agency receives them (法20)
    with pytest.raises(services.NotPermitted):
        _act(office_staff, c, "documents_received", documents=["判决书"])
    _act(officer, c, "documents_received", documents=["判决书", "执行通知书"], documents_date="2026-11-18")
    assert "receipt" in _open_tasks(c) and _open_tasks(c)["receipt"].due_date == D("2026-11-23")
    _act(officer, c, "receipt_sent")
    _act(office_staff, c, "report_in", reported_date="2026-11-20")
    c.refresh_from_db()
    assert c.status == "reported" and "report_in" not in _open_tasks(c)
    assert Task.objects.get(case=c, kind="report_in").state == "done"
    # out of order: refused with the article, nothing written
    before = CaseEvent.objects.filter(case=c).count()
    with pytest.raises(services.TransitionRefused) as e:
        _act(office_staff, c, "registered")
    assert "核实身份" in e.value.reasons[0] and "第22条" in e.value.reasons[0]
    assert CaseEvent.objects.filter(case=c).count() == before
    for step in ("documents_checked", "identity_verified", "registered", "file_opened"):
        _act(office_staff, c, step)
    # a woman needs a woman in her correction team (法25)
    team_member_add(actor=officer, supervisee=p, data={"name": "张建军", "kind": "office", "gender": "M"})
    with pytest.raises(services.TransitionRefused) as e:
        _act(office_staff, c, "announce")
    assert "女性" in e.value.reasons[0]
    team_member_add(actor=officer, supervisee=p, data={"name": "刘芳", "kind": "community", "gender": "F"})
    _act(office_staff, c, "announce", announced_date="2026-11-21")
    c.refresh_from_db()
    p.refresh_from_db()
    assert c.status == "active" and p.status == "active"
    assert "exit_filing" in _open_tasks(c)
    codes = list(CaseEvent.objects.filter(case=c).values_list("code", flat=True))
    assert codes == ["open", "documents_received", "receipt_sent", "report_in", "documents_checked",
                     "identity_verified", "registered", "file_opened", "announce"]
    assert AuditRecord.objects.filter(action="case.transition", object_id=str(c.pk)).count() == 8


def test_bad_input_changes_nothing(tree, officer):
    c = _case(_register(officer, tree.donghu_office))
    for data in ({"documents": ["情书"]}, {"documents": []}, {"documents": ["判决书"], "documents_date": "2099-01-01"},
                 {"documents": ["判决书"], "documents_date": "11/18"}):
        with pytest.raises(services.TransitionRefused):
            _act(officer, c, "documents_received", **data)
    c.refresh_from_db()
    assert c.documents_date is None and CaseEvent.objects.filter(case=c).count() == 1
    with pytest.raises(services.TransitionRefused):
        _act(officer, c, "no_such_change")


def test_out_of_scope_and_sealed_cases_look_like_not_found(tree, officer):
    xihu = given_staff(tree.xihu, "county_officer")
    c = _case(_register(officer, tree.donghu_office))
    with pytest.raises(NotFound):
        _act(xihu, c, "notice_received")
    minor = _case(_register(officer, tree.donghu_office, born=date(2009, 1, 1)))
    with pytest.raises(NotFound):
        _act(officer, minor, "notice_received")  # no minors' grant
    with pytest.raises(NotFound):
        services.case_transition(actor=officer, case_id=999999, code="notice_received")


def test_the_daily_job_opens_the_search_once_and_raises_each_overdue_task_once(tree, officer):
    p = _register(officer, tree.donghu_office, effective_date="2026-11-01", judgment_date="2026-10-20")
    c = _case(p)
    assert _open_tasks(c)["report_in"].due_date == D("2026-11-11")
    r = services.cases_daily(today=D("2026-11-11"))
    assert r.missing_opened == 0 and r.overdue_raised == 1  # the notice was due on 11-06
    r = services.cases_daily(today=D("2026-11-12"))
    assert r.missing_opened == 1 and r.overdue_raised == 2  # report_in and documents_due, due 11-11
    c.refresh_from_db()
    assert c.status == "missing"
    tasks = _open_tasks(c)
    assert {"search", "notify_deciding_organ", "notify_procuratorate"} <= set(tasks)
    assert tasks["search"].article == "社区矫正法第30条"
    again = services.cases_daily(today=D("2026-11-12"))
    assert again.missing_opened == 0 and again.overdue_raised == 0
    later = services.cases_daily(today=D("2026-11-20"))
    assert later.missing_opened == 0 and later.overdue_raised == 3  # the search and its two notices
    raised = set(Task.objects.filter(overdue_raised_at__isnull=False).values_list("kind", flat=True))
    assert raised == {"notice_due", "documents_due", "report_in", "search", "notify_deciding_organ",
                      "notify_procuratorate"}
    # one record per run and responsible unit: 11-11 the county; 11-12 and 11-20 the county and the office
    assert AuditRecord.objects.filter(action="task.overdue").count() == 5
    # found: reporting in closes the search and cancels the notices
    _act(officer, c, "report_in", today=D("2026-11-20"), reported_date="2026-11-20")
    c.refresh_from_db()
    assert c.status == "reported" and "search" not in _open_tasks(c)


def test_the_daily_run_is_claimed_once_a_day(tree, officer):
    from apps.cases.daily import run_daily

    assert "skipped" not in run_daily(D("2026-11-12"))
    assert run_daily(D("2026-11-12")) == {"skipped": 1}


def test_release_is_held_while_a_revocation_is_pending(tree, officer):
    p = _register(officer, tree.donghu_office, effective_date="2026-05-12", judgment_date="2026-05-01",
                  term_months="6", status="active")
    c = _case(p)
    assert c.status == "active" and c.term_end == D("2026-11-11")
    # 30 days before the end the release tasks open
    r = services.cases_daily(today=D("2026-10-12"))
    assert r.release_tasks == 2
    assert {"release_appraisal", "release"} <= set(_open_tasks(c))
    assert services.cases_daily(today=D("2026-10-13")).release_tasks == 0
    _act(officer, c, "revocation_proposed", today=D("2026-11-01"), proposal_date="2026-11-01")
    with pytest.raises(services.TransitionRefused) as e:
        _act(officer, c, "release", today=D("2026-11-12"))
    assert any("暂缓解除" in x for x in e.value.reasons)
    _act(officer, c, "probation_revoked", today=D("2026-11-15"), ruling_number="（2026）赣0102刑更1号")
    c.refresh_from_db()
    p.refresh_from_db()
    assert c.status == "terminated" and c.end_reason == "probation_revoked" and not c.is_open
    assert p.status == "terminated"
    assert not _open_tasks(c), "every deadline closed with the case"


def test_release_on_expiry_after_the_appraisal(tree, officer):
    p = _register(officer, tree.donghu_office, effective_date="2026-05-12", judgment_date="2026-05-01",
                  term_months="6", status="active")
    c = _case(p)
    with pytest.raises(services.TransitionRefused) as e:
        _act(officer, c, "appraised", today=D("2026-10-01"))
    assert "尚未开启" in e.value.reasons[0], "the appraisal comes 30 days before the end"
    services.cases_daily(today=D("2026-10-12"))
    with pytest.raises(services.TransitionRefused) as e:
        _act(officer, c, "release", today=D("2026-11-11"))
    assert "完成期满鉴定" in e.value.reasons[0]
    _act(officer, c, "appraised", today=D("2026-11-01"), appraisal="遵纪守法，认罪悔罪")
    with pytest.raises(services.TransitionRefused):
        _act(officer, c, "release", today=D("2026-11-10"))
    _act(officer, c, "release", today=D("2026-11-11"))
    c.refresh_from_db()
    assert c.status == "released" and c.end_reason == "expiry" and c.end_date == D("2026-11-11")


def test_a_sentence_change_recomputes_the_term_with_its_article(tree, officer):
    p = _register(officer, tree.donghu_office, status="active", term_months="6")
    c = _case(p)
    end = c.term_end
    from apps.people.services import InputErrors

    with pytest.raises(InputErrors) as e:  # the judgment is the case's: not changed on the person's form
        supervisee_update(actor=officer, supervisee=p, data={"term_months": "12"}, today=TODAY)
    assert "变更判决信息" in e.value.errors["term_months"]
    with pytest.raises(InputErrors) as e:  # a reduction needs its ruling; a bad term is refused as at registration
        services.case_judgment_change(actor=officer, case_id=c.pk, data={"reason": "reduction", "term_months": "x"},
                                      today=TODAY)
    assert set(e.value.errors) == {"basis", "term_months"}
    services.case_judgment_change(actor=officer, case_id=c.pk, today=TODAY,
                                  data={"reason": "correction", "term_months": "12", "basis": ""})
    c.refresh_from_db(), p.refresh_from_db()
    assert c.term_end > end and (p.term_months, p.supervision_end) == (12, c.term_end)
    assert c.judgment["term_months"] == 12
    e = CaseEvent.objects.get(case=c, code="term_recomputed")
    assert e.article.startswith("刑法第73条") and e.data["before"]["term_end"] == end.isoformat()
    j = CaseEvent.objects.get(case=c, code="judgment_changed")
    assert "更正登记错误" in j.note and "管制刑期/缓刑考验期（月）" in j.note
    rec = AuditRecord.objects.get(action="case.judgment", object_id=str(c.pk))
    assert rec.before["term_months"] == 6 and rec.after["term_months"] == 12 and "term_end" in rec.after
    n = AuditRecord.objects.count()  # the same again changes nothing and writes nothing
    services.case_judgment_change(actor=officer, case_id=c.pk, today=TODAY,
                                  data={"reason": "correction", "term_months": "12"})
    assert AuditRecord.objects.count() == n
    with pytest.raises(NotFound):  # another county's officer: not found
        services.case_judgment_change(actor=given_staff(tree.xihu, "county_officer"), case_id=c.pk, today=TODAY,
                                      data={"reason": "correction", "term_months": "24"})


def test_a_closed_case_stays_and_the_status_of_the_person_follows_the_case(tree, officer):
    p = _register(officer, tree.donghu_office, status="active")
    c = _case(p)
    _act(officer, c, "death", end_date="2026-11-20")
    p.refresh_from_db()
    assert p.status == "terminated" and not Case.objects.filter(person=p, is_open=True).exists()
    assert Case.objects.get(pk=c.pk).end_reason == "death"


def test_load_holidays_recomputes_provisional_deadlines(tree, officer, tmp_path):
    c = _case(_register(officer, tree.donghu_office))
    anchor = D("2026-12-29")
    due, n, provisional = services.due_date("announce", anchor)
    assert provisional and due == D("2027-01-05")  # 12-30, 12-31, 01-01 (Mon–Fri), 01-04, 01-05
    t = Task.objects.create(case=c, kind="announce", title="入矫宣告", article="社区矫正法第22条", anchor_date=anchor,
                            days=n, day_kind="work", due_date=due, provisional=True, org=tree.donghu_office,
                            org_path=tree.donghu_office.path)
    f = tmp_path / "2027.json"
    f.write_text(json.dumps({"year": 2027, "papers": ["https://www.gov.cn/example"], "days": [
        {"name": "元旦", "date": "2027-01-01", "isOffDay": True}]}), encoding="utf-8")
    call_command("load_holidays", str(f))
    t.refresh_from_db()
    assert not t.provisional and t.due_date == D("2027-01-06")
    assert HolidayYear.objects.filter(year=2027).exists()
    assert AuditRecord.objects.filter(action="calendar.load", object_id="2027").exists()
    empty = tmp_path / "empty.json"
    empty.write_text('{"year": 2028, "papers": [], "days": []}', encoding="utf-8")
    with pytest.raises(CommandError) as e:
        call_command("load_holidays", str(empty))
    assert "未导入" in str(e.value)
    assert not HolidayYear.objects.filter(year=2028).exists()


@pytest.mark.parametrize("start,n", [("2026-09-30", 3), ("2026-02-12", 10), ("2026-12-28", 4), ("2026-06-19", 1)])
def test_workdays_command_add_and_between_agree(db, capsys, start, n):
    call_command("workdays", "add", start, str(n))
    e = capsys.readouterr().out.strip()
    assert len(e.splitlines()) == 1 and D(e)
    call_command("workdays", "between", start, e)
    assert capsys.readouterr().out.strip() == str(n)


def test_workdays_command_marks_an_unloaded_year_and_refuses_bad_input(db, capsys):
    call_command("workdays", "add", "2026-12-30", "3")
    out = capsys.readouterr()
    assert out.out.strip() == "2027-01-04" and "provisional" in out.err
    for args in (("add", "2026-13-01", "1"), ("add", "2026-01-01", "x"), ("between", "2026-02-01", "2026-01-01"),
                 ("add", "2026-01-01", "-2")):
        with pytest.raises(CommandError):
            call_command("workdays", *args)


def test_every_person_row_has_exactly_its_cases(tree, officer):
    for i in range(3):
        _register(officer, tree.donghu_office)
    assert Case.objects.count() == Supervisee.objects.count()
    assert not Case.objects.exclude(org_path__startswith=tree.donghu.path).exists()
    for c in Case.objects.select_related("person"):
        assert (c.term_start, c.term_end, c.org_path) == (c.person.supervision_start, c.person.supervision_end,
                                                          c.person.org_path)


def test_a_person_whose_corrections_ended_is_registered_again_under_a_new_judgment(tree, officer):
    p = _register(officer, tree.donghu_office, status="active", judgment_number="（2025）赣0102刑初7号")
    first = _case(p)
    _act(officer, first, "revocation_proposed")
    _act(officer, first, "probation_revoked", ruling_number="（2026）赣0102刑更2号")
    again = supervisee_register(actor=officer, data=supervisee_data(
        tree.donghu_office2, id_number=p.id_number, judgment_number="（2026）赣0102刑初99号", crime="盗窃罪",
        effective_date="2026-11-10", judgment_date="2026-10-28"), today=TODAY)
    assert again.pk == p.pk, "the same person, not a second record"
    cases = list(Case.objects.filter(person=p).order_by("seq"))
    assert [c.seq for c in cases] == [1, 2] and [c.is_open for c in cases] == [False, True]
    assert cases[0].judgment["judgment_number"] == "（2025）赣0102刑初7号", "the earlier case keeps its judgment"
    assert cases[1].judgment["judgment_number"] == "（2026）赣0102刑初99号"
    assert cases[1].status == "awaiting_report" and cases[1].org_path == tree.donghu_office2.path
    assert CaseEvent.objects.get(case=cases[1]).code == "readmitted"
    assert AuditRecord.objects.filter(action="supervisee.readmit", object_id=str(p.pk)).exists()
    # while a case is open, the number is a duplicate again
    from apps.people.services import InputErrors
    with pytest.raises(InputErrors):
        supervisee_register(actor=officer, data=supervisee_data(tree.donghu_office, id_number=p.id_number),
                            today=TODAY)


def test_a_minors_sealed_file_is_not_reopened_by_the_form(tree):
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    p = _register(granted, tree.donghu_office, status="active", born=date(2009, 3, 3))
    _act(granted, _case(p), "death")
    from apps.people.services import InputErrors
    with pytest.raises(InputErrors):
        supervisee_register(actor=granted, data=supervisee_data(tree.donghu_office, id_number=p.id_number,
                                                                born=date(2009, 3, 3)), today=TODAY)


def test_absconding_opens_the_search_and_the_laws_day_counts(tree, officer):
    from apps.documents.models import Document

    c = _case(_register(officer, tree.donghu_office, status="active"))
    _act(officer, c, "abscond", lost_since="2026-11-10")
    tasks = _open_tasks(c)
    assert tasks["abscond_warning"].due_date == D("2026-11-20") and tasks["abscond_revocation"].due_date == D("2026-12-10")
    doc = Document.objects.get(object_id=str(c.pk), doc_type="missing_report")
    assert doc.context["lost_since"] == "二〇二六年十一月十日"
    from apps.documents.render import fragment
    assert "自二〇二六年十一月十日起失去联系，脱离监管" in fragment(doc).body
    assert services.cases_daily(today=D("2026-11-21")).overdue_raised >= 1
    _act(officer, c, "found", today=D("2026-11-22"))
    assert not {"search", "abscond_warning", "abscond_revocation"} & set(_open_tasks(c))


def test_an_edit_that_makes_the_person_a_minor_seals_the_case_its_tasks_and_documents(tree, officer):
    from apps.documents.models import Document
    from apps.people.testing import id_number

    p = _register(officer, tree.donghu_office, effective_date="2026-11-16", judgment_date="2026-11-05",
                  crime="抢劫罪")
    c = _case(p)
    _act(officer, c, "documents_received", documents=["判决书"])
    _act(officer, c, "receipt_sent")
    assert not c.is_minor and Document.objects.filter(object_id=str(c.pk), is_minor=False).exists()
    # the ID number was mistyped: the person was 16 when the correction began
    supervisee_update(actor=officer, supervisee=p, data={"id_number": id_number("360102", date(2010, 3, 3), 7)},
                      today=TODAY)
    c.refresh_from_db()
    assert c.is_minor
    assert not Task.objects.filter(case=c, is_minor=False).exists()
    assert not Document.objects.filter(object_id=str(c.pk), is_minor=False).exists()


def test_registering_again_stays_inside_the_jurisdiction_and_never_after_a_death(tree, officer):
    from apps.people.services import InputErrors

    p = _register(officer, tree.donghu_office, status="active")
    _act(officer, _case(p), "revocation_proposed")
    _act(officer, _case(p), "probation_revoked")
    xihu = given_staff(tree.xihu, "county_officer")
    with pytest.raises(InputErrors):  # another county: by hand, through the agencies
        supervisee_register(actor=xihu, data=supervisee_data(tree.xihu_office, id_number=p.id_number), today=TODAY)
    assert Supervisee.objects.get(pk=p.pk).org_path == tree.donghu_office.path
    q = _register(officer, tree.donghu_office, status="active")
    _act(officer, _case(q), "death")
    with pytest.raises(InputErrors) as e:
        supervisee_register(actor=officer, data=supervisee_data(tree.donghu_office, id_number=q.id_number),
                            today=TODAY)
    assert e.value.errors["id_number"]


def test_the_earlier_team_stays_with_the_earlier_case(tree, officer):
    p = _register(officer, tree.donghu_office, status="active")
    team_member_add(actor=officer, supervisee=p, data={"name": "刘芳", "kind": "community", "gender": "F"})
    first = _case(p)
    _act(officer, first, "revocation_proposed")
    _act(officer, first, "probation_revoked")
    supervisee_register(actor=officer, data=supervisee_data(tree.donghu_office, id_number=p.id_number), today=TODAY)
    first.refresh_from_db()
    assert [m["name"] for m in first.judgment["team"]] == ["刘芳"]
    assert not p.team.exists(), "the new case forms its own team (法25)"


def test_a_control_order_is_not_revoked(tree, officer):
    p = _register(officer, tree.donghu_office, status="active", sentence_type="control", term_months="6",
                  original_penalty="管制六个月")
    with pytest.raises(services.TransitionRefused) as e:
        _act(officer, _case(p), "revocation_proposed")
    assert "治安管理处罚" in e.value.reasons[0]


def test_lost_contact_while_a_revocation_is_pending_keeps_the_stage(tree, officer):
    p = _register(officer, tree.donghu_office, status="active")
    c = _case(p)
    _act(officer, c, "revocation_proposed")
    _act(officer, c, "lost_contact", lost_since="2026-11-15")
    c.refresh_from_db()
    assert c.status == "revocation_pending" and {"search", "abscond_warning"} <= set(_open_tasks(c))
    _act(officer, c, "contact_restored")
    _act(officer, c, "notified_procuratorate")
    assert not {"search", "abscond_warning", "notify_procuratorate"} & set(_open_tasks(c))


def test_a_failing_case_does_not_stop_the_daily_job_and_a_failed_run_is_retried(tree, officer, monkeypatch):
    from apps.cases import daily
    from apps.cases.models import JobRun

    a = _case(_register(officer, tree.donghu_office, effective_date="2026-11-01", judgment_date="2026-10-20"))
    b = _case(_register(officer, tree.donghu_office, effective_date="2026-11-01", judgment_date="2026-10-20"))
    real = services.case_transition

    def flaky(**kw):
        if kw["case_id"] == a.pk:
            raise RuntimeError("disk full")
        return real(**kw)

    monkeypatch.setattr(services, "case_transition", flaky)
    r = services.cases_daily(today=D("2026-11-12"))
    assert r.missing_opened == 1 and Case.objects.get(pk=b.pk).status == "missing"
    monkeypatch.setattr(services, "cases_daily", lambda **kw: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        daily.run_daily(D("2026-11-13"))
    assert not JobRun.objects.filter(day=D("2026-11-13")).exists(), "a failed run does not keep its claim"


def test_dates_follow_each_other_as_the_events_did(tree, officer):
    c = _case(_register(officer, tree.donghu_office, effective_date="2026-11-16", judgment_date="2026-11-05"))
    with pytest.raises(services.TransitionRefused) as e:
        _act(officer, c, "report_in", reported_date="2026-11-01")
    assert "不能早于判决（裁定、决定）生效日期" in e.value.reasons[0]
    with pytest.raises(services.TransitionRefused):
        _act(officer, c, "documents_received", documents=["判决书"], documents_date="2026-11-01")
    _act(officer, c, "report_in", reported_date="2026-11-18")
    _act(officer, c, "documents_received", documents=["判决书", "执行通知书"], documents_date="2026-11-18")
    for step in ("documents_checked", "identity_verified", "registered", "file_opened"):
        _act(officer, c, step)
    p = c.person
    team_member_add(actor=officer, supervisee=p, data={"name": "刘芳", "kind": "community", "gender": "F"})
    with pytest.raises(services.TransitionRefused) as e:
        _act(officer, c, "announce", announced_date="2026-11-17")
    assert "不能早于报到日期" in e.value.reasons[0]
    assert CaseEvent.objects.filter(case=c, code="report_in").get().day == D("2026-11-18"), "the day it happened"


def test_documents_stay_incomplete_until_the_sentences_set_has_come(tree, officer):
    c = _case(_register(officer, tree.donghu_office, effective_date="2026-11-16", judgment_date="2026-11-05"))
    _act(officer, c, "documents_received", documents=["判决书"])
    assert "documents_due" in _open_tasks(c), "执行通知书 still missing (法20)"
    _act(officer, c, "documents_received", documents=["执行通知书"])
    assert "documents_due" not in _open_tasks(c)


def test_an_appraisal_needs_its_words(tree, officer):
    p = _register(officer, tree.donghu_office, effective_date="2026-05-12", judgment_date="2026-05-01",
                  term_months="6", status="active")
    services.cases_daily(today=D("2026-10-12"))
    with pytest.raises(services.TransitionRefused) as e:
        _act(officer, _case(p), "appraised", today=D("2026-10-20"), appraisal=" ")
    assert "鉴定意见" in e.value.reasons[0]


def test_a_staff_account_on_the_team_answers_for_the_offices_deadlines(tree, officer):
    """社区矫正法第25条: the team is led by the office's staff member; linked to an account, that member is the
    responsible person (责任人) of the case's office deadlines, and the deadlines follow when the team changes."""
    from apps.people.services import InputErrors, team_member_remove

    p = _register(officer, tree.donghu_office, effective_date="2026-11-16", judgment_date="2026-11-05")
    c = _case(p)
    staff = given_staff(tree.donghu_office, "office_staff", username="zhang")
    staff.full_name, staff.gender, staff.phone = "张敏", "F", "13907910001"
    staff.save()
    stranger = given_staff(tree.xihu_office, "office_staff", username="li")
    with pytest.raises(InputErrors) as e:
        team_member_add(actor=officer, supervisee=p, data={"staff": str(stranger.pk), "kind": "office"})
    assert "本司法所" in e.value.errors["staff"]
    with pytest.raises(InputErrors) as e:
        team_member_add(actor=officer, supervisee=p, data={"staff": str(staff.pk), "kind": "family"})
    assert "kind" in e.value.errors
    m = team_member_add(actor=officer, supervisee=p, data={"staff": str(staff.pk), "kind": "office"})
    assert (m.name, m.gender, m.phone, m.staff_id) == ("张敏", "F", "13907910001", staff.pk)
    office_tasks = Task.objects.filter(case=c, state="open", org=tree.donghu_office)
    assert office_tasks.exists() and set(office_tasks.values_list("assignee_id", flat=True)) == {staff.pk}
    assert not Task.objects.filter(case=c, state="open", org=tree.donghu, assignee__isnull=False).exists()
    assert "张敏" in AuditRecord.objects.get(action="case.assign", object_id=str(c.pk)).summary
    with pytest.raises(InputErrors) as e:
        team_member_add(actor=officer, supervisee=p, data={"staff": str(staff.pk), "kind": "office"})
    assert "已在矫正小组中" in e.value.errors["staff"]
    team_member_remove(actor=officer, supervisee=p, member_id=m.pk, reason="工作调动")
    assert set(office_tasks.values_list("assignee_id", flat=True)) == {None}
