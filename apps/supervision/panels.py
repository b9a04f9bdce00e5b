"""The record page's tabs 报到与走访 and 审批, filled through apps.people.extensions (people does not import this)."""
from __future__ import annotations

from apps.cases.models import Case
from apps.people.services import today_local

from . import rules
from .models import Activity, Record
from .selectors import case_records, case_requests, may_record
from .services import ground_of


def _case(person):
    return Case.objects.filter(person=person).select_related("judicial_office", "execution_county").order_by("-seq").first()


def checkins_panel(request, person):
    case = _case(person)
    today = today_local()
    ctx = {"sv_case": case, "today": today, "record_kinds": Record.Kind.choices, "places": rules.PLACES,
           "hours_kinds": rules.HOURS_KINDS, "activity_forms": Activity.Form.choices,
           "staff_channels": [(c, Record.Channel(c).label) for c in ("office", "field", "phone", "paper")]}
    if case is not None:
        ctx["needs_check"] = rules.needs_hospital_check(case.sentence_type, ground_of(case))
        ctx["sv"] = case_records(case=case, user=request.user, today=today, kind=request.GET.get("kind", ""),
                                 month=request.GET.get("month", ""))
    return "supervision/_checkins_panel.html", ctx


def approvals_panel(request, person):
    case = _case(person)
    today = today_local()
    ctx = {"sv_case": case, "today": today, "reasons": rules.REASONS, "request_kinds": rules.REQUEST_KINDS,
           "state_labels": rules.REQUEST_STATE_LABELS, "state": request.GET.get("state", "")}
    if case is not None:
        ctx["requests"] = case_requests(case=case, state=ctx["state"])
        ctx["may_apply"] = may_record(case, request.user)
        ctx["needs_check"] = rules.needs_hospital_check(case.sentence_type, ground_of(case))  # 延长病情复查期限
    return "supervision/_approvals_panel.html", ctx
