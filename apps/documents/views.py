"""Downloading an issued document as PDF or Word."""
from __future__ import annotations

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from apps.audit.context import client_ip
from apps.orgs.scope import NotFound

from . import render
from .selectors import access_document

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


_attachment = render.content_disposition


@require_GET
def document_pdf_view(request, pk: int):
    try:
        doc = access_document(user=request.user, document_id=pk, purpose="查阅文书", ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    r = HttpResponse(render.pdf([doc]), content_type="application/pdf")
    r["Content-Disposition"] = _attachment(f"{doc.title}{doc.number}.pdf", inline=True)
    return r


@require_GET
def document_docx_view(request, pk: int):
    try:
        doc = access_document(user=request.user, document_id=pk, purpose="下载文书", ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    r = HttpResponse(render.docx(doc), content_type=DOCX)
    r["Content-Disposition"] = _attachment(f"{doc.title}{doc.number}.docx", inline=False)
    return r
