"""The versioned JSON API (/api/v1/) for the portal, devices, kiosks and other agencies.
Every endpoint authenticates with a bearer token and reads through the same scoping as the pages."""
from __future__ import annotations

from datetime import date
from typing import Optional

from django.http import HttpRequest
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from apps.audit.context import client_ip
from apps.orgs import services as org_services
from apps.orgs.rules import Action
from apps.orgs.selectors import NotFound, org_list
from apps.people import services as people_services
from apps.people.selectors import (PageRequest, SuperviseeFilters, access_supervisee, present,
                                   supervisee_page)


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = org_services.token_user(token)
        if user is not None:
            request.user = user
            request.api_key = token
        return user


api = NinjaAPI(title="智矫 Zhijiao API", version="1", urls_namespace="api", auth=BearerToken(),
               docs_url="/docs")


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    fields = {}
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "payload", "query", "path")]
        fields[".".join(loc) or "body"] = "格式不正确：" + str(err.get("msg", ""))
    return api.create_response(request, {"detail": "请求数据格式不正确", "errors": fields}, status=422)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return api.create_response(request, {"detail": "未登录或令牌无效、已过期"}, status=401)


@api.exception_handler(NotFound)
def on_not_found(request, exc):
    return api.create_response(request, {"detail": NotFound.message}, status=404)


@api.exception_handler(people_services.InputErrors)
def on_input_errors(request, exc):
    return api.create_response(request, {"detail": "数据有误，未保存", "errors": exc.errors}, status=422)


@api.exception_handler(people_services.NotPermitted)
def on_not_permitted(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=403)


class TokenIn(Schema):
    username: str
    password: str
    name: str = "api"


class TokenOut(Schema):
    token: str
    expires_at: str


class Message(Schema):
    detail: str


@api.post("/auth/token", auth=None, response={200: TokenOut, 401: Message}, tags=["auth"])
def token_create(request: HttpRequest, payload: TokenIn):
    """Sign in with a staff account and get a bearer token (shown once). Lock-out applies as on the page."""
    try:
        user = org_services.login_attempt(username=payload.username[:150], password=payload.password,
                                          ip=client_ip(request))
    except org_services.LoginFailed as exc:
        return Status(401, {"detail": exc.message})
    if user.must_change_password:
        return Status(401, {"detail": "管理员为该账号设置了临时密码，请先在网页登录并修改密码"})
    issued = org_services.token_issue(user=user, name=payload.name, ip=client_ip(request))
    return Status(200, {"token": issued.key, "expires_at": issued.token.expires_at.isoformat()})


@api.delete("/auth/token", response={204: None}, tags=["auth"])
def token_delete(request: HttpRequest):
    """Sign out: revoke the token used for this request."""
    org_services.token_revoke(user=request.auth, key=request.api_key, ip=client_ip(request))
    return Status(204, None)


class MeOut(Schema):
    username: str
    full_name: str
    organisation: Optional[str]
    roles: list[str]
    minor_access: bool


@api.get("/me", response=MeOut, tags=["auth"])
def me(request):
    u = request.auth
    return {"username": u.username, "full_name": u.full_name,
            "organisation": u.organisation.name if u.organisation_id else None,
            "roles": u.roles, "minor_access": u.minor_access}


class OrgOut(Schema):
    id: int
    name: str
    kind: str
    adcode: str
    parent_id: Optional[int]


@api.get("/orgs", response=list[OrgOut], tags=["orgs"])
def orgs(request, kind: str = ""):
    return list(org_list(fetched_by=request.auth, kind=kind or None).values("id", "name", "kind", "adcode", "parent_id"))


class SuperviseeRow(Schema):
    id: int
    name: str
    id_number: str
    gender: str
    sentence_type: str
    judicial_office_id: int
    judicial_office: str
    management_level: str
    status: str
    is_minor: bool
    supervision_start: date
    supervision_end: date


class SuperviseePage(Schema):
    count: int
    page: int
    page_size: int
    next_cursor: Optional[str]
    previous_cursor: Optional[str]
    results: list[SuperviseeRow]


def _row(row) -> dict:
    """A row as the reader may see it (apps.people.selectors.present masks a sealed minor)."""
    s = row.s
    return {"id": s.pk, "name": row.name, "id_number": row.id_number, "gender": s.gender,
            "sentence_type": s.sentence_type, "judicial_office_id": s.judicial_office_id,
            "judicial_office": s.judicial_office.name, "management_level": s.management_level, "status": s.status,
            "is_minor": s.is_minor, "supervision_start": s.supervision_start, "supervision_end": s.supervision_end}


@api.get("/supervisees", response=SuperviseePage, tags=["people"])
def supervisees(request, q: str = "", office: str = "", county: str = "", sentence_type: str = "", level: str = "",
                status: str = "", minor: str = "", sort: str = "-start", cursor: str = "", page: int = 1,
                page_size: int = 50):
    """Supervisees in the caller's jurisdiction; a minor's name and ID number masked without the grant.

    Page through a long list with `cursor` (the `next_cursor` of the previous answer): each page then costs the
    same however deep. `page` (offset) is accepted up to page 100 for short lists."""
    user = request.auth
    if not user.can(Action.SUPERVISEE_VIEW):
        raise HttpError(403, "您没有查看社区矫正对象的权限")
    page_size = max(1, min(page_size, 200))
    if page > 100 and not cursor:
        raise HttpError(422, "page 超过 100 时请改用 cursor 翻页（上一页回答中的 next_cursor）")
    page = max(1, page)
    filters = SuperviseeFilters(q=q[:40], office=office, county=county, sentence_type=sentence_type, level=level,
                                status=status, minor=minor, sort=sort)
    p, rows = supervisee_page(fetched_by=user, filters=filters,
                              request=PageRequest(page=None if cursor else page, after=cursor[:200], per=page_size),
                              summary="API 查询社区矫正对象列表（{n}人）", ip=client_ip(request))
    return {"count": p.count, "page": p.number, "page_size": page_size,
            "next_cursor": p.next_cursor if p.has_next else None,
            "previous_cursor": p.previous_cursor if p.has_previous else None,
            "results": [_row(r) for r in rows]}


class SuperviseeDetail(SuperviseeRow):
    ethnicity: str
    birth_date: date
    phone: str
    household_address: str
    residence_address: str
    execution_county: str
    deciding_organ_name: str
    judgment_number: str
    crime: str
    original_penalty: str
    judgment_date: date
    effective_date: date
    term_months: Optional[int]
    detention_days: int
    release_date: Optional[date]
    sentence_end_date: Optional[date]
    temporary_ground: str = ""


def _detail(user, s) -> dict:
    """The full record; for a sealed minor the caller may not open (just created by someone without the grant),
    only what the list would show."""
    row = present(user, s)
    d = _row(row)
    for f in ("ethnicity", "deciding_organ_name", "crime", "original_penalty", "judgment_date", "effective_date",
              "term_months", "detention_days", "release_date", "sentence_end_date", "temporary_ground"):
        d[f] = getattr(s, f)
    for f in ("phone", "household_address", "residence_address", "judgment_number"):
        d[f] = getattr(row, f)
    d["birth_date"] = s.birth_date if not row.sealed else date(s.birth_date.year, 1, 1)
    d["execution_county"] = s.execution_county.name
    return d


@api.get("/supervisees/{supervisee_id}", response=SuperviseeDetail, tags=["people"])
def supervisee_detail(request, supervisee_id: int):
    s = access_supervisee(user=request.auth, supervisee_id=supervisee_id, purpose="API 查阅社区矫正对象档案",
                          ip=client_ip(request))
    return _detail(request.auth, s)


class SuperviseeIn(Schema):
    name: str
    id_number: str
    gender: str = ""
    ethnicity: str = "汉族"
    phone: str = ""
    household_address: str
    residence_address: str
    judicial_office: str  # id or full name
    sentence_type: str
    deciding_organ_name: str
    judgment_number: str
    crime: str
    original_penalty: str
    judgment_date: str
    effective_date: str
    term_months: Optional[int] = None
    detention_days: int = 0
    release_date: Optional[str] = None
    sentence_end_date: Optional[str] = None
    temporary_ground: str = ""  # 暂予监外执行: medical (保外就医), pregnant, incapable
    management_level: str = "strict"


@api.post("/supervisees", response={201: SuperviseeDetail}, tags=["people"])
def supervisee_create(request, payload: SuperviseeIn):
    s = people_services.supervisee_create(actor=request.auth, data=payload.dict(), ip=client_ip(request))
    return Status(201, _detail(request.auth, s))


class SuperviseePatch(Schema):
    name: Optional[str] = None
    phone: Optional[str] = None
    ethnicity: Optional[str] = None
    household_address: Optional[str] = None
    residence_address: Optional[str] = None
    judicial_office: Optional[str] = None
    management_level: Optional[str] = None


@api.patch("/supervisees/{supervisee_id}", response=SuperviseeDetail, tags=["people"])
def supervisee_patch(request, supervisee_id: int, payload: SuperviseePatch):
    s = access_supervisee(user=request.auth, supervisee_id=supervisee_id, action=Action.SUPERVISEE_CHANGE)
    data = {k: v for k, v in payload.dict().items() if v is not None}
    s = people_services.supervisee_update(actor=request.auth, supervisee=s, data=data, ip=client_ip(request))
    return _detail(request.auth, s)


# --- cases (the lifecycle): the open (or last) case of a person, and its changes ------------------------------

class CaseTaskOut(Schema):
    kind: str
    title: str
    article: str
    due_date: date
    provisional: bool
    state: str
    org: str
    assignee: Optional[str] = None


class CaseEventOut(Schema):
    code: str
    label: str
    day: date
    from_status: str
    to_status: str
    article: str
    note: str
    actor: str


class CaseActionOut(Schema):
    code: str
    label: str
    article: str
    fields: list[str]


class CaseOut(Schema):
    id: int
    person: int
    seq: int
    status: str
    status_label: str
    is_open: bool
    sentence_type: str
    judgment: dict
    effective_date: date
    term_start: date
    term_end: date
    term_basis: str
    term_days_left: int
    execution_county: str
    judicial_office: str
    management_level: str
    end_reason: str
    end_date: Optional[date] = None
    tasks: list[CaseTaskOut]
    events: list[CaseEventOut]
    actions: list[CaseActionOut]


def _case_out(cv) -> dict:
    c = cv.case
    return {
        "id": c.pk, "person": c.person_id, "seq": c.seq, "status": c.status, "status_label": c.label,
        "is_open": c.is_open, "sentence_type": c.sentence_type, "judgment": c.judgment,
        "effective_date": c.effective_date, "term_start": c.term_start, "term_end": c.term_end,
        "term_basis": c.term_basis, "term_days_left": cv.term_days_left, "execution_county": c.execution_county.name,
        "judicial_office": c.judicial_office.name, "management_level": c.management_level,
        "end_reason": c.end_reason, "end_date": c.end_date,
        "tasks": [{"kind": t.kind, "title": t.title, "article": t.article, "due_date": t.due_date,
                   "provisional": t.provisional, "state": t.state, "org": t.org.name,
                   "assignee": (t.assignee.full_name or t.assignee.username) if t.assignee_id else None}
                  for t in cv.tasks],
        "events": [{"code": e.code, "label": e.label, "day": e.day, "from_status": e.from_status,
                    "to_status": e.to_status, "article": e.article, "note": e.note, "actor": e.actor_name}
                   for e in cv.events],
        "actions": [{"code": t.code, "label": t.label, "article": t.article, "fields": list(t.fields)}
                    for t in cv.actions],
    }


def _case_of_person(request, supervisee_id: int, purpose: str):
    from apps.cases.selectors import case_view
    from apps.people.services import today_local

    s = access_supervisee(user=request.auth, supervisee_id=supervisee_id, purpose=purpose, ip=client_ip(request))
    if present(request.auth, s).sealed:
        raise NotFound()
    cv = case_view(person=s, user=request.auth, today=today_local())
    if cv is None:
        raise NotFound()
    return cv


@api.get("/supervisees/{supervisee_id}/case", response=CaseOut, tags=["cases"])
def supervisee_case(request, supervisee_id: int):
    """The person's open case (or their last): stage, term, deadlines, history, and the changes the caller may
    make now (each with the fields it takes)."""
    return _case_out(_case_of_person(request, supervisee_id, "API 查阅案件"))


class CaseActIn(Schema):
    data: dict = {}  # the transition's fields (see "actions" of the case), e.g. {"documents_date": "2026-11-18"}


class Refusal(Schema):
    detail: str
    reasons: list[str]


@api.post("/cases/{case_id}/act/{code}", response={200: CaseOut, 409: Refusal}, tags=["cases"])
def case_act(request, case_id: int, code: str, payload: CaseActIn):
    """Make one change of the transition table (the same function the pages call). Refused with every reason and
    its article (409), writing nothing; out of scope is not found."""
    from apps.cases import services as case_services

    if not request.auth.can(Action.SUPERVISEE_CHANGE):
        raise NotFound()
    try:
        case = case_services.case_transition(actor=request.auth, case_id=case_id, code=code,
                                             data={k: v for k, v in payload.data.items()}, ip=client_ip(request))
    except case_services.TransitionRefused as e:
        return Status(409, {"detail": "不能办理", "reasons": e.reasons})
    except case_services.NotPermitted as e:
        raise HttpError(403, str(e)) from None
    return _case_out(_case_of_person(request, case.person_id, "API 办理案件后查阅"))


from .supervision_api import router as _supervision_router  # noqa: E402 - the routers after the handlers

api.add_router("", _supervision_router)

from .location_api import router as _location_router  # noqa: E402

api.add_router("", _location_router)
