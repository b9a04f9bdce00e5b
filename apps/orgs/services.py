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
from apps.audit.services import audit_record

from . import rules
from .models import ApiToken, LoginThrottle, Organisation, OrgBoundary, User


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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
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


@transaction.atomic
def staff_create(*, actor, username: str, full_name: str, organisation: Organisation, roles: list[str],
                 password: str, gender: str = "", phone: str = "", minor_access: bool = False, ip: str = "") -> User:
    """Create a staff account. `actor` None means the system itself (the demo seed, a set-up command)."""
    if actor is not None:
        if not actor.can(rules.Action.STAFF_MANAGE):
            raise PermissionError("您没有管理工作人员的权限")
        if not organisation.path.startswith(actor.scope_path):
            raise PermissionError("该机构不在您的辖区内")
    errors = {}
    check = rules.check_roles_for_org(roles, organisation.kind)
    if not check.ok:
        errors["roles"] = check.reason
    if User.objects.filter(username=username).exists():
        errors["username"] = "用户名已存在"
    user = User(username=username, full_name=full_name, organisation=organisation, roles=list(roles),
                gender=gender, phone=phone, minor_access=minor_access)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        errors["password"] = "".join(exc.messages)
    if errors:
        raise StaffError(errors)
    user.set_password(password)
    user.save()
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="staff.create", object_type="user",
                 object_id=user.pk, summary=f"新增工作人员 {full_name}",
                 after={"username": username, "organisation": organisation.pk, "roles": list(roles),
                        "minor_access": minor_access}, ip=ip)
    return user


def _staff_flag(*, actor, user: User, field: str, value: bool, reason: str, action: str, summary: str,
                missing_reason: str, ip: str) -> User:
    """Set one yes/no flag on a staff account: administrators only, inside their jurisdiction, with a reason
    that goes into the audit record."""
    if not actor.can(rules.Action.STAFF_MANAGE):
        raise PermissionError("您没有管理工作人员的权限")
    if not user.organisation or not user.organisation.path.startswith(actor.scope_path):
        raise PermissionError("该工作人员不在您的辖区内")
    if not reason.strip():
        raise StaffError({"reason": missing_reason})
    before = getattr(user, field)
    setattr(user, field, value)
    user.save(update_fields=[field])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action=action, object_type="user", object_id=user.pk,
                 summary=f"{summary}：{reason.strip()[:100]}", before={field: before}, after={field: value}, ip=ip)
    return user


@transaction.atomic
def staff_set_minor_access(*, actor, user: User, granted: bool, reason: str, ip: str = "") -> User:
    """Grant or withdraw access to minors' sealed records. A reason is required and recorded."""
    return _staff_flag(actor=actor, user=user, field="minor_access", value=granted, reason=reason,
                       action="staff.minor_access", summary=("授予" if granted else "撤销") + "未成年人档案查阅权限",
                       missing_reason="请填写授权或撤销的理由", ip=ip)


@transaction.atomic
def org_create(*, actor, name: str, kind: str, parent: Organisation | None, adcode: str = "",
               oversees: Organisation | None = None, boundary=None, boundary_source: str = "", short_name: str = "",
               ip: str = "") -> Organisation:
    """Add a node to the tree, keeping the materialised path. `actor` None = system (seed, migrations)."""
    if actor is not None and not actor.can(rules.Action.STAFF_MANAGE):
        raise PermissionError("您没有管理机构的权限")
    want = rules.ALLOWED_PARENT[rules.OrgKind(kind)]
    if (parent.kind if parent else None) != want:
        raise StaffError({"parent": f"{rules.ORG_KIND_LABELS[rules.OrgKind(kind)]}的上级必须是"
                                    f"{rules.ORG_KIND_LABELS[want] if want else '无'}"})
    if kind in rules.EXTERNAL_KINDS and (oversees is None or oversees.kind != rules.OrgKind.COUNTY_AGENCY):
        raise StaffError({"oversees": "外部机关须指明对应的县级社区矫正机构"})
    org = Organisation.objects.create(name=name, short_name=short_name, kind=kind, parent=parent, adcode=adcode,
                                      oversees=oversees)
    if boundary is not None:
        OrgBoundary.objects.create(organisation=org, geometry=boundary, source=boundary_source)
    org.path = f"{parent.path if parent else '/'}{org.pk:08d}/"  # zero-padded: sorting by path keeps the tree order
    org.depth = org.path.count("/") - 2
    org.save(update_fields=["path", "depth"])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="org.create", object_type="organisation",
                 object_id=org.pk, summary=f"新增机构 {name}",
                 after={"name": name, "kind": kind, "adcode": adcode, "parent": parent.pk if parent else None}, ip=ip)
    return org


@transaction.atomic
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
    user.save(update_fields=["password"])
    audit_record(actor=user, kind=AuditRecord.Kind.AUTH, action="auth.password_change", object_type="user",
                 object_id=user.pk, summary="修改密码", ip=ip)
    return user


@transaction.atomic
def staff_set_active(*, actor, user: User, active: bool, reason: str, ip: str = "") -> User:
    """Disable an account (someone left) or enable it again. A disabled account cannot sign in and its
    tokens stop working; its history stays."""
    if user.pk == actor.pk:
        raise StaffError({"active": "不能停用自己的账号"})
    return _staff_flag(actor=actor, user=user, field="is_active", value=active, reason=reason,
                       action="staff.active", summary=("启用" if active else "停用") + "账号",
                       missing_reason="请填写停用或启用的理由", ip=ip)
