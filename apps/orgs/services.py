"""Sign-in, tokens and staff accounts. Every change is audited."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_records

from . import coords, rules, text
from .models import ApiToken, LoginThrottle, Organisation, OrgBoundary, User
from .scope import OutOfScope, require_within

# One use case, one transaction that no caller may wrap: a failure anywhere leaves nothing half-done, and a
# success is committed when the function returns (the audit record with it). Internal pieces (_org_create)
# run inside whichever transaction calls them.
use_case = transaction.atomic(durable=True)


class LoginFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


GENERIC_FAILURE = "用户名或密码错误"


def login_attempt(*, username: str, password: str, ip: str = "", now=None) -> User:
    """Check a password. Repeated failures lock the account for a while; the failure message never
    says whether the user name exists. Returns the user or raises LoginFailed.

    The failure count and its audit record must survive the failure, so the transaction commits
    first and the exception is raised after it. Unknown and known names get the same answers, the same
    lock-out and the same time."""
    user, message = _login_attempt(username=username, password=password, ip=ip, now=now or timezone.now())
    if user is None:
        raise LoginFailed(message)
    return user


_DUMMY_HASH: list[str] = []


def _burn_password_check(password: str) -> None:
    """Spend the same time on an unknown name as on a known one (one hash), so timing tells nothing."""
    from django.contrib.auth.hashers import check_password, make_password

    if not _DUMMY_HASH:
        _DUMMY_HASH.append(make_password("zhijiao-not-a-user"))
    check_password(password, _DUMMY_HASH[0])


@use_case
def _login_attempt(*, username: str, password: str, ip: str, now) -> tuple[User | None, str]:
    throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(username=username[:150])
    user = User.objects.filter(username=username).first()
    if throttle.locked_until and throttle.locked_until > now:
        minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
        audit_record(actor=user, kind=AuditRecord.Kind.AUTH, action="auth.login_locked", object_type="user",
                     object_id=user.pk if user else "", summary=f"锁定期间尝试登录（{username[:40]}）", ip=ip)
        return None, f"连续登录失败次数过多，请 {minutes} 分钟后再试"
    if user is None:
        _burn_password_check(password)
        authed = None
    else:
        authed = authenticate(username=username, password=password)
    if authed is None:
        throttle.failed += 1
        locked = rules.lockout_state(failed=throttle.failed, max_failed=settings.ZHIJIAO_MAX_FAILED_LOGINS)
        left = settings.ZHIJIAO_MAX_FAILED_LOGINS - throttle.failed
        if locked:
            throttle.locked_until = now + timedelta(minutes=settings.ZHIJIAO_LOCKOUT_MINUTES)
            throttle.failed = 0
        throttle.save()
        audit_record(actor=user, kind=AuditRecord.Kind.AUTH, action="auth.login_failed", object_type="user",
                     object_id=user.pk if user else "",
                     summary=("密码错误" if user else f"用户名不存在（{username[:40]}）") + ("，已锁定" if locked else ""),
                     ip=ip)
        if locked:
            return None, f"连续登录失败次数过多，请 {settings.ZHIJIAO_LOCKOUT_MINUTES} 分钟后再试"
        return None, f"{GENERIC_FAILURE}，再失败 {left} 次将被锁定 {settings.ZHIJIAO_LOCKOUT_MINUTES} 分钟" \
            if left <= 2 else GENERIC_FAILURE
    throttle.failed = 0
    throttle.locked_until = None
    throttle.save()
    authed.last_login = now
    authed.save(update_fields=["last_login"])
    audit_record(actor=authed, kind=AuditRecord.Kind.AUTH, action="auth.login", object_type="user",
                 object_id=authed.pk, summary="登录", ip=ip)
    return authed, ""


@use_case
def logout_record(*, user, ip: str = "", reason: str = "") -> None:
    timeout = reason == "timeout"
    audit_record(actor=user, kind=AuditRecord.Kind.AUTH, action="auth.timeout" if timeout else "auth.logout",
                 object_type="user", object_id=user.pk, summary="长时间未操作，自动退出" if timeout else "退出登录", ip=ip)


def _token_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    key: str  # shown once
    token: ApiToken


@use_case
def token_issue(*, user: User, name: str = "api", ip: str = "", now=None) -> IssuedToken:
    now = now or timezone.now()
    key = "zj_" + secrets.token_urlsafe(32)
    tok = ApiToken.objects.create(user=user, name=name[:100], key_hash=_token_hash(key), prefix=key[:8],
                                  expires_at=now + timedelta(days=settings.API_TOKEN_DAYS))
    audit_record(actor=user, kind=AuditRecord.Kind.AUTH, action="auth.token_issue", object_type="user",
                 object_id=user.pk, summary=f"签发 API 令牌 {tok.prefix}…（{tok.name}）", ip=ip)
    return IssuedToken(key, tok)


def token_user(key: str, *, now=None) -> User | None:
    """The active user behind a bearer key, or None (unknown, expired, revoked or locked)."""
    now = now or timezone.now()
    tok = (ApiToken.objects.select_related("user__organisation")
           .filter(key_hash=_token_hash(key or ""), revoked_at__isnull=True, expires_at__gt=now).first())
    if tok is None or not tok.user.is_active:
        return None
    if tok.last_used_at is None or now - tok.last_used_at > timedelta(minutes=5):
        ApiToken.objects.filter(pk=tok.pk).update(last_used_at=now)  # bookkeeping, not a change of a case
    tok.user._api_token = tok
    return tok.user


@use_case
def token_revoke(*, user: User, key: str, ip: str = "", now=None) -> bool:
    now = now or timezone.now()
    n = ApiToken.objects.filter(user=user, key_hash=_token_hash(key), revoked_at__isnull=True).update(revoked_at=now)
    if n:
        audit_record(actor=user, kind=AuditRecord.Kind.AUTH, action="auth.token_revoke", object_type="user",
                     object_id=user.pk, summary="注销 API 令牌", ip=ip)
    return bool(n)


class StaffError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(str(errors))
        self.errors = errors


def _may_manage(actor, org: Organisation | None, message: str) -> None:
    if not actor.can(rules.Action.STAFF_MANAGE):
        raise PermissionError("您没有管理工作人员的权限")
    require_within(actor, org.path if org else None, message)


def _staff_create(*, actor, username: str, full_name: str, organisation: Organisation | None, roles: list[str],
                  password: str = "", password_hash: str = "", gender: str = "", phone: str = "",
                  minor_access: bool = False, ip: str = "") -> User:
    """Every field checked and every problem reported at once; nothing cut short silently."""
    errors: dict[str, str] = {}
    if organisation is None:
        errors["organisation"] = "请选择本辖区内的机构"
    elif actor is not None:
        _may_manage(actor, organisation, "该机构不在您的辖区内")
    clean = {}
    for key, cleaner, value in (("username", text.clean_username, username), ("full_name", text.clean_person_name,
                                full_name), ("phone", text.clean_phone, phone)):
        try:
            clean[key] = cleaner(value)
        except text.TextError as exc:
            errors[key] = str(exc)
    if gender not in ("", "M", "F"):
        errors["gender"] = "性别无效"
    if organisation is not None:
        check = rules.check_roles_for_org(roles, organisation.kind)
        if not check.ok:
            errors["roles"] = check.reason
    if "username" in clean and User.objects.filter(username=clean["username"]).exists():
        errors["username"] = "用户名已存在"
    if minor_access and not rules.may_hold_minor_access(roles):
        errors["roles"] = "该角色不查阅社区矫正对象档案，不能授予未成年人档案查阅权限"
    # an account an administrator creates starts with a password someone else knows: the owner must change it
    user = User(username=clean.get("username", ""), full_name=clean.get("full_name", ""), organisation=organisation,
                roles=list(roles), gender=gender, phone=clean.get("phone", ""), minor_access=minor_access,
                must_change_password=actor is not None)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = "".join(exc.messages)
    if errors:
        raise StaffError(errors)
    if password_hash:  # a batch of accounts sharing one checked password (the demo) hashes it once
        user.password = password_hash
    else:
        user.set_password(password)
    user.save()
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="staff.create", object_type="user",
                 object_id=user.pk, summary=f"新增工作人员 {user.full_name}",
                 after={"username": user.username, "organisation": organisation.pk, "roles": list(roles),
                        "minor_access": minor_access}, ip=ip, org_path=organisation.path)
    return user


@use_case
def staff_create(*, actor, username: str, full_name: str, organisation: Organisation | None, roles: list[str],
                 password: str, gender: str = "", phone: str = "", minor_access: bool = False, ip: str = "") -> User:
    """Create a staff account. `actor` None means the system itself (the demo seed, a set-up command)."""
    return _staff_create(actor=actor, username=username, full_name=full_name, organisation=organisation,
                         roles=roles, password=password, gender=gender, phone=phone, minor_access=minor_access, ip=ip)


def _reason(reason: str, missing: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise StaffError({"reason": missing})
    return reason[:100]


def _staff_flag(*, actor, user: User, field: str, value: bool, reason: str, action: str, summary: str,
                missing_reason: str, ip: str) -> User:
    """Set one yes/no flag on a staff account: administrators only, inside their jurisdiction, with a reason
    that goes into the audit record."""
    _may_manage(actor, user.organisation, "该工作人员不在您的辖区内")
    reason = _reason(reason, missing_reason)
    before = getattr(user, field)
    setattr(user, field, value)
    user.save(update_fields=[field])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action=action, object_type="user", object_id=user.pk,
                 summary=f"{summary}：{reason}", before={field: before}, after={field: value}, ip=ip,
                 org_path=user.organisation.path)
    return user


@use_case
def staff_set_minor_access(*, actor, user: User, granted: bool, reason: str, ip: str = "") -> User:
    """Grant or withdraw access to minors' sealed records. A reason is required and recorded. Only an account whose
    roles read case files may hold it (not an administrator, not a volunteer), and nobody grants it to themselves."""
    _may_manage(actor, user.organisation, "该工作人员不在您的辖区内")
    if granted and user.pk == actor.pk:
        raise StaffError({"granted": "不能为自己授予未成年人档案查阅权限"})
    if granted and not rules.may_hold_minor_access(user.roles):
        raise StaffError({"granted": "该账号的角色不查阅社区矫正对象档案，不能授予未成年人档案查阅权限"})
    return _staff_flag(actor=actor, user=user, field="minor_access", value=granted, reason=reason,
                       action="staff.minor_access", summary=("授予" if granted else "撤销") + "未成年人档案查阅权限",
                       missing_reason="请填写授权或撤销的理由", ip=ip)


@use_case
def staff_set_active(*, actor, user: User, active: bool, reason: str, ip: str = "") -> User:
    """Disable an account (someone left) or enable it again. A disabled account cannot sign in and its
    tokens stop working; its history stays."""
    if user.pk == actor.pk:
        raise StaffError({"active": "不能停用自己的账号"})
    return _staff_flag(actor=actor, user=user, field="is_active", value=active, reason=reason,
                       action="staff.active", summary=("启用" if active else "停用") + "账号",
                       missing_reason="请填写停用或启用的理由", ip=ip)


def login_locked_until(*, username: str, now=None):
    """When a lock-out on this user name ends, or None."""
    now = now or timezone.now()
    t = LoginThrottle.objects.filter(username=username, locked_until__gt=now).values_list("locked_until", flat=True)
    return t.first()


@use_case
def staff_unlock(*, actor, user: User, reason: str, ip: str = "") -> User:
    """Lift a lock-out after repeated failed sign-ins (the person called and was identified)."""
    _may_manage(actor, user.organisation, "该工作人员不在您的辖区内")
    reason = _reason(reason, "请填写解除锁定的理由")
    n = LoginThrottle.objects.filter(username=user.username).update(failed=0, locked_until=None)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="staff.unlock", object_type="user",
                 object_id=user.pk, summary=f"解除登录锁定：{reason}", after={"cleared": bool(n)}, ip=ip,
                 org_path=user.organisation.path)
    return user


@dataclass(frozen=True)
class PasswordReset:
    user: User
    temporary: str  # shown once to the administrator, who passes it on; the user must change it at sign-in


@use_case
def staff_reset_password(*, actor, user: User, reason: str, ip: str = "") -> PasswordReset:
    """Give an account a temporary password (the person forgot theirs). Sessions and API tokens of the account
    stop working, any lock-out is lifted, and the user must choose a new password at the next sign-in."""
    _may_manage(actor, user.organisation, "该工作人员不在您的辖区内")
    if user.pk == actor.pk:
        raise StaffError({"reason": "请在“修改密码”中修改自己的密码"})
    reason = _reason(reason, "请填写重置密码的理由")
    # read aloud or over the phone: no letters that look alike (l I 1 O 0)
    temporary = "Zj-" + "".join(secrets.choice("abcdefghjkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY2346789") for _ in range(10))
    user.set_password(temporary)  # a new hash: Django ends every session of the account at its next request
    user.must_change_password = True
    user.save(update_fields=["password", "must_change_password"])
    ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    LoginThrottle.objects.filter(username=user.username).update(failed=0, locked_until=None)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="staff.password_reset", object_type="user",
                 object_id=user.pk, summary=f"重置密码：{reason}", ip=ip, org_path=user.organisation.path)
    return PasswordReset(user, temporary)


def _org_create(*, actor, name: str, kind: str, parent: Organisation | None, adcode: str = "",
                oversees: Organisation | None = None, boundary=None, boundary_source: str = "",
                boundary_crs: str = coords.CRS.WGS84, source_crs: str = "", short_name: str = "", ip: str = "",
                audit: bool = True) -> Organisation:
    if actor is not None:
        if not actor.can(rules.Action.STAFF_MANAGE):
            raise PermissionError("您没有管理机构的权限")
        if parent is not None:
            require_within(actor, parent.path, "上级机构不在您的辖区内")
    want = rules.ALLOWED_PARENT[rules.OrgKind(kind)]
    if (parent.kind if parent else None) != want:
        raise StaffError({"parent": f"{rules.ORG_KIND_LABELS[rules.OrgKind(kind)]}的上级必须是"
                                    f"{rules.ORG_KIND_LABELS[want] if want else '无'}"})
    if kind in rules.EXTERNAL_KINDS and (oversees is None or oversees.kind != rules.OrgKind.COUNTY_AGENCY):
        raise StaffError({"oversees": "外部机关须指明对应的县级社区矫正机构"})
    org = Organisation.objects.create(name=name, short_name=short_name, kind=kind, parent=parent, adcode=adcode,
                                      oversees=oversees)
    if boundary is not None:
        # stored in WGS-84 whatever the source's system, which is recorded
        geometry = coords.convert_geometry(boundary, src=boundary_crs, dst=coords.CRS.WGS84)
        OrgBoundary.objects.create(organisation=org, geometry=geometry, source=boundary_source[:100],
                                   source_crs=coords.CRS(source_crs or boundary_crs).value)
    org.path = f"{parent.path if parent else '/'}{org.pk:08d}/"  # zero-padded: sorting by path keeps the tree order
    org.depth = org.path.count("/") - 2
    org.save(update_fields=["path", "depth"])
    if audit:
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="org.create", object_type="organisation",
                     object_id=org.pk, summary=f"新增机构 {name}",
                     after={"name": name, "kind": kind, "adcode": adcode, "parent": parent.pk if parent else None},
                     ip=ip, org_path=org.path)
    return org


@use_case
def org_create(*, actor, name: str, kind: str, parent: Organisation | None, adcode: str = "",
               oversees: Organisation | None = None, boundary=None, boundary_source: str = "",
               boundary_crs: str = coords.CRS.WGS84, short_name: str = "", ip: str = "") -> Organisation:
    """Add a node to the tree, keeping the materialised path. `actor` None = system (seed, set-up commands).
    A boundary is converted to WGS-84 from `boundary_crs` and stored with its source."""
    return _org_create(actor=actor, name=name, kind=kind, parent=parent, adcode=adcode, oversees=oversees,
                       boundary=boundary, boundary_source=boundary_source, boundary_crs=boundary_crs,
                       short_name=short_name, ip=ip)


@use_case
def org_tree_load(*, plan: dict, actor=None) -> dict[str, Organisation]:
    """Create a whole tree from `apps.orgs.places.org_plan` in one transaction: province, city, county agencies,
    their judicial offices, the court, procuratorate and police overseeing each county, and the province's prisons. Returns the
    organisations by key ("province", "city", "county:<adcode>", "office:<adcode9>", "office:first:<adcode>",
    "court:<adcode>", ...). Boundaries in the plan are WGS-84 already (the places loader converts them); the
    system they came in is recorded."""
    K = rules.OrgKind
    orgs: dict[str, Organisation] = {}
    made = []

    def add(key, **kw):
        orgs[key] = _org_create(actor=actor, audit=False, boundary_source=plan.get("boundary_source", ""),
                                source_crs=plan.get("boundary_source_crs", ""), **kw)
        made.append(orgs[key])
        return orgs[key]

    p, c = plan["province"], plan["city"]
    add("province", name=p["name"], short_name=p["short_name"], kind=K.PROVINCE, parent=None, adcode=p["adcode"],
        boundary=p["boundary"])
    add("city", name=c["name"], short_name=c["short_name"], kind=K.CITY, parent=orgs["province"], adcode=c["adcode"],
        boundary=c["boundary"])
    for county in plan["counties"]:
        code = county["adcode"]
        agency = add(f"county:{code}", name=county["name"], short_name=county["short_name"], kind=K.COUNTY_AGENCY,
                     parent=orgs["city"], adcode=code, boundary=county["boundary"])
        for office in county["offices"]:
            add(f"office:{office['adcode']}", name=office["name"], short_name=office["short_name"],
                kind=K.JUDICIAL_OFFICE, parent=agency, adcode=office["adcode"])
        first = min(county["offices"], key=lambda o: o["adcode"])
        orgs[f"office:first:{code}"] = orgs[f"office:{first['adcode']}"]
        for kind in ("court", "procuratorate", "police"):
            add(f"{kind}:{code}", name=county[kind]["name"], kind=kind, parent=orgs["city"], adcode=code,
                oversees=agency)
    for i, prison in enumerate(plan.get("prisons", ())):
        add(f"prison:{i}", name=prison["name"], short_name=prison["short_name"], kind=K.PRISON,
            parent=orgs["province"], adcode=prison["adcode"])
    audit_records([{"actor": actor, "kind": AuditRecord.Kind.CHANGE, "action": "org.create",
                    "object_type": "organisation", "object_id": o.pk, "summary": f"新增机构 {o.name}",
                    "after": {"name": o.name, "kind": o.kind, "adcode": o.adcode, "parent": o.parent_id},
                    "org_path": o.path} for o in made])
    return orgs


@use_case
def password_change(*, user: User, old: str, new: str, new_again: str, ip: str = "") -> User:
    """A user changes their own password: the old one must be right, the new one strong."""
    errors = {}
    if not user.check_password(old):
        errors["old"] = "原密码不正确"
    if new != new_again:
        errors["new_again"] = "两次输入的新密码不一致"
    elif new == old:
        errors["new"] = "新密码不能与原密码相同"
    else:
        try:
            validate_password(new, user)
        except ValidationError as exc:
            errors["new"] = "".join(exc.messages)
    if errors:
        raise StaffError(errors)
    user.set_password(new)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit_record(actor=user, kind=AuditRecord.Kind.AUTH, action="auth.password_change", object_type="user",
                 object_id=user.pk, summary="修改密码", ip=ip)
    return user


__all__ = ["LoginFailed", "StaffError", "OutOfScope", "PasswordReset", "login_attempt", "logout_record",
           "token_issue", "token_user", "token_revoke", "staff_create", "staff_set_minor_access", "staff_set_active",
           "staff_unlock", "staff_reset_password", "login_locked_until", "org_create", "org_tree_load",
           "password_change"]
