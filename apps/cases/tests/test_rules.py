"""The case rules as tables named after their articles. Working days are counted on the real shipped calendar
(data/cn_calendar, the State Council's schedules), read here without Django."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from apps.cases import rules, workdays
from apps.cases.rules import CaseStatus as S
from apps.cases.rules import Facts

DATA = Path(__file__).resolve().parents[3] / "data" / "cn_calendar"


@pytest.fixture(scope="module")
def cal() -> workdays.Calendar:
    return workdays.build(workdays.parse_holiday_cn(f.read_text(encoding="utf-8")) for f in sorted(DATA.glob("2*.json")))


D = date.fromisoformat

# 实施办法第13条 [M]: the investigation opinion within 10 working days (5 under fast-track), counted on the
# official calendar: the day of receipt is not counted; holidays are skipped; make-up Saturdays and Sundays count.
实施办法第13条_调查评估期限 = [
    # received,    days, due           why
    ("2026-09-24", 10, "2026-10-15", "中秋 09-25…09-27 and 国庆 10-01…10-07 放假; Saturday 10-10 is a make-up day"),
    ("2026-09-30", 3, "2026-10-10", "the README's case: skips 10-01…10-07, counts Saturday 10-10"),
    ("2026-09-30", 5, "2026-10-13", "速裁: five working days across National Day"),
    ("2026-02-12", 10, "2026-03-04", "春节 02-15…02-23 放假; 02-14 (Sat) and 02-28 (Sat) are make-up days"),
    ("2026-02-13", 1, "2026-02-14", "the make-up Saturday before Spring Festival is the next working day"),
    ("2025-09-26", 10, "2025-10-16", "2025: 国庆中秋 10-01…10-08, make-up days 09-28 (Sun) and 10-11 (Sat)"),
    ("2026-11-27", 10, "2026-12-11", "no holiday: two working weeks"),
    ("2026-12-31", 1, "2027-01-01", "2027 not published: computed Monday to Friday (provisional)"),
]


@pytest.mark.parametrize("received,days,due,why", 实施办法第13条_调查评估期限)
def test_实施办法第13条_investigation_deadline_in_working_days(cal, received, days, due, why):
    c = workdays.add_workdays(cal, D(received), days)
    assert c.value == D(due), why
    assert c.provisional == (D(due).year == 2027)
    # and the other direction says the same, as `manage.py workdays between` does
    assert workdays.workdays_between(cal, D(received), D(due)).value == days


def test_a_span_into_an_unloaded_year_is_provisional_and_counts_monday_to_friday(cal):
    c = workdays.add_workdays(cal, D("2026-12-25"), 10)
    assert c.provisional and c.unloaded_years == (2027,)
    # 12-28..12-31 (4 days) in 2026, then Mon-Fri in 2027: 01-01 (Fri) counts, 01-04..01-08 (5) → the 10th is 01-08
    assert c.value == D("2027-01-08")
    assert workdays.workdays_between(cal, D("2026-12-25"), D("2027-01-08")).provisional


def test_add_and_between_agree_on_every_working_day_of_two_years(cal):
    start = D("2025-12-20")
    for n in range(0, 300):
        e = workdays.add_workdays(cal, start, n).value
        assert cal.is_workday(e) or n == 0
        assert workdays.workdays_between(cal, start, e).value == n


@pytest.mark.parametrize("bad", ['{"year": 2027, "papers": [], "days": []}', "not json", '{"days": []}',
                                 '{"year": 2026, "days": [{"name": "x", "date": "2026-13-01", "isOffDay": true}]}',
                                 '{"year": 2026, "days": [{"name": "x", "date": "2029-01-01", "isOffDay": true}]}'])
def test_a_bad_holiday_file_is_refused_with_a_reason(bad):
    with pytest.raises(workdays.CalendarError) as e:
        workdays.parse_holiday_cn(bad)
    assert str(e.value)


def test_negative_and_reversed_counts_are_refused(cal):
    with pytest.raises(ValueError):
        workdays.add_workdays(cal, D("2026-01-01"), -1)
    with pytest.raises(ValueError):
        workdays.workdays_between(cal, D("2026-01-02"), D("2026-01-01"))


# 社区矫正法第20条、第21条: calendar days from the judgment taking effect (the law's days are not working days).
# 刑事诉讼法第105条: the day a period starts is not counted, and a last day that is a holiday or rest day moves
# to the first working day after it.
社区矫正法第20条_第21条_交付期限 = [
    ("report_in", "2026-09-28", "2026-10-08", "十日内报到: the 10th day is a working day after National Day"),
    ("report_in", "2026-09-25", "2026-10-08", "the 10th day (10-05) falls in National Day: the 1st working day after"),
    ("report_in", "2026-02-10", "2026-02-24", "the 10th day (02-20) falls in Spring Festival (off to 02-23)"),
    ("report_in", "2026-09-30", "2026-10-10", "the 10th day is the make-up Saturday: a working day, it stays"),
    ("notice_due", "2026-09-28", "2026-10-08", "五日内通知: 10-03 is a holiday"),
    ("notice_due", "2026-11-02", "2026-11-09", "五日内通知: Saturday 11-07 moves to Monday"),
    ("documents_due", "2026-09-28", "2026-10-08", "十日内送达法律文书"),
    ("handover", "2026-01-20", "2026-01-30", "暂予监外执行：十日内移送"),
]


@pytest.mark.parametrize("kind,effective,due,why", 社区矫正法第20条_第21条_交付期限)
def test_社区矫正法第20条_第21条_intake_deadlines_in_calendar_days(cal, kind, effective, due, why):
    d = rules.DEADLINES[kind]
    assert d.day_kind == rules.DayKind.CALENDAR and not d.setting, "the law fixes these numbers"
    assert workdays.add_days(cal, D(effective), d.days, extend=d.extends).value == D(due), why


def test_days_counted_back_from_the_end_of_the_term_do_not_move():
    for kind in ("release_appraisal", "prison_notice", "release"):
        assert not rules.DEADLINES[kind].extends


def test_a_month_runs_to_the_same_day_or_the_months_last(cal):
    # to February's last day, a Saturday but a make-up working day in 2026: it stays
    assert workdays.add_months(cal, D("2026-01-31"), 1).value == D("2026-02-28")
    assert workdays.add_months(cal, D("2026-09-04"), 1).value == D("2026-10-08")  # 10-04 is National Day
    assert workdays.add_months(cal, D("2026-09-04"), 1, extend=False).value == D("2026-10-04")
    assert workdays.add_months(cal, D("2026-11-10"), 1).value == D("2026-12-10")


def _facts(status, sentence="probation", steps=(), **kw):
    return Facts(status=status, sentence_type=sentence, steps_done=frozenset(steps), **kw)


# 社区矫正法第22条: reception in the law's order, then the announcement (with the team of 第25条).
社区矫正法第22条_接收宣告顺序 = [
    ("documents_checked", _facts(S.REPORTED), "尚未收到法律文书"),
    ("documents_checked", _facts(S.REPORTED, documents_in=True), None),
    ("identity_verified", _facts(S.REPORTED, documents_in=True), "请先完成“核对法律文书”"),
    ("identity_verified", _facts(S.REPORTED, steps=["documents_checked"]), None),
    ("registered", _facts(S.REPORTED, steps=["documents_checked"]), "请先完成“核实身份”"),
    ("file_opened", _facts(S.REPORTED, steps=["documents_checked", "identity_verified"]), "请先完成“办理接收登记”"),
    ("announce", _facts(S.REPORTED, steps=["documents_checked", "identity_verified", "registered"]),
     "请先完成“建立档案”"),
    ("announce", _facts(S.REPORTED, steps=["documents_checked", "identity_verified", "registered", "file_opened"],
                        team_problems=("矫正小组中应当有女性成员（社区矫正法第25条）",)), "矫正小组不符合要求"),
    ("announce", _facts(S.REPORTED, steps=["documents_checked", "identity_verified", "registered", "file_opened"]),
     None),
    ("announce", _facts(S.AWAITING_REPORT), "不能办理“入矫宣告”"),
]


@pytest.mark.parametrize("code,facts,refusal", 社区矫正法第22条_接收宣告顺序)
def test_社区矫正法第22条_reception_steps_in_order(code, facts, refusal):
    got = rules.problems(rules.TRANSITIONS[code], facts)
    if refusal is None:
        assert got == []
    else:
        assert got and refusal in got[0]
        assert "第" in got[0] and "条" in got[0], "every refusal names its article"


# 社区矫正法第21条: who reports how; 第30条: missing only after the deadline.
社区矫正法第21条_第30条_报到与查找 = [
    ("report_in", _facts(S.AWAITING_REPORT), None),
    ("report_in", _facts(S.AWAITING_REPORT, sentence="medical_parole"), "移送交接"),
    ("handover", _facts(S.AWAITING_REPORT, sentence="medical_parole", entered={"delivering_unit": "南昌监狱"}), None),
    ("handover", _facts(S.AWAITING_REPORT, sentence="medical_parole"), "请填写移送单位"),
    ("handover", _facts(S.AWAITING_REPORT, entered={"delivering_unit": "x"}), "应当自行报到"),
    ("missing", _facts(S.AWAITING_REPORT, today=D("2026-10-08"), report_due=D("2026-10-08")), "尚未届满"),
    ("missing", _facts(S.AWAITING_REPORT, today=D("2026-10-09"), report_due=D("2026-10-08")), None),
    ("report_in", _facts(S.MISSING), None),
    ("report_in", _facts(S.ACTIVE), "不能办理“本人报到”"),
]


@pytest.mark.parametrize("code,facts,refusal", 社区矫正法第21条_第30条_报到与查找)
def test_社区矫正法第21条_第30条_report_in_and_search(code, facts, refusal):
    got = rules.problems(rules.TRANSITIONS[code], facts)
    assert (got == []) if refusal is None else (bool(got) and refusal in got[0])


# 社区矫正法第44条、第45条、第46条: release on expiry, held while a revocation is pending; termination by type.
社区矫正法第44条_第46条_解除与终止 = [
    ("release", _facts(S.ACTIVE, steps=["appraised"], today=D("2026-12-01"), term_end=D("2026-12-02")), "尚未届满"),
    ("release", _facts(S.ACTIVE, steps=["appraised"], today=D("2026-12-02"), term_end=D("2026-12-02")), None),
    ("release", _facts(S.ACTIVE, today=D("2026-12-02"), term_end=D("2026-12-02")), "完成期满鉴定"),
    ("release", _facts(S.REVOCATION_PENDING, steps=["appraised"], today=D("2026-12-05"), term_end=D("2026-12-02")),
     "暂缓解除"),
    ("probation_revoked", _facts(S.REVOCATION_PENDING), None),
    ("probation_revoked", _facts(S.REVOCATION_PENDING, sentence="parole"), "只适用于缓刑"),
    ("parole_revoked", _facts(S.REVOCATION_PENDING, sentence="parole"), None),
    ("recommitted", _facts(S.REVOCATION_PENDING, sentence="medical_parole"), None),
    ("recommitted", _facts(S.REVOCATION_PENDING), "只适用于暂予监外执行"),
    ("probation_revoked", _facts(S.ACTIVE), "不能办理“撤销缓刑”"),
    ("revocation_proposed", _facts(S.ACTIVE, sentence="control"), "管制不适用撤销"),
    ("revocation_proposed", _facts(S.ACTIVE, sentence="parole"), None),
    ("death", _facts(S.MISSING), None),
    ("death", _facts(S.RELEASED), "不能办理“死亡”"),
]


@pytest.mark.parametrize("code,facts,refusal", 社区矫正法第44条_第46条_解除与终止)
def test_社区矫正法第44条_第46条_release_and_termination(code, facts, refusal):
    got = rules.problems(rules.TRANSITIONS[code], facts)
    assert (got == []) if refusal is None else (bool(got) and refusal in got[0]), got


def test_the_table_is_closed_every_target_and_source_is_a_status_and_every_deadline_exists():
    for t in rules.TRANSITIONS.values():
        assert t.sources and t.sources <= set(S)
        assert t.target is None or t.target in S
        for k in t.opens + t.closes + tuple(c for c in t.cancels if c != "*"):
            assert k in rules.DEADLINES, (t.code, k)
        assert t.article
    # closed cases have no way out
    for t in rules.TRANSITIONS.values():
        assert not (t.sources & rules.CLOSED), t.code


def test_who_acts_county_decisions_need_the_county_agency():
    t = rules.TRANSITIONS["release"]
    assert rules.may_act(t, ["county_officer"], "county_agency")
    assert not rules.may_act(t, ["office_staff"], "judicial_office")
    assert not rules.may_act(t, ["procurator"], "procuratorate")
    assert rules.may_act(rules.TRANSITIONS["report_in"], ["office_staff"], "judicial_office")
    assert not rules.may_act(rules.TRANSITIONS["missing"], ["county_officer"], "county_agency"), "the system's"


实施办法第54条_解矫宣告用语 = [("control", "管制执行期满"), ("probation", "原判刑罚不再执行"),
                       ("parole", "原判刑罚执行完毕"), ("medical_parole", "刑期执行完毕")]


@pytest.mark.parametrize("sentence,words", 实施办法第54条_解矫宣告用语)
def test_实施办法第54条_release_wording_by_sentence_type(sentence, words):
    assert words in rules.release_wording(sentence)


def test_the_county_actor_is_exactly_the_roles_that_hold_case_decide():
    from apps.orgs.rules import PERMISSIONS, Action

    holders = {r.value for r, actions in PERMISSIONS.items() if Action.CASE_DECIDE in actions}
    assert rules.ACTOR_ROLES[rules.Actor.COUNTY] == holders


# What the case tab offers: only the changes the law's order, the sentence type and the open deadlines allow now.
可办理事项 = [
    (_facts(S.REVOCATION_PENDING, today=D("2026-12-05"), term_end=D("2026-12-01")), {"probation_revoked"},
     {"parole_revoked", "recommitted", "release"}),
    (_facts(S.REVOCATION_PENDING, sentence="medical_parole"), {"recommitted"}, {"probation_revoked"}),
    (_facts(S.REPORTED, documents_in=True), {"documents_checked"}, {"identity_verified", "announce"}),
    (_facts(S.ACTIVE, today=D("2026-11-01"), term_end=D("2026-12-01")), {"abscond"},
     {"appraised", "release", "exit_filed"}),
    (_facts(S.ACTIVE, today=D("2026-12-01"), term_end=D("2026-12-01"), steps=["appraised"],
            open_tasks=frozenset({"release", "release_appraisal"})), {"release", "appraised"}, set()),
]


@pytest.mark.parametrize("facts,shown,hidden", 可办理事项)
def test_the_tab_offers_what_may_be_done_now(facts, shown, hidden):
    codes = {t.code for t in rules.available(facts)}
    assert shown <= codes and not (hidden & codes), codes
