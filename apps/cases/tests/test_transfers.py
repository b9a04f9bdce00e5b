"""执行地变更 (社区矫正法第27条; 实施办法第30-31条 [M]): two agencies, each step on its timer, the case changing
jurisdiction only when the new agency confirms receipt; the old agency supervises until then."""
from __future__ import annotations

from datetime import date

import pytest

from apps.cases import services
from apps.cases.models import Case, Task, Transfer
from apps.cases.services import NotPermitted, TransitionRefused
from apps.documents.models import Document
from apps.orgs.scope import NotFound
from apps.orgs.testing import TODAY, given_staff
from apps.people.models import Supervisee
from apps.people.services import supervisee_register
from apps.people.testing import supervisee_data

D = date.fromisoformat


@pytest.fixture
def two(tree, officer):
    p = supervisee_register(actor=officer, data=supervisee_data(tree.donghu_office, status="active"), today=TODAY)
    return p, Case.objects.get(person=p), given_staff(tree.xihu, "county_officer"), \
        given_staff(tree.donghu_office, "office_staff")


def _act(actor, case, code, today=D("2026-11-22"), **data):
    return services.case_transition(actor=actor, case_id=case.pk, code=code, data=data, today=today)


def _through_receipt(tree, officer, two):
    """东湖 to 西湖, every step agreed, up to the receiving county's receipt."""
    p, c, xihu, office = two
    _act(office, c, "transfer_apply", to_county=tree.xihu.pk, new_address="西湖区孺子路1号", planned_date="2027-01-05")
    _act(office, c, "transfer_office_view", office_view="同意")
    _act(officer, c, "transfer_letter_sent")
    _act(xihu, c, "transfer_answered", agree="yes")
    _act(officer, c, "transfer_decided")
    _act(officer, c, "transfer_files_sent")
    _act(xihu, c, "transfer_received", new_office=tree.xihu_office.pk)


def _open(case):
    return {t.kind: t for t in Task.objects.filter(case=case, state="open")}


def test_a_transfer_from_application_to_receipt(tree, officer, two):
    p, c, xihu, office = two
    with pytest.raises(TransitionRefused) as e:
        _act(office, c, "transfer_apply", to_county=tree.xihu.pk, new_address="西湖区孺子路1号",
             planned_date="2026-12-10")
    assert "提前一个月" in e.value.reasons[0]
    _act(office, c, "transfer_apply", to_county=tree.xihu.pk, new_address="西湖区孺子路1号", reason="随子女居住",
         planned_date="2027-01-05")
    c.refresh_from_db()
    assert c.status == "transferring" and _open(c)["transfer_letter"].due_date == D("2026-11-27")
    with pytest.raises(TransitionRefused):  # the office's view comes first
        _act(officer, c, "transfer_letter_sent")
    _act(office, c, "transfer_office_view", office_view="同意，其子女在西湖区有固定住所")
    _act(officer, c, "transfer_letter_sent", today=D("2026-11-24"))
    answer = _open(c)["transfer_answer"]
    assert answer.org == tree.xihu and answer.due_date == D("2026-11-30")  # the 5th day is a Sunday
    assert Document.objects.filter(object_id=str(c.pk), doc_type="transfer_letter").exists()
    # the sending county cannot answer for the receiving one, nor the other way round
    with pytest.raises(NotPermitted):
        _act(officer, c, "transfer_answered", agree="yes")
    with pytest.raises(NotPermitted):
        _act(xihu, c, "transfer_decided")
    _act(xihu, c, "transfer_answered", today=D("2026-11-26"), agree="yes", answer_note="同意接收")
    _act(officer, c, "transfer_decided", today=D("2026-11-27"))
    tasks = _open(c)
    assert tasks["transfer_files"].org == tree.donghu and tasks["transfer_files"].due_date == D("2026-12-02")
    assert tasks["transfer_report"].org == tree.xihu and tasks["transfer_report"].due_date == D("2026-12-04")
    assert "变更执行地决定书" == Document.objects.get(object_id=str(c.pk), doc_type="transfer_decision").title
    # still the old county's case
    p.refresh_from_db()
    assert p.org_path == tree.donghu_office.path
    _act(officer, c, "transfer_files_sent", today=D("2026-11-28"))
    with pytest.raises(TransitionRefused) as e:  # an office of another county
        _act(xihu, c, "transfer_received", today=D("2026-11-30"), new_office=tree.donghu_office2.pk)
    assert "所属的司法所" in e.value.reasons[0]
    _act(xihu, c, "transfer_received", today=D("2026-11-30"), new_office=tree.xihu_office.pk)
    c.refresh_from_db()
    p.refresh_from_db()
    assert c.status == "active" and c.execution_county == tree.xihu and c.org_path == tree.xihu_office.path
    assert p.org_path == tree.xihu_office.path and p.execution_county_id == tree.xihu.pk
    tr = Transfer.objects.get(case=c)
    assert not tr.is_open and tr.stage == "received"
    # the report-in at the new county is still awaited there, and recorded there
    assert "transfer_report" in _open(c)
    _act(xihu, c, "transfer_reported", today=D("2026-12-01"), reported_date="2026-12-01")
    assert "transfer_report" not in _open(c)
    # the old county no longer sees the case
    with pytest.raises(NotFound):
        _act(officer, c, "abscond")


def test_a_refusal_ends_the_transfer_and_the_case_stays(tree, officer, two):
    p, c, xihu, office = two
    _act(office, c, "transfer_apply", to_county=tree.xihu.pk, new_address="西湖区孺子路1号", planned_date="2027-01-05")
    _act(office, c, "transfer_office_view", office_view="同意")
    _act(officer, c, "transfer_letter_sent")
    _act(xihu, c, "transfer_answered", agree="no", answer_note="无固定住所")
    with pytest.raises(TransitionRefused):
        _act(officer, c, "transfer_decided")
    _act(officer, c, "transfer_closed")
    c.refresh_from_db()
    assert c.status == "active" and c.execution_county == tree.donghu
    assert not {k for k in _open(c) if k.startswith("transfer_")}


def test_both_counties_see_the_transfer_page_and_no_one_else(client, tree, officer, two):
    p, c, xihu, office = two
    _act(office, c, "transfer_apply", to_county=tree.xihu.pk, new_address="西湖区孺子路1号", planned_date="2027-01-05")
    _act(office, c, "transfer_office_view", office_view="同意")
    _act(officer, c, "transfer_letter_sent")
    client.force_login(xihu)
    html = client.get(f"/cases/{c.pk}/transfer/").content.decode()
    assert "本机构为新执行地" in html and 'id="act-transfer_answered"' in html
    assert client.get(f"/people/{p.pk}/").status_code == 404, "not the new county's record before receipt"
    assert "执行地变更：函复是否同意接收" in client.get("/cases/work/?b=week").content.decode() or \
        "执行地变更：函复是否同意接收" in client.get("/cases/work/?b=today").content.decode() or \
        "执行地变更：函复是否同意接收" in client.get("/cases/work/?b=overdue").content.decode()
    client.force_login(officer)
    html = client.get(f"/cases/{c.pk}/transfer/").content.decode()
    assert "本机构为原执行地" in html and 'id="act-transfer_answered"' not in html
    other = given_staff(tree.donghu_procuratorate, "procurator")
    client.force_login(other)
    assert client.get(f"/cases/{c.pk}/transfer/").status_code == 200  # the procuratorate overseeing the old county
    client.force_login(given_staff(tree.xihu_procuratorate, "procurator"))
    assert client.get(f"/cases/{c.pk}/transfer/").status_code == 200
    stranger = given_staff(tree.city, "city_supervisor")
    client.force_login(stranger)
    assert client.get(f"/cases/{c.pk}/transfer/").status_code == 200  # the city sees both counties
    assert Supervisee.objects.get(pk=p.pk).org_path == tree.donghu_office.path


def test_the_receiving_county_records_the_report_in_on_the_transfer_page(client, tree, officer, two):
    p, c, xihu, office = two
    _through_receipt(tree, officer, two)
    client.force_login(xihu)
    html = client.get(f"/cases/{c.pk}/transfer/").content.decode()
    assert 'id="act-transfer_reported"' in html and 'id="act-transfer_received"' not in html


def test_the_file_moves_with_the_case_and_the_sending_countys_view_ends(client, tree, officer, two):
    from apps.documents.models import Document

    p, c, xihu, office = two
    _through_receipt(tree, officer, two)
    docs = Document.objects.filter(object_type="case", object_id=str(c.pk))
    assert docs.count() == 2 and set(docs.values_list("org_path", flat=True)) == {tree.xihu_office.path}
    client.force_login(xihu)
    assert client.get(f"/documents/{docs[0].pk}.pdf").status_code == 200
    assert client.get(f"/cases/{c.pk}/file.pdf").status_code == 200
    client.force_login(officer)
    assert client.get(f"/documents/{docs[0].pk}.pdf").status_code == 404
    assert client.get(f"/cases/{c.pk}/transfer/").status_code == 404


@pytest.mark.parametrize("value", ["²", "1e3", "-1", "", "99999999999999999999999"])
def test_odd_organisation_values_are_refused_not_a_server_error(tree, officer, two, value):
    p, c, xihu, office = two
    with pytest.raises(TransitionRefused):
        _act(office, c, "transfer_apply", to_county=value, new_address="西湖区", planned_date="2027-01-05")


def test_a_huge_case_id_is_not_found(client, officer):
    client.force_login(officer)
    for url in ("/cases/99999999999999999999999/transfer/", "/cases/99999999999999999999999/file.pdf"):
        assert client.get(url).status_code == 404
    assert client.post("/cases/99999999999999999999999/act/report_in/").status_code == 404


def test_a_transfer_to_the_same_county_or_beyond_the_term_is_refused(tree, officer, two):
    p, c, xihu, office = two
    with pytest.raises(TransitionRefused) as e:
        _act(office, c, "transfer_apply", to_county=tree.donghu.pk, new_address="东湖区", planned_date="2027-01-05")
    assert "相同" in e.value.reasons[0]
    with pytest.raises(TransitionRefused) as e:
        _act(office, c, "transfer_apply", to_county=tree.xihu.pk, new_address="西湖区", planned_date="2099-01-05")
    assert "晚于矫正期满日" in " ".join(e.value.reasons)
    _act(office, c, "transfer_apply", to_county=tree.xihu.pk, new_address="西湖区", planned_date="2027-01-05")
    with pytest.raises(TransitionRefused) as e:  # the office's view needs words
        _act(office, c, "transfer_office_view", office_view="")
    assert "请填写司法所意见" in e.value.reasons[0]
