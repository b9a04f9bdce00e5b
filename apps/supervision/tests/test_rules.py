"""The daily-supervision rules, each table named after the article (or the provincial practice) it encodes."""
from __future__ import annotations

from datetime import date

import pytest

from apps.supervision import rules as r

D = date.fromisoformat
T = r.Trip


# 社区矫正法第27条; 实施办法第26-28条: ≤7 days the office where entrusted, more the county, one approval ≤30 days,
# more than 30 days or more than 30 within any 60 days one level up with the procuratorate told.
ARTICLE_27_LEAVE_AUTHORITY = [
    # (trip, others approved, entrusted, authority, procuratorate, rolling days)
    (T(D("2027-03-10"), D("2027-03-16")), (), True, r.Authority.OFFICE, False, 7),
    (T(D("2027-03-10"), D("2027-03-16")), (), False, r.Authority.COUNTY, False, 7),
    (T(D("2027-03-10"), D("2027-03-17")), (), True, r.Authority.COUNTY, False, 8),  # the 12-day kind
    (T(D("2027-03-10"), D("2027-04-08")), (), True, r.Authority.COUNTY, False, 30),
    (T(D("2027-03-10"), D("2027-04-09")), (), True, r.Authority.ABOVE, True, 31),
    # 5 days now, but 26 already taken in the window: 31 within 60 days → one level up
    (T(D("2027-03-10"), D("2027-03-14")), (T(D("2027-01-20"), D("2027-02-14")),), True, r.Authority.ABOVE, True, 31),
    # the earlier trip fell outside every 60-day window that touches this one
    (T(D("2027-03-10"), D("2027-03-14")), (T(D("2026-12-01"), D("2027-01-05")),), True, r.Authority.OFFICE, False, 5),
    # overlapping days count once
    (T(D("2027-03-10"), D("2027-03-14")), (T(D("2027-03-12"), D("2027-03-13")),), True, r.Authority.OFFICE, False, 5),
]


@pytest.mark.parametrize("trip, others, entrusted, authority, told, rolling", ARTICLE_27_LEAVE_AUTHORITY)
def test_article_27_leave_authority(trip, others, entrusted, authority, told, rolling):
    d = r.leave_authority(trip=trip, reason="medical", applied=D("2027-03-01"), entrusted=entrusted, others=others)
    assert (d.authority, d.tell_procuratorate, d.rolling_days, d.refusals) == (authority, told, rolling, ())


ARTICLE_27_LEAVE_REFUSED = [
    ("medical", True, "出境入境管理法第12条"),  # never abroad
    ("travel", False, "正当理由"),  # a holiday is not a valid reason
]


@pytest.mark.parametrize("reason, abroad, words", ARTICLE_27_LEAVE_REFUSED)
def test_article_27_leave_refused(reason, abroad, words):
    d = r.leave_authority(trip=T(D("2027-03-10"), D("2027-03-12")), reason=reason, applied=D("2027-03-01"),
                          abroad=abroad)
    assert d.authority is None and any(words in x for x in d.refusals)


def test_measures_leave_three_days_ahead_is_a_warning_and_a_province_changes_the_numbers():
    d = r.leave_authority(trip=T(D("2027-03-03"), D("2027-03-05")), reason="family", applied=D("2027-03-01"))
    assert d.authority == r.Authority.OFFICE and "提前3日" in d.warnings[0]
    fujian = r.LeaveTable(D("2027-01-01"), office_max_days=5, advance_days=2)
    d = r.leave_authority(trip=T(D("2027-03-03"), D("2027-03-08")), reason="family", applied=D("2027-03-01"),
                          table=fujian)
    assert d.authority == r.Authority.COUNTY and d.warnings == ()
    tables = (r.LeaveTable(D("2020-07-01")), fujian)
    assert r.table_on(tables, D("2026-12-31")).office_max_days == 7
    assert r.table_on(tables, D("2027-01-01")).office_max_days == 5


# 社区矫正法第23条, provincial tables: one report-in in person each week (严管), half month (普管), month (宽管)
ARTICLE_23_REPORT_FREQUENCY = [
    ("strict", [], "2027-03-10", "2027-03-14"),  # Wednesday: by Sunday
    ("strict", ["2027-03-08"], "2027-03-10", "2027-03-21"),  # done this week: by next Sunday
    ("normal", [], "2027-03-10", "2027-03-15"),
    ("normal", ["2027-03-02"], "2027-03-10", "2027-03-31"),
    ("normal", [], "2027-02-20", "2027-02-28"),  # February's second half
    ("lenient", [], "2027-03-10", "2027-03-31"),
    ("lenient", ["2027-03-01"], "2027-03-10", "2027-04-30"),
]


@pytest.mark.parametrize("level, reports, today, due", ARTICLE_23_REPORT_FREQUENCY)
def test_article_23_report_frequency(level, reports, today, due):
    assert r.next_report_due(level=level, reports=[D(x) for x in reports], today=D(today)) == D(due)


def test_article_23_missed_report_periods_are_the_closed_ones_without_a_report():
    missed = r.missed_report_periods(level="strict", reports=[D("2027-03-02"), D("2027-03-17")],
                                     since=D("2027-03-01"), today=D("2027-03-24"))
    assert missed == [(D("2027-03-08"), D("2027-03-14"))]  # the open week (22nd-28th) is not yet missed


# 双八 [M]: at least 8 hours of study and 8 of community service a month; service only for those able to work
DOUBLE_EIGHT_SHORTFALL = [
    ("normal", 8, 8, True, 0, 0),
    ("normal", 6.5, 8, True, 1.5, 0),
    ("strict", 0, 3, True, 8, 5),
    ("strict", 10, 0, False, 0, 0),  # not able to work: no service hours required
]


@pytest.mark.parametrize("level, study, service, able, short_study, short_service", DOUBLE_EIGHT_SHORTFALL)
def test_double_eight_shortfall(level, study, service, able, short_study, short_service):
    s = r.monthly_shortfall(level=level, study_hours=study, service_hours=service, month=D("2027-03-01"),
                            able_to_work=able)
    assert (s.study, s.service) == (short_study, short_service) and s.any == bool(short_study or short_service)


def test_double_eight_a_province_asks_twelve_of_strict():
    t = r.HoursTable(D("2027-01-01"), {"strict": 12, "normal": 8, "lenient": 8}, {"strict": 12, "normal": 8,
                                                                                  "lenient": 8})
    assert r.monthly_shortfall(level="strict", study_hours=8, service_hours=8, month=D("2027-03-01"),
                               table=t) == r.Shortfall(4, 4)


# 严管 four-ones [M]: each week one report-in, one written report, one individual education, one visit or check
FOUR_ONES_WEEKS = [
    ([("report_in", "2027-03-08"), ("thought_report", "2027-03-09"), ("education", "2027-03-10"),
      ("visit", "2027-03-14")], "2027-03-15", ()),
    ([("report_in", "2027-03-08"), ("visit", "2027-03-15")], "2027-03-15", ("thought_report", "education", "visit")),
    ([], "2027-03-14", None),  # Sunday: the week is still open
]


@pytest.mark.parametrize("done, today, missing", FOUR_ONES_WEEKS)
def test_four_ones_weeks(done, today, missing):
    assert r.four_ones_missing(week_start=D("2027-03-08"), done=[(k, D(d)) for k, d in done],
                               today=D(today)) == missing


# 实施办法第24条 [M]: 保外就医 hospital check every 3 months, extension 1-3 months one level up, more the province
MEDICAL_PAROLE_CHECKS = [
    ("2027-01-31", 0, "2027-04-30"),
    ("2027-03-15", 0, "2027-06-15"),
    ("2027-03-15", 2, "2027-08-15"),
    ("2026-11-30", 3, "2027-05-30"),
]


@pytest.mark.parametrize("last, ext, due", MEDICAL_PAROLE_CHECKS)
def test_measures_24_medical_parole_check_deadlines(last, ext, due):
    assert r.medical_check_due(last_check=D(last), extension_months=ext) == D(due)


def test_measures_24_extension_authority_and_monthly_health_report():
    assert [r.extension_authority(m) for m in (1, 3, 4)] == [r.Authority.ABOVE, r.Authority.ABOVE, "province"]
    with pytest.raises(ValueError):
        r.extension_authority(0)
    assert r.health_report_due(D("2028-02-10")) == D("2028-02-29")


# 刑法第38条第二款、第72条第二款; 两高两部禁止令规定第6条: only 管制 and 缓刑; within the term; at least 3 (2) months
PROHIBITION_CASES = [
    # sentence, start, end, items, refused-because (a word of the reason, or "")
    ("probation", "2026-01-01", "2026-12-31", {"places": ["酒吧"]}, ""),
    ("control", "2026-01-01", "2026-03-31", {"areas": ["校园周边"]}, ""),
    ("control", "2026-01-01", "2026-03-15", {"areas": ["校园周边"]}, "不得少于3个月"),
    ("probation", "2026-01-01", "2026-02-15", {"people": ["被害人"]}, "不得少于2个月"),
    ("probation", "2026-01-01", "2026-06-30", {"people": ["被害人"]}, ""),  # the whole term, shorter than it may be
    ("parole", "2026-01-01", "2026-12-31", {"places": ["酒吧"]}, "只适用于"),
    ("probation", "2025-12-01", "2026-12-31", {"places": ["酒吧"]}, "之内"),
    ("probation", "2026-01-01", "2026-12-31", {}, "写明"),
]


@pytest.mark.parametrize("sentence, start, end, items, why", PROHIBITION_CASES)
def test_criminal_law_art_38_72_prohibition_orders(sentence, start, end, items, why):
    from apps.supervision.rules import prohibition_refusals

    term_end = D("2026-06-30") if end == "2026-06-30" else D("2026-12-31")
    out = prohibition_refusals(sentence_type=sentence, start=D(start), end=D(end), term_start=D("2026-01-01"),
                               term_end=term_end, items=items)
    assert (why in "".join(out)) if why else out == ()
