"""Identity and sentence rules, as tables a legal officer can read. No database."""
import csv
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.people import rules
from apps.people.rules import Sentence, SentenceType

TODAY = date(2026, 11, 22)
VECTORS = Path(__file__).parent / "data" / "id_number_test_vectors.csv"  # copied from shared/data/cn_id


def _vectors():
    with VECTORS.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("row", _vectors(), ids=lambda r: f"{r['case']}-{r['id_number']}")
def test_gb11643_id_vectors(row):
    if row["expected_valid"] == "1":
        info = rules.parse_id_number(row["id_number"], today=TODAY)
        assert info.number == row["id_number"].upper()
        assert info.birth_date.isoformat() == row["birth_date"]
        assert info.gender == row["sex"]
        assert info.region == row["region_code"]
    else:
        with pytest.raises(rules.IdError):
            rules.parse_id_number(row["id_number"], today=TODAY)


@pytest.mark.parametrize("raw,message", [
    ("11010519491231002Y", "最后一位"),
    ("110105194912310021", "校验码错误"),
    ("11010519490231002X", "出生日期不存在"),
    ("1101051949123100", "应为18位"),
    ("110105491231002", "旧式15位"),
])
def test_id_errors_say_what_is_wrong(raw, message):
    with pytest.raises(rules.IdError, match=message):
        rules.parse_id_number(raw, today=TODAY)


@given(st.integers(min_value=0, max_value=10**17 - 1))
def test_check_digit_detects_any_single_digit_change(n):
    first17 = f"{n:017d}"
    digit = rules.id_check_digit(first17)
    for pos in range(17):
        changed = first17[:pos] + str((int(first17[pos]) + 1) % 10) + first17[pos + 1:]
        assert rules.id_check_digit(changed) != digit


@pytest.mark.parametrize("raw,ok", [
    ("张三", True), ("欧阳娜娜", True), ("阿依古丽·买买提", True), ("阿依古丽•买买提", True), ("John Smith", True),
    ("<script>alert(1)</script>", False), ("张三<b>", False), ("张三1", False), ("", False), ("张" * 31, False),
])
def test_person_names_refuse_markup_and_digits(raw, ok):
    if ok:
        assert rules.clean_person_name(raw)
    else:
        with pytest.raises(rules.TextError):
            rules.clean_person_name(raw)


def test_free_text_refuses_markup():
    with pytest.raises(rules.TextError, match="尖括号"):
        rules.clean_text('八一大道<img src=x onerror=alert(1)>', label="地址")
    assert rules.clean_text("  八一大道100号 ", label="地址") == "八一大道100号"


@pytest.mark.parametrize("phone,ok", [("13807910001", True), ("0791-86123456", True), ("12345", False),
                                      ("23807910001", False), ("138079100011", False)])
def test_phone_numbers(phone, ok):
    if ok:
        assert rules.clean_phone(phone) == phone
    else:
        with pytest.raises(rules.TextError):
            rules.clean_phone(phone)


def test_masks():
    assert rules.mask_id("11010519491231002X") == "1101**********002X"
    assert rules.mask_name("张三") == "张*"
    assert rules.mask_name("欧阳娜娜") == "欧***"


# 刑法第41/73/83条 and 刑事诉讼法第268条: when supervision starts and ends.
PERIODS = [
    # type, judgment, effective, months, detention days, release, sentence end -> start, end
    ("probation", "2026-01-05", "2026-01-10", 12, 0, None, None, "2026-01-10", "2027-01-09"),
    ("probation", "2025-12-20", "2026-01-31", 1 * 24, 0, None, None, "2026-01-31", "2028-01-30"),
    ("probation", "2025-11-20", "2025-11-30", 3, 0, None, None, "2025-11-30", "2026-02-27"),  # Feb has 28 days
    ("control", "2026-03-01", "2026-03-11", 12, 0, None, None, "2026-03-11", "2027-03-10"),
    ("control", "2026-03-01", "2026-03-11", 12, 30, None, None, "2026-03-11", "2027-01-09"),  # 30 days held = 60 days off
    ("parole", "2026-06-01", "2026-06-01", None, 0, "2026-06-05", "2028-03-14", "2026-06-05", "2028-03-14"),
    ("medical_parole", "2026-05-01", "2026-05-01", None, 0, "2026-05-03", "2027-05-02", "2026-05-03", "2027-05-02"),
]


@pytest.mark.parametrize("t,jd,ed,months,held,rel,end,want_start,want_end", PERIODS)
def test_supervision_period_xingfa_41_73_83(t, jd, ed, months, held, rel, end, want_start, want_end):
    d = date.fromisoformat
    p = rules.supervision_period(Sentence(SentenceType(t), d(jd), d(ed), months, held,
                                          d(rel) if rel else None, d(end) if end else None))
    assert p.ok, p.errors
    assert (p.start.isoformat(), p.end.isoformat()) == (want_start, want_end)
    assert "第" in p.basis  # every period names the article it applies


@pytest.mark.parametrize("sentence,field,message", [
    (Sentence(SentenceType.PROBATION, date(2026, 5, 1), date(2026, 4, 1), 12), "effective_date", "不能早于"),
    (Sentence(SentenceType.PROBATION, date(2026, 5, 1), date(2026, 5, 10)), "term_months", "缓刑考验期"),
    (Sentence(SentenceType.PROBATION, date(2026, 5, 1), date(2026, 5, 10), 61), "term_months", "2至60"),
    (Sentence(SentenceType.CONTROL, date(2026, 5, 1), date(2026, 5, 10), 25), "term_months", "3至24"),
    (Sentence(SentenceType.CONTROL, date(2026, 5, 1), date(2026, 5, 10), 3, 60), "detention_days", "执行完毕"),
    (Sentence(SentenceType.PAROLE, date(2026, 5, 1), date(2026, 5, 1)), "release_date", "出监"),
    (Sentence(SentenceType.PAROLE, date(2026, 5, 1), date(2026, 5, 1), release_date=date(2026, 5, 5),
              sentence_end_date=date(2026, 5, 4)), "sentence_end_date", "晚于"),
    (Sentence(SentenceType.MEDICAL_PAROLE, date(2026, 5, 1), date(2026, 5, 1), release_date=date(2026, 4, 5),
              sentence_end_date=date(2027, 5, 4)), "release_date", "不能早于"),
])
def test_supervision_period_refuses_dates_out_of_order(sentence, field, message):
    p = rules.supervision_period(sentence)
    assert not p.ok
    assert message in p.errors[field]


@pytest.mark.parametrize("born,start,minor", [
    ("2008-11-23", "2026-11-22", True),   # 17 the day before the 18th birthday
    ("2008-11-22", "2026-11-22", False),  # 18 on the day
    ("2009-02-28", "2026-03-01", True),
])
def test_shequ_jiaozheng_fa_58_minor_is_fixed_at_start(born, start, minor):
    assert rules.is_minor_case(date.fromisoformat(born), date.fromisoformat(start)) is minor


def test_shequ_jiaozheng_fa_25_52_team_composition():
    M, F = rules.Member("M"), rules.Member("F")
    assert rules.team_problems(gender="M", minor=False, members=[]) == ["尚未组建矫正小组（社区矫正法第25条）"]
    assert rules.team_problems(gender="F", minor=False, members=[M, M])[0].startswith("矫正对象为女性")
    assert rules.team_problems(gender="F", minor=False, members=[M, F]) == []
    assert "第52条" in rules.team_problems(gender="M", minor=True, members=[M])[0]
    assert rules.team_problems(gender="M", minor=True, members=[rules.Member("M", knows_minors=True)]) == []


def test_the_id_validator_agrees_with_python_stdnum():
    """GB 11643 as python-stdnum implements it (stdnum.cn.ric): the same check digits, the same birth dates, the
    same numbers refused. One deliberate difference: stdnum also refuses a region code that did not exist in the
    birth year (东湖区 360102 dates from 1983), but a number is given when a person registers, with the code of
    that time, so a 1961-born resident of 东湖区 really holds 360102…; we accept it, and compare the rest."""
    import random
    from datetime import date, timedelta

    from stdnum.cn import ric

    rng = random.Random(11643)
    today = date(2026, 12, 1)
    for _ in range(3000):
        born = date(1940, 1, 1) + timedelta(days=rng.randint(0, 30000))
        first17 = f"{rng.choice(['360102', '110101', '440305', '510107'])}{born:%Y%m%d}{rng.randint(0, 999):03d}"
        good = first17 + rules.id_check_digit(first17)
        bad = first17 + rng.choice([c for c in "0123456789X" if c != good[-1]])
        for number in (good, bad):
            ours = True
            try:
                rules.parse_id_number(number, today=today)
            except rules.IdError:
                ours = False
            theirs = ric.calc_check_digit(number) == number[-1] and ric.get_birth_date(number) <= today
            assert ours == theirs, number
        assert ric.get_birth_date(good) == rules.parse_id_number(good, today=today).birth_date
        if born.year >= 1990:  # where the region codes are old enough for stdnum's own check
            assert ric.is_valid(good) and not ric.is_valid(bad)
