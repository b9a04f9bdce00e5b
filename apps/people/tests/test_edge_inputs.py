"""Odd input gets a clear answer and changes nothing; what the log keeps of a search is masked; a file built for a
reader is not served once the reader may no longer see it."""
import io
import zipfile

import pytest
from openpyxl import Workbook

from apps.audit.models import AuditRecord
from apps.orgs.services import staff_set_minor_access
from apps.orgs.testing import TODAY, given_staff
from apps.people import rules, services, sheets
from apps.people.models import ExportJob
from apps.people.testing import given_supervisee, supervisee_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("q,logged", [("360102199005170756", "36**************56"), ("13807910001", "13*******01"),
                                      ("19900517", "********"), ("360102199", "*********"), ("王小明", "王**"),
                                      ("0756", "****"), ("", "")])
def test_what_a_search_leaves_in_the_log_is_masked(q, logged):
    assert rules.mask_query(q) == logged


def test_an_export_logs_its_search_masked(client, officer, tree):
    s = given_supervisee(officer, office=tree.donghu_office)
    client.force_login(officer)
    client.post("/people/export/", {"q": s.id_number})
    rec = AuditRecord.objects.get(action="supervisee.export")
    assert s.id_number not in str(rec.after) and rec.after["filters"]["q"] == rules.mask_query(s.id_number)
    assert rec.after["ids"] == [s.pk]


def test_registering_a_minor_without_the_grant_lands_on_the_list_not_on_a_refusal(client, tree):
    officer = given_staff(tree.donghu, "county_officer")
    client.force_login(officer)
    data = supervisee_data(tree.donghu_office, born=__import__("datetime").date(2010, 3, 3), name="李小龙")
    r = client.post("/people/new/", data, follow=True)
    assert r.status_code == 200 and r.redirect_chain[-1][0] == "/people/"
    assert "档案已封存" in r.content.decode()
    assert not AuditRecord.objects.filter(action="supervisee.sealed_refused").exists()


def test_a_kept_export_is_not_served_after_the_grant_is_withdrawn(client, tree, settings,
                                                                  django_capture_on_commit_callbacks):
    settings.ZHIJIAO_EXPORT_INLINE_MAX = 0
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    given_supervisee(granted, office=tree.donghu_office, minor=True, name="李小龙")
    client.force_login(granted)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/people/export/", {})
    job = ExportJob.objects.get()
    assert job.revealed_minors and client.get(f"/people/exports/{job.pk}/download/").status_code == 200
    admin = given_staff(tree.province, "sysadmin")
    staff_set_minor_access(actor=admin, user=granted, granted=False, reason="调岗")
    granted.refresh_from_db()
    client.force_login(granted)
    assert client.get(f"/people/exports/{job.pk}/download/").status_code == 404


def test_a_team_removal_reason_that_is_not_plain_text_is_refused_in_words(client, officer, tree):
    s = given_supervisee(officer, office=tree.donghu_office)
    m = services.team_member_add(actor=officer, supervisee=s, data={"name": "刘芳", "kind": "office", "gender": "F"})
    client.force_login(officer)
    for reason in ("=调离", "<b>调离</b>"):
        r = client.post(f"/people/{s.pk}/team/{m.pk}/remove/", {"reason": reason}, follow=True)
        assert r.status_code == 200 and "未完成" in r.content.decode()
    assert s.team.count() == 1


def _damaged_sheet() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([h for _, h, _, _ in sheets.COLUMNS])
    ws.append(["张三"] * len(sheets.COLUMNS))
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]  # the XML cut in half
            z.writestr(item, data)
    return out.getvalue()


def test_a_damaged_sheet_gets_a_clear_error(client, officer):
    client.force_login(officer)
    f = io.BytesIO(_damaged_sheet())
    f.name = "broken.xlsx"
    r = client.post("/people/import/", {"file": f})
    assert r.status_code == 422 and "文件已损坏" in r.content.decode()


def test_a_date_cell_far_outside_the_centuries_is_refused(officer, tree):
    from datetime import date

    data = supervisee_data(tree.donghu_office, sentence_type="parole", release_date=date(2026, 9, 12),
                           sentence_end_date=date(9999, 12, 31), term_months=None)
    with pytest.raises(services.InputErrors) as exc:
        services.supervisee_create(actor=officer, data=data, today=TODAY)
    assert "1900" in exc.value.errors["sentence_end_date"]


@pytest.mark.parametrize("url,method,body", [
    ("/people/?q=%00x", "get", None), ("/audit/?actor=a%00", "get", None),
    ("/people/new/", "post", {"name": "王\x00"}), ("/api/v1/supervisees?q=%00", "get", None),
])
def test_a_nul_character_anywhere_is_a_clear_400(client, officer, url, method, body):
    client.force_login(officer)
    r = getattr(client, method)(url, body) if body else getattr(client, method)(url)
    assert r.status_code in (400, 401) and (r.status_code == 401 or "非法字符" in r.content.decode())


def test_a_grant_given_between_request_and_build_does_not_reach_the_file(client, tree, settings,
                                                                       django_capture_on_commit_callbacks):
    """Asked without the grant, built with it, then withdrawn: the file was built as the request could see."""
    from openpyxl import load_workbook

    settings.ZHIJIAO_EXPORT_INLINE_MAX = 0
    officer = given_staff(tree.donghu, "county_officer")
    given_supervisee(given_staff(tree.donghu, "county_officer", minor_access=True), office=tree.donghu_office,
                     minor=True, name="李小龙")
    client.force_login(officer)
    client.post("/people/export/", {})  # queued (the on-commit job is not run yet)
    job = ExportJob.objects.get()
    admin = given_staff(tree.province, "sysadmin")
    staff_set_minor_access(actor=admin, user=officer, granted=True, reason="临时")
    services.export_job_build(job_id=job.pk)
    job.refresh_from_db()
    officer.refresh_from_db()
    client.force_login(officer)
    data = client.get(f"/people/exports/{job.pk}/download/").content
    names = [r[0] for r in load_workbook(io.BytesIO(data)).active.iter_rows(min_row=2, values_only=True)]
    assert names == ["李**"]


def test_an_api_body_with_a_nul_is_refused_whatever_its_label(client):
    for ctype in ("text/plain", "Application/JSON", "application/json; charset=utf-8"):
        r = client.generic("POST", "/api/v1/auth/token", '{"username": "a\\u0000", "password": "x"}',
                           content_type=ctype)
        assert r.status_code == 400, ctype
