"""Reading cases and their deadlines, always scoped to the reader (apps.orgs.scope); minors' cases only with the
grant (社区矫正法第54条); every page of names logged as a read of personal data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from apps.audit.services import audit_view
from apps.orgs.models import Organisation
from apps.orgs.rules import Action, OrgKind
from apps.orgs.scope import NotFound, parse_pk, restrict, within

from . import rules, workdays
from .models import Case, CaseEvent, Task
from .services import calendar, current_transfer, may_act_on, open_task_kinds

BUCKETS = (("overdue", "已逾期"), ("today", "今日到期"), ("week", "本周到期"), ("later", "以后到期"),
           ("new", "新分派"), ("mine", "我负责的"))
QUEUE_LIMIT = 50
SUPERVISION_TASKS = frozenset({"missed_report", "check_missing"})  # tasks the daily supervision job opens (their page: 报到与走访)


def _visible_tasks(user):
    qs = restrict(Task.objects.filter(state=Task.State.OPEN), user, Action.SUPERVISEE_VIEW)
    if not user.minor_access:
        qs = qs.exclude(is_minor=True)
    return qs


def _week_end(today: date) -> date:
    return today + timedelta(days=6 - today.weekday())


def _bucket_q(bucket: str, today: date, user) -> Q:
    if bucket == "overdue":
        return Q(due_date__lt=today)
    if bucket == "today":
        return Q(due_date=today)
    if bucket == "week":
        return Q(due_date__gt=today, due_date__lte=_week_end(today))
    if bucket == "later":
        return Q(due_date__gt=_week_end(today))
    if bucket == "new":  # opened in the last two days for the user's own office
        since = timezone.make_aware(datetime.combine(today - timedelta(days=2), time.min))
        return Q(created_at__gte=since, org_id=user.organisation_id)
    if bucket == "mine":  # the reader is the office's member of the person's correction team
        return Q(assignee_id=user.pk)
    raise KeyError(bucket)


@dataclass(frozen=True)
class TaskRow:
    id: int
    url: str  # the case tab of the person, or the investigation
    person_id: int | None
    person_name: str
    title: str
    article: str
    due_date: date
    days_left: int
    provisional: bool
    office: str
    assignee: str
    case_status: str


@dataclass(frozen=True)
class WorkQueue:
    counts: dict[str, int]
    bucket: str
    rows: list[TaskRow]
    more: int
    by_org: list[tuple[Organisation, dict[str, int]]]  # a county's offices, a city's counties


def work_queue(*, user, bucket: str = "", today: date, office_id: int | None = None, ip: str = "") -> WorkQueue:
    """The work page: counts by bucket, the rows of one bucket (the most urgent first), and for a county or city
    the same counts per office or county below it. Four queries and the read log, whatever the size."""
    base = _visible_tasks(user)
    if office_id:
        office = Organisation.objects.filter(pk=office_id).only("path").first()
        base = base.filter(org_path__startswith=office.path) if office else base.none()
    week_end = _week_end(today)
    # one pass over the open tasks, counted per responsible unit: the totals and the per-office (per-county)
    # figures both come from it
    per_org = list(base.values("org_id").annotate(
        overdue=Count("id", filter=Q(due_date__lt=today)), today=Count("id", filter=Q(due_date=today)),
        week=Count("id", filter=Q(due_date__gt=today, due_date__lte=week_end)),
        later=Count("id", filter=Q(due_date__gt=week_end)),
        new=Count("id", filter=_bucket_q("new", today, user)), mine=Count("id", filter=Q(assignee_id=user.pk)),
        total=Count("id")).order_by())
    counts = {k: sum(r[k] for r in per_org) for k, _ in BUCKETS}
    bucket = bucket if bucket in counts else next((k for k, _ in BUCKETS if counts[k]), "overdue")
    qs = (base.filter(_bucket_q(bucket, today, user))
          .select_related("case__person", "investigation", "org", "assignee").order_by("due_date", "id"))
    tasks = list(qs[:QUEUE_LIMIT + 1])
    more = max(0, counts[bucket] - QUEUE_LIMIT) if len(tasks) > QUEUE_LIMIT else 0
    rows = [_row(t, today) for t in tasks[:QUEUE_LIMIT]]
    people = sorted({r.person_id for r in rows if r.person_id})
    if people:
        audit_view(actor=user, object_type="supervisee", object_ids=people,
                   summary=f"查看待办事项（{dict(BUCKETS)[bucket]}）", ip=ip, action="task.view",
                   org_path=user.organisation.scope_path)
    subjects = sorted({int(r.url.rstrip("/").rsplit("/", 1)[1]) for r in rows if not r.person_id})
    if subjects:
        audit_view(actor=user, object_type="investigation", object_ids=subjects,
                   summary=f"查看待办事项（{dict(BUCKETS)[bucket]}，调查评估）", ip=ip, action="task.view",
                   org_path=user.organisation.scope_path)
    return WorkQueue(counts, bucket, rows, more, _by_org(user, per_org))


def _row(t: Task, today: date) -> TaskRow:
    assignee = (t.assignee.full_name or t.assignee.username) if t.assignee else ""
    if t.case_id:
        c = t.case
        url = f"/cases/{c.pk}/transfer/" if t.kind.startswith("transfer_") else f"/people/{c.person_id}/?tab=case"
        if ":" in t.kind:  # a task of one application (apps.supervision: request:N, leave_overdue:N)
            url = f"/supervision/requests/{t.kind.split(':', 1)[1]}/"
        elif t.kind in SUPERVISION_TASKS:
            url = f"/people/{c.person_id}/?tab=checkins"
        return TaskRow(t.pk, url, c.person_id, c.person.name, t.title, t.article,
                       t.due_date, (t.due_date - today).days, t.provisional, t.org.name, assignee,
                       rules.STATUS_LABELS[rules.CaseStatus(c.status)])
    inv = t.investigation
    return TaskRow(t.pk, f"/cases/investigations/{inv.pk}/", None, inv.subject_name, t.title, t.article, t.due_date,
                   (t.due_date - today).days, t.provisional, t.org.name, assignee,
                   "调查评估：" + rules.INV_LABELS[rules.InvStatus(inv.status)])


def _by_org(user, per_org: list[dict]) -> list[tuple[Organisation, dict[str, int]]]:
    """A county's offices (and its own tasks), a city's counties, a province's cities: their open and overdue
    counts, from the per-unit counts already made."""
    org = user.organisation
    child_kind = {OrgKind.COUNTY_AGENCY: OrgKind.JUDICIAL_OFFICE, OrgKind.CITY: OrgKind.COUNTY_AGENCY,
                  OrgKind.PROVINCE: OrgKind.CITY}.get(OrgKind(org.kind)) if not org.is_external else None
    if child_kind is None:
        return []
    children = list(Organisation.objects.filter(parent=org, kind=child_kind).order_by("path"))
    paths = dict(Organisation.objects.filter(pk__in=[r["org_id"] for r in per_org]).values_list("pk", "path"))
    depth_len = len(org.path) + 9  # a child's path: the parent's and one more "00000000/"
    by_branch: dict[str, dict[str, int]] = {}
    for r in per_org:
        branch = paths.get(r["org_id"], "")[:depth_len]
        acc = by_branch.setdefault(branch, {"overdue": 0, "total": 0})
        acc["overdue"] += r["overdue"]
        acc["total"] += r["total"]
    out = [(c, by_branch.get(c.path, {"overdue": 0, "total": 0})) for c in children]
    own = by_branch.get(org.path)  # the county's own tasks (it decides most things)
    if own and org.kind == OrgKind.COUNTY_AGENCY:
        out.insert(0, (org, own))
    return out


# --- one case ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CaseView:
    case: Case
    cases: list[Case]  # all of the person's cases, newest first
    events: list[CaseEvent]
    tasks: list[Task]
    actions: list[rules.Transition]
    term_days_left: int
    calendar_years: frozenset[int]
    transfer: object = None
    may_change_judgment: bool = False
    ground: str = ""  # 暂予监外执行情形 as the case's judgment records it (刑事诉讼法第265条)


def case_view(*, person, user, today: date) -> CaseView | None:
    """The person's open case (or their last), its history, deadlines and the changes the reader may make now."""
    cases = list(Case.objects.filter(person=person).select_related("judicial_office", "execution_county")
                 .order_by("-seq"))
    if not cases:
        return None
    case = cases[0]
    events = list(case.events.select_related("actor").order_by("id"))
    tasks = list(case.tasks.select_related("org", "assignee").order_by("state", "due_date", "id"))
    transfer = current_transfer(case)
    facts = rules.Facts(status=rules.CaseStatus(case.status), sentence_type=case.sentence_type,
                        steps_done=frozenset(case.steps_done), transfer_stage=transfer.stage if transfer else "",
                        today=today, term_end=case.term_end, documents_in=case.documents_date is not None,
                        open_tasks=frozenset(t.kind for t in tasks if t.state == Task.State.OPEN))
    actions = [t for t in rules.available(facts) if may_act_on(user, case, t, transfer)]
    may_judge = (case.is_open and user.can(Action.SUPERVISEE_CHANGE) and within(user, case.org_path)
                 and not (transfer is not None and transfer.is_open))
    return CaseView(case, cases, events, tasks, actions, (case.term_end - today).days, calendar().years, transfer,
                    may_judge, ground_label(case))


def ground_label(case: Case) -> str:
    """A 暂予监外执行's ground in words; one registered before grounds were recorded is supervised as 保外就医."""
    from apps.people.rules import GROUND_LABELS, Ground, SentenceType

    if case.sentence_type != SentenceType.MEDICAL_PAROLE:
        return ""
    ground = str((case.judgment or {}).get("temporary_ground") or "")
    return GROUND_LABELS[Ground(ground)] if ground in {g.value for g in Ground} else "未登记（按保外就医监管）"


def provisional_note(cal: workdays.Calendar, d: date) -> str:
    return "" if cal.is_official(d) else f"{d.year}年节假日安排尚未导入，按周一至周五推算"


# --- the case file ---------------------------------------------------------------------------------------------

def case_file(*, case_id: int, user=None, ip: str = "") -> tuple[Case, list]:
    """The case and its issued documents in catalogue order. `user` None is the system (manage.py case_file);
    otherwise scoped like any read of the case, and the read is logged either way."""
    from apps.documents.models import Document
    from apps.documents.selectors import documents_of

    case_id = parse_pk(case_id)
    case = (Case.objects.select_related("person", "execution_county", "judicial_office").filter(pk=case_id).first()
            if case_id else None)
    if case is None:
        raise NotFound()
    if user is not None:
        if not (user.can(Action.SUPERVISEE_VIEW) and restrict(Case.objects.filter(pk=case_id), user,
                                                              Action.SUPERVISEE_VIEW).exists()):
            raise NotFound()
        if case.is_minor and not user.minor_access:
            raise NotFound()
        docs = documents_of(user=user, object_type="case", object_id=case.pk)
    else:
        from apps.documents.catalogue import DOC_TYPES
        docs = sorted(Document.objects.filter(object_type="case", object_id=str(case.pk)),
                      key=lambda d: (DOC_TYPES[d.doc_type].order, d.id))
    audit_view(actor=user, object_type="supervisee", object_ids=[case.person_id],
               summary=f"查阅执法档案（案件{case.pk}，{len(docs)}份文书）" + ("【未成年人】" if case.is_minor else ""),
               ip=ip, org_path=case.org_path, action="case.file")
    return case, docs


def case_file_pdf(case: Case, docs: list) -> bytes:
    from apps.documents import render
    from apps.people.rules import SENTENCE_LABELS, SentenceType

    p = case.person
    cover = {"agency": case.execution_county.name, "name": p.name, "case_no": f"{case.pk}（第{case.seq}次）",
             "sentence": SENTENCE_LABELS[SentenceType(case.sentence_type)],
             "term": f"{case.term_start:%Y-%m-%d} 至 {case.term_end:%Y-%m-%d}"}
    return render.pdf(docs, catalogue_title="社区矫正执法档案", cover=cover)


def person_cases(*, person) -> list[Case]:
    return list(Case.objects.filter(person=person).order_by("-seq"))


# --- a transfer, seen from both counties ------------------------------------------------------------------------

@dataclass(frozen=True)
class TransferView:
    case: Case
    transfer: object
    tasks: list[Task]
    actions: list[rules.Transition]
    side: str  # "from" or "to": which county the reader is in


def transfer_view(*, user, case_id: int, ip: str = "") -> TransferView:
    """The case's current (or last) transfer, for the sending and the receiving county alike; NotFound for
    anyone else, and for a minor's case without the grant."""
    from .models import Transfer

    case_id = parse_pk(case_id)
    if case_id is None:
        raise NotFound()
    case = Case.objects.select_related("person", "execution_county", "judicial_office").filter(pk=case_id).first()
    tr = (Transfer.objects.select_related("from_county", "to_county", "new_office").filter(case_id=case_id)
          .order_by("-id").first())
    if case is None or tr is None or not user.can(Action.SUPERVISEE_VIEW):
        raise NotFound()
    from apps.orgs.scope import within
    # the sending county and, while the transfer is open, the office holding the case; then the receiving county
    # (and its office, once it holds the case)
    # (the sending county's view ends with the transfer: the case and its file are the new county's)
    if tr.is_open and (within(user, tr.from_path) or within(user, case.org_path)):
        side = "from"
    elif within(user, tr.to_path) or within(user, case.org_path):
        side = "to"
    else:
        side = ""
    if not side or (case.is_minor and not user.minor_access):
        raise NotFound()
    current = current_transfer(case)
    facts = rules.Facts(status=rules.CaseStatus(case.status), sentence_type=case.sentence_type,
                        steps_done=frozenset(case.steps_done), transfer_stage=current.stage if current else "",
                        open_tasks=open_task_kinds(case))
    actions = [t for t in rules.available(facts) if t.code.startswith("transfer_") and t.code != "transfer_apply"
               and may_act_on(user, case, t, current)] if current else []
    tasks = list(case.tasks.filter(kind__startswith="transfer_").select_related("org").order_by("id"))
    audit_view(actor=user, object_type="supervisee", object_ids=[case.person_id],
               summary="查阅执行地变更" + ("（新执行地）" if side == "to" else ""), ip=ip,
               org_path=tr.from_path if side == "from" else tr.to_path, action="transfer.view")
    return TransferView(case, tr, tasks, actions, side)


def transfer_counties(*, exclude: int | None = None) -> list[Organisation]:
    """The county agencies a case may move to (any in the system but its own)."""
    return list(Organisation.objects.filter(kind=OrgKind.COUNTY_AGENCY).exclude(pk=exclude).order_by("path"))


def case_for_judgment(*, user, case_id, ip: str = "") -> Case:
    """An open case of the user's own jurisdiction, with its person, for the judgment form (a logged read)."""
    case = (Case.objects.select_related("person", "judicial_office").filter(pk=parse_pk(case_id) or -1,
                                                                             is_open=True).first())
    if case is None or not user.can(Action.SUPERVISEE_CHANGE) or not restrict(
            Case.objects.filter(pk=case.pk), user, Action.SUPERVISEE_CHANGE).exists() \
            or (case.is_minor and not user.minor_access):
        raise NotFound()
    audit_view(actor=user, object_type="supervisee", object_ids=[case.person_id], ip=ip, org_path=case.org_path,
               summary="打开判决信息变更页" + ("【未成年人】" if case.is_minor else ""))
    return case
