"""Daily supervision in the API: the kiosk's and the portal's report-ins (a device token; each post with a client id,
so a retried upload is stored once and answers what the first stored), thought reports, leave applications, and a
case's schedule. The same services as the pages; out of scope is not found."""
from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from ninja import Router, Schema, Status
from ninja.errors import HttpError

from apps.audit.context import client_ip
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk

router = Router(tags=["supervision"])


def _device(request) -> str:
    tok = getattr(request.auth, "_api_token", None)
    return (tok.name if tok else "api")[:60]


class ReportIn(Schema):
    client_id: str  # the device's own id for this report-in (a retry sends the same)
    happened_at: Optional[datetime] = None  # when it was captured on the device (ISO 8601 with offset)
    channel: str = "kiosk"  # kiosk (自助报到终端) or portal (手机报到)
    verified: str = ""  # the fingerprint reader's (or the face check's) result: pass or fail
    verify_note: str = ""  # e.g. the reader's score
    photo: str = ""  # base64 JPEG or PNG
    findings: str = ""
    lat: Optional[float] = None
    lon: Optional[float] = None


class RecordOut(Schema):
    id: int
    created: bool  # false: this client id was stored before; nothing new was written
    kind: str
    channel: str
    happened_at: datetime
    recorded_at: datetime
    verified: str
    next_due: Optional[date] = None


def _stored(stored, today=None) -> dict:
    from apps.people.services import today_local
    from apps.supervision.selectors import schedule

    r = stored.record
    return {"id": r.pk, "created": stored.created, "kind": r.kind, "channel": r.channel, "happened_at": r.happened_at,
            "recorded_at": r.recorded_at, "verified": r.verified,
            "next_due": schedule(r.case, today or today_local()).next_due if r.case.is_open else None}


def _need_change(request, case_id):
    """The case is the caller's to write on (out of scope, sealed or read-only: not found) before the body counts."""
    from apps.supervision.services import _case

    if not request.auth.can(Action.SUPERVISEE_CHANGE):
        raise NotFound()
    _case(request.auth, case_id, lock=False)


@router.post("/cases/{case_id}/report-ins", response={200: RecordOut, 201: RecordOut})
def report_in(request, case_id: int, payload: ReportIn):
    """A report-in from the kiosk (fingerprint result and photo) or the portal. 201 when stored, 200 when this client
    id was stored before (a retried upload): the answer is what the first stored. The capture time is kept beside
    the upload time."""
    from apps.supervision import services

    _need_change(request, case_id)
    if not payload.client_id.strip():
        raise HttpError(422, "请提供 client_id（终端为每次报到生成的唯一编号）")
    data = payload.dict()
    if payload.lat is not None and payload.lon is not None:
        data["place_note"] = f"定位 {payload.lat:.6f},{payload.lon:.6f}"
    if data.get("happened_at"):
        data["happened_at"] = payload.happened_at.isoformat()
    stored = services.record_add(actor=request.auth, case_id=case_id, kind="report_in", data=data,
                                 device=_device(request), ip=client_ip(request))
    return Status(201 if stored.created else 200, _stored(stored))


class ThoughtIn(Schema):
    client_id: str
    text: str
    happened_at: Optional[datetime] = None


@router.post("/cases/{case_id}/thought-reports", response={200: RecordOut, 201: RecordOut})
def thought_report(request, case_id: int, payload: ThoughtIn):
    """A thought report written on the portal."""
    from apps.supervision import services

    _need_change(request, case_id)
    data = {"client_id": payload.client_id, "text": payload.text, "channel": "portal",
            "happened_at": payload.happened_at.isoformat() if payload.happened_at else ""}
    stored = services.record_add(actor=request.auth, case_id=case_id, kind="thought_report", data=data,
                                 device=_device(request), ip=client_ip(request))
    return Status(201 if stored.created else 200, _stored(stored))


class FileIn(Schema):
    name: str
    content_base64: str


class RequestIn(Schema):
    client_id: str = ""
    kind: str = "leave"  # leave, permit, place, meeting
    reason: str = ""  # medical, study, litigation, family, work, business
    detail: str
    destination: str = ""
    destination_adcodes: list[str] = []
    start: date
    end: date
    evidence: str = ""
    abroad: bool = False
    business_evidence: list[str] = []  # 经营性外出: the proofs provided, worded as in the province's leave table
    files: list[FileIn] = []  # scans or photos of the proofs (PDF, JPG, PNG; 5 MB each, ten in all)


class RequestOut(Schema):
    id: int
    created: bool
    kind: str
    state: str
    state_label: str
    start: date
    end: date
    days: int
    authority: str
    authority_org: str
    decide_by: Optional[date]
    tell_procuratorate: bool
    rolling_days: int
    warnings: list[str]


class Refused(Schema):
    detail: str
    reasons: list[str]


def _request_out(r, created: bool) -> dict:
    return {"id": r.pk, "created": created, "kind": r.kind, "state": r.state, "state_label": r.state_label,
            "start": r.start, "end": r.end, "days": r.days, "authority": r.authority,
            "authority_org": r.authority_org.name, "decide_by": r.decide_by,
            "tell_procuratorate": r.tell_procuratorate, "rolling_days": r.rolling_days, "warnings": r.warnings}


@router.post("/cases/{case_id}/requests", response={200: RequestOut, 201: RequestOut, 409: Refused})
def request_apply(request, case_id: int, payload: RequestIn):
    """An application (leave and the others). The answer says who decides and by when; what the law forbids
    (leaving the country) is refused with the article (409), writing nothing."""
    from apps.supervision import services

    _need_change(request, case_id)
    data = payload.dict()
    data.pop("files", None)
    data.update(abroad="1" if payload.abroad else "", destination_adcodes=",".join(payload.destination_adcodes),
                start=payload.start.isoformat(), end=payload.end.isoformat())
    try:
        stored = services.request_apply(actor=request.auth, case_id=case_id, data=data, channel="portal",
                                        ip=client_ip(request), files=services.uploads_from_base64(
                                            [(f.name, f.content_base64) for f in payload.files]))
    except services.RequestRefused as e:
        return Status(409, {"detail": "依法不予受理", "reasons": e.reasons})
    return Status(201 if stored.created else 200, _request_out(stored.record, stored.created))


class ScheduleOut(Schema):
    case: int
    level: str
    period: str
    next_due: date
    last_report: Optional[date]
    reported_this_period: bool
    study_hours: float
    service_hours: float
    study_target: float
    service_target: float
    four_ones: list[dict]
    requests: list[RequestOut]


@router.get("/cases/{case_id}/supervision", response=ScheduleOut)
def case_schedule(request, case_id: int):
    """What the person owes now (report-in, this month's hours, the 严管 week) and their applications."""
    from apps.audit.services import audit_view
    from apps.cases.models import Case
    from apps.people.services import today_local
    from apps.supervision.selectors import case_requests, schedule
    from apps.supervision.services import _visible

    user = request.auth
    case = Case.objects.filter(pk=parse_pk(case_id) or -1, is_open=True).first()
    if case is None or not _visible(user, case):
        raise NotFound()
    audit_view(actor=user, object_type="supervisee", object_ids=[case.person_id], ip=client_ip(request),
               org_path=case.org_path, summary="API 查阅监管要求", action="supervision.schedule")
    s = schedule(case, today_local())
    return {"case": case.pk, "level": s.level, "period": s.period, "next_due": s.next_due,
            "last_report": s.last_report, "reported_this_period": s.reported_this_period, "study_hours": s.study,
            "service_hours": s.service, "study_target": s.study_target, "service_target": s.service_target,
            "four_ones": [{"item": label, "done": done} for label, done in s.four_ones],
            "requests": [_request_out(r, False) for r in case_requests(case=case, state="open")]}
