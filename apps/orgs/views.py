from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.audit.context import client_ip
from . import services
from .extensions import org_counter_for
from .middleware import mark_seen
from .rules import ROLE_LABELS, Action, Role
from .selectors import NotFound, access_staff, org_in_scope, org_list, parse_pk, staff_list


def home_url(user) -> str:
    """Where a user lands: the first part of the console their roles open."""
    for action, url in ((Action.SUPERVISEE_VIEW, "/cases/work/"), (Action.STAFF_VIEW, "/orgs/staff/"),
                        (Action.AUDIT_VIEW, "/audit/")):
        if user.can(action):
            return url
    return "/orgs/password/"


@login_not_required
@require_http_methods(["GET", "POST"])
def login_view(request):
    """The front page: sign-in."""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if next_url and not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(next_url or home_url(request.user))
    error = ""
    username = ""
    if request.method == "POST":
        username = (request.POST.get("username") or "").strip()[:150]
        password = request.POST.get("password") or ""
        if not username or not password:
            error = _("请输入用户名和密码")
        else:
            try:
                user = services.login_attempt(username=username, password=password, ip=client_ip(request))
            except services.LoginFailed as exc:
                error = exc.message
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                mark_seen(request)
                return HttpResponseRedirect(next_url or home_url(user))
    return render(request, "orgs/login.html", {"error": error, "username": username, "next": next_url},
                  status=200 if not error else 401)


@login_not_required
@require_POST
def logout_view(request):
    was_in = request.user.is_authenticated
    if was_in:
        services.logout_record(user=request.user, ip=client_ip(request))
    logout(request)
    if was_in:
        messages.info(request, _("已安全退出"))
    return HttpResponseRedirect(settings.LOGIN_URL)


@login_not_required
@require_GET
def healthz(request):
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
        db = "ok"
    except Exception:  # noqa: BLE001 - health must answer, not raise
        db = "error"
    body = {"status": "ok" if db == "ok" else "degraded", "database": connection.vendor, "database_status": db,
            "version": settings.VERSION}
    return JsonResponse(body, status=200 if db == "ok" else 503)


@require_GET
def staff_view(request):
    """Organisations of the caller's jurisdiction, and their staff: search by name, user name or phone, filter by
    role and organisation; administrators manage accounts from here."""
    if not request.user.can(Action.STAFF_VIEW):
        raise Http404
    orgs = list(org_list(fetched_by=request.user).select_related("oversees"))
    counter = org_counter_for(request.user)
    counts = counter[1] if counter else {}
    org = request.GET.get("org", "")
    chosen = org_in_scope(fetched_by=request.user, pk=org) if org else None
    role = request.GET.get("role", "")
    role = role if role in Role.__members__.values() else ""
    q = request.GET.get("q", "").strip()[:40]
    qs = staff_list(fetched_by=request.user, q=q, role=role, org=chosen).order_by("organisation__path", "username")
    if org and chosen is None:
        qs = qs.none()
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    can_manage = request.user.can(Action.STAFF_MANAGE)
    locked = set()
    if can_manage:
        now = timezone.now()
        locked = {u.pk for u in page if services.login_locked_until(username=u.username, now=now)}
    return render(request, "orgs/staff.html", {
        "page": page, "org": org, "role": role, "q": q, "querystring": params.urlencode(), "active_nav": "staff",
        "counter_label": counter[0] if counter else "", "roles": [(r.value, ROLE_LABELS[r]) for r in Role],
        "orgs": [(o, counts.get(o.pk), o.depth - min((x.depth for x in orgs), default=0)) for o in orgs],
        "can_manage": can_manage, "locked": locked, "chosen": chosen,
    })


@require_http_methods(["GET", "POST"])
def staff_create_view(request):
    """An administrator adds a staff account in their jurisdiction."""
    if not request.user.can(Action.STAFF_MANAGE):
        raise Http404
    orgs = list(org_list(fetched_by=request.user).select_related("parent"))
    errors, values = {}, {}
    if request.method == "POST":
        values = request.POST
        org = next((o for o in orgs if o.pk == parse_pk(values.get("organisation"))), None)
        try:
            user = services.staff_create(
                actor=request.user, username=values.get("username", ""), full_name=values.get("full_name", ""),
                organisation=org, roles=values.getlist("roles"), password=values.get("password", ""),
                gender=values.get("gender", ""), phone=values.get("phone", ""), ip=client_ip(request))
        except services.StaffError as exc:
            errors = exc.errors
        else:
            messages.success(request, _("已新增工作人员 %(who)s。初始密码请当面告知本人，本人首次登录须修改密码")
                             % {"who": user})
            return HttpResponseRedirect(reverse("orgs:staff") + f"?org={org.pk}")
    return render(request, "orgs/staff_form.html", {
        "orgs": orgs, "errors": errors, "values": values, "active_nav": "staff",
        "roles": [(r.value, ROLE_LABELS[r]) for r in Role],
    }, status=422 if errors else 200)


def _staff_target(request, pk):
    try:
        return access_staff(user=request.user, pk=pk)
    except NotFound:
        raise Http404(NotFound.message) from None


def _back(target):
    return HttpResponseRedirect(reverse("orgs:staff") + f"?org={target.organisation_id}")


def _staff_change(request, pk: int, change, done: str, **kwargs):
    target = _staff_target(request, pk)
    try:
        result = change(actor=request.user, user=target, reason=request.POST.get("reason", "")[:200],
                        ip=client_ip(request), **kwargs)
    except services.StaffError as exc:
        messages.error(request, _("未更改：") + "；".join(exc.errors.values()))
        return _back(target), None
    messages.success(request, done % {"who": target})
    return _back(target), result


@require_POST
def staff_active_view(request, pk: int):
    return _staff_change(request, pk, services.staff_set_active, _("已更新 %(who)s 的账号状态"),
                         active=request.POST.get("active") == "1")[0]


@require_POST
def minor_access_view(request, pk: int):
    """Grant or withdraw access to minors' sealed records (administrators, with a recorded reason)."""
    granted = request.POST.get("granted") == "1"
    done = _("已授予 %(who)s 未成年人档案查阅权限") if granted else _("已撤销 %(who)s 的未成年人档案查阅权限")
    return _staff_change(request, pk, services.staff_set_minor_access, done, granted=granted)[0]


@require_POST
def staff_unlock_view(request, pk: int):
    return _staff_change(request, pk, services.staff_unlock, _("已解除 %(who)s 的登录锁定"))[0]


@require_POST
def staff_password_reset_view(request, pk: int):
    """The temporary password is shown once, on the next page, to the administrator who reset it."""
    resp, result = _staff_change(request, pk, services.staff_reset_password, _("已重置 %(who)s 的密码"))
    if result is not None:
        messages.warning(request, _("临时密码（仅显示这一次，请当面或电话告知本人，登录后须立即修改）：%(pw)s")
                         % {"pw": result.temporary})
    return resp


@require_http_methods(["GET", "POST"])
def password_view(request):
    errors = {}
    if request.method == "POST":
        try:
            services.password_change(user=request.user, old=request.POST.get("old", ""),
                                     new=request.POST.get("new", ""), new_again=request.POST.get("new_again", ""),
                                     ip=client_ip(request))
        except services.StaffError as exc:
            errors = exc.errors
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改"))
            return HttpResponseRedirect(home_url(request.user))
    return render(request, "orgs/password.html", {"errors": errors}, status=422 if errors else 200)
