"""The supervisee's sign-in and phone (ADR 0010). The officer gives a one-time code; the first sign-in with it sets
the person's password and binds that phone. Later sign-ins need the ID number, the password and a bound phone; a new
phone waits for an officer's approval. Failures lock out as staff sign-in does, counted per ID number (hashed: the
throttle table never holds an ID number), and the answer never says whether the number is registered."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record
from apps.cases.models import Case
from apps.orgs.models import LoginThrottle
from apps.orgs.rules import Action, lockout_state
from apps.orgs.scope import NotFound, parse_pk
from apps.people.actors import SelfActor
from apps.people.actors import staff as _staff
from apps.people.models import Supervisee
from apps.people.selectors import access_supervisee
from apps.people.services import InputErrors, NotPermitted
from apps.supervision.services import SUPERVISED

from . import rules
from .models import Account, Device, Message

use_case = transaction.atomic(durable=True)
FAILURE = "身份证号码或密码不正确"


class SignInFailed(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SignedIn:
    account: Account
    device: Device
    new_key: str = ""  # set when this sign-in gave the phone its key (the view stores it in a cookie)


def key_hash(key: str) -> str:
    return hashlib.sha256(("zhijiao-device:" + (key or "")).encode()).hexdigest()


def _throttle_name(id_number: str) -> str:
    return "m:" + hashlib.sha256(id_number.upper().encode()).hexdigest()[:40]


def open_case(person_id: int) -> Case | None:
    """The person's case under supervision now (the portal acts on it and nothing else)."""
    return (Case.objects.filter(person_id=person_id, is_open=True, status__in=SUPERVISED)
            .select_related("person", "judicial_office", "execution_county").order_by("-id").first())


def actor_for(account: Account, device: Device) -> SelfActor | None:
    got = actor_and_case(account, device)
    return got[0] if got else None


def actor_and_case(account: Account, device: Device) -> tuple[SelfActor, Case] | None:
    """The person acting from this phone, on their case under supervision now (None once it is closed)."""
    case = open_case(account.person_id)
    if case is None:
        return None
    return SelfActor(person_id=account.person_id, case_id=case.pk, org_path=case.org_path,
                     device=("手机 " + device.label)[:60], is_minor=case.is_minor), case


# --- the officer's side -----------------------------------------------------------------------------------------

def _person(actor, person_id) -> Supervisee:
    """The person's record as the people app opens it (out of scope or sealed: not found), for a writer."""
    p = access_supervisee(user=actor, supervisee_id=person_id)
    if not actor.can(Action.SUPERVISEE_CHANGE):
        raise NotPermitted("您没有管理手机端账号的权限")
    return p


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown once to the officer, who gives it to the person
    expires_at: object


@use_case
def code_issue(*, actor, person_id, ip: str = "", now=None) -> IssuedCode:
    """A one-time sign-in code (6 digits, valid for CODE_HOURS): the first sign-in, or a new password when forgotten.
    Issuing it lifts a lock-out; the phone that uses it is bound (the officer's giving it is the approval)."""
    now = now or timezone.now()
    p = _person(actor, person_id)
    if open_case(p.pk) is None:
        raise InputErrors({"code": "该社区矫正对象当前不在社区矫正期间（尚未报到或已解除、终止），不能开通手机端"})
    code = f"{secrets.randbelow(10 ** rules.CODE_DIGITS):0{rules.CODE_DIGITS}d}"
    acc, _ = Account.objects.select_for_update().get_or_create(person=p, defaults={"org_path": p.org_path})
    acc.org_path = p.org_path
    acc.code_hash, acc.code_expires_at, acc.code_issued_by = make_password(code), now + timedelta(
        hours=rules.CODE_HOURS), _staff(actor)
    acc.save()
    LoginThrottle.objects.filter(username=_throttle_name(p.id_number)).update(failed=0, locked_until=None)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="portal.code", object_type="supervisee",
                 object_id=p.pk, summary=f"发放手机端一次性登录码（{rules.CODE_HOURS}小时内有效）", ip=ip,
                 org_path=p.org_path)
    return IssuedCode(code, acc.code_expires_at)


def _device(actor, device_id) -> Device:
    d = Device.objects.select_for_update().select_related("account").filter(pk=parse_pk(device_id) or -1).first()
    if d is None:
        raise NotFound()
    _person(actor, d.account.person_id)
    return d


@use_case
def device_decide(*, actor, device_id, approve: bool, ip: str = "") -> Device:
    """Approve a new phone (it may then sign in) or unbind one (it is signed out at its next request)."""
    d = _device(actor, device_id)
    if approve and d.state != Device.State.PENDING:
        raise InputErrors({"device": "该设备不是待审批状态"})
    if not approve and d.state == Device.State.REVOKED:
        raise InputErrors({"device": "该设备已解绑"})
    before = d.state
    d.state = Device.State.ACTIVE if approve else Device.State.REVOKED
    d.decided_at, d.decided_by, d.decided_by_name = timezone.now(), _staff(actor), actor.full_name or actor.username
    d.save(update_fields=["state", "decided_at", "decided_by", "decided_by_name"])
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="portal.device", object_type="supervisee",
                 object_id=d.account.person_id, summary=("批准绑定手机：" if approve else "解绑手机：") + d.label,
                 before={"state": before}, after={"device": d.pk, "state": d.state}, ip=ip, org_path=d.account.org_path)
    return d


@use_case
def message_send(*, actor, person_id, text: str, ip: str = "") -> Message:
    p = _person(actor, person_id)
    text = (text or "").strip()
    if not text:
        raise InputErrors({"text": "请填写消息内容"})
    if len(text) > 1000:
        raise InputErrors({"text": "消息不能超过1000字"})
    case = open_case(p.pk)
    if case is None:
        raise InputErrors({"text": "该社区矫正对象当前不在社区矫正期间，不能发送消息"})
    m = Message.objects.create(case=case, person=p, org_path=case.org_path, text=text, sent_by=_staff(actor),
                               sender_name=actor.full_name or actor.username)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="portal.message", object_type="case",
                 object_id=case.pk, summary=f"向手机端发送消息（{len(text)}字）", after={"message": m.pk}, ip=ip,
                 org_path=case.org_path)
    return m


# --- the person's side ------------------------------------------------------------------------------------------

def sign_in(*, id_number: str, password: str = "", code: str = "", new_password: str = "", device_key: str = "",
            user_agent: str = "", ip: str = "", now=None) -> SignedIn:
    """Sign in with the ID number and the password, or the one-time code and a new password. The failure count and
    its audit record commit before the failure is raised."""
    result, message = _sign_in(id_number=(id_number or "").strip().upper()[:18], password=password or "",
                               code=(code or "").strip(), new_password=new_password or "", device_key=device_key,
                               user_agent=user_agent, ip=ip, now=now or timezone.now())
    if result is None:
        raise SignInFailed(message)
    return result


@use_case
def _sign_in(*, id_number, password, code, new_password, device_key, user_agent, ip, now):
    throttle, _ = LoginThrottle.objects.select_for_update().get_or_create(username=_throttle_name(id_number))
    acc = (Account.objects.select_for_update().select_related("person").filter(person__id_number=id_number).first()
           if id_number else None)
    where = acc.org_path if acc else ""
    if throttle.locked_until and throttle.locked_until > now:
        minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
        audit_record(actor="手机端", kind=AuditRecord.Kind.AUTH, action="portal.login_locked", object_type="supervisee",
                     object_id=acc.person_id if acc else "", summary="锁定期间尝试登录手机端", ip=ip, org_path=where)
        return None, f"连续登录失败次数过多，请{minutes}分钟后再试，或请司法所工作人员重新发放登录码"
    if code:
        ok = bool(acc and acc.code_hash and acc.code_expires_at and acc.code_expires_at > now
                  and rules.code_ok(code) and check_password(code, acc.code_hash))
        if not acc:
            check_password(code, make_password("zhijiao-not-a-code"))
    else:
        ok = bool(acc and acc.password and check_password(password, acc.password))
        if not acc or not acc.password:
            check_password(password, make_password("zhijiao-not-a-password"))
    if not ok:
        throttle.failed += 1
        locked = lockout_state(failed=throttle.failed, max_failed=settings.ZHIJIAO_MAX_FAILED_LOGINS)
        left = settings.ZHIJIAO_MAX_FAILED_LOGINS - throttle.failed
        if locked:
            throttle.locked_until, throttle.failed = now + timedelta(minutes=settings.ZHIJIAO_LOCKOUT_MINUTES), 0
        throttle.save()
        audit_record(actor="手机端", kind=AuditRecord.Kind.AUTH, action="portal.login_failed", object_type="supervisee",
                     object_id=acc.person_id if acc else "",
                     summary=("登录码错误或已失效" if code else "密码错误") + ("，已锁定" if locked else ""),
                     ip=ip, org_path=where)
        if locked:
            return None, f"连续登录失败次数过多，请{settings.ZHIJIAO_LOCKOUT_MINUTES}分钟后再试"
        what = "身份证号码或登录码不正确（登录码可能已失效）" if code else FAILURE
        return None, (f"{what}，再失败{left}次将被锁定{settings.ZHIJIAO_LOCKOUT_MINUTES}分钟" if left <= 2 else what)
    # the code or password is right: what follows is about the person and the phone, not a guess
    throttle.failed, throttle.locked_until = 0, None
    throttle.save()
    if open_case(acc.person_id) is None:
        return None, "您当前不在社区矫正期间，手机端已停用"
    if code:
        problem = rules.password_problem(new_password, id_number=acc.person.id_number,
                                         birth=acc.person.birth_date.isoformat())
        if problem:
            return None, "请设置新密码：" + problem
        acc.password, acc.code_hash, acc.code_expires_at = make_password(new_password), "", None
        acc.activated_at = acc.activated_at or now
    device = Device.objects.filter(account=acc, key_hash=key_hash(device_key)).first() if device_key else None
    new_key = ""
    if device is None or device.state == Device.State.REVOKED:
        new_key = secrets.token_urlsafe(32)
        device = Device.objects.create(account=acc, key_hash=key_hash(new_key), label=rules.device_label(user_agent),
                                       state=Device.State.ACTIVE if code else Device.State.PENDING)
        if code:
            device.decided_at, device.decided_by_name = now, "一次性登录码"
            device.save(update_fields=["decided_at", "decided_by_name"])
    elif device.state == Device.State.PENDING and code:
        device.state, device.decided_at, device.decided_by_name = Device.State.ACTIVE, now, "一次性登录码"
        device.save(update_fields=["state", "decided_at", "decided_by_name"])
    acc.last_login_at = now
    acc.save()
    audit_record(actor="社区矫正对象本人（手机端）", kind=AuditRecord.Kind.AUTH, action="portal.login",
                 object_type="supervisee", object_id=acc.person_id,
                 summary=("首次登录并绑定手机：" if code else "登录手机端：") + device.label
                 + ("（新设备，待审批）" if device.state == Device.State.PENDING else ""),
                 after={"device": device.pk, "state": device.state}, ip=ip, org_path=acc.org_path)
    return SignedIn(acc, device, new_key), ""


def session_device(account_id, device_key: str) -> tuple[Account, Device] | None:
    """The account and the phone behind a portal session, while both are good: an unbound phone is signed out."""
    acc = Account.objects.select_related("person").filter(pk=account_id).first()
    if acc is None or not device_key:
        return None
    d = Device.objects.filter(account=acc, key_hash=key_hash(device_key)).first()
    if d is None or d.state != Device.State.ACTIVE:
        return None
    now = timezone.now()
    if d.last_seen_at is None or now - d.last_seen_at > timedelta(minutes=10):
        Device.objects.filter(pk=d.pk).update(last_seen_at=now)  # at most one write per ten minutes
    return acc, d


@use_case
def messages_read(*, actor: SelfActor, ids: list[int]) -> int:
    n = Message.objects.filter(person_id=actor.person_id, pk__in=ids, read_at__isnull=True).update(
        read_at=timezone.now())
    if n:
        audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="portal.message_read", object_type="case",
                     object_id=actor.case_id, summary=f"在手机端阅读消息{n}条", org_path=actor.org_path)
    return n


@use_case
def sign_out_record(*, actor: SelfActor, ip: str = "") -> None:
    audit_record(actor=actor, kind=AuditRecord.Kind.AUTH, action="portal.logout", object_type="supervisee",
                 object_id=actor.person_id, summary="退出手机端", ip=ip, org_path=actor.org_path)
