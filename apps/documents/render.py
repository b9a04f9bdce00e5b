"""Rendering documents: one template file per kind (`documents/<code>.html`, a fragment of h1/p/table a province
may replace by placing its own file of that name under ZHIJIAO_DOCUMENT_TEMPLATES), laid out in the standard form
(title, number, body, the agency and date, the seal area) as PDF through WeasyPrint with the CJK font embedded,
or as DOCX through python-docx from the same fragment. The case file puts many in one PDF behind a catalogue
page whose page numbers WeasyPrint fills in (target-counter)."""
from __future__ import annotations

import io
from urllib.parse import quote
from dataclasses import dataclass
from html.parser import HTMLParser

from django.template.loader import render_to_string

from .catalogue import DOC_TYPES


@dataclass(frozen=True)
class Rendered:
    code: str
    title: str
    number: str
    agency: str
    date_text: str
    body: str  # the fragment's HTML
    cc: str = ""  # 抄送, below the signature


def date_cn(d) -> str:
    """二〇二六年十二月二日: the date of an official document is written in Chinese numerals."""
    digits = "〇一二三四五六七八九"

    def num(n: int) -> str:
        if n < 10:
            return "十" if n == 10 else digits[n]
        tens, ones = divmod(n, 10)
        return ("" if tens == 1 else digits[tens]) + "十" + (digits[ones] if ones else "")

    return "".join(digits[int(c)] for c in str(d.year)) + "年" + num(d.month) + "月" + num(d.day) + "日"


def fragment(doc) -> Rendered:
    """`doc` is an apps.documents.models.Document (or anything with its fields)."""
    t = DOC_TYPES[doc.doc_type]
    body = render_to_string(f"documents/{doc.doc_type}.html", {"d": doc.context, "doc": doc, "type": t})
    return Rendered(doc.doc_type, doc.title, doc.number, doc.context.get("agency_name", ""), date_cn(doc.issued_on),
                    body, doc.context.get("cc", ""))


def content_disposition(name: str, inline: bool) -> str:
    """The download header with a Chinese file name (RFC 5987)."""
    return f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(name)}"


def pdf(docs, *, catalogue_title: str = "", cover: dict | None = None) -> bytes:
    """One document, or a case file (a catalogue page, then each document from a new page, pages numbered)."""
    from weasyprint import HTML

    parts = [fragment(d) for d in docs]
    html = render_to_string("documents/_print.html", {"parts": parts, "catalogue_title": catalogue_title,
                                                      "cover": cover or {}})
    return HTML(string=html).write_pdf()


# --- DOCX from the same fragment ----------------------------------------------------------------------------

class _Blocks(HTMLParser):
    """The fragment's blocks: ("h1"|"p"|"row", classes, text or cells)."""

    def __init__(self):
        super().__init__()
        self.blocks: list[tuple[str, str, object]] = []
        self._tag, self._cls, self._text, self._row = None, "", [], None

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class", "") or ""
        if tag in ("h1", "h2", "p", "td", "th"):
            self._tag, self._cls, self._text = tag, cls, []
        elif tag == "tr":
            self._row = []
        elif tag == "br":
            self._text.append("\n")

    def handle_endtag(self, tag):
        text = "".join(self._text).strip()
        if tag in ("h1", "h2", "p") and self._tag == tag:
            self.blocks.append((tag, self._cls, " ".join(text.split()) if tag != "p" else text))
            self._tag = None
        elif tag in ("td", "th") and self._row is not None:
            self._row.append(" ".join(text.split()))
            self._tag = None
        elif tag == "tr" and self._row is not None:
            self.blocks.append(("row", "", self._row))
            self._row = None

    def handle_data(self, data):
        if self._tag:
            self._text.append(data)


def docx(doc) -> bytes:
    from docx import Document as Docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Pt

    r = fragment(doc)
    parser = _Blocks()
    parser.feed(r.body)
    out = Docx()
    style = out.styles["Normal"]
    style.font.size = Pt(14)  # 四号
    style.font.name = "FangSong"
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "仿宋_GB2312")

    def para(text, *, align=None, size=None, bold=False, font=None):
        p = out.add_paragraph()
        run = p.add_run(text)
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        if font:
            run.font.name = font
            run._element.rPr.rFonts.set(qn("w:eastAsia"), font)
        if align:
            p.alignment = align
        return p

    para(r.agency, align=WD_ALIGN_PARAGRAPH.CENTER, size=16, font="黑体")
    para(r.title, align=WD_ALIGN_PARAGRAPH.CENTER, size=22, bold=True, font="方正小标宋简体")
    para(r.number, align=WD_ALIGN_PARAGRAPH.RIGHT)
    table = None
    for kind, cls, content in parser.blocks:
        if kind == "row":
            if table is None:
                table = out.add_table(rows=0, cols=len(content))
                table.style = "Table Grid"
            cells = table.add_row().cells
            for cell, text in zip(cells, content):
                cell.text = text
            continue
        table = None
        if kind == "h1":
            continue  # the title is written above
        align = WD_ALIGN_PARAGRAPH.RIGHT if "right" in cls else None
        p = para(content, align=align, size=16 if kind == "h2" else None, bold=kind == "h2")
        if "right" not in cls and kind == "p":
            p.paragraph_format.first_line_indent = Pt(28)
    para("")
    para(r.agency, align=WD_ALIGN_PARAGRAPH.RIGHT)
    para(r.date_text, align=WD_ALIGN_PARAGRAPH.RIGHT)
    para("（印章）", align=WD_ALIGN_PARAGRAPH.RIGHT)
    if r.cc:
        para(f"抄送：{r.cc}")
    buf = io.BytesIO()
    out.save(buf)
    return buf.getvalue()
