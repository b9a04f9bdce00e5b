"""Excel out and in: the export follows the filters it was given, masks minors, logs whom it read, can be imported
again, and becomes a background job with progress when it is big; an import is staged in the file storage (so
any web process can confirm it) and confirmed once."""
import io
from urllib.parse import urlencode

import pytest
from django.core.files.storage import default_storage
from openpyxl import load_workbook

from apps.audit.models import AuditRecord
from apps.orgs.testing import TODAY, given_staff
from apps.people import services, sheets
from apps.people.models import ExportJob, StagedImport, Supervisee
from apps.people.testing import given_supervisee, sheet_file, sheet_row, supervisee_data

pytestmark = pytest.mark.django_db

IMPORT_HEADERS = [h for _, h, _, _ in sheets.COLUMNS]


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    client.get("/people/")  # the first page after sign-in refreshes the session
    return client


def _export(client, **filters):
    r = client.post("/people/export/", filters)
    assert r.status_code == 200, r.status_code
    return load_workbook(io.BytesIO(r.content))


def _names(wb):
    ws = wb.active
    col = IMPORT_HEADERS.index("姓名")
    return [row[col] for row in ws.iter_rows(min_row=2, values_only=True)]


@pytest.fixture
def people(officer, tree):
    """Two offices, distinct names, and a minor in the first office."""
    return {
        "a": given_supervisee(officer, office=tree.donghu_office, name="周建国"),
        "b": given_supervisee(officer, office=tree.donghu_office, name="吴丽萍", male=False),
        "c": given_supervisee(officer, office=tree.donghu_office2, name="郑海涛"),
        "d": given_supervisee(officer, office=tree.donghu_office2, name="冯秀英", male=False, sentence_type="control",
                              term_months="12", original_penalty="管制一年"),
        "minor": given_supervisee(officer, office=tree.donghu_office, minor=True, name="李小龙"),
    }


def test_export_holds_exactly_the_filtered_people_and_masks_the_minor(officer_client, people, tree):
    names = _names(_export(officer_client, office=tree.donghu_office.pk))
    assert sorted(names) == sorted(["周建国", "吴丽萍", "李**"])
    assert people["minor"].id_number not in str(list(_export(officer_client).active.values))
    assert sorted(_names(_export(officer_client, type="control"))) == ["冯秀英"]
    assert sorted(_names(_export(officer_client, q="建国"))) == ["周建国"]


def test_export_has_the_import_headers_on_the_first_row_frozen_and_filtered(officer_client, people):
    ws = _export(officer_client).active
    header = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert header[: len(IMPORT_HEADERS)] == IMPORT_HEADERS and header[len(IMPORT_HEADERS):] == [
        h for h, _ in sheets.EXPORT_EXTRA]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")


def test_an_exported_list_passes_the_import_check_of_a_new_installation(officer_client, people, officer):
    """Read back with the import's parser and checked with the import's rules, every adult's row is valid (only
    the duplicate-ID check knows these people exist already); the sealed minor's row is not importable."""
    wb = _export(officer_client)
    buf = io.BytesIO()
    wb.save(buf)
    parsed = sheets.parse_sheet(buf.getvalue())
    ctx = services.CleanContext.for_rows(actor=officer, id_numbers=[])
    ok, problems, _ = services._clean_rows(actor=officer, rows=parsed.rows, today=TODAY, ctx=ctx)
    assert len(ok) == 4 and [n for n, _ in problems] == [
        n for n, r in parsed.rows if r["name"] == "李**"]
    assert {c["name"] for c in ok} == {"周建国", "吴丽萍", "郑海涛", "冯秀英"}
    assert {c["status"] for c in ok} == {"active"}


def test_export_logs_which_people_were_read(officer_client, people, tree):
    _export(officer_client, office=tree.donghu_office2.pk)
    rec = AuditRecord.objects.get(action="supervisee.export")
    assert set(rec.after["ids"]) == {people["c"].pk, people["d"].pk}
    assert rec.after["filters"]["office"] == str(tree.donghu_office2.pk)


def test_export_writes_formula_like_text_as_text(officer_client, officer, tree):
    s = given_supervisee(officer, office=tree.donghu_office)
    # such text can no longer be typed in; a record from an older import might still hold it
    Supervisee.objects.filter(pk=s.pk).update(crime="=1+1", residence_address='=HYPERLINK("http://x","y")')
    ws = _export(officer_client).active
    cells = [c for row in ws.iter_rows(min_row=2) for c in row]
    assert not [c for c in cells if c.data_type == "f"] and any(c.value == "=1+1" for c in cells)


def test_a_big_export_is_a_background_job_with_progress_and_a_kept_file(officer_client, officer, people, settings,
                                                                       django_capture_on_commit_callbacks, client):
    settings.ZHIJIAO_EXPORT_INLINE_MAX = 3
    with django_capture_on_commit_callbacks(execute=True):
        r = officer_client.post("/people/export/", {"office": ""})
    job = ExportJob.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/people/exports/{job.pk}/"
    assert (job.state, job.done, job.total, job.percent) == ("done", 5, 5, 100)
    html = officer_client.get(r["Location"]).content.decode()
    assert "已完成" in html and f"/people/exports/{job.pk}/download/" in html
    assert default_storage.exists(job.file)
    d = officer_client.get(f"/people/exports/{job.pk}/download/")
    assert sorted(_names(load_workbook(io.BytesIO(d.content)))) == sorted(["周建国", "吴丽萍", "郑海涛", "冯秀英", "李**"])
    assert AuditRecord.objects.filter(action="supervisee.export_requested").count() == 1
    assert set(AuditRecord.objects.get(action="supervisee.export").after["ids"]) == {p.pk for p in people.values()}
    assert AuditRecord.objects.filter(action="supervisee.export_download", object_id=str(job.pk)).count() == 1
    other = given_staff(officer.organisation, "county_officer")  # a colleague cannot see or fetch the job
    client.force_login(other)
    assert client.get(f"/people/exports/{job.pk}/").status_code == 404
    assert client.get(f"/people/exports/{job.pk}/download/").status_code == 404
    default_storage.delete(job.file)


def test_a_failed_export_job_says_so(officer_client, people, settings, monkeypatch, django_capture_on_commit_callbacks):
    settings.ZHIJIAO_EXPORT_INLINE_MAX = 1

    def broken(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(sheets, "export_bytes", broken)
    with pytest.raises(OSError), django_capture_on_commit_callbacks(execute=True):
        officer_client.post("/people/export/", {})
    job = ExportJob.objects.get()
    assert job.state == "failed" and "OSError" in job.error
    assert "生成失败" in officer_client.get(f"/people/exports/{job.pk}/").content.decode()
    assert not AuditRecord.objects.filter(action="supervisee.export").exists()  # nothing was read out


def test_export_files_are_swept_after_their_keeping_time(officer, people, settings, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from apps.people.selectors import SuperviseeFilters

    settings.ZHIJIAO_EXPORT_INLINE_MAX = 1
    with django_capture_on_commit_callbacks(execute=True):
        job = services.supervisee_export(actor=officer, filters=SuperviseeFilters()).job
    job.refresh_from_db()
    assert default_storage.exists(job.file)
    assert services.export_jobs_sweep(now=timezone.now() + timedelta(days=settings.ZHIJIAO_EXPORT_KEEP_DAYS - 1)) == 0
    assert services.export_jobs_sweep(now=timezone.now() + timedelta(days=settings.ZHIJIAO_EXPORT_KEEP_DAYS + 1)) == 1
    assert not default_storage.exists(job.file)


# --- import -------------------------------------------------------------------------------------------------
def _sheet(rows, header=None, title=None):
    return sheet_file(rows, header=header, title=title)


def _row(tree, **over):
    return sheet_row(tree.donghu_office, **over)


def _token(r):
    import re

    return re.search(r'name="token" value="([0-9a-f]+)"', r.content.decode()).group(1)


def test_a_checked_sheet_is_staged_in_storage_and_confirmed_once_from_any_session(officer_client, officer, tree,
                                                                                client):
    r = officer_client.post("/people/import/", {"file": _sheet([_row(tree) for _ in range(3)])})
    assert r.status_code == 200 and "检查全部通过" in r.content.decode()
    staged = StagedImport.objects.get()
    assert default_storage.exists(staged.file) and staged.rows == 3 and Supervisee.objects.count() == 0
    other = client.__class__()  # another browser (another web process): the token is enough, not the session
    other.force_login(officer)
    r = other.post("/people/import/confirm/", {"token": _token(r)})
    assert r.status_code == 302 and Supervisee.objects.count() == 3
    assert not StagedImport.objects.exists()
    r = other.post("/people/import/confirm/", {"token": staged.token})  # a replay finds nothing
    assert r.status_code == 302 and Supervisee.objects.count() == 3
    rec = AuditRecord.objects.get(action="supervisee.import")
    assert rec.after["file"] == "sheet.xlsx" and len(rec.after["ids"]) == 3


def test_another_officer_cannot_confirm_my_sheet(officer_client, tree, client):
    r = officer_client.post("/people/import/", {"file": _sheet([_row(tree)])})
    client.force_login(given_staff(tree.donghu, "county_officer"))
    client.post("/people/import/confirm/", {"token": _token(r)})
    assert Supervisee.objects.count() == 0 and StagedImport.objects.count() == 1


def test_only_one_pending_sheet_per_user_and_old_ones_are_swept(officer_client, tree):
    from datetime import timedelta

    from django.utils import timezone

    for _ in range(3):
        assert officer_client.post("/people/import/", {"file": _sheet([_row(tree)])}).status_code == 200
    staged = StagedImport.objects.get()
    assert services.staged_imports_sweep(now=timezone.now() + timedelta(hours=23)) == 0
    assert services.staged_imports_sweep(now=timezone.now() + timedelta(hours=25)) == 1
    assert not default_storage.exists(staged.file)


def test_a_sheet_whose_first_row_is_not_the_header_says_which_row_it_read(officer_client, tree):
    r = officer_client.post("/people/import/", {"file": _sheet([_row(tree)], title="社区矫正对象名单（导出）")})
    html = r.content.decode()
    assert r.status_code == 422 and "第 1 行当作表头" in html and "社区矫正对象名单（导出）" in html


def test_template_example_row_passes_for_the_downloading_officer(officer_client, officer):
    content = officer_client.get("/people/import/template.xlsx").content
    check = services.supervisee_import_check(actor=officer, data=content, filename="template.xlsx")
    assert check.problems == [] and check.total == 1 and check.token


def test_a_duplicate_found_at_confirmation_is_logged_after_the_rollback(officer_client, officer, tree):
    """Someone registered the same person between the check and the confirmation: nothing is written, the answer
    (which reveals that the number is registered) is logged, and the log survives the rollback."""
    row = _row(tree)
    r = officer_client.post("/people/import/", {"file": _sheet([row, _row(tree)])})
    token = _token(r)
    data = supervisee_data(tree.donghu_office, id_number=row["id_number"], judgment_number="（2026）赣0102刑初9999号")
    services.supervisee_create(actor=officer, data=data, today=TODAY)
    r = officer_client.post("/people/import/confirm/", {"token": token})
    assert r.status_code == 302 and Supervisee.objects.count() == 1
    assert AuditRecord.objects.filter(action="supervisee.id_lookup").count() == 1
    assert not StagedImport.objects.exists()


def test_export_form_values_are_what_is_exported_not_the_page_url(officer_client, people, tree):
    """The export button posts the filter form as it is now (the bug was a link with the old query)."""
    r = officer_client.post("/people/export/?" + urlencode({"office": tree.donghu_office2.pk}),
                            {"office": tree.donghu_office.pk})
    assert sorted(_names(load_workbook(io.BytesIO(r.content)))) == sorted(["周建国", "吴丽萍", "李**"])


def test_a_job_interrupted_by_a_restart_is_marked_failed_by_the_sweep(officer):
    from datetime import timedelta

    from django.utils import timezone

    job = ExportJob.objects.create(requested_by=officer, total=10, state=ExportJob.State.RUNNING)
    services.export_jobs_sweep(now=timezone.now() + timedelta(minutes=30))
    job.refresh_from_db()
    assert job.state == "running"
    services.export_jobs_sweep(now=timezone.now() + timedelta(hours=2))
    job.refresh_from_db()
    assert job.state == "failed" and "重新导出" in job.error
