"""What the officer's pages of 信息化核查 and the phone accounts read: scoped to the reader (apps.orgs.scope.restrict),
minors' rows only with the grant (法54), each page of personal data logged. Out of scope answers like not found."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from apps.audit.services import audit_view
from apps.cases.models import Case
from apps.monitoring.models import DailyReport, FaceEnrolment, SpotCheck, Verification
from apps.monitoring.services import check_table, current_enrolment
from apps.orgs.models import Organisation
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, parse_pk, restrict, within
from apps.people.models import Supervisee
from apps.supervision.selectors import offices_for
from apps.supervision.services import SUPERVISED

from .models import Account, Device, Message

ANOMALOUS = (SpotCheck.State.FAILED, SpotCheck.State.LATE, SpotCheck.State.MISSED)


def _scoped(qs, user):
    qs = restrict(qs, user, Action.SUPERVISEE_VIEW)
    return qs if user.minor_access else qs.exclude(is_minor=True)


def _may_read(user, path: str, is_minor: bool) -> bool:
    return user.can(Action.SUPERVISEE_VIEW) and within(user, path) and (not is_minor or user.minor_access)


# --- the 监控 tab of one person (the record page has read and logged the person) -----------------------------------

@dataclass(frozen=True)
class PersonMonitoring:
    person: Supervisee
    case: Case | None  # the latest case; spot checks and messages belong to it
    supervised: bool  # the case is under supervision now: a code, a spot check, a message may be given
    may_change: bool
    account: Account | None
    devices: list[Device]
    enrolment: FaceEnrolment | None
    verifications: list[Verification]
    spot_checks: list[SpotCheck]
    messages: list[Message]
    open_spot: SpotCheck | None
    answer_minutes: int
    min_turn: int  # percent


def person_monitoring(*, user, person: Supervisee, today: date, now) -> PersonMonitoring:
    case = (Case.objects.filter(person=person).select_related("judicial_office").order_by("-seq", "-id").first())
    supervised = bool(case and case.is_open and case.status in SUPERVISED)
    account = Account.objects.filter(person=person).first()
    order = {Device.State.PENDING: 0, Device.State.ACTIVE: 1, Device.State.REVOKED: 2}
    devices = sorted(Device.objects.filter(account=account).order_by("-id")[:20] if account else [],
                     key=lambda d: order.get(d.state, 3))
    spots = list(SpotCheck.objects.filter(case=case).order_by("-issued_at", "-id")[:30]) if case else []
    t = check_table(today)
    return PersonMonitoring(
        person=person, case=case, supervised=supervised,
        may_change=bool(case) and user.can(Action.SUPERVISEE_CHANGE) and within(user, case.org_path),
        account=account, devices=devices, enrolment=current_enrolment(person.pk),
        verifications=list(Verification.objects.filter(person=person).select_related("spot_check")
                           .order_by("-captured_at", "-id")[:20]),
        spot_checks=spots,
        messages=list(Message.objects.filter(person=person).order_by("-sent_at", "-id")[:20]),
        open_spot=next((s for s in spots if s.state == SpotCheck.State.OPEN and s.due_at > now), None),
        answer_minutes=t.answer_minutes, min_turn=t.turn_percent)


# --- single rows the officer acts on ---------------------------------------------------------------------------

def _one(qs, user, pk):
    row = _scoped(qs, user).filter(pk=parse_pk(pk) or -1).first()
    if row is None:
        raise NotFound()
    return row


def verification_for(*, user, verification_id) -> Verification:
    return _one(Verification.objects.select_related("person", "case", "office", "spot_check"), user, verification_id)


def spot_check_for(*, user, spot_check_id) -> SpotCheck:
    return _one(SpotCheck.objects.select_related("person", "case", "office"), user, spot_check_id)


def device_person_id(*, user, device_id) -> int:
    """The person whose phone this is, if the reader may see them (else NotFound)."""
    d = Device.objects.select_related("account__person").filter(pk=parse_pk(device_id) or -1).first()
    if d is None or not _may_read(user, d.account.org_path, d.account.person.is_minor):
        raise NotFound()
    return d.account.person_id


def case_person_id(*, user, case_id) -> int:
    c = _one(Case.objects.all(), user, case_id)
    return c.person_id


def verification_photo(*, user, verification_id, ip: str = "") -> Verification:
    """The face photo of one check, as a logged read of the person."""
    v = _one(Verification.objects.all(), user, verification_id)
    if not v.photo:
        raise NotFound()
    audit_view(actor=user, object_type="supervisee", object_ids=[v.person_id], ip=ip, org_path=v.org_path,
               summary=f"查看人脸核验照片（核验{v.pk}）" + ("【未成年人】" if v.is_minor else ""),
               action="verification.photo")
    return v


def form_read_log(*, user, person_id, path: str, is_minor: bool, what: str, ip: str = "") -> None:
    """A form page sent back with its errors shows the person: log it like any other read."""
    audit_view(actor=user, object_type="supervisee", object_ids=[person_id], ip=ip, org_path=path,
               summary=what + ("【未成年人】" if is_minor else ""), action="monitoring.form")


# --- the officer's index: what waits across the offices of the reader's scope ----------------------------------

@dataclass
class ReportAnomaly:
    kind: str
    person_id: int | None  # None: not shown to this reader (a sealed minor's)
    name: str
    anchor: str
    label: str = ""  # the page's words for the kind


@dataclass(frozen=True)
class ReportRow:
    report: DailyReport
    anomalies: list[ReportAnomaly]


@dataclass(frozen=True)
class MonitoringIndex:
    offices: list[Organisation]
    office: Organisation | None
    reviews: list[Verification]
    anomalies: list[SpotCheck]
    day: date
    report_days: list[date]
    reports: list[ReportRow] = field(default_factory=list)
    more_reviews: bool = False
    more_anomalies: bool = False


LIMIT = 100


def _day(text: str) -> date | None:
    try:
        d = date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None
    return d if date(2020, 1, 1) <= d <= date(2100, 12, 31) else None


def monitoring_index(*, user, office_id="", day: str = "", today: date, ip: str = "") -> MonitoringIndex:
    """The review queue (failed or unverifiable checks waiting for an officer), the spot-check anomalies not yet
    disposed of, and the daily verification reports of one day, for the reader's offices (or one of them)."""
    offices = offices_for(user)
    office = next((o for o in offices if o.pk == parse_pk(office_id)), None) if office_id else None
    if office_id and office is None:
        raise NotFound()
    vq = _scoped(Verification.objects.filter(review=Verification.Review.PENDING), user)
    sq = _scoped(SpotCheck.objects.filter(state__in=ANOMALOUS, disposed_at__isnull=True), user)
    rq = restrict(DailyReport.objects.all(), user, Action.SUPERVISEE_VIEW)
    if office is not None:
        vq, sq, rq = vq.filter(office=office), sq.filter(office=office), rq.filter(office=office)
    reviews = list(vq.select_related("person", "office", "spot_check").order_by("captured_at", "id")[:LIMIT + 1])
    anomalies = list(sq.select_related("person", "office").order_by("due_at", "id")[:LIMIT + 1])
    days = list(rq.filter(day__lte=today).order_by("-day").values_list("day", flat=True).distinct()[:14])
    chosen = _day(day) or (days[0] if days else today - timedelta(days=1))
    reports = list(rq.filter(day=chosen).select_related("office").order_by("office__path"))
    case_ids = {a.get("case") for r in reports for a in r.anomalies if a.get("case")}
    cases = {c.pk: c for c in _scoped(Case.objects.filter(pk__in=case_ids), user).select_related("person")}
    rows = []
    for r in reports:
        items = []
        for a in r.anomalies:
            c = cases.get(a.get("case"))
            anchor = f"s-{a['spot_check']}" if a.get("spot_check") else f"v-{a.get('verification', '')}"
            items.append(ReportAnomaly(a.get("type", ""), c.person_id if c else None, c.person.name if c else "",
                                       anchor))
        rows.append(ReportRow(r, items))
    shown = sorted({v.person_id for v in reviews[:LIMIT]} | {s.person_id for s in anomalies[:LIMIT]}
                   | {i.person_id for row in rows for i in row.anomalies if i.person_id})
    if shown:
        audit_view(actor=user, object_type="supervisee", object_ids=shown, ip=ip,
                   org_path=office.path if office else user.scope_path, action="monitoring.index",
                   summary=f"查阅信息化核查待办与核查报告（{chosen.isoformat()}，{len(shown)}人）")
    return MonitoringIndex(offices, office, reviews[:LIMIT], anomalies[:LIMIT], chosen, days, rows,
                           len(reviews) > LIMIT, len(anomalies) > LIMIT)
