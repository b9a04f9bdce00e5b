"""调查评估 (社区矫正法第18条; 实施办法第13条 [M]): received, assigned, found, issued within 10 working days (5 under
fast-track) on the official calendar, copied to the procuratorate, locked; or returned as impossible."""
from __future__ import annotations

from datetime import date

import pytest

from apps.audit.models import AuditRecord
from apps.cases import investigations as inv_services
from apps.cases.models import Investigation, Task
from apps.cases.services import NotPermitted, TransitionRefused
from apps.documents import render
from apps.documents.models import Document
from apps.orgs.scope import NotFound
from apps.orgs.testing import given_staff
from apps.people.services import InputErrors
from apps.people.testing import id_number

D = date.fromisoformat


def request_data(tree, **over):
    d = {"requester_kind": "court", "requester": str(tree.donghu_court.pk), "letter_number": "（2026）赣0102刑初88号委托函",
         "received_date": "2026-09-24", "subject_name": "陈立新", "subject_id_number": id_number("360102", date(1990, 5, 17), 19),
         "subject_address": "南昌市东湖区阳明路28号", "crime": "盗窃罪", "proposed": "probation"}
    d.update(over)
    return d


def _create(officer, tree, today=D("2026-09-24"), **over):
    return inv_services.investigation_create(actor=officer, data=request_data(tree, **over), today=today)


def _act(actor, inv, code, today=D("2026-09-28"), **data):
    return inv_services.investigation_transition(actor=actor, investigation_id=inv.pk, code=code, data=data,
                                                 today=today)


def test_received_the_day_before_the_mid_autumn_and_national_day_holidays(tree, officer):
    inv = _create(officer, tree)
    t = Task.objects.get(investigation=inv)
    # 09-25…09-27 and 10-01…10-07 off, Saturday 10-10 a working day: the 10th working day is 10-15
    assert t.due_date == D("2026-10-15") and not t.provisional and t.article == "社区矫正法实施办法第13条"
    assert inv.subject_birth_date == D("1990-05-17") and inv.subject_gender == "M" and not inv.is_minor
    assert inv.org_path == tree.donghu.path


def test_fast_track_is_five_working_days(tree, officer):
    inv = _create(officer, tree, fast_track="1", received_date="2026-09-30", today=D("2026-09-30"))
    assert Task.objects.get(investigation=inv).due_date == D("2026-10-13")


def test_a_request_received_late_in_december_is_provisional_until_2027_is_loaded(tree, officer):
    inv = _create(officer, tree, received_date="2026-12-28", today=D("2026-12-28"))
    t = Task.objects.get(investigation=inv)
    assert t.provisional and t.due_date == D("2027-01-11")


def test_assign_find_issue_then_locked(tree, officer):
    office = given_staff(tree.donghu_office, "office_staff")
    inv = _create(officer, tree)
    with pytest.raises(NotFound):  # not yet the office's: it does not see it
        _act(office, inv, "findings", residence="x")
    _act(officer, inv, "assign", office=tree.donghu_office.pk)
    with pytest.raises(NotPermitted):  # now it sees it, but the county agency issues the opinion
        _act(office, inv, "issue", opinion="suitable")
    with pytest.raises(TransitionRefused) as e:
        _act(officer, inv, "issue", opinion="suitable")
    assert "居住情况" in e.value.reasons[0] and "第18条" in e.value.reasons[0]
    _act(office, inv, "findings", residence="在东湖区阳明路有固定住所，与父母同住", family="家庭和睦，父母支持其接受社区矫正",
         victim="被害人已获赔偿，表示谅解", impact="社区对其评价良好，无不良影响")
    _act(officer, inv, "issue", today=D("2026-10-12"), opinion="suitable", opinion_text="")
    inv.refresh_from_db()
    assert inv.status == "issued" and inv.issued_date == D("2026-10-12")
    assert Task.objects.get(investigation=inv).state == "done"
    doc = Document.objects.get(object_type="investigation", object_id=str(inv.pk))
    text = "".join(p.extract_text() for p in __import__("pypdf").PdfReader(__import__("io").BytesIO(
        render.pdf([doc]))).pages).replace(" ", "").replace("\n", "")
    for words in ("调查评估意见书", "南昌市东湖区人民法院", "陈立新", "适宜社区矫正", "抄送：南昌市东湖区人民检察院",
                  "〔2026〕东湖区矫调评字第1号"):
        assert words in text, words
    # locked: nothing more changes
    for code, data in (("findings", {"residence": "改"}), ("issue", {"opinion": "unsuitable"}),
                       ("assign", {"office": tree.donghu_office2.pk})):
        with pytest.raises(TransitionRefused) as e:
            _act(officer, inv, code, **data)
        assert "已锁定" in e.value.reasons[0]
    # the procurator of the county sees it (the copy)
    proc = given_staff(tree.donghu_procuratorate, "procurator")
    assert inv_services.access_investigation(user=proc, investigation_id=inv.pk).pk == inv.pk
    assert AuditRecord.objects.filter(action="investigation.transition", object_id=str(inv.pk)).count() == 3


def test_cannot_investigate_is_returned_with_its_reason(tree, officer):
    inv = _create(officer, tree)
    with pytest.raises(TransitionRefused):
        _act(officer, inv, "cannot", cannot_reason="  ")
    _act(officer, inv, "cannot", cannot_reason="被告人登记的住址不实，经查无此人")
    inv.refresh_from_db()
    assert inv.status == "returned"
    doc = Document.objects.get(object_type="investigation", object_id=str(inv.pk))
    assert doc.doc_type == "investigation_impossible" and doc.title == "无法调查评估情况说明"
    assert doc.number == "〔2026〕东湖区矫调说字第1号", "its own sequence, not the opinions'"
    assert "住址不实" in render.fragment(doc).body


def test_bad_requests_are_refused_field_by_field_and_write_nothing(tree, officer):
    with pytest.raises(InputErrors) as e:
        _create(officer, tree, subject_name="<b>", subject_id_number="123", proposed="x", received_date="2099-01-01",
                letter_number="")
    assert {"subject_name", "subject_id_number", "proposed", "received_date", "letter_number"} <= set(e.value.errors)
    assert not Investigation.objects.exists() and not Task.objects.exists()
    office = given_staff(tree.donghu_office, "office_staff")
    with pytest.raises(NotPermitted):
        inv_services.investigation_create(actor=office, data=request_data(tree), today=D("2026-09-24"))


def test_a_minors_investigation_is_sealed(tree, officer):
    inv = _create(officer, tree, subject_id_number="", subject_birth_date="2010-02-02", subject_gender="F")
    assert inv.is_minor
    with pytest.raises(NotFound):
        inv_services.access_investigation(user=officer, investigation_id=inv.pk)
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    assert inv_services.access_investigation(user=granted, investigation_id=inv.pk).pk == inv.pk
    assert not inv_services.investigation_list(user=officer)


def test_the_pages(client, tree, officer):
    client.force_login(officer)
    r = client.post("/cases/investigations/", request_data(tree, received_date="2026-11-27"))
    assert r.status_code == 302
    inv = Investigation.objects.get()
    html = client.get(r["Location"]).content.decode()
    assert "陈立新" in html and "调查评估意见书出具期限" in html and 'id="act-assign"' in html
    r = client.post("/cases/investigations/", request_data(tree, subject_name=""))
    assert r.status_code == 422 and "请填写姓名" in r.content.decode()
    html = client.get("/cases/investigations/").content.decode()
    assert "陈立新" in html
    client.force_login(given_staff(tree.xihu, "county_officer"))
    assert client.get(f"/cases/investigations/{inv.pk}/").status_code == 404
    assert "陈立新" not in client.get("/cases/investigations/").content.decode()


def test_the_list_logs_its_names_and_keeps_its_query_count(client, tree, officer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for i in range(3):
        _create(officer, tree, subject_id_number="", subject_birth_date="1990-01-01", subject_gender="M",
                subject_name=f"陈{'一二三'[i]}")
    client.force_login(officer)
    client.get("/cases/investigations/")
    with CaptureQueriesContext(connection) as q:
        client.get("/cases/investigations/")
    n = len(q.captured_queries)
    for i in range(6):
        _create(officer, tree, subject_id_number="", subject_birth_date="1990-01-01", subject_gender="F",
                subject_name=f"李{'一二三四五六'[i]}")
    with CaptureQueriesContext(connection) as q2:
        client.get("/cases/investigations/")
    assert len(q2.captured_queries) == n, "no query per row"
    rec = AuditRecord.objects.filter(action="investigation.view", actor=officer).latest("id")
    assert len(rec.after["ids"]) == 9


@pytest.mark.parametrize("value", ["²", "abc", "99999999999999999999999"])
def test_odd_ids_in_the_forms_are_refused_in_words(tree, officer, value):
    with pytest.raises(InputErrors):
        _create(officer, tree, requester=value, requester_name="")
    inv = _create(officer, tree)
    with pytest.raises(TransitionRefused):
        _act(officer, inv, "assign", office=value)


def test_a_prison_asks_before_parole_and_is_named_in_the_opinion(tree, officer):
    """实施办法第12条: a prison (监狱管理机关) may ask before proposing parole; it is an organisation the county picks,
    and the opinion calls the subject 罪犯, not 被告人."""
    from apps.orgs.services import org_create
    from apps.orgs.rules import OrgKind
    prison = org_create(actor=None, name="江西省南昌监狱", kind=OrgKind.PRISON, parent=tree.province, adcode="360000")
    assert prison in inv_services.requesters_for(officer)
    assert prison not in inv_services.requesters_for(given_staff(tree.donghu_office, "office_staff"))
    inv = _create(officer, tree, requester_kind="prison", requester=str(prison.pk), proposed="parole")
    assert (inv.requester_id, inv.requester_name) == (prison.pk, "江西省南昌监狱")
    with pytest.raises(InputErrors) as e:  # a court picked under the prison heading is refused
        _create(officer, tree, requester_kind="prison", requester=str(tree.donghu_court.pk))
    assert "requester" in e.value.errors
    _act(officer, inv, "assign", office=tree.donghu_office.pk)
    _act(officer, inv, "findings", residence="出监后与父母同住于东湖区阳明路", family="父母愿意协助监管",
         victim="被害人已获赔偿", impact="社区无不良反映")
    _act(officer, inv, "issue", opinion="suitable")
    doc = Document.objects.get(object_type="investigation", object_id=str(inv.pk))
    text = "".join(p.extract_text() for p in __import__("pypdf").PdfReader(__import__("io").BytesIO(
        render.pdf([doc]))).pages).replace(" ", "").replace("\n", "")
    assert "江西省南昌监狱" in text and "罪犯陈立新" in text and "被告人" not in text
