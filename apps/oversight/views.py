"""The audit trail page (审计日志): procurators, supervisors, county officers and administrators, each for their
part of the tree."""
from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.utils.translation import gettext as _
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.audit.context import client_ip
from apps.audit.selectors import audit_status
from apps.audit.models import AuditRecord
from apps.orgs.rules import Action
from zhijiao.paging import Order, paginate

from . import services
from .labels import ACTION_LABELS, OBJECT_LABELS
from .selectors import AuditFilters, audit_list, capped_count, present_records


def _date(text: str) -> date | None:
    """A date from the filter form, within 1900-2100 (beyond, the day arithmetic overflows); else no filter."""
    try:
        d = date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None
    return d if 1900 <= d.year <= 2100 else None


def _filters(request) -> AuditFilters:
    g = request.GET
    return AuditFilters(kind=g.get("kind", "")[:10], action=g.get("action", "")[:60] if g.get("action") in ACTION_LABELS
                        else "", actor=g.get("actor", "")[:40], date_from=_date(g.get("from", "")),
                        date_to=_date(g.get("to", "")), object_type=g.get("object_type", "")[:60]
                        if g.get("object_type") in OBJECT_LABELS else "",
                        object_id=g.get("object_id", "").strip()[:40])


@require_GET
def audit_list_view(request):
    if not request.user.can(Action.AUDIT_VIEW):
        raise Http404
    f = _filters(request)
    for problem in _filter_problems(request, f):
        messages.warning(request, problem)
    qs = audit_list(fetched_by=request.user, filters=f)
    count, capped = capped_count(qs)
    g = request.GET
    page = paginate(qs, order=Order("id", True), per=50, count=count, page=None, after=g.get("after", "")[:200],
                    before=g.get("before", "")[:200], number=_int(g.get("p")))
    rows = present_records(request.user, page.rows)
    services.audit_page_read(actor=request.user, rows=rows, filters=f, ip=client_ip(request))
    params = g.copy()
    for k in ("after", "before", "p"):
        params.pop(k, None)
    return render(request, "oversight/audit_list.html", {
        "page": page, "rows": rows, "f": f, "count": count, "capped": capped, "kinds": AuditRecord.Kind.choices,
        "actions": sorted(ACTION_LABELS.items(), key=lambda kv: kv[0]), "object_types": OBJECT_LABELS.items(),
        "querystring": params.urlencode(), "active_nav": "audit", "status": audit_status()})


def _filter_problems(request, f: AuditFilters) -> list[str]:
    """Say which filters could not be used, rather than quietly showing everything."""
    g, out = request.GET, []
    for key, label, value in (("from", _("起始日期"), f.date_from), ("to", _("截止日期"), f.date_to)):
        if g.get(key) and value is None:
            out.append(_("%(label)s“%(v)s”不是有效日期（1900—2100年），未按它筛选") % {"label": label, "v": g.get(key)[:20]})
    if f.date_from and f.date_to and f.date_from > f.date_to:
        out.append(_("起始日期晚于截止日期，没有符合的记录"))
    if g.get("action") and not f.action:
        out.append(_("未知的动作，未按它筛选"))
    return out


def _int(v):
    from apps.orgs.scope import parse_pk

    return parse_pk(v)


@require_GET
def audit_export_view(request):
    if not request.user.can(Action.AUDIT_VIEW):
        raise Http404
    try:
        data = services.audit_export(actor=request.user, filters=_filters(request), ip=client_ip(request))
    except services.TooMany as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(f"/audit/?{request.GET.urlencode()}")
    resp = HttpResponse(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    from urllib.parse import quote

    resp["Content-Disposition"] = f"attachment; filename=\"audit-log.xlsx\"; filename*=UTF-8''{quote('审计日志.xlsx')}"
    return resp
