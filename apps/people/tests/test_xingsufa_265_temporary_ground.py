"""刑事诉讼法第265条: a 暂予监外执行 is decided on one of three grounds (保外就医; pregnancy or nursing one's baby;
unable to care for oneself). The ground is part of the judgment: required for 暂予监外执行, absent otherwise, taken
from a form (code) or a sheet (its Chinese label), and carried onto the case."""
from __future__ import annotations

import pytest

from apps.cases.models import Case
from apps.orgs.testing import TODAY
from apps.people import rules, services
from apps.people.models import Supervisee
from apps.people.sheets import HEADER_TO_KEY
from apps.people.testing import given_supervisee, supervisee_data

PAROLE_DATES = {"original_penalty": "有期徒刑二年，暂予监外执行", "judgment_date": "2026-09-01",
                "effective_date": "2026-09-01", "release_date": "2026-09-12", "sentence_end_date": "2027-09-11",
                "term_months": ""}


@pytest.mark.parametrize("sentence_type, ground, problem", [
    ("medical_parole", "medical", None),
    ("medical_parole", "pregnant", None),
    ("medical_parole", "incapable", None),
    ("medical_parole", "", "请选择暂予监外执行情形"),
    ("medical_parole", "sick", "请选择暂予监外执行情形"),
    ("probation", "", None),
    ("parole", "medical", "只有暂予监外执行"),
])
def test_xingsufa_265_ground_table(sentence_type, ground, problem):
    got = rules.ground_problem(sentence_type, ground)
    assert (got is None) if problem is None else (problem in got)


def test_the_ground_is_required_for_a_temporary_execution_and_written_onto_the_case(tree, officer):
    data = supervisee_data(tree.donghu_office, sentence_type="medical_parole", **PAROLE_DATES)
    data.pop("temporary_ground")
    with pytest.raises(services.InputErrors) as e:
        services.supervisee_create(actor=officer, data=data, today=TODAY)
    assert "第265条" in e.value.errors["temporary_ground"] and not Supervisee.objects.exists()
    s = services.supervisee_create(actor=officer, data={**data, "temporary_ground": "怀孕或者正在哺乳自己婴儿"},
                                   today=TODAY)
    assert s.temporary_ground == "pregnant"
    assert Case.objects.get(person=s).judgment["temporary_ground"] == "pregnant"
    with pytest.raises(services.InputErrors) as e:
        services.supervisee_create(actor=officer, data={**data, "temporary_ground": "病重"}, today=TODAY)
    assert "保外就医" in e.value.errors["temporary_ground"]


def test_a_probation_keeps_no_ground(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office, temporary_ground="medical")
    assert s.sentence_type == "probation" and s.temporary_ground == ""


def test_the_sheet_has_the_column_and_an_import_takes_the_label(tree, officer):
    assert HEADER_TO_KEY["暂予监外执行情形"] == "temporary_ground"
    rows = [supervisee_data(tree.donghu_office, sentence_type="medical_parole", temporary_ground="生活不能自理",
                            **PAROLE_DATES),
            supervisee_data(tree.donghu_office, sentence_type="medical_parole", temporary_ground="",
                            **PAROLE_DATES)]
    with pytest.raises(services.ImportRefused) as e:
        services.supervisee_import(actor=officer, rows=list(enumerate(rows, start=2)), today=TODAY)
    assert [n for n, _ in e.value.problems] == [3] and "暂予监外执行情形" in str(e.value.problems)
    done = services.supervisee_import(actor=officer, rows=list(enumerate(rows[:1], start=2)), today=TODAY)
    assert Supervisee.objects.get(pk=done.created[0].pk).temporary_ground == "incapable"
