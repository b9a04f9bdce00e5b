"""Reading supervisees: always scoped to the reader (apps.orgs.scope), the minors' seal applied here, where
the data is read (社区矫正法 第54条), and every read of personal data logged here too, so no page or endpoint can
forget either."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db import transaction
from django.db.models import Count, Q, QuerySet

from apps.audit.models import AuditRecord
from apps.audit.selectors import audit_history_for
from apps.audit.services import audit_record, audit_view
from apps.orgs.models import Organisation
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, access, parse_pk, restrict
from zhijiao.paging import Order, Page, paginate

from . import rules
from .models import ExportJob, Supervisee

SORTS = {
    "name": Order("name"), "-name": Order("name", True),
    "start": Order("supervision_start"), "-start": Order("supervision_start", True),
    "end": Order("supervision_end"), "-end": Order("supervision_end", True),
    "office": Order("org_path"), "-office": Order("org_path", True),  # the tree's order (zero-padded paths)
    "type": Order("sentence_type"), "-type": Order("sentence_type", True),
    "level": Order("management_level"), "-level": Order("management_level", True),
}
DEFAULT_SORT = "-start"


@dataclass(frozen=True)
class SuperviseeFilters:
    q: str = ""
    office: str = ""
    county: str = ""
    sentence_type: str = ""
    level: str = ""
    status: str = ""
    minor: str = ""  # "", "1", "0"
    sort: str = DEFAULT_SORT

    def any(self) -> bool:
        return any((self.q, self.office, self.county, self.sentence_type, self.level, self.status, self.minor))


def normalise_query(q: str) -> str:
    """What a search box gives: spaces anywhere dropped ("王 小明", "3601 0219"), x in an ID upper-cased."""
    return "".join((q or "").split())[:40]


def supervisee_list(*, fetched_by, filters: SuperviseeFilters = SuperviseeFilters(),
                    action: Action = Action.SUPERVISEE_VIEW) -> QuerySet[Supervisee]:
    qs = restrict(Supervisee.objects.all(), fetched_by, action).select_related("judicial_office", "execution_county")
    f = filters
    q = normalise_query(f.q)
    if q:
        # any part of a name, an ID number (the last digits too) or a phone number
        match = Q(name__contains=q) | Q(id_number__contains=q.upper()) | Q(phone__contains=q)
        if not fetched_by.minor_access:
            # Sealed records (法54) are never found by name, ID or phone without the grant.
            match &= Q(is_minor=False)
        qs = qs.filter(match)
    if f.office:
        qs = qs.filter(judicial_office_id=parse_pk(f.office) or 0)
    if f.county:
        qs = qs.filter(execution_county_id=parse_pk(f.county) or 0)
    if f.sentence_type in rules.SENTENCE_LABELS:
        qs = qs.filter(sentence_type=f.sentence_type)
    if f.level in rules.LEVEL_LABELS:
        qs = qs.filter(management_level=f.level)
    if f.status in rules.STATUS_LABELS:
        qs = qs.filter(status=f.status)
    if f.minor in ("0", "1"):
        qs = qs.filter(is_minor=f.minor == "1")
    return qs.order_by(*sort_order(fetched_by, f).order_by)


def sort_order(user, f: SuperviseeFilters) -> Order:
    """Without the grant a sealed minor is sorted by what the reader sees of the name (rules.sort_name), so the
    row's place in a list sorted by name tells nothing more of the name than the row shows."""
    order = SORTS.get(f.sort, SORTS[DEFAULT_SORT])
    if order.field == "name" and not user.minor_access:
        return Order("sort_name", order.descending)
    return order


def can_reveal(user, s: Supervisee) -> bool:
    return not s.is_minor or bool(user.minor_access)


# --- what a reader is shown of a row ------------------------------------------------------------
@dataclass(frozen=True)
class SuperviseeRow:
    """One supervisee as a list, an export or the API shows it to this reader: a sealed minor's name, ID number,
    birth date, phone and address masked, and no link to the record."""

    pk: int
    name: str
    id_number: str
    sealed: bool  # a minor whose file this reader may not open
    s: Supervisee  # the record itself, for the fields that are never masked (office, dates, level ...)

    @property
    def birth_date(self) -> date | None:
        return None if self.sealed else self.s.birth_date

    @property
    def phone(self) -> str:
        return "" if self.sealed else self.s.phone

    @property
    def residence_address(self) -> str:
        return "" if self.sealed else self.s.residence_address

    @property
    def household_address(self) -> str:
        return "" if self.sealed else self.s.household_address

    @property
    def judgment_number(self) -> str:
        return "" if self.sealed else self.s.judgment_number


def present(user, s: Supervisee) -> SuperviseeRow:
    sealed = not can_reveal(user, s)
    return SuperviseeRow(s.pk, rules.mask_name(s.name) if sealed else s.name,
                         rules.mask_id(s.id_number) if sealed else s.id_number, sealed, s)


# --- lists ----------------------------------------------------------------------------------------------
COUNT_CACHE_SECONDS = 60


def _count(qs: QuerySet, *, user, filters: SuperviseeFilters) -> int:
    """The number of rows. For a city or province (a hundred thousand rows and more) it is cached a minute, as
    the number of a list the reader is paging through; within a county it is counted each time."""
    org = user.organisation
    if org is None or org.depth > 1:
        return qs.count()
    key = "zj:count:" + hashlib.sha256(repr((user.scope_path, user.minor_access, filters)).encode()).hexdigest()
    n = cache.get(key)
    if n is None:
        n = qs.count()
        cache.set(key, n, COUNT_CACHE_SECONDS)
    return n


@dataclass(frozen=True)
class PageRequest:
    page: int | None = None
    after: str = ""
    before: str = ""
    number: int | None = None
    last: bool = False
    per: int = 20


def supervisee_page(*, fetched_by, filters: SuperviseeFilters, request: PageRequest, summary: str, ip: str = ""
                    ) -> tuple[Page, list[SuperviseeRow]]:
    """One page of the list, presented for the reader, and its read logged (one record for the page)."""
    qs = supervisee_list(fetched_by=fetched_by, filters=filters)
    order = sort_order(fetched_by, filters)
    # a row that left the filtered list since (its level changed) still marks the place to go on from
    everyone = supervisee_list(fetched_by=fetched_by, filters=SuperviseeFilters(sort=filters.sort))
    page = paginate(qs, order=order, per=request.per, count=_count(qs, user=fetched_by, filters=filters),
                    page=request.page, after=request.after, before=request.before, number=request.number,
                    last=request.last, boundary_qs=everyone)
    rows = [present(fetched_by, s) for s in page.rows]
    if rows:
        audit_view(actor=fetched_by, object_type="supervisee", object_ids=[r.pk for r in rows],
                   summary=summary.format(page=page.number, n=len(rows)), ip=ip)
    return page, rows


# --- one record -----------------------------------------------------------------------------------------
def _log_sealed_refusal(user, s: Supervisee, ip: str) -> None:
    """An attempt to open a sealed file is itself a fact an oversight officer must be able to see."""
    with transaction.atomic():
        audit_record(actor=user, kind=AuditRecord.Kind.VIEW, action="supervisee.sealed_refused",
                     object_type="supervisee", object_id=s.pk, summary="未获授权，试图打开封存的未成年人档案（已拒绝）",
                     ip=ip, org_path=s.org_path)


def access_supervisee(*, user, supervisee_id, action: Action = Action.SUPERVISEE_VIEW, purpose: str = "",
                      ip: str = "") -> Supervisee:
    """One record, or NotFound (missing, out of scope, or a minor's sealed file without the grant: the same
    answer). A refused attempt on a sealed file is logged. With `purpose`, the read itself is logged."""
    s = access(Supervisee, user=user, pk=supervisee_id, action=action,
               qs=Supervisee.objects.select_related("judicial_office", "execution_county", "deciding_organ"))
    if not can_reveal(user, s):
        _log_sealed_refusal(user, s, ip)
        raise NotFound()
    if purpose:
        audit_view(actor=user, object_type="supervisee", object_ids=[s.pk],
                   summary=purpose + ("【未成年人】" if s.is_minor else ""), ip=ip, org_path=s.org_path)
    return s


def supervisee_counts_by_org(*, fetched_by) -> dict[int, int]:
    """Supervisees in correction per judicial office and per county agency, within the reader's scope."""
    rows = (restrict(Supervisee.objects.filter(status=rules.Status.ACTIVE), fetched_by, Action.SUPERVISEE_VIEW)
            .values("judicial_office_id", "execution_county_id").annotate(n=Count("id")))
    counts: dict[int, int] = {}
    for r in rows:
        for key in ("judicial_office_id", "execution_county_id"):
            counts[r[key]] = counts.get(r[key], 0) + r["n"]
    return counts


# --- the history tab --------------------------------------------------------------------------------
_OTHER_LABELS = {"contact": "联系人", "member": "小组成员", "relation": "关系", "kind": "身份", "name": "姓名",
                 "reason": "理由", "team_problems": "矫正小组尚缺", "photo": "照片"}
_ORG_FIELDS = ("judicial_office", "execution_county", "deciding_organ")
# internal ids and coordinates say nothing to an officer reading the history
_HIDDEN_KEYS = {"member", "contact", "residence_lon", "residence_lat"}


def supervisee_history(s: Supervisee) -> list[dict]:
    """The record's change history, newest first, with field names as labels and office ids as names."""
    records = list(audit_history_for(object_type="supervisee", object_id=s.pk))
    org_ids = {v for r in records for d in (r.before or {}, r.after or {})
               for k, v in d.items() if k in _ORG_FIELDS and isinstance(v, int)}
    names = dict(Organisation.objects.filter(pk__in=org_ids).values_list("pk", "name"))
    from .models import TeamMember

    choices = {"sentence_type": rules.SENTENCE_LABELS, "management_level": rules.LEVEL_LABELS,
               "status": rules.STATUS_LABELS, "gender": {"M": "男", "F": "女"}, "kind": dict(TeamMember.Kind.choices)}

    def label(key):
        try:
            return str(Supervisee._meta.get_field(key).verbose_name)
        except Exception:  # noqa: BLE001 - keys that are not fields (contact, member, ids) keep their name
            return _OTHER_LABELS.get(key, key)

    def value(key, v):
        if v in (None, "", []):
            return "—"
        if key in _ORG_FIELDS:
            return names.get(v, v)
        if key in choices:
            return choices[key].get(v, v)
        if isinstance(v, bool):
            return "是" if v else "否"
        if isinstance(v, list):
            return "；".join(map(str, v))
        return v

    rows = []
    for r in records:
        before, after = r.before or {}, r.after or {}
        keys = [k for k in dict.fromkeys([*before, *after]) if k not in _HIDDEN_KEYS]
        if not before:  # a new record, or something added: what it holds, not a column of dashes
            keys = [k for k in keys if after.get(k) not in (None, "", [], 0) or k in ("detention_days",)]
            keys = [k for k in keys if not (k == "detention_days" and not after.get(k))]
        rows.append({"at": r.at, "actor": r.actor_name, "summary": r.summary,
                     "changes": [(label(k), value(k, before.get(k)), value(k, after.get(k))) for k in keys]})
    return rows


# --- export jobs --------------------------------------------------------------------------------------
def export_job_for(*, user, job_id) -> ExportJob:
    """An officer sees their own export jobs only."""
    pk = parse_pk(job_id)
    job = ExportJob.objects.filter(pk=pk, requested_by=user).first() if pk else None
    if job is None or not user.can(Action.SUPERVISEE_EXPORT):
        raise NotFound()
    return job


def export_jobs_of(*, user, limit: int = 10) -> list[ExportJob]:
    return list(ExportJob.objects.filter(requested_by=user).order_by("-id")[:limit])

__all__ = ["NotFound", "SuperviseeFilters", "SuperviseeRow", "PageRequest", "supervisee_list", "supervisee_page",
           "present", "can_reveal", "access_supervisee", "supervisee_counts_by_org", "supervisee_history",
           "export_job_for", "export_jobs_of", "normalise_query"]
