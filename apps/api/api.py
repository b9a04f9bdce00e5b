"""The versioned JSON API (/api/v1/) for the portal, devices, kiosks and other agencies.
Every endpoint authenticates with a bearer token and reads through the same scoping as the pages."""
from __future__ import annotations

from datetime import date
from typing import Optional

from django.conf import settings
from django.http import HttpRequest
from ninja import NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from apps.audit.services import audit_view, client_ip
from apps.orgs import services as org_services
from apps.orgs.rules import Action
from apps.orgs.selectors import NotFound, org_list
from apps.people import rules as people_rules
from apps.people import services as people_services
from apps.people.selectors import SuperviseeFilters, access_supervisee, can_reveal, supervisee_list


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
    results: list[SuperviseeRow]


def _row(s, reveal: bool) -> dict:
    show = reveal or not s.is_minor
    return {"id": s.pk, "name": s.name if show else people_rules.mask_name(s.name),
            "id_number": s.id_number if show else people_rules.mask_id(s.id_number), "gender": s.gender,
            "sentence_type": s.sentence_type, "judicial_office_id": s.judicial_office_id,
            "judicial_office": s.judicial_office.name, "management_level": s.management_level, "status": s.status,
            "is_minor": s.is_minor, "supervision_start": s.supervision_start, "supervision_end": s.supervision_end}


@api.get("/supervisees", response=SuperviseePage, tags=["people"])
def supervisees(request, q: str = "", office: str = "", sentence_type: str = "", level: str = "", status: str = "",
                minor: str = "", page: int = 1, page_size: int = 50):
    """Supervisees in the caller's jurisdiction; minors' names and ID numbers masked without the grant."""
    user = request.auth
    if not user.can(Action.SUPERVISEE_VIEW):
        raise HttpError(403, "您没有查看社区矫正对象的权限")
    page_size = max(1, min(page_size, 200))
    page = max(1, min(page, 100_000))
    qs = supervisee_list(fetched_by=user, filters=SuperviseeFilters(
        q=q[:40], office=office, sentence_type=sentence_type, level=level, status=status, minor=minor))
    count = qs.count()
    rows = list(qs[(page - 1) * page_size: page * page_size])
    if rows:
        audit_view(actor=user, object_type="supervisee", object_ids=[s.pk for s in rows],
                   summary=f"API 查询社区矫正对象列表（{len(rows)}人）", ip=client_ip(request))
    return {"count": count, "page": page, "page_size": page_size,
            "results": [_row(s, bool(user.minor_access)) for s in rows]}


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


def _detail(s, reveal: bool = True) -> dict:
    """The full record; for a sealed minor the caller may not open, only what the list would show."""
    d = _row(s, reveal)
    for f in ("ethnicity", "birth_date", "phone", "household_address", "residence_address", "deciding_organ_name",
              "judgment_number", "crime", "original_penalty", "judgment_date", "effective_date", "term_months",
              "detention_days", "release_date", "sentence_end_date"):
        d[f] = getattr(s, f)
    d["execution_county"] = s.execution_county.name
    if not reveal:
        for f in ("phone", "household_address", "residence_address", "judgment_number"):
            d[f] = ""
        d["birth_date"] = date(s.birth_date.year, 1, 1)
    return d


@api.get("/supervisees/{supervisee_id}", response=SuperviseeDetail, tags=["people"])
def supervisee_detail(request, supervisee_id: int):
    s = access_supervisee(user=request.auth, supervisee_id=supervisee_id)
    audit_view(actor=request.auth, object_type="supervisee", object_ids=[s.pk], summary="API 查阅社区矫正对象档案",
               ip=client_ip(request))
    return _detail(s)


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
    management_level: str = "strict"


@api.post("/supervisees", response={201: SuperviseeDetail}, tags=["people"])
def supervisee_create(request, payload: SuperviseeIn):
    s = people_services.supervisee_create(actor=request.auth, data=payload.dict(), ip=client_ip(request))
    return Status(201, _detail(s, can_reveal(request.auth, s)))


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
    return _detail(s)
