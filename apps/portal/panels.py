"""The record page's tab 监控: the person's phone account and devices, the enrolled face, the face checks with their
evidence and review, the case's spot checks (信息化核查), and the officer's messages. Filled through
apps.people.extensions (people does not import this); the record page has read and logged the person."""
from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.monitoring.services import sweep_if_embedded
from apps.people.services import today_local

from .location_selectors import CRS_CHOICES, person_location
from .officer_selectors import ANOMALOUS, person_monitoring

DEVICE_STATES = {"pending": _("待审批"), "active": _("已绑定"), "revoked": _("已解绑")}
SPOT_KINDS = {"random": _("随机核查"), "targeted": _("点对点核查")}
SPOT_STATES = {"open": _("待答复"), "passed": _("核查通过"), "failed": _("核查未通过"), "late": _("逾期答复"),
               "missed": _("未答复")}
PURPOSES = {"report_in": _("手机报到"), "spot_check": _("信息化核查")}
REVIEWS = {"": _("无需复核"), "pending": _("待复核"), "confirmed": _("已确认"), "rejected": _("已驳回")}
DIRECTIONS = {"left": _("向左转头"), "right": _("向右转头")}
ANOMALY_TYPES = {"failed": _("核查未通过"), "late": _("逾期答复"), "missed": _("未答复"),
                 "verify_failed": _("人脸核验未通过")}
# what the rows' badges look like: a failure red, a late answer yellow, a pass green
STATE_CLASS = {"open": "text-bg-primary", "passed": "text-bg-success", "failed": "text-bg-danger",
               "late": "text-bg-warning", "missed": "text-bg-danger"}


def label_verification(v):
    v.purpose_label = PURPOSES.get(v.purpose, v.purpose)
    v.review_label = REVIEWS.get(v.review, v.review)
    v.direction_label = DIRECTIONS.get(v.challenge, "")
    v.turn_pct = round(v.turn * 100) if v.turn is not None else None
    v.late_upload = (v.received_at - v.captured_at).total_seconds() > 120 if v.received_at else False
    return v


def label_spot_check(s):
    s.kind_label = SPOT_KINDS.get(s.kind, s.kind)
    s.state_label = SPOT_STATES.get(s.state, s.state)
    s.state_class = STATE_CLASS.get(s.state, "text-bg-secondary")
    s.needs_disposal = s.state in ANOMALOUS and s.disposed_at is None
    return s


def label_device(d):
    d.state_label = DEVICE_STATES.get(d.state, d.state)
    return d


def monitoring_panel(request, person):
    sweep_if_embedded()  # a check whose window has closed reads as 未答复 (without beat)
    m = person_monitoring(user=request.user, person=person, today=today_local(), now=timezone.now())
    for v in m.verifications:
        label_verification(v)
    for s in m.spot_checks:
        label_spot_check(s)
    for d in m.devices:
        label_device(d)
    from apps.monitoring import rules as location_rules

    loc = person_location(user=request.user, person=person, case=m.case, today=today_local())
    return "monitoring/_panel.html", {"mon": m, "now": timezone.now(), "loc": loc,
                                      "loc_grounds": location_rules.GROUNDS, "loc_crs": CRS_CHOICES, "loc_blank": {}}
