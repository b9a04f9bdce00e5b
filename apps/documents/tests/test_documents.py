"""Documents issued with a case's changes: numbered per agency per kind per year without gaps, the facts frozen,
rendered as PDF with the CJK font embedded and as Word from the same template; a province's own template
replaces the wording without code; the case file puts them behind a catalogue with page numbers."""
from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from django.db import transaction
from pypdf import PdfReader

from apps.cases import services
from apps.cases.models import Case
from apps.documents import render
from apps.documents.models import Document
from apps.documents.services import document_issue
from apps.orgs.testing import TODAY, given_staff
from apps.people.services import supervisee_register, team_member_add
from apps.people.testing import supervisee_data


def _walk_to_active(officer, office, **over):
    p = supervisee_register(actor=officer, data=supervisee_data(office, **over), today=TODAY)
    c = Case.objects.get(person=p)

    def act(code, **data):
        return services.case_transition(actor=officer, case_id=c.pk, code=code, data=data, today=TODAY)

    act("documents_received", documents=["判决书", "执行通知书"], documents_date="2026-11-18")
    act("receipt_sent")
    act("report_in", reported_date="2026-11-20")
    for step in ("documents_checked", "identity_verified", "registered", "file_opened"):
        act(step)
    team_member_add(actor=officer, supervisee=p, data={"name": "刘芳", "kind": "community", "gender": "F",
                                                        "knows_minors": True})
    act("announce", announced_date="2026-11-21")
    return p, c


def _text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).replace(" ", "").replace("\n", "")


def _fonts(pdf: bytes) -> set[str]:
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for f in (page["/Resources"].get("/Font") or {}).values():
            f = f.get_object()
            desc = f["/DescendantFonts"][0].get_object() if "/DescendantFonts" in f else f
            fd = desc.get("/FontDescriptor")
            if fd is not None and any(k in fd.get_object() for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                names.add(str(f["/BaseFont"]))
    return names


def test_the_changes_issue_their_documents_numbered_in_sequence(tree, officer):
    p, c = _walk_to_active(officer, tree.donghu_office, name="周雪", male=False)
    docs = {d.doc_type: d for d in Document.objects.filter(object_type="case", object_id=str(c.pk))}
    assert set(docs) == {"receipt", "report_notice", "announcement", "team_agreement"}
    assert docs["announcement"].number == "〔2026〕东湖区矫宣字第1号"
    _p2, c2 = _walk_to_active(officer, tree.donghu_office2)
    second = Document.objects.get(object_id=str(c2.pk), doc_type="announcement")
    assert second.number == "〔2026〕东湖区矫宣字第2号", "one sequence per county agency, kind and year"
    other = given_staff(tree.xihu, "county_officer")
    _p3, c3 = _walk_to_active(other, tree.xihu_office)
    assert Document.objects.get(object_id=str(c3.pk), doc_type="announcement").seq == 1


def test_a_rolled_back_issue_gives_its_number_back(tree, officer):
    _walk_to_active(officer, tree.donghu_office)
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            document_issue(actor=officer, agency=tree.donghu, doc_type="announcement", object_type="case",
                           object_id=0, org_path=tree.donghu.path, context={}, issued_on=TODAY)
            raise RuntimeError("the change failed after the number was taken")
    _p, c = _walk_to_active(officer, tree.donghu_office)
    assert Document.objects.get(object_id=str(c.pk), doc_type="announcement").seq == 2
    seqs = sorted(Document.objects.filter(doc_type="announcement", agency=tree.donghu).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_announcement_pdf_says_what_the_law_requires_with_the_font_embedded(tree, officer):
    p, c = _walk_to_active(officer, tree.donghu_office, name="周雪", male=False)
    doc = Document.objects.get(object_id=str(c.pk), doc_type="announcement")
    pdf = render.pdf([doc])
    text = _text(pdf)
    for words in ("社区矫正宣告书", "〔2026〕东湖区矫宣字第1号", "周雪", "危险驾驶罪", "第二十二条", "东湖区社区矫正管理局",
                  "二〇二六年十一月二十二日", "（印章）", "刘芳"):
        assert words in text, words
    assert any("CJK" in f for f in _fonts(pdf)), _fonts(pdf)
    # the facts are frozen: a later edit of the record does not rewrite an issued document
    p.name = "改名"
    p.save(update_fields=["name"])
    assert "周雪" in _text(render.pdf([Document.objects.get(pk=doc.pk)]))


def test_a_minors_announcement_says_it_is_not_public(tree):
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    p, c = _walk_to_active(granted, tree.donghu_office, born=__import__("datetime").date(2009, 3, 3))
    doc = Document.objects.get(object_id=str(c.pk), doc_type="announcement")
    assert doc.is_minor and "不公开进行" in _text(render.pdf([doc]))


def test_word_from_the_same_template(tree, officer):
    from docx import Document as Docx

    _p, c = _walk_to_active(officer, tree.donghu_office, name="周雪", male=False)
    doc = Document.objects.get(object_id=str(c.pk), doc_type="team_agreement")
    d = Docx(io.BytesIO(render.docx(doc)))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "矫正责任书" in text and doc.number in text and "第二十五条" in text
    cells = [c.text for t in d.tables for row in t.rows for c in row.cells]
    assert "刘芳" in cells


def test_a_province_replaces_a_template_without_code(tree, officer, settings, tmp_path):
    (tmp_path / "documents").mkdir()
    (tmp_path / "documents" / "receipt.html").write_text("<p>本省格式：已收到{{ d.person_name }}的法律文书。</p>",
                                                         encoding="utf-8")
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    _p, c = _walk_to_active(officer, tree.donghu_office, name="周雪", male=False)
    doc = Document.objects.get(object_id=str(c.pk), doc_type="receipt")
    assert "本省格式：已收到周雪的法律文书" in _text(render.pdf([doc]))


def test_case_file_command_writes_a_catalogue_with_page_numbers(tree, officer, tmp_path, capsys):
    _p, c = _walk_to_active(officer, tree.donghu_office, name="周雪", male=False)
    out = tmp_path / "file.pdf"
    call_command("case_file", str(c.pk), "--out", str(out))
    pdf = out.read_bytes()
    reader = PdfReader(io.BytesIO(pdf))
    first = reader.pages[0].extract_text().replace(" ", "")
    assert "社区矫正执法档案" in first and "卷内文书目录" in first
    # the catalogue's page numbers point at the pages where each document starts
    titles = ["法律文书送达回执", "社区矫正对象报到情况通知单", "社区矫正宣告书", "矫正责任书"]
    starts = {}
    for i, page in enumerate(reader.pages[1:], start=2):
        t = page.extract_text().replace(" ", "").replace("\n", "")
        for title in titles:
            if title in t[:40] and title not in starts:
                starts[title] = i
    assert list(starts) == titles, starts
    flat = first.replace("\n", "")
    for i, title in enumerate(titles, start=1):
        listed = re.search(re.escape(title) + r".*?第\d+号(\d+)", flat).group(1)
        # the page number, then the next row's 序号 (the last row: nothing)
        assert listed == (str(starts[title]) + (str(i + 1) if i < len(titles) else "")), (title, listed)
    from django.core.management.base import CommandError
    with pytest.raises(CommandError):
        call_command("case_file", "999999", "--out", str(out))


def test_documents_are_scoped_sealed_and_their_reads_logged(client, tree, officer):
    from apps.audit.models import AuditRecord

    _p, c = _walk_to_active(officer, tree.donghu_office)
    doc = Document.objects.get(object_id=str(c.pk), doc_type="announcement")
    client.force_login(officer)
    r = client.get(f"/documents/{doc.pk}.pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert AuditRecord.objects.filter(action="document.view", object_id=str(doc.pk)).exists()
    assert client.get(f"/documents/{doc.pk}.docx").status_code == 200
    assert client.get(f"/cases/{c.pk}/file.pdf").status_code == 200
    client.force_login(given_staff(tree.xihu, "county_officer"))
    assert client.get(f"/documents/{doc.pk}.pdf").status_code == 404
    assert client.get(f"/cases/{c.pk}/file.pdf").status_code == 404


def test_dates_in_chinese_numerals():
    from datetime import date

    assert render.date_cn(date(2026, 12, 2)) == "二〇二六年十二月二日"
    assert render.date_cn(date(2020, 10, 31)) == "二〇二〇年十月三十一日"
    assert render.date_cn(date(2019, 11, 20)) == "二〇一九年十一月二十日"
