"""Reading daily supervision, scoped to the reader (apps.orgs.scope), minors' records only with the grant (法54),
each page of personal data logged. `leave_windows` is the interface location monitoring reads (ADR 0007)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from apps.audit.services import audit_view
from apps.cases.models import Case, Task
from apps.orgs.models import Organisation
from apps.notices.selectors import sent_about
from apps.orgs.rules import Action, OrgKind
from apps.orgs.scope import NotFound, parse_pk, restrict

from . import rules
from .models import Activity, Fact, Hours, Record, Request
from .services import (DAILY, FOUR_ONES_KINDS, able_to_work, month_hours, request_steps, table, may_decide)
from .services import check_due as services_check_due
from .services import ground_of


def _scoped(qs, user):
    qs = restrict(qs, user, Action.SUPERVISEE_VIEW)
    return qs if user.minor_access else qs.exclude(is_minor=True)


def _aware(d: date) -> datetime:
    return timezone.make_aware(datetime.combine(d, time.min))


# --- one case: its schedule and records (the 报到与走访 tab) ---------------------------------------------------------

@dataclass(frozen=True)
class Schedule:
    level: str
    period: str  # week / half_month / month
    period_label: str
    next_due: date
    last_report: date | None
    this_period: tuple[date, date]
    reported_this_period: bool
    four_ones: list[tuple[str, bool]]  # 严管: this week's items and whether done
    study: float
    service: float
    study_target: float
    service_target: float
    health_due: date | None  # 暂予监外执行: this month's health report
    health_done: bool
    check_due: date | None  # 保外就医: the next hospital check result (None until a first check is recorded)
    last_check: date | None
    needs_check: bool = False  # 保外就医 (not pregnancy or incapacity): the three-monthly hospital check


PERIOD_LABELS = {"week": "每周", "half_month": "每半月", "month": "每月"}


def schedule(case: Case, today: date) -> Schedule:
    """What this case owes now: the report-in of this period, this week's four-ones, this month's hours."""
    level = case.management_level
    rt, ht = table("report", today), table("hours", today)
    p = rules.Period(rt.period[level])
    since = today - timedelta(days=62)
    rows = list(Record.objects.filter(case=case, happened_at__gte=_aware(since), superseded_by__isnull=True)
                .exclude(verified="fail").values_list("kind", "happened_at"))
    days = [(k, timezone.localtime(at).date()) for k, at in rows]
    reports = [d for k, d in days if k == Record.Kind.REPORT_IN]
    start, end = rules.period_of(p, today)
    monday = today - timedelta(today.weekday())
    have = {FOUR_ONES_KINDS[k] for k, d in days if k in FOUR_ONES_KINDS and d >= monday}
    four = [(rules.FOUR_ONES[k], k in have) for k in rules.FOUR_ONES] if level == "strict" else []
    h = month_hours([case.pk], today).get(case.pk, {})
    health_due = health_done = check_due = last_check = None
    needs_check = rules.needs_hospital_check(case.sentence_type, ground_of(case))
    if case.sentence_type == "medical_parole":
        health_due = rules.health_report_due(today)
        health_done = any(k == Record.Kind.HEALTH and d >= today.replace(day=1) for k, d in days)
        check_due = services_check_due(case)
        last = (Record.objects.filter(case=case, kind=Record.Kind.CHECK, superseded_by__isnull=True)
                .order_by("-happened_at").values_list("happened_at", flat=True).first())
        last_check = timezone.localtime(last).date() if last else None
    last_report = (Record.objects.filter(case=case, kind=Record.Kind.REPORT_IN, superseded_by__isnull=True)
                   .exclude(verified="fail").order_by("-happened_at").values_list("happened_at", flat=True).first())
    return Schedule(level, p.value, PERIOD_LABELS[p.value],
                    rules.next_report_due(level=level, reports=reports, today=today, table=rt),
                    timezone.localtime(last_report).date() if last_report else None, (start, end),
                    any(start <= d <= end for d in reports), four, h.get("study", 0.0), h.get("service", 0.0),
                    ht.study[level], ht.service[level] if able_to_work(case.sentence_type) else 0, health_due, bool(health_done), check_due, last_check,
                    needs_check)


RECORD_FILTERS = ("kind", "month")


@dataclass(frozen=True)
class CasePanel:
    case: Case
    schedule: Schedule | None
    records: list[Record]
    hours: list[Hours]
    facts: list[Fact]
    kind: str
    month: str
    activities: list[Activity]
    may_record: bool
    prohibitions: list = field(default_factory=list)


def case_records(*, case: Case, user, today: date, kind: str = "", month: str = "") -> CasePanel:
    """The case's records (newest first, filtered by kind and month), hours and facts. The caller has read the
    person (the record page logs that read)."""
    qs = Record.objects.filter(case=case).select_related("superseded_by")
    hq = Hours.objects.filter(case=case).select_related("activity")
    if kind in Record.Kind.values:
        qs = qs.filter(kind=kind)
    else:
        kind = ""
    m = _month(month)
    if m:
        nxt = rules.add_months(m, 1)
        qs = qs.filter(happened_at__gte=_aware(m), happened_at__lt=_aware(nxt))
        hq = hq.filter(day__gte=m, day__lt=nxt)
    may = may_record(case, user)
    acts = list(Activity.objects.filter(office_id=case.judicial_office_id, day__gte=today - timedelta(days=31),
                                        day__lte=today, for_minors=case.is_minor)[:30]) if may else []
    from .models import Prohibition

    return CasePanel(case, schedule(case, today) if case.is_open else None, list(qs[:200]), list(hq[:100]),
                     list(Fact.objects.filter(case=case)[:50]), kind, m.strftime("%Y-%m") if m else "", acts, may,
                     list(Prohibition.objects.filter(case=case)))


def may_record(case: Case, user) -> bool:
    from apps.orgs.scope import within

    from .services import SUPERVISED

    return (case.is_open and case.status in SUPERVISED and user.can(Action.SUPERVISEE_CHANGE)
            and within(user, case.org_path))


def _month(text: str) -> date | None:
    """A month from a query string, within the years the rules cover (else None: the current month)."""
    try:
        m = datetime.strptime((text or "").strip()[:7], "%Y-%m").date() if text else None
    except ValueError:
        return None
    return m if m is not None and date(2020, 7, 1) <= m <= date(2100, 12, 1) else None


# --- requests --------------------------------------------------------------------------------------------------------

def case_requests(*, case: Case, state: str = "") -> list[Request]:
    qs = Request.objects.filter(case=case).select_related("authority_org")
    if state == "open":
        qs = qs.exclude(state__in=[rules.RequestState.CLOSED, rules.RequestState.REFUSED,
                                   rules.RequestState.WITHDRAWN])
    elif state in rules.REQUEST_STATE_LABELS:
        qs = qs.filter(state=state)
    return list(qs[:100])


@dataclass(frozen=True)
class RequestView:
    request: Request
    events: list
    steps: list
    documents: list
    may_decide: bool
    attachments: list = field(default_factory=list)
    notices: list = field(default_factory=list)  # sent about it: to whom, when, read or not


def request_view(*, user, request_id, ip: str = "") -> RequestView:
    """One application, for the office that supervises the person or the authority that decides it (a city
    agency deciding a county's long leave sees that one request, not the county's files)."""
    from apps.documents.models import Document

    from .services import DOC_FOR, _request

    r = _request(user, request_id, lock=False)
    docs = list(Document.objects.filter(object_type="case", object_id=str(r.case_id), context__request=r.pk,
                                        doc_type__in=[DOC_FOR[r.kind], "leave_assist_letter"]).order_by("id")) \
        if r.decided_on else []
    forms = [d for d in docs if d.doc_type == DOC_FOR[r.kind]]
    audit_view(actor=user, object_type="supervisee", object_ids=[r.person_id], ip=ip, org_path=r.org_path,
               summary=f"查阅{rules.REQUEST_KINDS[r.kind]}申请（{r.pk}）" + ("【未成年人】" if r.is_minor else ""),
               action="request.view")
    return RequestView(r, list(r.events.all()), request_steps(user, r),
                       forms[-1:] + [d for d in docs if d.doc_type != DOC_FOR[r.kind]], may_decide(user, r),
                       list(r.attachments.all()), sent_about(f"request:{r.pk}") if r.decided_on else [])


@dataclass(frozen=True)
class PendingRow:
    request: Request
    person_name: str
    overdue: bool


def requests_to_decide(*, user, today: date) -> list[PendingRow]:
    """Applications waiting for the reader's organisation (its own, or its offices' where it is the county)."""
    if not user.can(Action.APPROVAL_DECIDE):
        return []
    q = Q(authority_org_id=user.organisation_id)
    if user.organisation.kind == OrgKind.COUNTY_AGENCY:
        q |= Q(authority=rules.Authority.OFFICE, case__execution_county_id=user.organisation_id)
    qs = Request.objects.filter(q, state=rules.RequestState.APPLIED).select_related("case__person", "authority_org")
    if not user.minor_access:
        qs = qs.exclude(is_minor=True)
    rows = list(qs.order_by("decide_by", "id")[:100])
    if rows:
        audit_view(actor=user, object_type="supervisee", object_ids=[r.person_id for r in rows],
                   summary=f"查阅待审批申请（{len(rows)}件）", action="request.list")
    return [PendingRow(r, r.case.person.name, r.decide_by is not None and r.decide_by < today) for r in rows]


# --- an office's day and month -----------------------------------------------------------------------------------------

def offices_for(user) -> list[Organisation]:
    return list(restrict(Organisation.objects.filter(kind=OrgKind.JUDICIAL_OFFICE), user, Action.SUPERVISEE_VIEW)
                .order_by("path"))


def pick_office(user, office_id) -> Organisation:
    offices = offices_for(user)
    if not offices:
        raise NotFound()
    pk = parse_pk(office_id)
    if pk is None:
        mine = [o for o in offices if o.pk == user.organisation_id]
        return mine[0] if mine else offices[0]
    for o in offices:
        if o.pk == pk:
            return o
    raise NotFound()


@dataclass
class DayRow:
    case: Case
    name: str
    level: str
    next_due: date
    last_report: date | None
    missed: bool = False  # an open 核查未按规定报到 task
    four_missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DayView:
    office: Organisation
    offices: list[Organisation]
    today: date
    due_today: list[DayRow]
    overdue: list[DayRow]
    not_yet: list[DayRow]  # not reported yet this period (due later), soonest first
    away: list[Request]  # on leave today
    returning: list[Request]  # due back today
    late: list[Request]  # overdue
    pending: list[Request]  # waiting for a decision
    records_today: int


def office_day(*, user, office_id=None, today: date, ip: str = "") -> DayView:
    """Who is due today, who is overdue, who is away or late back, for one office. A handful of queries whatever the
    office's size (pinned in the tests)."""
    office = pick_office(user, office_id)
    cases = list(_scoped(Case.objects.filter(judicial_office=office, is_open=True, status__in=DAILY), user))
    names = dict(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("pk", "person__name"))
    rt = table("report", today)
    since = today - timedelta(days=31)
    reports: dict[int, list[date]] = {}
    for cid, at in (Record.objects.filter(case_id__in=[c.pk for c in cases], kind=Record.Kind.REPORT_IN,
                                          happened_at__gte=_aware(since), superseded_by__isnull=True)
                    .exclude(verified="fail").values_list("case_id", "happened_at")):
        reports.setdefault(cid, []).append(timezone.localtime(at).date())
    missed = set(Task.objects.filter(case_id__in=[c.pk for c in cases], kind="missed_report",
                                     state=Task.State.OPEN).values_list("case_id", flat=True))
    due_today, overdue, not_yet = [], [], []
    for c in cases:
        ds = reports.get(c.pk, [])
        nd = rules.next_report_due(level=c.management_level, reports=ds, today=today, table=rt)
        row = DayRow(c, names.get(c.pk, ""), c.management_level, nd, max(ds) if ds else None, c.pk in missed)
        start, _ = rules.period_of(rules.Period(rt.period[c.management_level]), today)
        if row.missed:
            overdue.append(row)
        elif nd == today and not any(d >= start for d in ds):
            due_today.append(row)
        elif not any(d >= start for d in ds):
            not_yet.append(row)
    not_yet.sort(key=lambda r: (r.next_due, r.name))
    reqs = list(_scoped(Request.objects.filter(case__judicial_office=office, kind="leave"), user)
                .filter(Q(state__in=["departed", "arrived", "overdue"]) | Q(state="applied"))
                .select_related("case__person", "authority_org"))
    day_start = _aware(today)
    n_today = _scoped(Record.objects.filter(case__judicial_office=office, happened_at__gte=day_start,
                                            happened_at__lt=day_start + timedelta(days=1)), user).count()
    shown = [r.case.person_id for r in due_today + overdue + not_yet] + [r.person_id for r in reqs]
    audit_view(actor=user, object_type="supervisee", object_ids=shown, ip=ip, org_path=office.path,
               summary=f"查阅{office.name}日常监管日视图（{today.isoformat()}，{len(shown)}人）", action="supervision.day")
    return DayView(office, offices_for(user), today, due_today, overdue, not_yet,
                   [r for r in reqs if r.state in ("departed", "arrived") and r.end > today],
                   [r for r in reqs if r.state in ("departed", "arrived") and r.end == today],
                   [r for r in reqs if r.state == "overdue"], [r for r in reqs if r.state == "applied"], n_today)


@dataclass
class MonthRow:
    case_id: int
    person_id: int
    name: str
    level: str
    is_minor: bool
    report_ins: int = 0
    visits: int = 0
    thought: int = 0
    study: float = 0.0
    service: float = 0.0
    study_short: float = 0.0
    service_short: float = 0.0
    facts: int = 0
    sentence_type: str = ""
    partial: bool = False  # supervised only part of the month (began after its first day): no shortfall is judged


@dataclass(frozen=True)
class MonthView:
    office: Organisation
    offices: list[Organisation]
    month: date
    rows: list[MonthRow]
    totals: dict
    only_short: bool
    is_open: bool  # the month is not over: what is missing is still to do, not yet a shortfall


def office_month(*, user, office_id=None, month: str = "", today: date, only_short: bool = False,
                 ip: str = "") -> MonthView:
    """The month per person (report-ins, visits, thought reports, hours and the 双八 shortfall) and the office's
    totals. Five queries whatever the office's size."""
    office = pick_office(user, office_id)
    m = _month(month) or today.replace(day=1)
    nxt = rules.add_months(m, 1)
    cases = list(_scoped(Case.objects.filter(judicial_office=office, is_open=True, status__in=DAILY,
                                             term_start__lt=nxt), user)
                 .values_list("pk", "person_id", "person__name", "management_level", "is_minor", "term_start",
                              "reported_date", "sentence_type"))
    rows = {pk: MonthRow(pk, pid, name, lvl, minor, partial=min(d for d in (rep, start) if d) > m,
                         sentence_type=st) for pk, pid, name, lvl, minor, start, rep, st in cases}
    for cid, kind, n in (Record.objects.filter(case_id__in=rows, happened_at__gte=_aware(m), happened_at__lt=_aware(nxt),
                                               superseded_by__isnull=True).exclude(verified="fail")
                         .values_list("case_id", "kind").annotate(n=Count("id")).values_list("case_id", "kind", "n")):
        r = rows[cid]
        if kind == Record.Kind.REPORT_IN:
            r.report_ins = n
        elif kind == Record.Kind.VISIT:
            r.visits = n
        elif kind == Record.Kind.THOUGHT:
            r.thought = n
    for cid, h in month_hours(list(rows), m).items():
        rows[cid].study, rows[cid].service = h.get("study", 0.0), h.get("service", 0.0)
    for cid, n in (Fact.objects.filter(case_id__in=rows, period_start__gte=m, period_start__lt=nxt)
                   .values_list("case_id").annotate(n=Count("id")).values_list("case_id", "n")):
        rows[cid].facts = n
    ht = table("hours", m)
    for r in rows.values():
        if r.partial:
            continue
        s = rules.monthly_shortfall(level=r.level, study_hours=r.study, service_hours=r.service, month=m, table=ht,
                                    able_to_work=able_to_work(r.sentence_type))
        r.study_short, r.service_short = s.study, s.service
    out = sorted(rows.values(), key=lambda r: (-(r.study_short + r.service_short), r.name))
    totals = {"people": len(out), "short": sum(1 for r in out if r.study_short or r.service_short),
              "study": sum(r.study for r in out), "service": sum(r.service for r in out),
              "report_ins": sum(r.report_ins for r in out), "visits": sum(r.visits for r in out)}
    if only_short:
        out = [r for r in out if r.study_short or r.service_short]
    audit_view(actor=user, object_type="supervisee", object_ids=[r.person_id for r in out], ip=ip,
               org_path=office.path, summary=f"查阅{office.name}{m:%Y年%m月}日常监管月视图（{len(out)}人）",
               action="supervision.month")
    return MonthView(office, offices_for(user), m, out, totals, only_short, nxt > today)


# --- what location monitoring reads -------------------------------------------------------------------------------

@dataclass(frozen=True)
class LeaveWindow:
    """A period a person may be away from their execution county, and where to: an approved trip (from departure,
    or its first day, to its last approved day) or a standing cross-county permit."""

    person_id: int
    request_id: int
    kind: str  # "leave" or "permit"
    start: date
    end: date  # inclusive
    destination: str
    destination_adcodes: tuple[str, ...]


def leave_windows(person_ids: list[int], start: date, end: date) -> list[LeaveWindow]:
    """The approved leave and permits of these people overlapping [start, end] (inclusive). A trip is in force while
    approved, away or overdue-by-then-returned up to its last approved day: an overdue trip's later days are not a
    window (the person should be back). This is the whole interface location monitoring (issue 8) uses: it owns
    nothing of leave. One query per thousand people."""
    live = [rules.RequestState.APPROVED, rules.RequestState.DEPARTED, rules.RequestState.ARRIVED,
            rules.RequestState.OVERDUE, rules.RequestState.RETURNED, rules.RequestState.CLOSED]
    out = []
    for i in range(0, len(person_ids), 1000):
        for r in (Request.objects.filter(person_id__in=person_ids[i:i + 1000], kind__in=["leave", "permit"],
                                         state__in=live, start__lte=end, end__gte=start)
                  .order_by("person_id", "start").values("pk", "person_id", "kind", "start", "end", "destination",
                                                         "destination_adcodes", "returned_on", "departed_on", "state")):
            if r["kind"] == "leave" and r["state"] == rules.RequestState.CLOSED and not r["departed_on"]:
                continue  # approved, never taken
            last = min(r["end"], r["returned_on"]) if r["returned_on"] else r["end"]
            out.append(LeaveWindow(r["person_id"], r["pk"], r["kind"], r["start"], last, r["destination"],
                                   tuple(r["destination_adcodes"])))
    return out
