"""Officer pages of the case lifecycle: the work page (我的待办) and the changes made on a case's tab. Views parse
and render; selectors read (scoped, logged), services write (checked against the transition table, audited)."""
from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.audit.context import client_ip
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk
from apps.people.services import InputErrors, today_local

from . import investigations, rules, services
from .selectors import BUCKETS, case_file, case_file_pdf, case_for_judgment, transfer_view, work_queue


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
    back = _case_page(case_id, person_id, code) if person_id or _on_transfer_page(code) else reverse("cases:work")
    data = {k: (request.POST.getlist(k) if k == "documents" else request.POST.get(k)) for k in request.POST}
    case = _change(request, back, code, lambda: services.case_transition(
        actor=request.user, case_id=case_id, code=code, data=data, ip=client_ip(request)))
    if isinstance(case, HttpResponseRedirect):
        return case
    t = rules.TRANSITIONS[code]
    messages.success(request, _("已办理：%(label)s") % {"label": t.label}
                     + (f"（{rules.STATUS_LABELS[rules.CaseStatus(case.status)]}）" if t.target else ""))
    return HttpResponseRedirect(_case_page(case.pk, case.person_id, code))


def _change(request, back: str, code: str, make):
    """Make a change; a refusal goes back to the page with its reasons (each with its article), out of scope is
    not found."""
    try:
        return make()
    except NotFound:
        raise Http404(NotFound.message) from None
    except services.NotPermitted as e:
        messages.error(request, str(e))
        return HttpResponseRedirect(back)
    except services.TransitionRefused as e:
        for r in e.reasons:
            messages.error(request, r)
        return HttpResponseRedirect(back + f"#act-{code}")


def _on_transfer_page(code: str) -> bool:
    """The receiving county has no record page for the person yet: its steps (and the sending county's) are
    made on the transfer page."""
    return code.startswith("transfer_") and code != "transfer_apply"


def _case_page(case_id: int, person_id: int | None, code: str) -> str:
    if _on_transfer_page(code):
        return reverse("cases:transfer", args=[case_id])
    return reverse("people:detail", args=[person_id]) + "?tab=case"


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


# --- 调查评估 ---------------------------------------------------------------------------------------------------

def _inv_form_ctx(request, errors=None, data=None):
    return {"errors": errors or {}, "data": data or {}, "requester_kinds": rules.REQUESTER_KINDS,
            "requesters": investigations.requesters_for(request.user), "sentence_labels": _sentence_labels(), "today": today_local()}


def _sentence_labels():
    from apps.people.rules import SENTENCE_LABELS

    return {k.value: v for k, v in SENTENCE_LABELS.items()}


@require_http_methods(["GET", "POST"])
def investigation_list_view(request):
    _need_view(request)
    may_create = request.user.organisation.kind == "county_agency" and request.user.can(Action.CASE_DECIDE)
    ctx = {"active_nav": "investigations", "may_create": may_create,
           "rows": investigations.investigation_list(user=request.user, status=request.GET.get("status", ""),
                                                     ip=client_ip(request)),
           "status": request.GET.get("status", ""), "inv_labels": rules.INV_LABELS}
    status = 200
    if request.method == "POST":
        if not may_create:
            raise Http404(NotFound.message)
        try:
            inv = investigations.investigation_create(actor=request.user, data=request.POST, ip=client_ip(request))
        except services.NotPermitted as e:
            messages.error(request, str(e))
            return HttpResponseRedirect(reverse("cases:investigations"))
        except InputErrors as e:
            ctx.update(_inv_form_ctx(request, e.errors, request.POST))
            return render(request, "cases/investigations.html", ctx, status=422)
        messages.success(request, _("已受理调查评估委托"))
        return HttpResponseRedirect(reverse("cases:investigation", args=[inv.pk]))
    ctx.update(_inv_form_ctx(request))
    return render(request, "cases/investigations.html", ctx, status=status)


@require_GET
def investigation_detail_view(request, pk: int):
    _need_view(request)
    try:
        inv = investigations.access_investigation(user=request.user, investigation_id=pk, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    from apps.documents.selectors import documents_of
    from apps.orgs.selectors import judicial_offices_for

    acts = [t for t in rules.INV_TRANSITIONS.values()
            if rules.InvStatus(inv.status) in t.sources and rules.may_act(
                rules.Transition(t.code, t.label, frozenset(), None, t.actor, t.article), request.user.roles,
                request.user.organisation.kind)]
    return render(request, "cases/investigation.html", {
        "inv": inv, "acts": acts, "tasks": investigations.investigation_tasks(inv), "active_nav": "investigations",
        "offices": list(judicial_offices_for(request.user).filter(parent_id=inv.county_id)),
        "documents": documents_of(user=request.user, object_type="investigation", object_id=inv.pk),
        "opinions": rules.OPINIONS, "requester_kinds": rules.REQUESTER_KINDS, "today": today_local(),
        "locked": rules.InvStatus(inv.status) in rules.INV_LOCKED,
    })


@require_POST
def investigation_act_view(request, pk: int, code: str):
    if not request.user.can(Action.SUPERVISEE_CHANGE):
        raise Http404(NotFound.message)
    back = reverse("cases:investigation", args=[pk])
    done = _change(request, back, code, lambda: investigations.investigation_transition(
        actor=request.user, investigation_id=pk, code=code, data=request.POST, ip=client_ip(request)))
    if isinstance(done, HttpResponseRedirect):
        return done
    messages.success(request, _("已办理：%(label)s") % {"label": rules.INV_TRANSITIONS[code].label})
    return HttpResponseRedirect(back)


@require_GET
def transfer_view_page(request, case_id: int):
    try:
        tv = transfer_view(user=request.user, case_id=case_id, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    from apps.orgs.selectors import judicial_offices_for

    offices = list(judicial_offices_for(request.user).filter(parent_id=tv.transfer.to_county_id)) \
        if tv.side == "to" else []
    from .panels import DATE_FIELDS

    return render(request, "cases/transfer.html", {"tv": tv, "offices": offices, "today": today_local(),
                                                   "stage_labels": rules.TRANSFER_STAGE_LABELS,
                                                   "date_fields": DATE_FIELDS, "active_nav": "work"})



@require_http_methods(["GET", "POST"])
def deadlines_view(request):
    """The deadline table every deadline is counted by (the number in force, its article, the province's dated
    settings) and the holiday years loaded; a province sets its own numbers here."""
    may_set = request.user.can(Action.DEADLINE_SET)
    if not (may_set or request.user.can(Action.SUPERVISEE_VIEW)):
        raise Http404(NotFound.message)
    today = today_local()
    ctx = {"active_nav": "deadlines", "may_set": may_set, "today": today, "errors": {}, "data": {}}
    status = 200
    if request.method == "POST":
        if not may_set:
            raise Http404(NotFound.message)
        try:
            r = services.deadline_setting_set(actor=request.user, kind=request.POST.get("kind"),
                                              days=request.POST.get("days"),
                                              effective_from=request.POST.get("effective_from"),
                                              note=request.POST.get("note", ""), ip=client_ip(request))
        except InputErrors as e:
            ctx.update(errors=e.errors, data=request.POST)
            status = 422
        else:
            messages.success(request, _("已设置期限，重算待办 %(n)s 项") % {"n": r.recomputed})
            return HttpResponseRedirect(reverse("cases:deadlines") + f"#d-{r.kind}")
    ctx.update(rows=services.deadline_table(today), years=services.holiday_years())
    return render(request, "cases/deadlines.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
def judgment_view(request, case_id: int):
    """变更判决信息: the case's judgment as registered, changed with its reason and basis; the term follows."""
    from apps.people.forms import JudgmentForm, SuperviseeForm

    try:
        case = case_for_judgment(user=request.user, case_id=case_id, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    p = case.person
    back = reverse("people:detail", args=[p.pk]) + "?tab=case"
    if request.method == "POST":
        try:
            changed = services.case_judgment_change(actor=request.user, case_id=case.pk, data=request.POST,
                                                    ip=client_ip(request))
        except (NotFound, services.NotPermitted):
            raise Http404(NotFound.message) from None
        except services.TransitionRefused as e:
            messages.error(request, "；".join(e.reasons))
            return HttpResponseRedirect(back)
        except InputErrors as e:
            form = JudgmentForm(request.POST)
            form.is_valid()
            form._errors, form.cleaned_data = {}, {}
            form.apply_errors(e.errors)
            return render(request, "cases/judgment.html", {"form": form, "case": case, "p": p, "back": back,
                                                           "active_nav": "people"}, status=422)
        changed.refresh_from_db()
        if changed.term_end != case.term_end or changed.term_start != case.term_start:
            messages.success(request, _("已变更判决信息，矫正期限重算为 %(a)s 至 %(b)s") % {
                "a": changed.term_start.isoformat(), "b": changed.term_end.isoformat()})
        elif (changed.judgment, changed.sentence_type) != (case.judgment, case.sentence_type):
            messages.success(request, _("已变更判决信息"))
        else:
            messages.info(request, _("判决信息未作修改"))
        return HttpResponseRedirect(back)
    initial = {f: getattr(p, f) for f in SuperviseeForm.JUDGMENT}
    return render(request, "cases/judgment.html", {"form": JudgmentForm(initial=initial), "case": case, "p": p,
                                                   "back": back, "active_nav": "people"})
