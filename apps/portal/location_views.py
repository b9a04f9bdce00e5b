"""The officer's pages of location monitoring (定位监控, ADR 0013), mounted at /monitoring/ beside 信息化核查: the alert
queue (预警处置) and one alert with its map, 签收 and 处置; the office's map; the statistics; a person's day's track;
and the buttons of the 定位监控 section of the record page's 监控 tab (monitoring orders under 社区矫正法第29条, devices,
fences). Views parse and render; selectors read (scoped, logged); apps.monitoring.location writes (checked,
audited). A refused form is shown again with its errors (422, nothing written); out of scope is not found (404); an
action the reader may not take is refused with its reason (403)."""
from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.audit.context import client_ip
from apps.monitoring import location, rules
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound
from apps.people.services import InputErrors, NotPermitted, today_local

from . import location_selectors as sel


def _tab(person_id, anchor: str = "location") -> str:
    return reverse("people:detail", args=[person_id]) + "?tab=monitoring" + (f"#{anchor}" if anchor else "")


def _not_found():
    return Http404(NotFound.message)


def _denied(request, e: NotPermitted, back: str = ""):
    return render(request, "monitoring/location/denied.html",
                  {"message": str(e) or _("您没有执行此操作的权限"), "back": back, "active_nav": "location"},
                  status=403)


def _view_allowed(request):
    if not request.user.can(Action.SUPERVISEE_VIEW):
        raise _not_found()


# --- 1. the queue ---------------------------------------------------------------------------------------------------

@require_GET
def alerts_view(request):
    """预警处置: what waits in the reader's offices, escalated first for the county, red first, newest first."""
    _view_allowed(request)
    location.sweep_if_embedded()
    try:
        q = sel.alert_queue(user=request.user, params=request.GET, ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(request, "monitoring/location/alerts.html", {
        "q": q, "types": [(k, v[0]) for k, v in rules.ALERT_TYPES.items()], "levels": rules.LEVEL_LABELS,
        "states": sel.ALERT_STATES, "query": keep.urlencode(), "active_nav": "location",
        "may_change": request.user.can(Action.SUPERVISEE_CHANGE)})


# --- 2. one alert ---------------------------------------------------------------------------------------------------

def _alert_page(request, pk, *, errors=None, data=None, status=200):
    try:
        d = sel.alert_detail(user=request.user, alert_id=pk, ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    return render(request, "monitoring/location/alert.html", {
        "d": d, "a": d.alert, "map_data": d.map_data, "errors": errors or {}, "data": data or {},
        "disposals": rules.DISPOSALS, "false_causes": rules.FALSE_CAUSES, "active_nav": "location",
        "record_url": _tab(d.alert.person_id, "location")}, status=status)


@require_GET
def alert_view(request, pk: int):
    _view_allowed(request)
    location.sweep_if_embedded()
    return _alert_page(request, pk)


@require_POST
def alert_ack_view(request, pk: int):
    """签收: the escalation clock stops."""
    try:
        location.alert_acknowledge(actor=request.user, alert_id=pk, ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, reverse("monitoring:alert", args=[pk]))
    except InputErrors as e:
        return _alert_page(request, pk, errors=e.errors, status=422)
    messages.success(request, _("已签收预警，请及时核实处置"))
    return HttpResponseRedirect(reverse("monitoring:alert", args=[pk]))


@require_POST
def alert_dispose_view(request, pk: int):
    """处置: what was done and what it was; a violation opens the task of a proposal for the sanction (法28)."""
    data = {k: request.POST.get(k, "") for k in ("disposal", "note", "false_cause")}
    try:
        a = location.alert_dispose(actor=request.user, alert_id=pk, disposal=data["disposal"], note=data["note"],
                                   false_cause=data["false_cause"] if data["disposal"] == "false_alarm" else "",
                                   ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, reverse("monitoring:alert", args=[pk]))
    except InputErrors as e:
        return _alert_page(request, pk, errors=e.errors, data=data, status=422)
    if a.disposal == "violation":
        messages.success(request, _("已处置预警：确认违规，已生成违规处理建议待办"))
    else:
        messages.success(request, _("已处置预警：%(d)s") % {"d": rules.DISPOSALS.get(a.disposal, a.disposal)})
    return HttpResponseRedirect(reverse("monitoring:alert", args=[pk]))


# --- 3. the map, 4. the statistics ------------------------------------------------------------------------------------

@require_GET
def map_view(request):
    _view_allowed(request)
    location.sweep_if_embedded()
    try:
        m = sel.office_map(user=request.user, office_id=request.GET.get("office", ""), ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    return render(request, "monitoring/location/map.html", {"m": m, "map_data": m.map_data,
                                                             "active_nav": "location"})


@require_GET
def stats_view(request):
    _view_allowed(request)
    location.sweep_if_embedded()
    try:
        s = sel.alert_stats(user=request.user, start=request.GET.get("from", ""), end=request.GET.get("to", ""),
                            office_id=request.GET.get("office", ""), today=today_local(), ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    return render(request, "monitoring/location/stats.html", {"s": s, "levels": rules.LEVEL_LABELS,
                                                               "active_nav": "location"})


# --- 6. the track ---------------------------------------------------------------------------------------------------

@require_GET
def track_view(request, pk: int):
    _view_allowed(request)
    try:
        t = sel.track(user=request.user, person_id=pk, day=request.GET.get("day", ""), today=today_local(),
                      ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    return render(request, "monitoring/location/track.html", {"t": t, "map_data": t.map_data,
                                                               "record_url": _tab(pk, "location"),
                                                               "active_nav": "location"})


# --- 5. the forms of the 定位监控 section ----------------------------------------------------------------------------

def _form_again(request, *, mode: str, person_id: int, errors: dict, data: dict, what: str, obj=None, renews=None):
    p = sel.person_for(user=request.user, person_id=person_id)
    sel.form_read_log(user=request.user, object_type="supervisee", object_id=p.pk, path=p.org_path,
                      is_minor=p.is_minor, what=what, ip=client_ip(request))
    return render(request, "monitoring/location/form.html", {
        "mode": mode, "p": p, "errors": errors, "data": data, "obj": obj, "back": _tab(p.pk),
        "grounds": rules.GROUNDS, "crs_choices": sel.CRS_CHOICES, "renews": renews, "active_nav": "people"},
                  status=422)


def _post(request, *keys) -> dict:
    return {k: request.POST.get(k, "").strip() for k in keys}


@require_POST
def order_propose_view(request, case_id: int):
    """提请使用（或延长使用）电子定位装置."""
    data = _post(request, "ground", "detail", "start", "end", "renews_id", "review_note")
    try:
        person_id = sel.case_person_id(user=request.user, case_id=case_id)
        o = location.order_propose(actor=request.user, case_id=case_id, ground=data["ground"], detail=data["detail"],
                                   start=data["start"], end=data["end"], renews_id=data["renews_id"] or None,
                                   review_note=data["review_note"], ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, _tab(person_id))
    except InputErrors as e:
        return _form_again(request, mode="renew" if data["renews_id"] else "propose", person_id=person_id,
                           errors=e.errors, data=data, what="提请使用电子定位装置（未保存）", obj=case_id,
                           renews={"pk": data["renews_id"]} if data["renews_id"] else None)
    messages.success(request, (_("已提请延长使用电子定位装置，待县级司法行政部门负责人审批") if o.renews_id
                               else _("已提请使用电子定位装置，待县级司法行政部门负责人审批")))
    return HttpResponseRedirect(_tab(person_id, f"order-{o.pk}"))


@require_POST
def order_decide_view(request, pk: int):
    """The county bureau head's 审批 (批准 / 不予批准)."""
    data = _post(request, "approve", "note")
    approve = data["approve"] == "1"
    try:
        person_id = sel.order_person_id(user=request.user, order_id=pk)
        o = location.order_decide(actor=request.user, order_id=pk, approve=approve, note=data["note"],
                                  ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, _tab(person_id))
    except InputErrors as e:
        return _form_again(request, mode="decide", person_id=person_id, errors=e.errors, data=data,
                           what="审批电子定位装置使用（未保存）", obj=pk)
    messages.success(request, _("已批准使用电子定位装置") if o.state == "active" else _("已决定不予批准"))
    return HttpResponseRedirect(_tab(person_id, f"order-{o.pk}"))


@require_POST
def order_end_view(request, pk: int):
    """解除使用 (第29条第二款: 及时解除); the wristbands are unbound."""
    data = _post(request, "reason")
    try:
        person_id = sel.order_person_id(user=request.user, order_id=pk)
        location.order_end(actor=request.user, order_id=pk, reason=data["reason"], ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, _tab(person_id))
    except InputErrors as e:
        return _form_again(request, mode="end", person_id=person_id, errors=e.errors, data=data,
                           what="解除使用电子定位装置（未保存）", obj=pk)
    messages.success(request, _("已解除使用电子定位装置，腕带已解绑"))
    return HttpResponseRedirect(_tab(person_id, f"order-{pk}"))


@require_POST
def tracker_bind_view(request, case_id: int):
    """绑定腕带 (only under an order in force)."""
    data = _post(request, "identifier", "label")
    try:
        person_id = sel.case_person_id(user=request.user, case_id=case_id)
        tr = location.tracker_bind(actor=request.user, case_id=case_id, kind="wristband",
                                   identifier=data["identifier"], label=data["label"], ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, _tab(person_id))
    except InputErrors as e:
        return _form_again(request, mode="bind", person_id=person_id, errors=e.errors, data=data,
                           what="绑定电子定位腕带（未保存）", obj=case_id)
    messages.success(request, _("已绑定电子定位腕带：%(i)s") % {"i": tr.identifier})
    return HttpResponseRedirect(_tab(person_id, "trackers"))


@require_POST
def tracker_unbind_view(request, pk: int):
    data = _post(request, "reason")
    try:
        person_id = sel.tracker_person_id(user=request.user, tracker_id=pk)
        tr = location.tracker_unbind(actor=request.user, tracker_id=pk, reason=data["reason"], ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, _tab(person_id))
    except InputErrors as e:
        return _form_again(request, mode="unbind", person_id=person_id, errors=e.errors, data=data,
                           what="解绑定位设备（未保存）", obj=pk)
    messages.success(request, _("已解绑设备：%(i)s") % {"i": tr.identifier})
    return HttpResponseRedirect(_tab(person_id, "trackers"))


@require_POST
def fence_add_view(request, case_id: int):
    """添加禁止进入区域（禁止令）或宵禁区域: a circle by its centre and radius, in the system the officer read it in."""
    data = _post(request, "kind", "label", "lat", "lon", "radius_m", "crs", "windows", "valid_from", "valid_to")
    try:
        person_id = sel.case_person_id(user=request.user, case_id=case_id)
        f = location.fence_add(actor=request.user, case_id=case_id, kind=data["kind"], label=data["label"],
                               lat=data["lat"], lon=data["lon"], radius_m=data["radius_m"], crs=data["crs"] or "wgs84",
                               windows=data["windows"], valid_from=data["valid_from"], valid_to=data["valid_to"],
                               ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, _tab(person_id))
    except InputErrors as e:
        return _form_again(request, mode="fence", person_id=person_id, errors=e.errors, data=data,
                           what="设置电子围栏（未保存）", obj=case_id)
    messages.success(request, _("已设置%(k)s：%(l)s") % {"k": f.get_kind_display(), "l": f.label})
    return HttpResponseRedirect(_tab(person_id, "fences"))


@require_POST
def fence_retire_view(request, pk: int):
    try:
        person_id = sel.fence_person_id(user=request.user, fence_id=pk)
        f = location.fence_retire(actor=request.user, fence_id=pk, ip=client_ip(request))
    except NotFound:
        raise _not_found() from None
    except NotPermitted as e:
        return _denied(request, e, _tab(person_id))
    except InputErrors as e:
        return _form_again(request, mode="retire", person_id=person_id, errors=e.errors, data={},
                           what="撤销电子围栏（未保存）", obj=pk)
    messages.success(request, _("已撤销%(k)s：%(l)s") % {"k": f.get_kind_display(), "l": f.label})
    return HttpResponseRedirect(_tab(person_id, "fences"))
