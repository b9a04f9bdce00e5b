from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login, logout
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.audit.services import client_ip

from . import services
from .rules import ROLE_LABELS, Action
from .selectors import staff_list


@require_http_methods(["GET", "POST"])
def login_view(request):
    """The front page: sign-in."""
    next_url = request.POST.get("next") or request.GET.get("next") or settings.LOGIN_REDIRECT_URL
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = settings.LOGIN_REDIRECT_URL
    if request.user.is_authenticated and request.method == "GET":
        return HttpResponseRedirect(next_url)
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
                return HttpResponseRedirect(next_url)
    return render(request, "orgs/login.html", {"error": error, "username": username, "next": next_url},
                  status=200 if not error else 401)


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        services.logout_record(user=request.user, ip=client_ip(request))
    logout(request)
    return HttpResponseRedirect(settings.LOGIN_URL)


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
    if not request.user.can(Action.STAFF_VIEW):
        raise Http404
    qs = staff_list(fetched_by=request.user).order_by("organisation__path", "username")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "orgs/staff.html", {"page": page, "role_labels": ROLE_LABELS, "active_nav": "staff"})
