"""Officer pages of daily supervision: the forms that record, the application page and its steps, the office's day
and month. Views parse and render; selectors read (scoped, logged); services write (checked, audited)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.audit.context import client_ip
from apps.audit.services import audit_view
from apps.cases.models import Case
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk, within
from apps.people.services import InputErrors, NotPermitted, today_local

from . import rules, services
from .models import Activity, Record
from .selectors import may_record, offices_for, office_day, office_month, request_view, requests_to_decide


def _case_for_form(request, case_id) -> Case:
    """The open case of the reader's jurisdiction the form writes on (a logged read of the person)."""
    case = Case.objects.select_related("person", "judicial_office").filter(pk=parse_pk(case_id) or -1).first()
    if case is None or not request.user.can(Action.SUPERVISEE_VIEW) or not may_record(case, request.user) \
            or (case.is_minor and not request.user.minor_access):
        raise Http404(NotFound.message)
    audit_view(actor=request.user, object_type="supervisee", object_ids=[case.person_id], ip=client_ip(request),
               org_path=case.org_path, summary="打开日常监管登记页" + ("【未成年人】" if case.is_minor else ""))
    return case


def _tab(case: Case, tab: str, anchor: str = "") -> str:
    return reverse("people:detail", args=[case.person_id]) + f"?tab={tab}" + (f"#{anchor}" if anchor else "")


RECORD_TITLES = {k: f"登记{v}" for k, v in Record.Kind.choices}


@require_http_methods(["GET", "POST"])
def record_view(request, case_id: int, kind: str):
    if kind not in Record.Kind.values:
        raise Http404(NotFound.message)
    case = _case_for_form(request, case_id)
    ctx = {"case": case, "p": case.person, "kind": kind, "title": RECORD_TITLES[kind], "places": rules.PLACES,
           "channels": [(c, Record.Channel(c).label) for c in ("office", "field", "phone", "paper")],
           "back": _tab(case, "checkins"), "active_nav": "people", "errors": {}, "data": {},
           "privacy_article": rules.VISIT_PRIVACY_ARTICLE}
    if request.method == "POST":
        data = request.POST.dict()
        if request.FILES.get("photo"):
            data["photo"] = request.FILES["photo"]
        try:
            stored = services.record_add(actor=request.user, case_id=case.pk, kind=kind, data=data,
                                         ip=client_ip(request))
        except (NotFound, NotPermitted):
            raise Http404(NotFound.message) from None
        except InputErrors as e:
            ctx.update(errors=e.errors, data=request.POST)
            return render(request, "supervision/record_form.html", ctx, status=422)
        rec = stored.record
        for w in rules.visit_warnings(place=rec.place, discreet=rec.discreet) if kind == "visit" else ():
            messages.warning(request, w)
        messages.success(request, _("已%(what)s") % {"what": _(RECORD_TITLES[kind])})
        return HttpResponseRedirect(_tab(case, "checkins", f"rec-{rec.pk}"))
    return render(request, "supervision/record_form.html", ctx)


@require_POST
def review_view(request, record_id: int):
    try:
        rec = services.record_review(actor=request.user, record_id=record_id, comment=request.POST.get("comment", ""),
                                     ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise Http404(NotFound.message) from None
    except InputErrors as e:
        rec = Record.objects.filter(pk=parse_pk(record_id) or -1).select_related("case").first()
        for m in e.errors.values():
            messages.error(request, m)
        return HttpResponseRedirect(_tab(rec.case, "checkins", f"rec-{rec.pk}"))
    messages.success(request, _("已批阅思想汇报"))
    return HttpResponseRedirect(_tab(rec.case, "checkins", f"rec-{rec.pk}"))


@require_http_methods(["GET", "POST"])
def correct_view(request, record_id: int):
    old = Record.objects.filter(pk=parse_pk(record_id) or -1).select_related("case").first()
    if old is None:
        raise Http404(NotFound.message)
    case = _case_for_form(request, old.case_id)
    ctx = {"case": case, "p": case.person, "kind": old.kind, "title": _("更正%(what)s记录") % {"what": old.get_kind_display()},
           "places": rules.PLACES, "channels": [(c, Record.Channel(c).label) for c in ("office", "field", "phone", "paper")],
           "back": _tab(case, "checkins", f"rec-{old.pk}"), "active_nav": "people", "errors": {}, "old": old,
           "data": {"channel": old.channel, "place": old.place, "place_note": old.place_note, "findings": old.findings,
                    "text": old.text, "discreet": "1" if old.discreet else "", "hospital": old.data.get("hospital", ""),
                    "happened_at": old.happened_at}, "privacy_article": rules.VISIT_PRIVACY_ARTICLE}
    if request.method == "POST":
        try:
            new = services.record_supersede(actor=request.user, record_id=old.pk, reason=request.POST.get("reason", ""),
                                            data=request.POST.dict(), ip=client_ip(request))
        except (NotFound, NotPermitted):
            raise Http404(NotFound.message) from None
        except InputErrors as e:
            ctx.update(errors=e.errors, data=request.POST)
            return render(request, "supervision/record_form.html", ctx, status=422)
        messages.success(request, _("已更正记录，原记录保留并注明更正理由"))
        return HttpResponseRedirect(_tab(case, "checkins", f"rec-{new.pk}"))
    return render(request, "supervision/record_form.html", ctx)


@require_http_methods(["GET", "POST"])
def hours_view(request, case_id: int):
    case = _case_for_form(request, case_id)
    today = today_local()
    acts = list(Activity.objects.filter(office_id=case.judicial_office_id, for_minors=case.is_minor,
                                        day__lte=today).order_by("-day")[:40])
    ctx = {"case": case, "p": case.person, "kinds": rules.HOURS_KINDS, "activities": acts,
           "back": _tab(case, "checkins", "hours"), "active_nav": "people", "errors": {},
           "data": {"day": today.isoformat()}}
    if request.method == "POST":
        try:
            stored = services.hours_add(actor=request.user, case_id=case.pk, data=request.POST.dict(),
                                        ip=client_ip(request))
        except (NotFound, NotPermitted):
            raise Http404(NotFound.message) from None
        except InputErrors as e:
            ctx.update(errors=e.errors, data=request.POST)
            return render(request, "supervision/hours_form.html", ctx, status=422)
        h = stored.record
        messages.success(request, _("已登记%(kind)s %(h)s 小时") % {"kind": _(rules.HOURS_KINDS[h.kind]), "h": h.hours})
        return HttpResponseRedirect(_tab(case, "checkins", "hours"))
    return render(request, "supervision/hours_form.html", ctx)


@require_http_methods(["GET", "POST"])
def request_new_view(request, case_id: int):
    case = _case_for_form(request, case_id)
    kind = request.GET.get("kind") or request.POST.get("kind") or "leave"
    if kind not in rules.REQUEST_KINDS:
        raise Http404(NotFound.message)
    today = today_local()
    ctx = {"case": case, "p": case.person, "kind": kind, "kind_label": rules.REQUEST_KINDS[kind],
           "reasons": rules.REASONS, "back": _tab(case, "approvals"), "active_nav": "people", "errors": {},
           "refusals": [], "data": {}, "lt": services.table("leave", today), "permit_months": rules.PERMIT_MONTHS}
    if request.method == "POST":
        try:
            stored = services.request_apply(actor=request.user, case_id=case.pk, data=request.POST.dict(),
                                            ip=client_ip(request), files=request.FILES.getlist("files"))
        except (NotFound, NotPermitted):
            raise Http404(NotFound.message) from None
        except InputErrors as e:
            ctx.update(errors=e.errors, data=request.POST, ticked=_ticked(request.POST, ctx["lt"]))
            return render(request, "supervision/request_form.html", ctx, status=422)
        except services.RequestRefused as e:
            ctx.update(refusals=e.reasons, data=request.POST, ticked=_ticked(request.POST, ctx["lt"]))
            return render(request, "supervision/request_form.html", ctx, status=422)
        r = stored.record
        messages.success(request, _("已登记申请，由%(org)s审批，应于%(day)s前作出决定") % {
            "org": r.authority_org.name, "day": r.decide_by.isoformat()})
        return HttpResponseRedirect(reverse("supervision:request", args=[r.pk]))
    return render(request, "supervision/request_form.html", ctx)


def _ticked(post, lt) -> list[int]:
    return [i for i in range(len(lt.business_evidence)) if post.get(f"be_{i}")]


def _request_ctx(request, pk):
    try:
        v = request_view(user=request.user, request_id=pk, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    r = v.request
    orgs, unknown = services.destination_agencies(r) if r.kind == "leave" and r.state == "applied" else ([], [])
    return {"v": v, "assist_orgs": orgs, "assist_unknown": unknown, "r": r, "p": r.case.person, "case": r.case, "active_nav": "approvals", "errors": {},
            "today": today_local(), "authority_label": rules.AUTHORITY_LABELS.get(r.authority, ""),
            "article": services._article(r.kind), "reason_label": rules.REASONS.get(r.reason, ""),
            "kind_label": rules.REQUEST_KINDS[r.kind],
            "may_open_person": within(request.user, r.case.org_path)}


@require_GET
def request_page(request, pk: int):
    return render(request, "supervision/request.html", _request_ctx(request, pk))


@require_POST
def request_act_view(request, pk: int, code: str):
    try:
        r = services.request_act(actor=request.user, request_id=pk, code=code, data=request.POST.dict(),
                                 ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    except (NotPermitted, services.RequestRefused) as e:
        for m in getattr(e, "reasons", [str(e)]):
            messages.error(request, m)
        return HttpResponseRedirect(reverse("supervision:request", args=[pk]))
    except InputErrors as e:
        ctx = _request_ctx(request, pk)
        ctx.update(errors=e.errors, failed=code, posted=request.POST)
        return render(request, "supervision/request.html", ctx, status=422)
    messages.success(request, _("已办理：%(label)s") % {"label": _(rules.STEPS[code].label)}
                     + (_("（逾期 %(n)s 日返回，已记录）") % {"n": r.late_days} if code == "return" and r.late_days else ""))
    return HttpResponseRedirect(reverse("supervision:request", args=[pk]))


@require_GET
def requests_view(request):
    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise Http404(NotFound.message)
    today = today_local()
    return render(request, "supervision/requests.html", {
        "rows": requests_to_decide(user=request.user, today=today), "today": today, "active_nav": "approvals",
        "may_decide": request.user.can(Action.APPROVAL_DECIDE)})


@require_GET
def day_view(request):
    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise Http404(NotFound.message)
    if not offices_for(request.user):
        return render(request, "supervision/no_office.html", {"active_nav": "supervision"})
    try:
        v = office_day(user=request.user, office_id=request.GET.get("office"), today=today_local(),
                       ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    return render(request, "supervision/day.html", {"v": v, "active_nav": "supervision"})


@require_GET
def month_view(request):
    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise Http404(NotFound.message)
    today = today_local()
    if not offices_for(request.user):
        return render(request, "supervision/no_office.html", {"active_nav": "supervision"})
    try:
        v = office_month(user=request.user, office_id=request.GET.get("office"), month=request.GET.get("m", ""),
                         today=today, only_short=request.GET.get("short") == "1", ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    months = [rules.add_months(today.replace(day=1), -i) for i in range(12)]
    return render(request, "supervision/month.html", {"v": v, "active_nav": "supervision", "months": months,
                                                      "prev": rules.add_months(v.month, -1),
                                                      "next": rules.add_months(v.month, 1), "today": today,
                                                      "month_keep": [("m", v.month.strftime("%Y-%m"))]})


@require_http_methods(["GET", "POST"])
def activities_view(request):
    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise Http404(NotFound.message)
    from apps.orgs.scope import restrict

    today = today_local()
    ctx = {"active_nav": "supervision", "kinds": rules.HOURS_KINDS, "forms": Activity.Form.choices, "errors": {},
           "data": {"day": today.isoformat()}, "may_create": request.user.can(Action.SUPERVISEE_CHANGE),
           "offices": [] if request.user.organisation.kind == "judicial_office" else offices_for(request.user)}
    status = 200
    if request.method == "POST":
        try:
            a = services.activity_create(actor=request.user, data=request.POST.dict(), ip=client_ip(request))
        except NotPermitted:
            raise Http404(NotFound.message) from None
        except InputErrors as e:
            ctx.update(errors=e.errors, data=request.POST)
            status = 422
        else:
            messages.success(request, _("已新建活动：%(t)s") % {"t": a.title})
            return HttpResponseRedirect(reverse("supervision:activities"))
    from django.db.models import Count, Sum

    ctx["activities"] = list(restrict(Activity.objects.all(), request.user, Action.SUPERVISEE_VIEW)
                             .select_related("office").annotate(n=Count("attendance"), total=Sum("attendance__hours"))
                             .order_by("-day", "-id")[:100])
    return render(request, "supervision/activities.html", ctx, status=status)


@require_http_methods(["GET", "POST"])
def prohibition_view(request, case_id: int):
    """登记禁止令: the judgment's order as data (what it forbids, its period); a correction supersedes the old one."""
    from .models import Prohibition

    case = _case_for_form(request, case_id)
    old = Prohibition.objects.filter(case=case, superseded_by__isnull=True, pk=parse_pk(request.GET.get("correct")
                                                                                        or request.POST.get("supersedes")) or -1).first()
    data = ({"text": old.text, "start": old.start.isoformat(), "end": old.end.isoformat(), "supersedes": old.pk,
             **{k: "\n".join(getattr(old, k)) for k in rules.PROHIBITION_ITEMS}} if old else
            {"start": case.term_start.isoformat(), "end": case.term_end.isoformat()})
    ctx = {"case": case, "p": case.person, "items": rules.PROHIBITION_ITEMS, "old": old, "errors": {}, "data": data,
           "back": _tab(case, "checkins", "prohibitions"), "active_nav": "people", "article": rules.PROHIBITION_ARTICLE,
           "fields": _prohibition_fields(data)}
    if request.method == "POST":
        try:
            services.prohibition_record(actor=request.user, case_id=case.pk, data=request.POST.dict(),
                                        ip=client_ip(request))
        except (NotFound, NotPermitted):
            raise Http404(NotFound.message) from None
        except InputErrors as e:
            ctx.update(errors=e.errors, data=request.POST, fields=_prohibition_fields(request.POST))
            return render(request, "supervision/prohibition_form.html", ctx, status=422)
        messages.success(request, _("已登记禁止令"))
        return HttpResponseRedirect(_tab(case, "checkins", "prohibitions"))
    return render(request, "supervision/prohibition_form.html", ctx)


PROHIBITION_LABELS = {"activities": "禁止从事的活动", "areas": "禁止进入的区域", "places": "禁止进入的场所",
                      "people": "禁止接触的人"}


def _prohibition_fields(data) -> list[tuple[str, str, str]]:
    return [(k, PROHIBITION_LABELS[k], data.get(k, "")) for k in rules.PROHIBITION_ITEMS]


@require_GET
def attachment_view(request, pk: int, attachment_id: int):
    """One proof of an application, for whoever may read the application (a logged read)."""
    from django.http import FileResponse

    from .models import Attachment
    from .services import _request

    try:
        r = _request(request.user, pk, lock=False)
    except NotFound:
        raise Http404(NotFound.message) from None
    a = Attachment.objects.filter(request=r, pk=parse_pk(attachment_id) or -1).first()
    if a is None:
        raise Http404(NotFound.message)
    audit_view(actor=request.user, object_type="supervisee", object_ids=[r.person_id], ip=client_ip(request),
               org_path=r.org_path, summary=f"查阅申请{r.pk}的证明材料（{a.name}）", action="request.attachment")
    resp = FileResponse(a.file.open("rb"), content_type=a.content_type)
    resp["Content-Disposition"] = "inline"
    return resp


@require_http_methods(["GET", "POST"])
def settings_view(request):
    """本省监管规则: the leave, report-in and hours tables in force, with their dated rows; the province adds one."""
    may_set = request.user.can(Action.DEADLINE_SET)
    if not (may_set or request.user.can(Action.SUPERVISEE_VIEW)):
        raise Http404(NotFound.message)
    today = today_local()
    ctx = {"active_nav": "rule_settings", "may_set": may_set, "today": today, "errors": {}, "failed": "",
           "posted": {}, "periods": services.PERIOD_WORDS}
    status = 200
    if request.method == "POST":
        if not may_set:
            raise Http404(NotFound.message)
        name = request.POST.get("table", "")
        try:
            row = services.rule_setting_from_form(actor=request.user, table_name=name, post=request.POST,
                                                  ip=client_ip(request), today=today)
        except NotPermitted:
            raise Http404(NotFound.message) from None
        except InputErrors as e:
            ctx.update(errors=e.errors, failed=name, posted=request.POST)
            status = 422
        else:
            messages.success(request, _("已设置本省规则，自 %(day)s 起施行") % {"day": row.effective_from.isoformat()})
            return HttpResponseRedirect(reverse("supervision:settings") + f"#t-{row.table}")
    ctx["tables"] = services.settings_overview(today)
    errors = ctx["errors"]
    ctx["top_error"] = errors.get("values") or errors.get("table") or ""
    for t in ctx["tables"]:  # what each form shows: the values in force, or what was just sent back with its errors
        sent = t["name"] == ctx["failed"]
        t["sent"] = sent
        t["err_from"], t["err_note"] = (errors.get("effective_from", ""), errors.get("note", "")) if sent else ("", "")
        t["form_from"] = request.POST.get("effective_from", "") if sent else today.isoformat()
        t["form_note"] = request.POST.get("note", "") if sent else ""
        for f in t["fields"]:
            key = f["key"]
            f["error"] = "；".join(m for k, m in ctx["errors"].items() if sent and (k == key or k.startswith(key + ".")))
            f["form_levels"] = [(k, w, request.POST.get(f"{key}.{k}", "") if sent else v) for k, w, v in f["levels"]]
            f["form_value"] = (request.POST.get(key, "") if sent else
                               f["text"] if f["kind"] == "lines" else f["value"])
    return render(request, "supervision/settings.html", ctx, status=status)
