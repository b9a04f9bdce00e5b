"""Idle timeout without a session write on every request.

The session keeps when it was last seen (`_seen`, epoch seconds) and refreshes it at most once every
ZHIJIAO_SESSION_REFRESH_SECONDS, so most page views write nothing to the session table. A session idle for
longer than ZHIJIAO_IDLE_SECONDS (measured to the refresh interval) is signed out: the sign-out is audited and
Django's LoginRequiredMiddleware, which comes next, sends the browser to the sign-in page with `next` set."""
from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import gettext as _

SEEN = "_seen"


def mark_seen(request) -> None:
    request.session[SEEN] = int(time.time())


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(SEEN, 0)
            if seen and now - seen > settings.ZHIJIAO_IDLE_SECONDS + settings.ZHIJIAO_SESSION_REFRESH_SECONDS:
                from apps.audit.context import client_ip

                from .services import logout_record

                logout_record(user=user, ip=client_ip(request), reason="timeout")
                logout(request)
                messages.info(request, _("长时间未操作，已自动退出，请重新登录"))
            elif now - seen >= settings.ZHIJIAO_SESSION_REFRESH_SECONDS:
                request.session[SEEN] = now
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """An account whose password an administrator set (a new account, a reset) may do nothing but change it."""

    ALLOWED = ("/orgs/password/", "/logout/", "/static/", "/i18n/", "/healthz")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated and getattr(user, "must_change_password", False)
                and not request.path.startswith(self.ALLOWED) and not request.path.startswith("/api/")):
            from django.shortcuts import redirect

            messages.warning(request, _("管理员为您设置了临时密码，请先修改密码再继续使用"))
            return redirect("/orgs/password/")
        return self.get_response(request)
