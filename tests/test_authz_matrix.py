"""The authorization matrix: every URL and every method it answers, for every role, inside and outside the
caller's jurisdiction, for an adult's record and a minor's. A URL or a method that is not enrolled here fails the
suite. For the lists (the page, the export, the API), the rows themselves are checked: who appears, masked or not,
as a link or not.

Denied answers look exactly like not-found (404, same message) for records and pages; the API answers
401 without a token and 403 for a list the role may not read."""
from __future__ import annotations

import io
import json
from datetime import timedelta
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlencode

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from openpyxl import load_workbook
from PIL import Image

from apps.documents.services import document_issue
from apps.orgs import services as org_services
from apps.orgs.rules import Action, Role
from apps.orgs.testing import given_staff
from apps.people import rules as people_rules
from apps.people.models import Supervisee
from apps.people.testing import given_supervisee

A = Action
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Spec:
    name: str
    method: str
    action: Action | None  # None: public
    ok: tuple[int, ...]
    denied: int = 404
    per_record: bool = False
    api: bool = False
    data: dict = field(default_factory=dict)
    extra: Callable | None = None  # extra kwargs for reverse()
    rows: str = ""  # "html", "xlsx" or "api": check which people the answer lists
    record_kwargs: Callable | None = None  # the URL's kwargs from the target record (its case, its document)
    allow: Callable | None = None  # (user, target) -> may read, where it is not the target's scope (a notice)
    needs: Callable | None = None  # (user) -> may act: a reader of the record who may not is refused (403)


BAD_FORM = {"name": "<script>", "id_number": "1"}
SPECS = [
    Spec("login", "GET", None, (200, 302)),
    Spec("login", "POST", None, (401,), data={"username": "nobody", "password": "x"}),
    Spec("logout", "POST", None, (302,)),
    Spec("healthz", "GET", None, (200,)),
    Spec("set_language", "POST", None, (302,), data={"language": "en", "next": "/people/"}),
    Spec("orgs:staff", "GET", A.STAFF_VIEW, (200,)),
    Spec("orgs:minor_access", "POST", A.STAFF_MANAGE, (302,), data={"granted": "1", "reason": "负责未成年人案件"},
         extra=lambda ctx: {"pk": ctx["staff_target"].pk}),
    Spec("orgs:staff_create", "GET", A.STAFF_MANAGE, (200,)),
    Spec("orgs:staff_create", "POST", A.STAFF_MANAGE, (422,), data={"username": ""}),
    Spec("orgs:staff_active", "POST", A.STAFF_MANAGE, (302,), data={"active": "1", "reason": "复职"},
         extra=lambda ctx: {"pk": ctx["staff_target"].pk}),
    Spec("orgs:staff_unlock", "POST", A.STAFF_MANAGE, (302,), data={"reason": "本人来电"},
         extra=lambda ctx: {"pk": ctx["staff_target"].pk}),
    Spec("orgs:staff_password_reset", "POST", A.STAFF_MANAGE, (302,), data={"reason": ""},
         extra=lambda ctx: {"pk": ctx["staff_target"].pk}),
    Spec("orgs:password", "GET", None, (200,)),
    Spec("orgs:password", "POST", None, (422,), data={"old": "wrong", "new": "x", "new_again": "y"}),
    Spec("audit:list", "GET", A.AUDIT_VIEW, (200,)),
    Spec("audit:export", "GET", A.AUDIT_VIEW, (200,)),
    Spec("people:list", "GET", A.SUPERVISEE_VIEW, (200,), rows="html"),
    Spec("people:export", "POST", A.SUPERVISEE_EXPORT, (200,), rows="xlsx"),
    Spec("people:export_job", "GET", A.SUPERVISEE_EXPORT, (200,), extra=lambda ctx: {"pk": ctx["job"](ctx)}),
    Spec("people:export_download", "GET", A.SUPERVISEE_EXPORT, (200,), extra=lambda ctx: {"pk": ctx["job"](ctx)}),
    Spec("people:create", "GET", A.SUPERVISEE_CREATE, (200,)),
    Spec("people:create", "POST", A.SUPERVISEE_CREATE, (422,), data=BAD_FORM),
    Spec("people:import", "GET", A.SUPERVISEE_IMPORT, (200,)),
    Spec("people:import", "POST", A.SUPERVISEE_IMPORT, (422,)),
    Spec("people:import_confirm", "POST", A.SUPERVISEE_IMPORT, (302,)),
    Spec("people:import_template", "GET", A.SUPERVISEE_IMPORT, (200,)),
    Spec("people:detail", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True),
    Spec("people:photo", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True),
    Spec("people:edit", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True),
    Spec("people:edit", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data=BAD_FORM),
    Spec("people:contact_add", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"name": ""}),
    Spec("people:team_add", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"name": ""}),
    Spec("people:team_remove", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True,
         extra=lambda ctx: {"member_id": 999999}),
    # API (bearer token)
    Spec("cases:work", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("cases:act", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"notice_date": "2026-01-05"},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk, "code": "notice_received"}),
    Spec("cases:judgment", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    # the targets' cases are being transferred: the change is refused with its reason (back to the case)
    Spec("cases:judgment", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"reason": ""},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("cases:file", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("cases:transfer", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("cases:deadlines", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("cases:deadlines", "POST", A.DEADLINE_SET, (422,), data={"kind": "investigation", "days": "0"}),
    Spec("cases:investigations", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("cases:investigations", "POST", A.CASE_DECIDE, (422,), data={"subject_name": ""}),
    Spec("cases:investigation", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"pk": _investigation_of(t).pk}),
    Spec("cases:investigation_act", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"residence": "x"},
         record_kwargs=lambda t: {"pk": _investigation_of(t).pk, "code": "findings"}),
    Spec("documents:pdf", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"pk": _document_of(t).pk}),
    Spec("documents:docx", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"pk": _document_of(t).pk}),
    # daily supervision (the target's case is active; its thought report and leave request are made in the set-up)
    Spec("supervision:day", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("supervision:month", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("supervision:activities", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("supervision:activities", "POST", A.SUPERVISEE_CHANGE, (422,), data={"title": ""}),
    Spec("supervision:requests", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("supervision:settings", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("supervision:settings", "POST", A.DEADLINE_SET, (422,), data={"table": "leave", "note": ""}),
    Spec("supervision:record", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk, "kind": "visit"}),
    Spec("supervision:record", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data={"findings": ""},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk, "kind": "visit"}),
    Spec("supervision:hours", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("supervision:hours", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data={"hours": "x"},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("supervision:prohibition", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("supervision:prohibition", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data={"text": ""},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("supervision:request_new", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("supervision:request_new", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data={"kind": "leave"},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("supervision:review", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"comment": ""},
         record_kwargs=lambda t: {"record_id": _record_of(t).pk}),
    Spec("supervision:correct", "GET", A.SUPERVISEE_CHANGE, (200,), per_record=True,
         record_kwargs=lambda t: {"record_id": _record_of(t).pk}),
    Spec("supervision:correct", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data={"reason": ""},
         record_kwargs=lambda t: {"record_id": _record_of(t).pk}),
    Spec("supervision:request", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"pk": _request_of(t).pk}),
    Spec("supervision:attachment", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"pk": _request_of(t).pk, "attachment_id": _request_of(t).attachments.get().pk}),
    # a notice is read by its addressee (the other county, here), not by whoever has the case in scope
    Spec("notices:inbox", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("notices:notice", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True, allow=lambda u, t: _receives(u, t),
         record_kwargs=lambda t: {"pk": _notice_of(t).pk}),
    Spec("notices:document", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True, allow=lambda u, t: _receives(u, t),
         record_kwargs=lambda t: {"pk": _notice_of(t).pk}),
    # an unknown step is refused with its reason (back to the page), never a 500; out of scope is not found
    Spec("supervision:request_act", "POST", A.SUPERVISEE_VIEW, (302,), per_record=True,
         record_kwargs=lambda t: {"pk": _request_of(t).pk, "code": "no_such_step"}),
    # 信息化核查 and the phone accounts (apps.portal.officer): the code is issued (shown once); a bound phone asked to be
    # approved again, a face from a photo without one, a review or a disposal or a message without its text, and a
    # second spot check while one is open are refused with the reason; out of scope is not found
    Spec("monitoring:index", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("monitoring:code", "POST", A.SUPERVISEE_CHANGE, (200,), per_record=True),
    Spec("monitoring:enrol", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True),
    Spec("monitoring:message", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data={"text": ""}),
    Spec("monitoring:device", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"approve": "1"},
         record_kwargs=lambda t: {"device_id": _device_of(t).pk}),
    Spec("monitoring:review", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True,
         data={"outcome": "confirmed", "note": ""}, record_kwargs=lambda t: {"pk": _verification_of(t).pk}),
    Spec("monitoring:photo", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"pk": _verification_of(t).pk}),
    Spec("monitoring:spot_check", "POST", A.SUPERVISEE_CHANGE, (302,), per_record=True, data={"note": "矩阵"},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("monitoring:dispose", "POST", A.SUPERVISEE_CHANGE, (422,), per_record=True, data={"note": ""},
         record_kwargs=lambda t: {"pk": _spot_check_of(t).pk}),
    # fixes from a wristband platform's account only (location.ingest); an empty batch is refused whole
    Spec("api:pings", "POST", A.LOCATION_INGEST, (400,), api=True, denied=403, data={"fixes": []}),
    # location monitoring (apps.portal.location_views): the target's alert is acknowledged already (签收 again and a
    # disposal without its words are refused, 422), its order proposed (a decision without a refusal's reason, an end
    # of an order not in force: 422), its wristband bound, its county fence not the officer's to retire; a reader of
    # the record who may not act is refused with the reason (403); out of scope is not found
    Spec("monitoring:alerts", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("monitoring:map", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("monitoring:stats", "GET", A.SUPERVISEE_VIEW, (200,)),
    Spec("monitoring:alert", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True,
         record_kwargs=lambda t: {"pk": _alert_of(t).pk}),
    Spec("monitoring:alert_ack", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True,
         needs=lambda u: u.can(A.SUPERVISEE_CHANGE), record_kwargs=lambda t: {"pk": _alert_of(t).pk}),
    Spec("monitoring:alert_dispose", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True,
         data={"disposal": "", "note": ""}, needs=lambda u: u.can(A.SUPERVISEE_CHANGE),
         record_kwargs=lambda t: {"pk": _alert_of(t).pk}),
    Spec("monitoring:track", "GET", A.SUPERVISEE_VIEW, (200,), per_record=True),
    Spec("monitoring:order_propose", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True, data={"ground": "2"},
         needs=lambda u: u.can(A.SUPERVISEE_CHANGE), record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("monitoring:order_decide", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True,
         data={"approve": "0", "note": ""}, needs=lambda u: u.can(A.MONITORING_APPROVE),
         record_kwargs=lambda t: {"pk": _order_of(t).pk}),
    Spec("monitoring:order_end", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True, data={"reason": "矩阵"},
         needs=lambda u: u.can(A.MONITORING_APPROVE) or u.can(A.CASE_DECIDE),
         record_kwargs=lambda t: {"pk": _order_of(t).pk}),
    Spec("monitoring:tracker_bind", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True, data={"identifier": ""},
         needs=lambda u: u.can(A.SUPERVISEE_CHANGE), record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("monitoring:tracker_unbind", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True, data={"reason": ""},
         needs=lambda u: u.can(A.SUPERVISEE_CHANGE), record_kwargs=lambda t: {"pk": _tracker_of(t).pk}),
    Spec("monitoring:fence_add", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True,
         data={"kind": "exclusion", "label": ""}, needs=lambda u: u.can(A.SUPERVISEE_CHANGE),
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("monitoring:fence_retire", "POST", A.SUPERVISEE_VIEW, (422,), per_record=True,
         needs=lambda u: u.can(A.SUPERVISEE_CHANGE), record_kwargs=lambda t: {"pk": _fence_of(t).pk}),
    Spec("api:openapi-json", "GET", None, (200,), api=True),
    Spec("api:openapi-view", "GET", None, (200,), api=True),
    Spec("api:api-root", "GET", None, (404,), api=True),
    Spec("api:token_create", "POST", None, (401,), api=True, data={"username": "nobody", "password": "x"}),
    Spec("api:token_delete", "DELETE", A.ORG_VIEW, (204,), api=True, denied=401),
    Spec("api:me", "GET", A.ORG_VIEW, (200,), api=True, denied=401),
    Spec("api:orgs", "GET", A.ORG_VIEW, (200,), api=True, denied=401),
    Spec("api:supervisees", "GET", A.SUPERVISEE_VIEW, (200,), api=True, denied=403, rows="api"),
    Spec("api:supervisee_create", "POST", A.SUPERVISEE_CREATE, (422,), api=True, denied=403,
         data={k: "1" for k in ("name", "id_number", "household_address", "residence_address", "judicial_office",
                                "sentence_type", "deciding_organ_name", "judgment_number", "crime",
                                "original_penalty", "judgment_date", "effective_date")}),
    Spec("api:supervisee_detail", "GET", A.SUPERVISEE_VIEW, (200,), api=True, per_record=True),
    Spec("api:supervisee_case", "GET", A.SUPERVISEE_VIEW, (200,), api=True, per_record=True),
    # an unknown step is refused with its reason (409), never a 500; out of scope is not found
    Spec("api:case_act", "POST", A.SUPERVISEE_CHANGE, (409,), api=True, per_record=True, data={"data": {}},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk, "code": "no_such_step"}),
    Spec("api:report_in", "POST", A.SUPERVISEE_CHANGE, (422,), api=True, per_record=True, data={"client_id": " "},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("api:thought_report", "POST", A.SUPERVISEE_CHANGE, (422,), api=True, per_record=True,
         data={"client_id": "x", "text": ""}, record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("api:request_apply", "POST", A.SUPERVISEE_CHANGE, (422,), api=True, per_record=True,
         data={"detail": "", "start": "2026-12-01", "end": "2026-12-02"},
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("api:case_schedule", "GET", A.SUPERVISEE_VIEW, (200,), api=True, per_record=True,
         record_kwargs=lambda t: {"case_id": _case_of(t).pk}),
    Spec("api:supervisee_patch", "PATCH", A.SUPERVISEE_CHANGE, (200,), api=True, per_record=True,
         data={"phone": "13807910088"}),
    # the supervisee's phone (/m/): no staff role opens it; without the person's session and a bound phone every
    # page sends to its sign-in and every call of its script answers 401 (apps/portal/tests/test_pages.py)
    Spec("portal:login", "GET", None, (200,)),
    Spec("portal:login", "POST", None, (401,), data={"id_number": "110101199003077777", "password": "x"}),
    Spec("portal:pending", "GET", None, (302,)),
    Spec("portal:logout", "POST", None, (302,)),
    Spec("portal:manifest", "GET", None, (200,)),
    Spec("portal:sw", "GET", None, (200,)),
    Spec("portal:offline", "GET", None, (200,)),
    *[Spec(f"portal:{n}", "GET", None, (302,)) for n in ("today", "checkin", "thought", "leave", "leave_new",
                                                          "study", "messages", "me")],
    Spec("portal:leave_detail", "GET", None, (302,), extra=lambda ctx: {"pk": 1}),
    Spec("portal:document", "GET", None, (302,), extra=lambda ctx: {"pk": 1}),
    Spec("portal:thought", "POST", None, (302,), data={"text": "x"}),
    Spec("portal:leave_new", "POST", None, (302,), data={"detail": "x"}),
    *[Spec(f"portal:{n}", "GET", None, (401,)) for n in ("api_ping", "api_challenge")],
    *[Spec(f"portal:{n}", "POST", None, (401,)) for n in ("api_verify", "api_thought", "api_fix")],
]
# the API's list and create share one path (GET and POST), as do its detail and patch
API_PATHS = {("api:supervisees", "POST"): "api:supervisee_create", ("api:supervisee_create", "GET"): "api:supervisees",
             ("api:supervisee_detail", "PATCH"): "api:supervisee_patch",
             ("api:supervisee_patch", "GET"): "api:supervisee_detail",
             ("api:token_create", "DELETE"): "api:token_delete", ("api:token_delete", "POST"): "api:token_create"}


def _case_of(person):
    return person.cases.get(is_open=True)


def _document_of(person):
    """The target's case has one issued document (made in the test's set-up)."""
    from apps.documents.models import Document

    return Document.objects.get(object_type="case", object_id=str(_case_of(person).pk))


def _record_of(person):
    from apps.supervision.models import Record

    return Record.objects.get(case=_case_of(person), kind="thought_report")


def _request_of(person):
    from apps.supervision.models import Request

    return Request.objects.get(case=_case_of(person))


def _device_of(person):
    """A bound phone of the target (made the first time it is asked for)."""
    from apps.portal.models import Account, Device

    acc, _ = Account.objects.get_or_create(person=person, defaults={"org_path": person.org_path})
    return Device.objects.get_or_create(account=acc, key_hash=f"matrix-{person.pk}", defaults={"state": "active"})[0]


def _verification_of(person):
    """A face check of the target's case that failed and waits for review, with its photo."""
    from apps.monitoring.models import Verification

    case = _case_of(person)
    v = Verification.objects.filter(case=case, client_id="matrix").first()
    if v is None:
        from django.utils import timezone

        v = Verification(case=case, person=person, office_id=case.judicial_office_id, org_path=case.org_path,
                         is_minor=case.is_minor, purpose="report_in", client_id="matrix", captured_at=timezone.now(),
                         code="mismatch", passed=False, reason="人脸比对不一致", review="pending")
        v.photo.save(f"matrix-{case.pk}.jpg", _photo(), save=True)
    return v


def _spot_check_of(person):
    """A spot check of the target's case that was not answered (an anomaly to dispose of)."""
    from django.utils import timezone

    from apps.monitoring.models import SpotCheck

    case = _case_of(person)
    s = SpotCheck.objects.filter(case=case, state="missed").first()
    if s is None:
        at = timezone.now() - timedelta(hours=2)
        s = SpotCheck.objects.create(case=case, person=person, office_id=case.judicial_office_id, org_path=case.org_path,
                                     is_minor=case.is_minor, kind="random", day=timezone.localdate(at), issued_at=at,
                                     due_at=at + timedelta(minutes=15), state="missed", issued_by_name="系统随机")
    return s


def _alert_of(person):
    """An alert of the target's case, acknowledged already (made the first time it is asked for)."""
    from django.utils import timezone

    from apps.monitoring.models import Alert

    case = _case_of(person)
    at = timezone.now() - timedelta(minutes=30)
    return Alert.objects.get_or_create(case=case, key="battery_low:matrix", defaults=dict(
        person=person, office_id=case.judicial_office_id, county_id=case.execution_county_id, org_path=case.org_path,
        is_minor=case.is_minor, type="battery_low", level="blue", state="acknowledged", first_at=at, last_at=at,
        raised_at=at, acknowledged_at=at, acknowledged_by_name="矩阵"))[0]


def _order_of(person):
    """A monitoring order of the target's case, proposed and waiting for the bureau head."""
    from apps.monitoring.models import MonitoringOrder

    case = _case_of(person)
    return MonitoringOrder.objects.get_or_create(case=case, state="proposed", defaults=dict(
        person=person, org_path=case.org_path, is_minor=case.is_minor, ground="2", ground_detail="矩阵",
        proposed_by_name="矩阵", start=case.term_start, end=case.term_start + timedelta(days=30)))[0]


def _tracker_of(person):
    """A wristband bound to the target's case."""
    from apps.monitoring.models import Tracker

    case = _case_of(person)
    return Tracker.objects.get_or_create(identifier=f"matrix{case.pk}", defaults=dict(
        kind="wristband", case=case, person=person, org_path=case.org_path, is_minor=case.is_minor))[0]


def _fence_of(person):
    """The target's allowed area (the county's, kept by the system: not the officer's to retire)."""
    from apps.monitoring.models import Fence

    case = _case_of(person)
    # the one in force: a wristband bound by an earlier case of the matrix syncs the fences (this tree has no
    # boundaries, so the sync retires it)
    return Fence.objects.get_or_create(case=case, source=f"county:{case.execution_county_id}", retired_at=None,
                                       defaults=dict(person=person, org_path=case.org_path, is_minor=case.is_minor,
                                                     kind="allowed", label="执行地县域",
                                                     geometry={"ref": [case.execution_county_id]}))[0]


def _notice_of(person):
    from apps.notices.models import Notice

    return Notice.objects.get(case=_case_of(person))


def _receives(user, person) -> bool:
    n = _notice_of(person)
    return user.organisation.path.startswith(n.to_org.path) and (not n.is_minor or user.minor_access)


def _investigation_of(person):
    """An investigation made in the set-up with the target's place and seal."""
    from apps.cases.models import Investigation

    return Investigation.objects.get(subject_name=person.name, org_path=person.org_path)


def _url_names():
    return {name for name, _ in _patterns()}


def _sample_kwargs(name: str) -> dict:
    """Any value for each argument the URL takes (the method check answers before the record is looked up)."""
    pattern = next(p for p in _patterns() if p[0] == name)[1]
    return {k: 1 for k in getattr(pattern, "converters", {})}


def _patterns():
    def walk(patterns, ns=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                yield from walk(p.url_patterns, f"{ns}{p.namespace}:" if p.namespace else ns)
            elif isinstance(p, URLPattern):
                yield ns + (p.name or ""), p.pattern
    return list(walk(get_resolver().url_patterns))


@pytest.mark.django_db
def test_every_url_and_every_method_it_answers_is_enrolled(tree):
    """A method a view accepts answers anything but 405; each (URL, method) must be in the matrix, and nothing in
    the matrix may be a method the URL refuses."""
    enrolled = {(s.name, s.method) for s in SPECS}
    admin = given_staff(tree.province, "sysadmin")
    answered = set()
    for name in _url_names():
        url = reverse(name, kwargs=_sample_kwargs(name) or None)
        for method in METHODS:
            c = Client()
            c.force_login(admin)
            status = c.generic(method, url, data="{}", content_type="application/json").status_code
            if status != 405:
                answered.add((API_PATHS.get((name, method), name), method))
    assert not answered - enrolled, f"not enrolled in the authorization matrix: {sorted(answered - enrolled)}"
    assert not enrolled - answered, f"the matrix names what no URL answers: {sorted(enrolled - answered)}"


def _photo():
    buf = io.BytesIO()
    Image.new("RGB", (200, 250), (180, 160, 150)).save(buf, "JPEG")
    return ContentFile(buf.getvalue(), "p.jpg")


NAMES = {("inside", "adult"): "周建国", ("inside", "minor"): "李小龙", ("outside", "adult"): "郑海涛",
         ("outside", "minor"): "孙小美"}


def _expected_rows(user, targets) -> dict[str, tuple[bool, bool]]:
    """name -> (listed, shown in clear) for this reader: listed when in scope; in clear when not a sealed minor."""
    out = {}
    for key, s in targets.items():
        in_scope = s.org_path.startswith(user.scope_path)
        out[NAMES[key]] = (in_scope, in_scope and (not s.is_minor or user.minor_access))
    return out


def _check_rows(spec, resp, user, targets, failures, label):
    expected = _expected_rows(user, targets)
    if spec.rows == "html":
        body = resp.content.decode()
        for key, s in targets.items():
            name = NAMES[key]
            listed, clear = expected[name]
            masked = people_rules.mask_name(name)
            link = f'href="/people/{s.pk}/"' in body
            shown = (name in body) if clear else (listed and masked in body)
            if (name in body) != clear or link != clear or (listed and not clear and masked not in body) or (
                    not listed and (name in body or link)) or (listed and not shown):
                failures.append(f"{label}: list row for {key} wrong (clear={name in body}, link={link})")
    elif spec.rows == "xlsx":
        ws = load_workbook(io.BytesIO(resp.content)).active
        names = {row[0] for row in ws.iter_rows(min_row=2, values_only=True)}
        for key, s in targets.items():
            name = NAMES[key]
            listed, clear = expected[name]
            want = {name} if clear else ({people_rules.mask_name(name)} if listed else set())
            if (want - names) or (not clear and name in names) or (not listed and people_rules.mask_name(name) in names):
                failures.append(f"{label}: export row for {key} wrong ({sorted(names)})")
            if not clear and s.id_number in str(list(ws.values)):
                failures.append(f"{label}: export shows the sealed ID number of {key}")
    elif spec.rows == "api":
        results = {r["id"]: r for r in resp.json()["results"]}
        for key, s in targets.items():
            listed, clear = expected[NAMES[key]]
            r = results.get(s.pk)
            if listed != (r is not None) or (r and (r["name"] == NAMES[key]) != clear) or (
                    r and not clear and r["id_number"] == s.id_number):
                failures.append(f"{label}: API row for {key} wrong ({r})")


READERS = [r.value for r in (Role.COUNTY_OFFICER, Role.OFFICE_STAFF, Role.AUXILIARY, Role.POLICE_SECONDEE,
                              Role.SOCIAL_WORKER, Role.VOLUNTEER, Role.CITY_SUPERVISOR, Role.PROVINCE_SUPERVISOR,
                              Role.PROCURATOR, Role.SYSADMIN)] + ["county_officer_with_minors_grant"]


@pytest.mark.django_db
# the readers in two halves, so the two parallel workers share the matrix (its set-up is too dear to repeat per role)
@pytest.mark.parametrize("half", [0, 1])
def test_authorization_matrix(half, tree, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    dh_officer = given_staff(tree.donghu, "county_officer", minor_access=True)
    xh_officer = given_staff(tree.xihu, "county_officer", minor_access=True)
    targets = {
        ("inside", "adult"): given_supervisee(dh_officer, office=tree.donghu_office, name=NAMES[("inside", "adult")]),
        ("inside", "minor"): given_supervisee(dh_officer, office=tree.donghu_office, minor=True,
                                              name=NAMES[("inside", "minor")]),
        ("outside", "adult"): given_supervisee(xh_officer, office=tree.xihu_office, name=NAMES[("outside", "adult")]),
        ("outside", "minor"): given_supervisee(xh_officer, office=tree.xihu_office, minor=True,
                                               name=NAMES[("outside", "minor")]),
    }
    # a third county no checked user belongs to: the targets' transfers go there
    third = org_services.org_create(actor=None, name="南昌市青山湖区社区矫正管理局", kind="county_agency",
                                    parent=tree.city, adcode="360111")
    for s in targets.values():
        s.photo.save(f"s{s.pk}.jpg", _photo(), save=True)
        case = _case_of(s)
        with transaction.atomic():
            document_issue(actor=None, agency=case.execution_county, doc_type="announcement", object_type="case",
                           object_id=case.pk, org_path=case.org_path, context={"person_name": s.name},
                           issued_on=case.term_start, is_minor=case.is_minor)
        from apps.cases.models import Investigation, Transfer

        Transfer.objects.create(case=case, from_county=case.execution_county, to_county=third,
                                from_path=case.execution_county.path, to_path=third.path, applied_date=case.term_start,
                                planned_date=case.term_end, new_address="青山湖区")

        from apps.supervision import services as sv

        author = dh_officer if s.org_path.startswith(tree.donghu.path) else xh_officer
        sv.record_add(actor=author, case_id=case.pk, kind="thought_report", data={"text": "思想汇报"})
        sv.request_apply(actor=author, case_id=case.pk, data={
            "kind": "leave", "reason": "medical", "detail": "就医", "destination": "上海市", "evidence": "诊断证明",
            "start": (case.term_start + timedelta(days=40)).isoformat(),
            "end": (case.term_start + timedelta(days=42)).isoformat()}, today=case.term_start + timedelta(days=30),
            files=[SimpleUploadedFile("诊断证明.pdf", b"%PDF-1.4 matrix", content_type="application/pdf")])

        from apps.notices.services import notice_send

        with transaction.atomic():  # the trip's destination is the other county: its staff are asked to help
            doc = document_issue(actor=None, agency=case.execution_county, doc_type="leave_assist_letter",
                                 object_type="case", object_id=f"n{case.pk}", org_path=case.org_path,
                                 context={"name": s.name}, issued_on=case.term_start, is_minor=case.is_minor)
            notice_send(actor=None, kind="assist", to_org=tree.xihu if author == dh_officer else tree.donghu,
                        from_org=case.execution_county, subject="协助监督管理", body="请协助", case=case,
                        document=doc, ref="matrix")
        Investigation.objects.create(
            subject_name=s.name, subject_gender=s.gender, subject_birth_date=s.birth_date, subject_address="南昌市",
            crime="盗窃罪", proposed="probation", requester_kind="court", requester_name="法院", letter_number="1",
            received_date=case.term_start, county=s.execution_county, office=s.judicial_office, org_path=s.org_path,
            is_minor=s.is_minor, status="assigned")

    home = {
        Role.COUNTY_OFFICER: tree.donghu, Role.OFFICE_STAFF: tree.donghu_office, Role.AUXILIARY: tree.donghu,
        Role.POLICE_SECONDEE: tree.donghu_police, Role.SOCIAL_WORKER: tree.donghu_office,
        Role.VOLUNTEER: tree.donghu_office, Role.CITY_SUPERVISOR: tree.city, Role.PROVINCE_SUPERVISOR: tree.province,
        Role.PROCURATOR: tree.donghu_procuratorate, Role.SYSADMIN: tree.province,
    }
    users = [given_staff(org, role.value) for role, org in home.items()]
    users.append(given_staff(tree.donghu, "county_officer", minor_access=True))  # holds the minors grant
    assert [u.roles for u in users[:-1]] == [[r] for r in READERS[:-1]]
    users = users[half::2]

    def job_for(ctx):
        """An export job of the user being checked (one per user; a job is seen only by its owner)."""
        from apps.people.models import ExportJob

        user = ctx["user"]
        job = ExportJob.objects.filter(requested_by=user).first()
        if job is None:
            with django_capture_on_commit_callbacks(execute=True):
                settings.ZHIJIAO_EXPORT_INLINE_MAX = 0
                from apps.people.selectors import SuperviseeFilters
                from apps.people.services import supervisee_export

                if user.can(A.SUPERVISEE_EXPORT):
                    job = supervisee_export(actor=user, filters=SuperviseeFilters()).job
                settings.ZHIJIAO_EXPORT_INLINE_MAX = 2000
        return job.pk if job else 999999

    ctx = {"staff_target": given_staff(tree.xihu_office, "office_staff"), "job": job_for}

    failures = []
    checked = 0
    for user in users:
        ctx["user"] = user
        for spec in SPECS:
            cases = targets.items() if spec.per_record else [(None, None)]
            for key, target in cases:
                client = Client()
                headers = {}
                if spec.api:
                    if spec.action is not None:
                        headers["HTTP_AUTHORIZATION"] = "Bearer " + org_services.token_issue(user=user).key
                else:
                    client.force_login(user)
                kwargs = {}
                if spec.record_kwargs is not None:
                    kwargs.update(spec.record_kwargs(target))
                elif spec.per_record:
                    kwargs["supervisee_id" if spec.api else "pk"] = target.pk
                if spec.extra:
                    kwargs.update(spec.extra(ctx))
                url = reverse(spec.name, kwargs=kwargs or None)
                if spec.api and spec.method in ("POST", "PATCH"):
                    resp = client.generic(spec.method, url, json.dumps(spec.data), content_type="application/json",
                                          **headers)
                else:
                    resp = client.generic(spec.method, url, data=urlencode(spec.data),
                                          content_type="application/x-www-form-urlencoded", **headers)
                allowed = spec.action is None or user.can(spec.action)
                if spec.per_record and allowed and spec.allow is not None:
                    allowed = spec.allow(user, target)
                elif spec.per_record and allowed:
                    allowed = target.org_path.startswith(user.scope_path) and (not target.is_minor or user.minor_access)
                # a record the caller may not see answers 404 whatever the reason; other denials spec.denied
                expected = spec.ok if allowed else ((404,) if spec.per_record else (spec.denied,))
                if allowed and spec.needs is not None and not spec.needs(user):
                    expected = (403,)
                checked += 1
                label = f"{user.roles[0]}{'+minors' if user.minor_access else ''} {spec.method} {spec.name} {key or ''}"
                if resp.status_code not in expected:
                    failures.append(f"{label}: got {resp.status_code}, expected {expected}")
                elif spec.per_record and spec.api and not allowed:
                    assert resp.json() == {"detail": "记录不存在或您无权查看"}
                elif spec.rows and allowed:
                    _check_rows(spec, resp, user, targets, failures, label)
    assert not failures, f"{len(failures)} of {checked} cases wrong:\n" + "\n".join(failures)
    assert checked == len(users) * sum(4 if s.per_record else 1 for s in SPECS)  # every spec for each reader


@pytest.mark.django_db
def test_not_found_and_out_of_scope_answer_the_same(tree, client):
    dh = given_staff(tree.donghu, "county_officer")
    xh = given_staff(tree.xihu, "county_officer")
    s = given_supervisee(xh, office=tree.xihu_office)
    client.force_login(dh)
    a = client.get(reverse("people:detail", args=[s.pk]))
    b = client.get(reverse("people:detail", args=[s.pk + 1000]))
    assert a.status_code == b.status_code == 404
    import re

    def strip_csrf(body):  # the only per-response differences: fresh CSRF tokens, and the page's own address
        body = re.sub(rb'"X-CSRFToken": "[^"]+"', b"", body)
        body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)
        return re.sub(rb'name="next" value="/people/\d+/"', b"", body)

    assert strip_csrf(a.content) == strip_csrf(b.content)
    token = org_services.token_issue(user=dh).key
    a = client.get(f"/api/v1/supervisees/{s.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
    b = client.get(f"/api/v1/supervisees/{s.pk + 1000}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (a.status_code, a.json()) == (b.status_code, b.json()) == (404, {"detail": "记录不存在或您无权查看"})
    assert Supervisee.objects.filter(pk=s.pk).exists()
