"""The audit trail as oversight reads it: scoped to what staff of the reader's subtree did, filtered, and with
the people it names shown as the reader may see them (a minor masked without the grant; every name masked for
a reader who may not open case files, such as the system administrator)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.orgs.models import Organisation, User
from apps.orgs.rules import Action
from apps.orgs.scope import restrict, within
from apps.people import rules as people_rules
from apps.people.models import Supervisee

from .labels import OBJECT_LABELS, action_label

COUNT_CAP = 10_000


@dataclass(frozen=True)
class AuditFilters:
    kind: str = ""
    action: str = ""
    actor: str = ""  # user name or name, any part
    date_from: date | None = None
    date_to: date | None = None
    object_type: str = ""
    object_id: str = ""

    def any(self) -> bool:
        return any((self.kind, self.action, self.actor, self.date_from, self.date_to, self.object_type,
                    self.object_id))


def _day_start(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


def audit_list(*, fetched_by, filters: AuditFilters) -> QuerySet[AuditRecord]:
    qs = restrict(AuditRecord.objects.select_related("actor"), fetched_by, Action.AUDIT_VIEW)
    f = filters
    if f.kind in AuditRecord.Kind.values:
        qs = qs.filter(kind=f.kind)
    if f.action:
        qs = qs.filter(action=f.action)
    if f.actor:
        a = "".join(f.actor.split())
        qs = qs.filter(Q(actor__username__icontains=a) | Q(actor_name__contains=a))
    if f.date_from:
        qs = qs.filter(at__gte=_day_start(f.date_from))
    if f.date_to:
        qs = qs.filter(at__lt=_day_start(f.date_to + timedelta(days=1)))
    if f.object_type:
        qs = qs.filter(object_type=f.object_type)
        if f.object_id:
            qs = qs.filter(object_id=f.object_id)
    return qs.order_by("-id")


def capped_count(qs: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """The number of records, counted no further than `cap` (a province's log has millions)."""
    n = qs[: cap + 1].count()
    return min(n, cap), n > cap


@dataclass(frozen=True)
class AuditRow:
    r: AuditRecord
    action_label: str
    object_label: str
    supervisee_ids: tuple[int, ...]


def present_records(user, records: list[AuditRecord]) -> list[AuditRow]:
    """Each record with its action in words and its object by name, as this reader may see it."""
    sup_ids, user_ids, org_ids = set(), set(), set()
    for r in records:
        if r.object_id.isdigit():
            {"supervisee": sup_ids, "user": user_ids, "organisation": org_ids}.get(r.object_type, set()).add(
                int(r.object_id))
    people = {s["pk"]: s for s in Supervisee.objects.filter(pk__in=sup_ids).values(
        "pk", "name", "is_minor", "org_path")}
    staff = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "full_name"))
    orgs = dict(Organisation.objects.filter(pk__in=org_ids).values_list("pk", "name"))
    may_read = user.can(Action.SUPERVISEE_VIEW)

    def person(pk: int) -> str:
        p = people.get(pk)
        if p is None:
            return f"对象 {pk}"
        reveal = may_read and within(user, p["org_path"]) and (not p["is_minor"] or user.minor_access)
        name = p["name"] if reveal else people_rules.mask_name(p["name"])
        return f"{name}（{'未成年人，' if p['is_minor'] else ''}编号 {pk}）"

    rows = []
    for r in records:
        oid = int(r.object_id) if r.object_id.isdigit() else None
        many = (r.after or {}).get("ids") if isinstance(r.after, dict) else None
        if r.object_type == "supervisee" and oid:
            label = person(oid)
        elif r.object_type == "supervisee" and isinstance(many, list):
            label = f"{len(many)} 名社区矫正对象"
        elif r.object_type == "user" and oid:
            label = f"{staff.get(oid, '')}（工作人员 {oid}）"
        elif r.object_type == "organisation" and oid:
            label = orgs.get(oid, f"机构 {oid}")
        elif r.object_type:
            label = f"{OBJECT_LABELS.get(r.object_type, r.object_type)} {r.object_id}".strip()
        else:
            label = "—"
        rows.append(AuditRow(r, action_label(r.action), label, (oid,) if r.object_type == "supervisee" and oid else ()))
    return rows
