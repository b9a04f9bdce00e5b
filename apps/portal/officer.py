"""The officer's pages for the phone accounts and 信息化核查 (ADR 0010), mounted at /monitoring/: the buttons of the
record page's 监控 tab (a one-time code, a phone approved or unbound, the face enrolled, a check reviewed, a spot check
issued or disposed of, a message), the face photo of a check, and the index of what waits across the reader's offices.
Views parse and render; selectors read (scoped, logged); services write (checked, audited). Out of scope, or not
permitted, answers exactly like not found."""
from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from apps.audit.context import client_ip
from apps.monitoring import services as monitoring
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound
from apps.people.selectors import access_supervisee
from apps.people.services import InputErrors, NotPermitted, today_local

from . import officer_selectors as sel
from . import panels, services

PHOTO_MAX = 5 * 1024 * 1024  # an enrolment photo uploaded by the officer


def _tab(person_id, anchor: str = "") -> str:
    return reverse("people:detail", args=[person_id]) + "?tab=monitoring" + (f"#{anchor}" if anchor else "")


def _not_found():
    return Http404(NotFound.message)


def _errors_to_messages(request, e: InputErrors) -> None:
    for m in e.errors.values():
        messages.error(request, m)


@require_GET
def index_view(request):
    """信息化核查: the reviews and anomalies waiting, and the daily verification reports by office and day."""
    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise _not_found()
    today = today_local()
    monitoring.sweep_if_embedded()
    try:
        v = sel.monitoring_index(user=request.user, office_id=request.GET.get("office", ""),
                                 day=request.GET.get("day", ""), today=today, ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    for r in v.reviews:
        panels.label_verification(r)
    for s in v.anomalies:
        panels.label_spot_check(s)
    for row in v.reports:
        for a in row.anomalies:
            a.label = panels.ANOMALY_TYPES.get(a.kind, a.kind)
    return render(request, "monitoring/index.html", {"v": v, "today": today, "active_nav": "monitoring",
                                                     "may_change": request.user.can(Action.SUPERVISEE_CHANGE)})


@never_cache
@require_POST
def code_issue_view(request, pk: int):
    """发放登录码: the code is shown on this page once (it is stored hashed) for the officer to give in person."""
    try:
        issued = services.code_issue(actor=request.user, person_id=pk, ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise _not_found() from None
    except InputErrors as e:
        _errors_to_messages(request, e)
        return HttpResponseRedirect(_tab(pk, "account"))
    person = access_supervisee(user=request.user, supervisee_id=pk)  # in scope: the service has just checked
    return render(request, "monitoring/code.html", {"p": person, "issued": issued, "back": _tab(pk, "account"),
                                                    "active_nav": "people"})


@require_POST
def device_decide_view(request, device_id: int):
    try:
        person_id = sel.device_person_id(user=request.user, device_id=device_id)
        approve = request.POST.get("approve") == "1"
        d = services.device_decide(actor=request.user, device_id=device_id, approve=approve, ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise _not_found() from None
    except InputErrors as e:
        _errors_to_messages(request, e)
        return HttpResponseRedirect(_tab(person_id, "account"))
    messages.success(request, (_("已批准绑定手机：%(d)s") if approve else _("已解绑手机：%(d)s")) % {"d": d.label or "—"})
    return HttpResponseRedirect(_tab(person_id, "account"))


@require_POST
def enrol_view(request, pk: int):
    """以档案照片登记人脸 (or from a photo the officer uploads): exactly one face, or the reason and nothing changed."""
    upload = request.FILES.get("photo")
    photo = None
    if upload is not None:
        if upload.size > PHOTO_MAX:
            try:
                access_supervisee(user=request.user, supervisee_id=pk)
            except NotFound:
                raise _not_found() from None
            messages.error(request, _("照片不能超过 5 MB"))
            return HttpResponseRedirect(_tab(pk, "face"))
        photo = upload.read()
    try:
        monitoring.face_enrol(actor=request.user, person_id=pk, photo=photo, ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise _not_found() from None
    except InputErrors as e:
        _errors_to_messages(request, e)
        return HttpResponseRedirect(_tab(pk, "face"))
    messages.success(request, _("已登记人脸，手机报到和信息化核查将与此比对"))
    return HttpResponseRedirect(_tab(pk, "face"))


def _form_again(request, template_ctx: dict, *, person_id, path, is_minor, what):
    sel.form_read_log(user=request.user, person_id=person_id, path=path, is_minor=is_minor, what=what,
                      ip=client_ip(request))
    return render(request, "monitoring/form.html", {"active_nav": "people", "back": _tab(person_id), **template_ctx},
                  status=422)


@require_POST
def review_view(request, pk: int):
    """复核 a failed or unverifiable check: 确认本人 or 驳回, with a note saying how it was checked."""
    outcome, note = request.POST.get("outcome", ""), request.POST.get("note", "")
    try:
        v = monitoring.verification_review(actor=request.user, verification_id=pk, outcome=outcome, note=note,
                                           ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise _not_found() from None
    except InputErrors as e:
        v = panels.label_verification(sel.verification_for(user=request.user, verification_id=pk))
        return _form_again(request, {"mode": "review", "v": v, "p": v.person, "errors": e.errors,
                                     "data": {"outcome": outcome, "note": note}},
                           person_id=v.person_id, path=v.org_path, is_minor=v.is_minor, what="复核人脸核验（未保存）")
    messages.success(request, _("已复核：%(o)s") % {"o": panels.REVIEWS.get(v.review, v.review)})
    return HttpResponseRedirect(_tab(v.person_id, f"v-{v.pk}"))


@require_POST
def spot_check_issue_view(request, case_id: int):
    """发起点对点核查: the person is asked for a face photo and the place now, within the province's minutes."""
    try:
        s = monitoring.spot_check_issue(actor=request.user, case_id=case_id, note=request.POST.get("note", ""),
                                        ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise _not_found() from None
    except InputErrors as e:
        person_id = sel.case_person_id(user=request.user, case_id=case_id)
        _errors_to_messages(request, e)
        return HttpResponseRedirect(_tab(person_id, "spot-checks"))
    messages.success(request, _("已发起点对点核查，须在 %(t)s 前答复") % {"t": f"{timezone.localtime(s.due_at):%H:%M}"})
    return HttpResponseRedirect(_tab(s.person_id, f"s-{s.pk}"))


@require_POST
def spot_check_dispose_view(request, pk: int):
    """处置 a spot check's anomaly (failed, late, no answer): what the officer found and did."""
    note = request.POST.get("note", "")
    try:
        s = monitoring.spot_check_dispose(actor=request.user, spot_check_id=pk, note=note, ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise _not_found() from None
    except InputErrors as e:
        s = panels.label_spot_check(sel.spot_check_for(user=request.user, spot_check_id=pk))
        return _form_again(request, {"mode": "dispose", "s": s, "p": s.person, "errors": e.errors,
                                     "data": {"note": note}},
                           person_id=s.person_id, path=s.org_path, is_minor=s.is_minor, what="处置核查异常（未保存）")
    messages.success(request, _("已处置核查异常"))
    return HttpResponseRedirect(_tab(s.person_id, f"s-{s.pk}"))


@require_POST
def message_view(request, pk: int):
    text = request.POST.get("text", "")
    try:
        services.message_send(actor=request.user, person_id=pk, text=text, ip=client_ip(request))
    except (NotFound, NotPermitted):
        raise _not_found() from None
    except InputErrors as e:
        p = access_supervisee(user=request.user, supervisee_id=pk)
        return _form_again(request, {"mode": "message", "p": p, "errors": e.errors, "data": {"text": text}},
                           person_id=p.pk, path=p.org_path, is_minor=p.is_minor, what="向手机端发送消息（未发送）")
    messages.success(request, _("已发送消息，对方在手机端可见"))
    return HttpResponseRedirect(_tab(pk, "messages"))


@require_GET
def photo_view(request, pk: int):
    """The face photo of one check (a logged read), for the tab's thumbnail and the review."""
    try:
        v = sel.verification_photo(user=request.user, verification_id=pk, ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    resp = FileResponse(v.photo.open("rb"), content_type="image/png" if v.photo.name.endswith(".png") else "image/jpeg")
    resp["Cache-Control"] = "private, no-store"
    return resp
