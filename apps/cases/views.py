"""Officer pages of the case lifecycle: the work page (我的待办) and the changes made on a case's tab. Views parse
and render; selectors read (scoped, logged), services write (checked against the transition table, audited)."""
from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.audit.context import client_ip
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk
from apps.people.services import today_local

from . import rules, services
from .selectors import BUCKETS, case_file, case_file_pdf, work_queue


def _need_view(request):
    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise Http404(NotFound.message)


@require_GET
def work_view(request):
    _need_view(request)
    today = today_local()
    q = work_queue(user=request.user, bucket=request.GET.get("b", ""), today=today,
                   office_id=parse_pk(request.GET.get("office")), ip=client_ip(request))
    return render(request, "cases/work.html", {
        "q": q, "buckets": BUCKETS, "today": today, "active_nav": "work",
        "office": request.GET.get("office", ""),
    })


@require_POST
def transition_view(request, case_id: int, code: str):
    if not request.user.can(Action.SUPERVISEE_CHANGE):
        raise Http404(NotFound.message)
    person_id = parse_pk(request.POST.get("person"))
    back = (reverse("people:detail", args=[person_id]) + "?tab=case") if person_id else reverse("cases:work")
    data = {k: (request.POST.getlist(k) if k == "documents" else request.POST.get(k)) for k in request.POST}
    try:
        case = services.case_transition(actor=request.user, case_id=case_id, code=code, data=data,
                                        ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    except services.NotPermitted as e:
        messages.error(request, str(e))
        return HttpResponseRedirect(back)
    except services.TransitionRefused as e:
        for r in e.reasons:
            messages.error(request, r)
        return HttpResponseRedirect(back + f"#act-{code}")
    t = rules.TRANSITIONS[code]
    messages.success(request, _("已办理：%(label)s") % {"label": t.label}
                     + (f"（{rules.STATUS_LABELS[rules.CaseStatus(case.status)]}）" if t.target else ""))
    return HttpResponseRedirect(reverse("people:detail", args=[case.person_id]) + "?tab=case")


@require_GET
def case_file_view(request, case_id: int):
    try:
        case, docs = case_file(case_id=case_id, user=request.user, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    r = HttpResponse(case_file_pdf(case, docs), content_type="application/pdf")
    name = quote(f"执法档案-案件{case.pk}.pdf")
    r["Content-Disposition"] = f"inline; filename*=UTF-8''{name}"
    return r
