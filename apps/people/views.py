from __future__ import annotations

import io
import secrets
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.audit.selectors import audit_history_for
from apps.audit.services import audit_record, audit_view, client_ip
from apps.audit.models import AuditRecord
from apps.orgs.rules import Action
from apps.orgs.selectors import NotFound, judicial_offices_for, org_list

from . import rules, services, sheets
from .forms import ContactForm, ImportForm, SuperviseeForm, TeamMemberForm
from .models import Supervisee
from .selectors import SuperviseeFilters, access_supervisee, can_reveal, supervisee_list

PAGE_SIZES = (20, 50, 100)
TABS = [
    ("profile", "基本信息"), ("case", "案件"), ("checkins", "报到与走访"), ("approvals", "审批"),
    ("monitoring", "监控"), ("assessment", "考核评估"), ("documents", "文书"), ("history", "变更历史"),
]


def _filters(request) -> SuperviseeFilters:
    g = request.GET
    return SuperviseeFilters(q=g.get("q", "")[:40], office=g.get("office", ""), county=g.get("county", ""),
                             sentence_type=g.get("type", ""), level=g.get("level", ""), status=g.get("status", ""),
                             minor=g.get("minor", ""), sort=g.get("sort", "-start"))


def _need(request, action):
    if not request.user.can(action):
        raise Http404


@require_GET
def supervisee_list_view(request):
    _need(request, Action.SUPERVISEE_VIEW)
    f = _filters(request)
    qs = supervisee_list(fetched_by=request.user, filters=f)
    try:
        per = int(request.GET.get("per", 20))
    except ValueError:
        per = 20
    per = per if per in PAGE_SIZES else 20
    page = Paginator(qs, per).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    reveal = bool(request.user.minor_access)
    if rows:
        audit_view(actor=request.user, object_type="supervisee", object_ids=[s.pk for s in rows],
                   summary=f"浏览社区矫正对象列表（第{page.number}页，{len(rows)}人）", ip=client_ip(request))
    offices = judicial_offices_for(request.user)
    counties = org_list(fetched_by=request.user, kind="county_agency")
    params = request.GET.copy()
    params.pop("page", None)
    sort_params = request.GET.copy()
    for k in ("page", "sort"):
        sort_params.pop(k, None)
    ctx = {
        "page": page, "rows": [(s, s.display_name(reveal=reveal), s.id_number if (reveal or not s.is_minor)
                                else rules.mask_id(s.id_number)) for s in rows],
        "f": f, "offices": offices, "counties": counties, "per": per, "page_sizes": PAGE_SIZES,
        "querystring": params.urlencode(), "sortstring": sort_params.urlencode(),
        "sentence_labels": rules.SENTENCE_LABELS, "level_labels": rules.LEVEL_LABELS,
        "status_labels": rules.STATUS_LABELS, "active_nav": "people",
        "can_create": request.user.can(Action.SUPERVISEE_CREATE),
        "can_import": request.user.can(Action.SUPERVISEE_IMPORT),
        "can_export": request.user.can(Action.SUPERVISEE_EXPORT),
        "today": date.today(),
    }
    template = "people/_table.html" if request.htmx else "people/list.html"
    return render(request, template, ctx)


@require_GET
def supervisee_export_view(request):
    _need(request, Action.SUPERVISEE_EXPORT)
    f = _filters(request)
    qs = supervisee_list(fetched_by=request.user, filters=f, action=Action.SUPERVISEE_EXPORT)
    rows = list(qs[:20000])
    today = services.today_local()
    data = sheets.export_bytes(rows, reveal_minors=bool(request.user.minor_access),
                               title=f"社区矫正对象名单（导出：{request.user}，{today.isoformat()}，共{len(rows)}人）")
    with transaction.atomic():
        audit_record(actor=request.user, kind=AuditRecord.Kind.EXPORT, action="supervisee.export",
                     object_type="supervisee", summary=f"导出社区矫正对象名单 {len(rows)} 人",
                     after={"filters": f.__dict__, "count": len(rows), "ids": [s.pk for s in rows]},
                     ip=client_ip(request))
    resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f"attachment; filename=\"supervisees-{today.isoformat()}.xlsx\""
    return resp


def _get(request, pk, action=Action.SUPERVISEE_VIEW):
    try:
        return access_supervisee(user=request.user, supervisee_id=pk, action=action)
    except NotFound:
        raise Http404(NotFound.message) from None


@require_GET
def supervisee_detail_view(request, pk: int):
    s = _get(request, pk)
    tab = request.GET.get("tab", "profile")
    if tab not in dict(TABS):
        tab = "profile"
    audit_view(actor=request.user, object_type="supervisee", object_ids=[s.pk],
               summary=f"查阅社区矫正对象档案（{dict(TABS)[tab]}）" + ("【未成年人】" if s.is_minor else ""),
               ip=client_ip(request))
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
        "history": _history_rows(s) if tab == "history" else [],
        "sentence_label": rules.SENTENCE_LABELS[rules.SentenceType(s.sentence_type)],
    }
    return render(request, "people/detail.html", ctx)


def _history_rows(s: Supervisee) -> list[dict]:
    """Audit records of one person, with field names as labels and office ids as names."""
    from apps.orgs.models import Organisation

    records = list(audit_history_for(object_type="supervisee", object_id=s.pk))
    org_ids = {v for r in records for d in (r.before or {}, r.after or {})
               for k, v in d.items() if k in ("judicial_office", "execution_county") and isinstance(v, int)}
    names = dict(Organisation.objects.filter(pk__in=org_ids).values_list("pk", "name"))
    choices = {"sentence_type": rules.SENTENCE_LABELS, "management_level": rules.LEVEL_LABELS,
               "status": rules.STATUS_LABELS, "gender": {"M": "男", "F": "女"}}

    def label(key):
        try:
            return str(Supervisee._meta.get_field(key).verbose_name)
        except Exception:  # noqa: BLE001 - keys that are not fields (contact, member, ids) keep their name
            return {"contact": "联系人", "member": "小组成员", "relation": "关系", "kind": "身份", "name": "姓名"}.get(key, key)

    def value(key, v):
        if v in (None, ""):
            return "—"
        if key in ("judicial_office", "execution_county"):
            return names.get(v, v)
        if key in choices:
            return choices[key].get(v, v)
        if isinstance(v, bool):
            return "是" if v else "否"
        return v

    rows = []
    for r in records:
        keys = list(dict.fromkeys([*(r.before or {}), *(r.after or {})]))
        rows.append({"at": r.at, "actor": r.actor_name, "summary": r.summary,
                     "changes": [(label(k), value(k, (r.before or {}).get(k)), value(k, (r.after or {}).get(k)))
                                 for k in keys]})
    return rows


@require_GET
def supervisee_photo_view(request, pk: int):
    s = _get(request, pk)
    if not s.photo:
        raise Http404
    audit_view(actor=request.user, object_type="supervisee", object_ids=[s.pk], summary="查看照片",
               ip=client_ip(request))
    return FileResponse(s.photo.open("rb"), content_type="image/jpeg" if s.photo.name.endswith(".jpg") else "image/png")


def _form_page(request, form, s=None, status=200):
    return render(request, "people/form.html", {"form": form, "s": s, "active_nav": "people"}, status=status)


def _form_errors(request, offices, errors: dict[str, str], s=None):
    """The form again, with what the user typed and every error next to its field."""
    form = SuperviseeForm(request.POST, offices=offices)
    form.is_valid()  # binds the posted values so they are shown again; the service decides what is valid
    form._errors = {}
    form.cleaned_data = {}
    form.apply_errors({k if k != "photo" else "__all__": v for k, v in errors.items()})
    return _form_page(request, form, s, status=422)


@require_http_methods(["GET", "POST"])
def supervisee_create_view(request):
    _need(request, Action.SUPERVISEE_CREATE)
    offices = list(judicial_offices_for(request.user))
    if request.method == "GET":
        initial = {"judicial_office": str(offices[0].pk)} if len(offices) == 1 else {}
        return _form_page(request, SuperviseeForm(offices=offices, initial=initial))
    try:
        # the photo is checked before anything is written, so a bad photo leaves no half-saved record
        photo = services.photo_check(request.FILES["photo"]) if request.FILES.get("photo") else None
        s = services.supervisee_create(actor=request.user, data=request.POST.dict(), ip=client_ip(request))
        if photo:
            services.supervisee_set_photo(actor=request.user, supervisee=s, photo=photo, ip=client_ip(request))
    except services.InputErrors as exc:
        return _form_errors(request, offices, exc.errors)
    messages.success(request, f"已新增社区矫正对象 {s.display_name(reveal=can_reveal(request.user, s))}")
    return HttpResponseRedirect(reverse("people:detail", args=[s.pk]))


@require_http_methods(["GET", "POST"])
def supervisee_edit_view(request, pk: int):
    s = _get(request, pk, Action.SUPERVISEE_CHANGE)
    offices = list(judicial_offices_for(request.user))
    if request.method == "GET":
        audit_view(actor=request.user, object_type="supervisee", object_ids=[s.pk], summary="打开档案编辑页",
                   ip=client_ip(request))
        initial = {f: getattr(s, f) for f in services.EDITABLE_FIELDS if f != "judicial_office"}
        initial["judicial_office"] = str(s.judicial_office_id)
        return _form_page(request, SuperviseeForm(offices=offices, initial=initial), s)
    try:
        photo = services.photo_check(request.FILES["photo"]) if request.FILES.get("photo") else None
        services.supervisee_update(actor=request.user, supervisee=s, data=request.POST.dict(), ip=client_ip(request))
        if photo:
            services.supervisee_set_photo(actor=request.user, supervisee=s, photo=photo, ip=client_ip(request))
    except services.InputErrors as exc:
        return _form_errors(request, offices, exc.errors, s)
    messages.success(request, "已保存修改")
    return HttpResponseRedirect(reverse("people:detail", args=[s.pk]))


def _sub_change(request, pk: int, change, done: str, anchor: str, **kwargs):
    """A small change on a detail page (a contact, a team member): do it, say how it went, go back."""
    s = _get(request, pk, Action.SUPERVISEE_CHANGE)
    try:
        change(actor=request.user, supervisee=s, ip=client_ip(request), **kwargs)
        messages.success(request, done)
    except services.InputErrors as exc:
        messages.error(request, "未完成：" + "；".join(exc.errors.values()))
    return HttpResponseRedirect(reverse("people:detail", args=[s.pk]) + f"?tab=profile#{anchor}")


@require_POST
def contact_add_view(request, pk: int):
    return _sub_change(request, pk, services.contact_add, "已添加家庭成员/联系人", "contacts", data=request.POST.dict())


@require_POST
def team_add_view(request, pk: int):
    return _sub_change(request, pk, services.team_member_add, "已添加矫正小组成员", "team", data=request.POST.dict())


@require_POST
def team_remove_view(request, pk: int, member_id: int):
    return _sub_change(request, pk, services.team_member_remove, "已移除矫正小组成员", "team", member_id=member_id)


# --- import -------------------------------------------------------------------------------------------
def _import_dir():
    d = settings.VAR_DIR / "imports"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _sweep_imports(user_id: int, max_age_s: int = 24 * 3600) -> None:
    """One pending sheet per user; anyone's sheet older than a day is removed."""
    import time

    now = time.time()
    for f in _import_dir().glob("*.xlsx"):
        if f.name.startswith(f"{user_id}-") or now - f.stat().st_mtime > max_age_s:
            f.unlink(missing_ok=True)


@require_GET
def import_template_view(request):
    _need(request, Action.SUPERVISEE_IMPORT)
    first = judicial_offices_for(request.user).first()
    resp = HttpResponse(sheets.template_bytes(example_office=first.name if first else ""),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = 'attachment; filename="supervisee-import-template.xlsx"'
    return resp


@require_http_methods(["GET", "POST"])
def import_view(request):
    _need(request, Action.SUPERVISEE_IMPORT)
    ctx = {"active_nav": "people", "form": ImportForm()}
    if request.method == "GET":
        return render(request, "people/import.html", ctx)
    upload = request.FILES.get("file")
    if upload is None:
        ctx["error"] = "请选择要上传的 Excel 文件"
        return render(request, "people/import.html", ctx, status=422)
    data = upload.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    if len(data) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
        ctx["error"] = "文件太大（最大 10 MB）"
        return render(request, "people/import.html", ctx, status=422)
    try:
        parsed = sheets.parse_sheet(data)
    except sheets.SheetError as exc:
        ctx["error"] = str(exc)
        return render(request, "people/import.html", ctx, status=422)
    problems = sheets.check_rows(parsed.rows, actor=request.user, today=services.today_local(),
                                 ip=client_ip(request))
    ctx.update({"filename": upload.name, "total": len(parsed.rows), "problems": problems})
    if problems:
        return render(request, "people/import.html", ctx, status=422)
    token = secrets.token_hex(16)
    _sweep_imports(request.user.pk)
    (_import_dir() / f"{request.user.pk}-{token}.xlsx").write_bytes(data)
    request.session["import_token"] = token
    ctx.update({"token": token, "preview": parsed.rows[:20]})
    return render(request, "people/import.html", ctx)


@require_POST
def import_confirm_view(request):
    _need(request, Action.SUPERVISEE_IMPORT)
    token = request.POST.get("token", "")
    if not token or token != request.session.get("import_token"):
        messages.error(request, "导入已过期或无效，请重新上传")
        return HttpResponseRedirect(reverse("people:import"))
    path = _import_dir() / f"{request.user.pk}-{token}.xlsx"
    try:
        parsed = sheets.parse_sheet(path.read_bytes())
        result = services.supervisee_import(actor=request.user, rows=[r for _, r in parsed.rows],
                                            ip=client_ip(request))
    except (services.InputErrors, sheets.SheetError, FileNotFoundError) as exc:
        messages.error(request, f"导入未完成，未写入任何数据：{exc}")
        return HttpResponseRedirect(reverse("people:import"))
    finally:
        path.unlink(missing_ok=True)
        request.session.pop("import_token", None)
    messages.success(request, f"已导入 {len(result.created)} 名社区矫正对象")
    return HttpResponseRedirect(reverse("people:list") + "?sort=-start")
