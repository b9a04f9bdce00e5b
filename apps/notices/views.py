"""The inbox of notices and one notice with its document."""
from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.audit.context import client_ip
from apps.documents import render as doc_render
from apps.orgs.scope import NotFound

from .selectors import inbox
from .services import KINDS, notice_document, notice_open


@require_GET
def inbox_view(request):
    from apps.orgs.rules import Action

    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise Http404(NotFound.message)
    unread = request.GET.get("show") != "all"
    rows = inbox(user=request.user, unread=unread)
    return render(request, "notices/inbox.html", {"rows": rows, "unread": unread, "kinds": KINDS,
                                                  "active_nav": "notices"})


@require_GET
def notice_view(request, pk: int):
    try:
        n = notice_open(user=request.user, notice_id=pk, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    return render(request, "notices/notice.html", {"n": n, "kind_label": KINDS[n.kind], "active_nav": "notices"})


@require_GET
def notice_document_view(request, pk: int):
    """The document the notice carries, for its recipient (who may not otherwise see the case's file)."""
    try:
        doc = notice_document(user=request.user, notice_id=pk, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    r = HttpResponse(doc_render.pdf([doc]), content_type="application/pdf")
    r["Content-Disposition"] = doc_render.content_disposition(f"{doc.title}{doc.number}.pdf", inline=True)
    return r
