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
    ("parole", "medical", "只适用于暂予监外执行"),
    ("control", "pregnant", "只适用于暂予监外执行"),
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


def test_a_probation_takes_no_ground(tree, officer):
    with pytest.raises(services.InputErrors) as e:
        given_supervisee(officer, office=tree.donghu_office, temporary_ground="medical")
    assert "只适用于暂予监外执行" in e.value.errors["temporary_ground"]
    assert given_supervisee(officer, office=tree.donghu_office).temporary_ground == ""


def test_the_form_offers_the_grounds_and_says_inline_which_is_missing(client, tree, officer):
    client.force_login(officer)
    page = client.get("/people/new/").content.decode()
    assert 'name="temporary_ground"' in page and ">怀孕或者正在哺乳自己婴儿</option>" in page
    data = supervisee_data(tree.donghu_office, sentence_type="medical_parole", **PAROLE_DATES)
    r = client.post("/people/new/", {**data, "temporary_ground": ""})
    assert r.status_code == 422 and not Supervisee.objects.exists()
    assert 'data-field="temporary_ground">请选择暂予监外执行情形' in r.content.decode()  # inline, in Chinese
    r = client.post("/people/new/", {**data, "temporary_ground": "incapable"})
    assert r.status_code == 302
    s = Supervisee.objects.get()
    assert s.temporary_ground == "incapable"
    assert 'id="temporary-ground">生活不能自理' in client.get(f"/people/{s.pk}/").content.decode()
    html = client.get(f"/people/{s.pk}/?tab=case").content.decode()
    assert 'id="case-ground">暂予监外执行情形：生活不能自理' in html


def test_a_record_from_before_the_ground_keeps_its_blank_and_is_supervised_as_medical(client, tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office, sentence_type="medical_parole", **PAROLE_DATES)
    Supervisee.objects.filter(pk=s.pk).update(temporary_ground="")  # as the migration leaves an existing row
    c = Case.objects.get(person=s)
    Case.objects.filter(pk=c.pk).update(judgment={k: v for k, v in c.judgment.items() if k != "temporary_ground"})
    client.force_login(officer)
    r = client.post(f"/people/{s.pk}/edit/", supervisee_data(tree.donghu_office, id_number=s.id_number,
                                                            phone="13907910077"))
    assert r.status_code == 302, r.content.decode()[:500]
    s.refresh_from_db()
    assert s.phone == "13907910077" and s.temporary_ground == ""
    assert "未登记（按保外就医监管）" in client.get(f"/people/{s.pk}/").content.decode()
    assert "未登记（按保外就医监管）" in client.get(f"/people/{s.pk}/?tab=case").content.decode()


def test_a_changed_judgment_carries_the_ground_onto_the_case(client, tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office, sentence_type="medical_parole", **PAROLE_DATES)
    c = Case.objects.get(person=s)
    client.force_login(officer)
    page = client.get(f"/cases/{c.pk}/judgment/").content.decode()
    assert 'name="temporary_ground"' in page
    data = {**supervisee_data(tree.donghu_office, sentence_type="medical_parole", **PAROLE_DATES),
            "temporary_ground": "pregnant", "reason": "correction"}
    assert client.post(f"/cases/{c.pk}/judgment/", data).status_code == 302
    c.refresh_from_db()
    s.refresh_from_db()
    assert c.judgment["temporary_ground"] == "pregnant" and s.temporary_ground == "pregnant"
    r = client.post(f"/cases/{c.pk}/judgment/", {**data, "temporary_ground": ""})
    assert r.status_code == 422 and "请选择暂予监外执行情形" in r.content.decode()


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


def test_the_export_writes_the_label_and_the_template_offers_the_list(client, tree, officer):
    import io

    from openpyxl import load_workbook

    from apps.people import sheets

    given_supervisee(officer, office=tree.donghu_office, sentence_type="medical_parole", temporary_ground="pregnant",
                     male=False, **PAROLE_DATES)
    given_supervisee(officer, office=tree.donghu_office)
    client.force_login(officer)
    r = client.post("/people/export/", {})
    ws = load_workbook(io.BytesIO(r.content)).active
    col = [h for _, h, _, _ in sheets.COLUMNS].index("暂予监外执行情形")
    assert sorted(str(row[col] or "") for row in ws.iter_rows(min_row=2, values_only=True)) == [
        "", "怀孕或者正在哺乳自己婴儿"]
    wb = load_workbook(io.BytesIO(sheets.template_bytes()))
    assert any("保外就医" in (dv.formula1 or "") for dv in wb.active.data_validations.dataValidation)
    assert any("暂予监外执行情形" in str(c.value) for c in wb["填写说明"]["A"])
