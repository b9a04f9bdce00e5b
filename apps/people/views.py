"""Officer pages for supervisees. Views parse input and render; reading goes through selectors (which scope,
seal and log), writing through services (which check, write and audit). Nothing here touches a model's table."""
from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.audit.context import client_ip
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk
from apps.orgs.selectors import judicial_offices_for, org_in_scope, org_list

from . import extensions, rules, services, sheets
from .forms import ContactForm, ImportForm, SuperviseeForm, TeamMemberForm
from .selectors import (PageRequest, SuperviseeFilters, access_supervisee, can_reveal, export_job_for, export_jobs_of,
                        supervisee_history, supervisee_page)

PAGE_SIZES = (20, 50, 100)
TABS = [
    ("profile", "基本信息"), ("case", "案件"), ("checkins", "报到与走访"), ("approvals", "审批"),
    ("monitoring", "监控"), ("assessment", "考核评估"), ("documents", "文书"), ("history", "变更历史"),
]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(request) -> SuperviseeFilters:
    g = request.GET if request.method == "GET" else request.POST
    return SuperviseeFilters(q=g.get("q", "")[:40], office=g.get("office", ""), county=g.get("county", ""),
                             sentence_type=g.get("type", ""), level=g.get("level", ""), status=g.get("status", ""),
                             minor=g.get("minor", ""), sort=g.get("sort", "-start"))


def _need(request, action):
    if not request.user.can(action):
        raise Http404


def _int(value, default=None):
    n = parse_pk(value)
    return n if n is not None else default


def _page_request(request) -> PageRequest:
    g = request.GET
    per = _int(g.get("per"), 20)
    return PageRequest(page=_int(g.get("page")), after=g.get("after", "")[:200], before=g.get("before", "")[:200],
                       number=_int(g.get("p")), last=g.get("last") == "1", per=per if per in PAGE_SIZES else 20)


def _offices(request, f: SuperviseeFilters):
    """The office picker: a county chosen narrows it to that county's offices, and an office of another county
    chosen before is dropped from the filter. Returns (offices, filters)."""
    county = org_in_scope(fetched_by=request.user, pk=f.county, kind="county_agency") if f.county else None
    offices = list(judicial_offices_for(request.user, county=county))
    if f.office and not any(str(o.pk) == f.office for o in offices):
        f = replace(f, office="")
    return offices, f


@require_GET
def supervisee_list_view(request):
    _need(request, Action.SUPERVISEE_VIEW)
    offices, f = _offices(request, _filters(request))
    page, rows = supervisee_page(fetched_by=request.user, filters=f, request=_page_request(request),
                                 summary="浏览社区矫正对象列表（第{page}页，{n}人）", ip=client_ip(request))
    counties = list(org_list(fetched_by=request.user, kind="county_agency"))
    params = request.GET.copy()
    for k in ("page", "after", "before", "p", "last"):
        params.pop(k, None)
    sort_params = params.copy()
    sort_params.pop("sort", None)
    ctx = {
        "page": page, "rows": rows, "f": f, "offices": offices, "counties": counties,
        "show_county": len(counties) > 1, "per": page.per, "page_sizes": PAGE_SIZES,
        "querystring": params.urlencode(), "sortstring": sort_params.urlencode(),
        "sentence_labels": rules.SENTENCE_LABELS, "level_labels": rules.LEVEL_LABELS,
        "status_labels": rules.STATUS_LABELS, "active_nav": "people",
        "can_create": request.user.can(Action.SUPERVISEE_CREATE),
        "can_import": request.user.can(Action.SUPERVISEE_IMPORT),
        "can_export": request.user.can(Action.SUPERVISEE_EXPORT),
        "export_inline_max": settings.ZHIJIAO_EXPORT_INLINE_MAX,
        "export_params": [(k, v) for k, v in (("q", f.q), ("county", f.county), ("office", f.office),
                                              ("type", f.sentence_type), ("level", f.level), ("status", f.status),
                                              ("minor", f.minor), ("sort", f.sort)) if v],
    }
    template = "people/_table.html" if request.htmx else "people/list.html"
    return render(request, template, ctx)


@require_POST
def supervisee_export_view(request):
    """Export the list as filtered now (the filter form's values are posted): a small list downloads at once, a big
    one becomes a background job whose page shows its progress."""
    _need(request, Action.SUPERVISEE_EXPORT)
    result = services.supervisee_export(actor=request.user, filters=_filters(request), ip=client_ip(request))
    if result.job is not None:
        messages.info(request, _("名单较大（%(n)s 人），正在后台生成，完成后可在此页下载") % {"n": result.count})
        return HttpResponseRedirect(reverse("people:export_job", args=[result.job.pk]))
    resp = HttpResponse(result.data, content_type=XLSX)
    resp["Content-Disposition"] = _attachment(f"社区矫正对象名单-{services.today_local().isoformat()}.xlsx")
    return resp


def _attachment(name: str) -> str:
    """A download's file name in Chinese, with an ASCII fallback for old clients."""
    from urllib.parse import quote

    return f"attachment; filename=\"export.xlsx\"; filename*=UTF-8''{quote(name)}"


@require_GET
def export_job_view(request, pk: int):
    try:
        job = export_job_for(user=request.user, job_id=pk)
    except NotFound:
        raise Http404(NotFound.message) from None
    ctx = {"job": job, "jobs": export_jobs_of(user=request.user), "active_nav": "people"}
    if request.htmx:
        return render(request, "people/_export_progress.html", ctx)
    return render(request, "people/export_job.html", ctx)


@require_GET
def export_job_download_view(request, pk: int):
    try:
        job = export_job_for(user=request.user, job_id=pk)
        data = services.export_job_download(actor=request.user, job=job, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    resp = HttpResponse(data, content_type=XLSX)
    resp["Content-Disposition"] = _attachment(f"社区矫正对象名单-{job.created_at:%Y-%m-%d}-{job.pk}.xlsx")
    return resp


def _get(request, pk, action=Action.SUPERVISEE_VIEW, purpose=""):
    try:
        return access_supervisee(user=request.user, supervisee_id=pk, action=action, purpose=purpose,
                                 ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None


@require_GET
def supervisee_detail_view(request, pk: int):
    tab = request.GET.get("tab", "profile")
    if tab not in dict(TABS):
        tab = "profile"
    s = _get(request, pk, purpose=f"查阅社区矫正对象档案（{dict(TABS)[tab]}）")
    team = list(s.team.all())
    today = services.today_local()
    ctx = {
        "s": s, "tab": tab, "tabs": TABS, "active_nav": "people",
        "contacts": s.contacts.all(), "team": team,
        "team_problems": rules.team_problems(gender=s.gender, minor=s.is_minor,
                                             members=[rules.Member(m.gender, m.knows_minors) for m in team]),
        "age": s.age_on(today), "today": today,
        "days_left": (s.supervision_end - today).days,
        "can_change": request.user.can(Action.SUPERVISEE_CHANGE),
        "contact_form": ContactForm(), "team_form": TeamMemberForm(),
        "team_staff": services.team_staff_choices(s) if tab == "profile" and request.user.can(Action.SUPERVISEE_CHANGE)
        else [],
        "history": supervisee_history(s) if tab == "history" else [],
    }
    panel = extensions.tab_panel(tab)
    if panel:
        ctx["panel_template"], panel_ctx = panel(request, s)
        ctx.update(panel_ctx)
    return render(request, "people/detail.html", ctx)


@require_GET
def supervisee_photo_view(request, pk: int):
    s = _get(request, pk, purpose="查看照片")
    if not s.photo:
        raise Http404
    return FileResponse(s.photo.open("rb"), content_type="image/jpeg" if s.photo.name.endswith(".jpg") else "image/png")


def _form_page(request, form, s=None, status=200):
    return render(request, "people/form.html", {"form": form, "s": s, "active_nav": "people"}, status=status)


def _form_errors(request, offices, errors: dict[str, str], s=None):
    """The form again, with what the user typed and every error next to its field."""
    form = SuperviseeForm(request.POST, offices=offices, edit=s is not None)
    form.is_valid()  # binds the posted values so they are shown again; the service decides what is valid
    form._errors = {}
    form.cleaned_data = {}
    form.apply_errors({k if k != "photo" else "__all__": v for k, v in errors.items()})
    return _form_page(request, form, s, status=422)


def _photo(request):
    return services.photo_check(request.FILES["photo"]) if request.FILES.get("photo") else None


@require_http_methods(["GET", "POST"])
def supervisee_create_view(request):
    _need(request, Action.SUPERVISEE_CREATE)
    offices = list(judicial_offices_for(request.user))
    if request.method == "GET":
        initial = {"judicial_office": str(offices[0].pk)} if len(offices) == 1 else {}
        return _form_page(request, SuperviseeForm(offices=offices, initial=initial))
    try:
        # the photo is checked before anything is written; record and photo are saved in one transaction
        s = services.supervisee_register(actor=request.user, data=request.POST.dict(), photo=_photo(request),
                                         ip=client_ip(request))
    except services.InputErrors as exc:
        return _form_errors(request, offices, exc.errors)
    if not can_reveal(request.user, s):
        # a minor's file is sealed as soon as it exists: whoever registered it without the grant cannot open it
        messages.success(request, _("已新增社区矫正对象 %(name)s。该对象为未成年人，档案已封存，查阅需经授权。")
                         % {"name": s.display_name(reveal=False)})
        return HttpResponseRedirect(reverse("people:list"))
    messages.success(request, _("已新增社区矫正对象 %(name)s") % {"name": s.name})
    return HttpResponseRedirect(reverse("people:detail", args=[s.pk]))


@require_http_methods(["GET", "POST"])
def supervisee_edit_view(request, pk: int):
    offices = list(judicial_offices_for(request.user))
    if request.method == "GET":
        s = _get(request, pk, Action.SUPERVISEE_CHANGE, purpose="打开档案编辑页")
        initial = {f: getattr(s, f) for f in services.EDITABLE_FIELDS if f != "judicial_office"}
        initial["judicial_office"] = str(s.judicial_office_id)
        return _form_page(request, SuperviseeForm(offices=offices, initial=initial, edit=True), s)
    s = _get(request, pk, Action.SUPERVISEE_CHANGE)
    # the form has no judgment fields (changed on the case); anything else posted is not the form's
    data = {k: v for k, v in request.POST.dict().items() if k not in services.JUDGMENT_FIELDS}
    try:
        photo = _photo(request)
        s = services.supervisee_edit(actor=request.user, supervisee=s, data=data, photo=photo,
                                     ip=client_ip(request))
    except services.InputErrors as exc:
        return _form_errors(request, offices, exc.errors, s)
    if getattr(s, "changed_fields", None) or photo:
        messages.success(request, _("已保存修改"))
    else:
        messages.info(request, _("未作修改"))
    return HttpResponseRedirect(reverse("people:detail", args=[s.pk]))


def _sub_change(request, pk: int, change, done: str, anchor: str, **kwargs):
    """A small change on a detail page (a contact, a team member): do it, say how it went, go back."""
    s = _get(request, pk, Action.SUPERVISEE_CHANGE)
    try:
        change(actor=request.user, supervisee=s, ip=client_ip(request), **kwargs)
        messages.success(request, done)
    except services.InputErrors as exc:
        messages.error(request, _("未完成：") + "；".join(exc.errors.values()))
    return HttpResponseRedirect(reverse("people:detail", args=[s.pk]) + f"?tab=profile#{anchor}")


@require_POST
def contact_add_view(request, pk: int):
    return _sub_change(request, pk, services.contact_add, _("已添加家庭成员/联系人"), "contacts", data=request.POST.dict())


@require_POST
def team_add_view(request, pk: int):
    return _sub_change(request, pk, services.team_member_add, _("已添加矫正小组成员"), "team", data=request.POST.dict())


@require_POST
def team_remove_view(request, pk: int, member_id: int):
    s = _get(request, pk, Action.SUPERVISEE_CHANGE)
    try:
        services.team_member_remove(actor=request.user, supervisee=s, member_id=member_id,
                                    reason=request.POST.get("reason", "")[:100], ip=client_ip(request))
    except services.InputErrors as exc:
        messages.error(request, _("未完成：") + "；".join(exc.errors.values()))
    else:
        messages.success(request, _("已移除矫正小组成员"))
        for problem in getattr(s, "team_problems_after", []):  # what the team now lacks, said at once
            messages.warning(request, problem)
    return HttpResponseRedirect(reverse("people:detail", args=[s.pk]) + "?tab=profile#team")


# --- import -------------------------------------------------------------------------------------------
@require_GET
def import_template_view(request):
    _need(request, Action.SUPERVISEE_IMPORT)
    first = judicial_offices_for(request.user).first()
    resp = HttpResponse(sheets.template_bytes(example_office=first.name if first else ""), content_type=XLSX)
    resp["Content-Disposition"] = _attachment("社区矫正对象导入模板.xlsx")
    return resp


@require_http_methods(["GET", "POST"])
def import_view(request):
    _need(request, Action.SUPERVISEE_IMPORT)
    ctx = {"active_nav": "people", "form": ImportForm()}
    if request.method == "GET":
        return render(request, "people/import.html", ctx)
    upload = request.FILES.get("file")
    if upload is None:
        ctx["error"] = _("请选择要上传的 Excel 文件")
        return render(request, "people/import.html", ctx, status=422)
    data = upload.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    if len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        ctx["error"] = _("文件太大（最大 10 MB）")
        return render(request, "people/import.html", ctx, status=422)
    try:
        check = services.supervisee_import_check(actor=request.user, data=data, filename=upload.name,
                                                 ip=client_ip(request))
    except sheets.SheetError as exc:
        ctx["error"] = str(exc)
        return render(request, "people/import.html", ctx, status=422)
    ctx.update({"filename": upload.name, "total": check.total, "problems": check.problems, "token": check.token,
                "preview": check.preview})
    return render(request, "people/import.html", ctx, status=422 if check.problems else 200)


@require_POST
def import_confirm_view(request):
    _need(request, Action.SUPERVISEE_IMPORT)
    token = request.POST.get("token", "")[:64]
    try:
        result = services.supervisee_import_staged(actor=request.user, token=token, ip=client_ip(request))
    except services.StagedImportMissing:
        messages.error(request, _("导入已过期或无效，请重新上传"))
        return HttpResponseRedirect(reverse("people:import"))
    except (services.ImportRefused, sheets.SheetError) as exc:
        services.staged_import_discard(actor=request.user, token=token)
        detail = "；".join(f"第 {n} 行 {m}" for n, errs in getattr(exc, "problems", [])[:5] for _k, m in errs) or str(exc)
        messages.error(request, _("导入未完成，未写入任何数据：") + detail)
        return HttpResponseRedirect(reverse("people:import"))
    shown = "、".join(s.display_name(reveal=can_reveal(request.user, s)) for s in result.created[:10])
    more = _("等") if len(result.created) > 10 else ""
    messages.success(request, _("已导入 %(n)s 名社区矫正对象：%(names)s%(more)s") % {
        "n": len(result.created), "names": shown, "more": more})
    return HttpResponseRedirect(reverse("people:list") + "?sort=-start")
