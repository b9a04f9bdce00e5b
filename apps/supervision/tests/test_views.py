"""The supervision pages as an officer meets them: a refused form keeps what was typed; the tabs and lists cost the
same number of queries whatever their length; another county's record is not found."""
from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.cases.models import Case
from apps.orgs.testing import given_staff
from apps.people.testing import given_supervisee
from apps.supervision import services

D = date.fromisoformat


@pytest.fixture
def staff(tree):
    return given_staff(tree.donghu_office, "office_staff")


def _case(tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active", management_level="strict")
    return Case.objects.get(person=p)


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as q:
        r = client.get(url)
    assert r.status_code == 200, r.content[:300]
    return len(q)


def test_a_refused_visit_keeps_what_was_typed(client, tree, officer, staff):
    c = _case(tree, officer)
    client.force_login(staff)
    r = client.post(f"/supervision/cases/{c.pk}/record/visit/", {"findings": "单位负责人反映其按时上班"})
    assert r.status_code == 422
    body = r.content.decode()
    assert "请选择查访地点" in body and "单位负责人反映其按时上班" in body
    assert not c.records.exists()
    r = client.post(f"/supervision/cases/{c.pk}/record/visit/", {"findings": "在岗", "place": "work"})
    assert r.status_code == 302 and c.records.count() == 1


def test_another_countys_record_and_request_are_not_found(client, tree, officer, staff):
    c = _case(tree, officer)
    rec = services.record_add(actor=staff, case_id=c.pk, kind="thought_report", data={"text": "汇报"}).record
    req = services.request_apply(actor=staff, case_id=c.pk, data={
        "kind": "leave", "reason": "medical", "detail": "就医", "destination": "上海市", "evidence": "诊断证明",
        "start": "2026-12-20", "end": "2026-12-22"}, today=D("2026-12-02")).record
    client.force_login(given_staff(tree.xihu, "county_officer"))
    for url in (f"/supervision/requests/{req.pk}/", f"/supervision/records/{rec.pk}/correct/",
                f"/supervision/cases/{c.pk}/record/report_in/", f"/supervision/cases/{c.pk}/hours/",
                "/supervision/requests/999999/", "/supervision/cases/99999999999999999999/hours/"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/supervision/requests/{req.pk}/act/approve/").status_code == 404
    req.refresh_from_db()
    assert req.state == "applied"


def test_the_tabs_and_lists_cost_the_same_whatever_their_length(client, tree, officer, staff):
    c = _case(tree, officer)
    client.force_login(staff)
    urls = [f"/people/{c.person_id}/?tab=checkins", f"/people/{c.person_id}/?tab=approvals", "/supervision/day/",
            "/supervision/month/", "/supervision/activities/"]
    services.record_add(actor=staff, case_id=c.pk, kind="report_in", data={})
    [_queries(client, u) for u in urls]  # warm the caches (the calendar, the session)
    first = [_queries(client, u) for u in urls]
    for i in range(6):
        services.record_add(actor=staff, case_id=c.pk, kind="visit", data={"place": "home", "findings": f"第{i}次"})
        services.record_add(actor=staff, case_id=c.pk, kind="thought_report", data={"text": f"汇报{i}"})
        services.hours_add(actor=staff, case_id=c.pk, data={"kind": "study", "hours": "1", "evidence": "证明"})
        services.request_apply(actor=staff, case_id=c.pk, data={
            "kind": "leave", "reason": "medical", "detail": "就医", "destination": "上海市", "evidence": "诊断证明",
            "start": f"2027-01-{10 + i:02d}", "end": f"2027-01-{10 + i:02d}"})
        _case(tree, officer)
    assert [_queries(client, u) for u in urls] == first


def test_proofs_are_uploaded_with_the_application_and_read_in_scope(client, tree, officer, staff, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.audit.models import AuditRecord
    from apps.supervision.models import Request

    settings.MEDIA_ROOT = tmp_path
    c = _case(tree, officer)
    client.force_login(staff)
    form = {"kind": "leave", "reason": "litigation", "detail": "出庭", "destination": "上海市", "evidence": "传票",
            "start": "2027-01-10", "end": "2027-01-11"}
    bad = client.post(f"/supervision/cases/{c.pk}/requests/new/",
                      {**form, "files": [SimpleUploadedFile("x.exe", b"MZ\x90\x00", content_type="image/png")]})
    assert bad.status_code == 422 and "不是 PDF、JPG 或 PNG" in bad.content.decode() and not Request.objects.exists()
    ok = client.post(f"/supervision/cases/{c.pk}/requests/new/",
                     {**form, "files": [SimpleUploadedFile("传票.pdf", b"%PDF-1.4 summons", content_type="application/pdf")]})
    assert ok.status_code == 302
    r = Request.objects.get()
    a = r.attachments.get()
    page = client.get(f"/supervision/requests/{r.pk}/").content.decode()
    assert "传票.pdf" in page
    got = client.get(f"/supervision/requests/{r.pk}/files/{a.pk}/")
    assert got.status_code == 200 and b"".join(got.streaming_content).startswith(b"%PDF-1.4 summons")
    assert AuditRecord.objects.filter(action="request.attachment").exists()
    client.force_login(given_staff(tree.xihu_office, "office_staff"))
    assert client.get(f"/supervision/requests/{r.pk}/files/{a.pk}/").status_code == 404
