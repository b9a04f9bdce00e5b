"""The supervisee's phone portal at /m/ (ADR 0010, 0011): an installable web app for a cheap Android phone.

Not a staff session: the person's account id sits in the session and the phone's key in an HttpOnly cookie
(`zjdev`, path /m/); both must be good on every request (an unbound phone is signed out at once). The pages are
plain server-rendered HTML that works without script; the script adds the camera, the location and the queue that
keeps what the person did while offline and uploads it once (each item has its client id). Chinese only: the
person reads Chinese, and the words are the ones the office uses."""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache, wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone, translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.audit.context import client_ip
from apps.cases.models import Case
from apps.documents import render as doc_render
from apps.monitoring import location
from apps.monitoring import services as monitoring
from apps.orgs.scope import NotFound
from apps.people.actors import SelfActor
from apps.people.services import InputErrors, NotPermitted, today_local
from apps.supervision import rules as sv_rules
from apps.supervision import services as supervision

from . import rules, selectors, services
from .models import Account, Device

SESSION_KEY = "portal_account"
PENDING_KEY = "portal_pending"
COOKIE = "zjdev"
COOKIE_SECONDS = 2 * 365 * 86400


@dataclass(frozen=True)
class Portal:
    account: Account
    device: Device
    actor: SelfActor
    case: Case


def _chinese(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        with translation.override("zh-hans"):
            request.LANGUAGE_CODE = "zh-hans"
            return view(request, *args, **kwargs)
    return wrapped


def portal_view(*, api: bool = False):
    """The person's pages: a good session on a bound phone, on an open case; otherwise the sign-in page (a page) or
    401 (the script's calls, which then keep what they carry in the queue)."""
    def deco(view):
        @login_not_required
        @never_cache
        @_chinese
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            got = services.session_device(request.session.get(SESSION_KEY), request.COOKIES.get(COOKIE, ""))
            if got is None:
                request.session.pop(SESSION_KEY, None)
                if api:
                    return JsonResponse({"error": "登录已失效，请重新登录", "login": "/m/login/"}, status=401)
                nxt = request.get_full_path() if request.method == "GET" and request.path != "/m/" else ""
                return redirect("/m/login/" + (("?" + urlencode({"next": nxt})) if nxt else ""))
            account, device = got
            both = services.actor_and_case(account, device)
            if both is None:
                if api:
                    return JsonResponse({"error": "您当前不在社区矫正期间，手机端已停用"}, status=403)
                return render(request, "portal/inactive.html", {"account": account}, status=403)
            request.portal = Portal(account, device, both[0], both[1])
            return view(request, *args, **kwargs)
        return wrapped
    return deco


def public(view):
    return login_not_required(_chinese(view))


def _ctx(request, active: str, **kw) -> dict:
    p: Portal = request.portal
    kw.update(active=active, person=p.account.person, account_tag=_account_tag(p.account), case=p.case, office=p.case.judicial_office,
              unread=selectors.unread_count(p.actor))
    return kw


def _account_tag(account: Account) -> str:
    """An opaque name for the account on this phone: the script keeps each person's queue and pages apart by it."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:portal:{account.pk}".encode()).hexdigest()[:16]


def _safe_next(url: str) -> str:
    path = posixpath.normpath(url.split("?")[0]) + "/" if url else ""
    return url if url.startswith("/m/") and path.startswith("/m/") and "\\" not in url and "\n" not in url else "/m/"


# --- signing in ---------------------------------------------------------------------------------------------

@public
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request):
    if request.method == "GET":
        got = services.session_device(request.session.get(SESSION_KEY), request.COOKIES.get(COOKIE, ""))
        if got is not None:
            return redirect("/m/")
        return render(request, "portal/login.html", {"next": _safe_next(request.GET.get("next", "")),
                                                     "use_code": request.GET.get("code") == "1",
                                                     "code_hours": rules.CODE_HOURS})
    f = request.POST
    use_code = bool(f.get("use_code"))
    ctx = {"next": _safe_next(f.get("next", "")), "use_code": use_code, "id_number": f.get("id_number", "")[:18],
           "code_hours": rules.CODE_HOURS}
    if use_code and f.get("new_password", "") != f.get("new_password2", ""):
        ctx["error"] = "两次输入的新密码不一致"
        return render(request, "portal/login.html", ctx, status=422)
    try:
        signed = services.sign_in(id_number=f.get("id_number", ""), password=f.get("password", ""),
                                  code=f.get("code", "") if use_code else "",
                                  new_password=f.get("new_password", "") if use_code else "",
                                  device_key=request.COOKIES.get(COOKIE, ""),
                                  user_agent=request.META.get("HTTP_USER_AGENT", ""), ip=client_ip(request))
    except services.SignInFailed as e:
        ctx["error"] = e.message
        return render(request, "portal/login.html", ctx, status=401)
    request.session.cycle_key()
    request.session.pop(SESSION_KEY, None)
    request.session.pop(PENDING_KEY, None)
    if signed.device.state == Device.State.ACTIVE:
        request.session[SESSION_KEY] = signed.account.pk
        request.session.set_expiry(settings.ZHIJIAO_PORTAL_SESSION_DAYS * 86400)
        response = redirect(ctx["next"])
    else:
        request.session[PENDING_KEY] = signed.account.pk
        response = redirect("/m/pending/")
    if signed.new_key:
        response.set_cookie(COOKIE, signed.new_key, max_age=COOKIE_SECONDS, path="/m/", httponly=True,
                            samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)
    return response


@public
@never_cache
@require_GET
def pending_view(request):
    """A new phone waits for the officer's approval; once approved, the same page lets the person in."""
    account_id = request.session.get(PENDING_KEY)
    if not account_id:
        return redirect("/m/login/")
    if services.session_device(account_id, request.COOKIES.get(COOKIE, "")) is not None:
        request.session.pop(PENDING_KEY, None)
        request.session[SESSION_KEY] = account_id
        request.session.set_expiry(settings.ZHIJIAO_PORTAL_SESSION_DAYS * 86400)
        return redirect("/m/")
    case = services.open_case(Account.objects.filter(pk=account_id).values_list("person_id", flat=True).first() or -1)
    return render(request, "portal/pending.html", {"office": case.judicial_office if case else None})


@public
@require_POST
def logout_view(request):
    got = services.session_device(request.session.get(SESSION_KEY), request.COOKIES.get(COOKIE, ""))
    if got is not None:
        both = services.actor_and_case(*got)
        if both is not None:
            services.sign_out_record(actor=both[0], ip=client_ip(request))
    request.session.pop(SESSION_KEY, None)
    request.session.pop(PENDING_KEY, None)
    response = redirect("/m/login/")
    response["Clear-Site-Data"] = '"cache"'  # the pages the phone kept (the queue in IndexedDB stays: it is not sent)
    return response


# --- the pages ----------------------------------------------------------------------------------------------------

@require_GET
@portal_view()
def today_view(request):
    p: Portal = request.portal
    monitoring.sweep_if_embedded()
    t = selectors.today_view(p.actor, p.case, today_local())
    return render(request, "portal/today.html", _ctx(request, "today", t=t))


@require_GET
@portal_view()
def checkin_view(request):
    p: Portal = request.portal
    monitoring.sweep_if_embedded()
    spot = selectors.spot_check(p.actor, request.GET.get("spot")) if request.GET.get("spot") else None
    if request.GET.get("spot") and spot is None:
        raise Http404(NotFound.message)
    return render(request, "portal/checkin.html", _ctx(
        request, "checkin", spot=spot,
        enrolled=monitoring.current_enrolment(p.account.person_id) is not None,
        recent=selectors.recent_checks(p.actor)))


def _thought_data(request_data) -> dict:
    """The report as the phone sent it; when it waited offline, its age (counted on the phone's clock) dates it, so a
    phone whose clock is wrong still gives the right day."""
    when = request_data.get("captured_at") or ""
    try:
        age = float(request_data.get("age_s"))
        if 0 <= age <= monitoring.AGE_MAX_SECONDS:
            when = (timezone.now() - timedelta(seconds=age)).isoformat()
    except (TypeError, ValueError):
        pass
    return {"client_id": str(request_data.get("client_id") or "")[:64], "text": request_data.get("text") or "",
            "happened_at": when, "channel": "portal"}


@require_http_methods(["GET", "POST"])
@portal_view()
def thought_view(request):
    """The month's thought report. With script the form goes through the queue (api_thought); without, it posts here.
    The client id is made when the page is drawn, so sending the same form twice stores it once."""
    p: Portal = request.portal
    ctx = _ctx(request, "thought", client_id=uuid.uuid4().hex, sent=selectors.my_thoughts(p.actor))
    if request.method == "POST":
        try:
            supervision.record_add(actor=p.actor, case_id=p.case.pk, kind="thought_report",
                                   data=_thought_data(request.POST), device=p.actor.device, ip=client_ip(request))
        except InputErrors as e:
            ctx.update(errors=e.errors, text=request.POST.get("text", ""), client_id=request.POST.get("client_id"))
            return render(request, "portal/thought.html", ctx, status=422)
        return redirect("/m/thought/?sent=1")
    ctx["just_sent"] = request.GET.get("sent") == "1"
    return render(request, "portal/thought.html", ctx)


@require_GET
@portal_view()
def leave_list_view(request):
    p: Portal = request.portal
    return render(request, "portal/leave_list.html", _ctx(request, "leave", requests=selectors.my_requests(p.actor)))


LEAVE_FIELDS = ("reason", "detail", "destination", "start", "end", "evidence", "client_id")


@require_http_methods(["GET", "POST"])
@portal_view()
def leave_new_view(request):
    """A leave application (外出), sent online only: the answer (who decides, or why the law refuses) comes at once."""
    p: Portal = request.portal
    lt = supervision.table("leave", today_local())
    ctx = _ctx(request, "leave", reasons=sv_rules.REASONS, business_evidence=list(enumerate(lt.business_evidence)),
               client_id=uuid.uuid4().hex, form={}, table=lt)
    if request.method == "GET":
        return render(request, "portal/leave_new.html", ctx)
    data = {k: request.POST.get(k, "") for k in LEAVE_FIELDS}
    data["kind"] = "leave"
    data.update({k: v for k, v in request.POST.items() if k.startswith("be_")})
    files = request.FILES.getlist("files")
    try:
        stored = supervision.request_apply(actor=p.actor, case_id=p.case.pk, data=data, channel="portal",
                                           ip=client_ip(request), files=files or None)
    except InputErrors as e:
        ctx.update(errors=e.errors, form=data, client_id=data["client_id"] or ctx["client_id"])
        return render(request, "portal/leave_new.html", ctx, status=422)
    except supervision.RequestRefused as e:
        ctx.update(refusals=e.reasons, form=data, client_id=uuid.uuid4().hex)
        return render(request, "portal/leave_new.html", ctx, status=422)
    return redirect(f"/m/leave/{stored.record.pk}/?new=1")


@require_GET
@portal_view()
def leave_detail_view(request, pk: int):
    p: Portal = request.portal
    try:
        r = selectors.my_request(p.actor, pk)
    except NotFound:
        raise Http404(NotFound.message) from None
    return render(request, "portal/leave_detail.html", _ctx(
        request, "leave", r=r, is_new=request.GET.get("new") == "1", reason_label=sv_rules.REASONS.get(r.reason, ""),
        document=selectors.request_document(p.actor, r)))


@require_GET
@portal_view()
def study_view(request):
    p: Portal = request.portal
    return render(request, "portal/study.html", _ctx(request, "study", s=selectors.study_view(p.case, today_local()),
                                                     kinds=sv_rules.HOURS_KINDS))


@require_GET
@portal_view()
def messages_view(request):
    p: Portal = request.portal
    items = selectors.my_messages(p.actor)
    unread = [m.pk for m in items if m.read_at is None]
    if unread:
        services.messages_read(actor=p.actor, ids=unread)
    return render(request, "portal/messages.html", _ctx(request, "messages", items=items, fresh=set(unread)))


@require_GET
@portal_view()
def me_view(request):
    p: Portal = request.portal
    return render(request, "portal/me.html", _ctx(request, "me", level=selectors.level_view(p.case, today_local()),
                                                  documents=selectors.my_documents(p.actor), device=p.device))


@require_GET
@portal_view()
def document_view(request, pk: int):
    p: Portal = request.portal
    try:
        doc = selectors.my_document(p.actor, pk, ip=client_ip(request))
    except NotFound:
        raise Http404(NotFound.message) from None
    r = HttpResponse(doc_render.pdf([doc]), content_type="application/pdf")
    r["Content-Disposition"] = doc_render.content_disposition(f"{doc.title}{doc.number}.pdf", inline=True)
    return r


# --- what the script calls ---------------------------------------------------------------------------------------

def _json_body(request) -> dict | None:
    try:
        data = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _errors(errors: dict, status: int = 422) -> JsonResponse:
    return JsonResponse({"errors": errors, "error": "；".join(errors.values())}, status=status)


@require_GET
@portal_view(api=True)
def api_ping(request):
    """The script asks before it uploads the queue: signed in, and the open spot checks (a fresh prompt)."""
    p: Portal = request.portal
    monitoring.sweep_if_embedded()
    return JsonResponse({"ok": True, "spot_checks": [
        {"id": s.pk, "due_at": s.due_at.isoformat(), "due": timezone.localtime(s.due_at).strftime("%H:%M")}
        for s in selectors.open_spot_checks(p.actor)]})


@require_GET
@portal_view(api=True)
def api_challenge(request):
    return JsonResponse(monitoring.challenge_new(request.portal.case.pk))


@require_POST
@portal_view(api=True)
def api_verify(request):
    p: Portal = request.portal
    data = _json_body(request)
    if data is None:
        return _errors({"body": "上传内容格式不正确"}, 400)
    try:
        stored = monitoring.verify_upload(actor=p.actor, data=data, ip=client_ip(request))
    except InputErrors as e:
        return _errors(e.errors)
    except (NotFound, NotPermitted):
        return _errors({"case": "没有这项核验"}, 404)
    v = stored.verification
    spot_state = ""
    if v.spot_check_id:
        v.spot_check.refresh_from_db(fields=["state"])  # the outcome the upload set (or set before, on a retry)
        spot_state = v.spot_check.get_state_display()
    return JsonResponse({"ok": True, "created": stored.created, "passed": v.passed, "review": v.review,
                         "message": "核验通过" if v.passed else (v.reason or "核验未通过"), "spot_state": spot_state,
                         "captured_at": timezone.localtime(v.captured_at).strftime("%Y-%m-%d %H:%M")},
                        status=201 if stored.created else 200)


@require_POST
@portal_view(api=True)
def api_thought(request):
    p: Portal = request.portal
    data = _json_body(request)
    if data is None:
        return _errors({"body": "上传内容格式不正确"}, 400)
    if not str(data.get("client_id") or "").strip():
        return _errors({"client_id": "缺少 client_id（手机为每次提交生成的唯一编号）"})
    try:
        stored = supervision.record_add(actor=p.actor, case_id=p.case.pk, kind="thought_report",
                                        data=_thought_data(data), device=p.actor.device, ip=client_ip(request))
    except InputErrors as e:
        return _errors(e.errors)
    return JsonResponse({"ok": True, "created": stored.created, "message": "思想汇报已提交"},
                        status=201 if stored.created else 200)


@require_POST
@portal_view(api=True)
def api_fix(request):
    """The phone's location while the portal is open (信息化核查, no order needed): the same ingest as a wristband's,
    as the phone's own tracker; a fix already stored is a duplicate, a bad one comes back with its reason."""
    p: Portal = request.portal
    data = _json_body(request)
    fixes = data.get("fixes") if data else None
    if not isinstance(fixes, list) or not fixes or len(fixes) > 100:
        return _errors({"fixes": "上传内容格式不正确"}, 400)
    tr = location.phone_tracker(p.case, p.device.pk, label=p.device.label)
    for f in fixes:
        if isinstance(f, dict):
            f["device"] = tr.identifier
    try:
        res = location.ingest(actor=p.actor, fixes=fixes, ip=client_ip(request))
    except InputErrors as e:
        return _errors(e.errors)
    return JsonResponse({"ok": True, "stored": res.stored, "duplicates": res.duplicates, "rejected": res.rejected})


# --- the installable app ------------------------------------------------------------------------------------------

ICONS = ("portal/icon-192.png", "portal/icon-512.png")
SHELL = ("portal/portal.css", "portal/portal.js", *ICONS)


@public
@require_GET
def manifest_view(request):
    body = {"name": "智矫 · 社区矫正对象手机端", "short_name": "智矫", "lang": "zh-CN", "start_url": "/m/",
            "scope": "/m/", "display": "standalone", "orientation": "portrait", "background_color": "#ffffff",
            "theme_color": "#1d4e89",
            "icons": [{"src": static(i), "sizes": s, "type": "image/png", "purpose": "any maskable"}
                      for i, s in zip(ICONS, ("192x192", "512x512"))]}
    r = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    r["Content-Type"] = "application/manifest+json"
    return r


def shell_version() -> str:
    """Changes whenever a file of the shell changes, so a phone drops its old cache. The browser asks for the
    worker on every page: the files are read again only when their size or time changed."""
    from django.contrib.staticfiles import finders

    paths = tuple(p for p in (finders.find(name) for name in SHELL) if p)
    return _hash_files(tuple((p, os.stat(p).st_mtime_ns, os.stat(p).st_size) for p in paths))


@lru_cache(maxsize=8)
def _hash_files(stamped: tuple) -> str:
    h = hashlib.sha256()
    for path, _mtime, _size in stamped:
        with open(path, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()[:12]


@public
@require_GET
def service_worker_view(request):
    r = render(request, "portal/sw.js", {"version": shell_version(),
                                                "shell_json": json.dumps([static(s) for s in SHELL])},
               content_type="text/javascript; charset=utf-8")
    r["Cache-Control"] = "no-cache"
    r["Service-Worker-Allowed"] = "/m/"
    return r


@public
@require_GET
def offline_view(request):
    return render(request, "portal/offline.html")
