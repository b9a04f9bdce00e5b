"""What the supervisee's phone shows: their own open case only (the SelfActor), every read of a document logged."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from apps.audit.services import audit_view
from apps.documents.models import Document
from apps.monitoring.models import SpotCheck, Verification
from apps.orgs.scope import NotFound, parse_pk
from apps.people.actors import SelfActor
from apps.people.rules import LEVEL_LABELS
from apps.supervision import rules as sv_rules
from apps.supervision.models import Activity, Hours, Record, Request
from apps.supervision.selectors import Schedule, schedule
from apps.supervision.services import level_since

from .models import Message

# what the person may read of their own file: the announcement, the undertakings, the approvals, the release papers
PERSON_DOCS = ("announcement", "team_agreement", "leave_approval", "permit_approval", "place_approval",
               "meeting_approval", "extension_approval", "transfer_decision", "release_announcement",
               "release_certificate")
LEVELS = {str(k): v for k, v in LEVEL_LABELS.items()}


@dataclass(frozen=True)
class Due:
    key: str  # report_in / spot_check / thought / study / service / health
    title: str
    detail: str
    url: str
    urgent: bool
    done: bool = False


@dataclass(frozen=True)
class Today:
    schedule: Schedule
    spot_checks: list[SpotCheck]
    dues: list[Due]
    last_checkin: Verification | None
    level_label: str


def open_spot_checks(actor: SelfActor, now: datetime | None = None) -> list[SpotCheck]:
    now = now or timezone.now()
    return list(SpotCheck.objects.filter(case_id=actor.case_id, state=SpotCheck.State.OPEN, issued_at__lte=now,
                                         due_at__gt=now).order_by("due_at"))


def _md(d: date) -> str:
    return f"{d.month}月{d.day}日"


def today_view(actor: SelfActor, case, today: date, now: datetime | None = None) -> Today:
    """What is due today, in the order it matters: a spot check first (minutes count), then the report-in."""
    now = now or timezone.now()
    s = schedule(case, today)
    spots = open_spot_checks(actor, now)
    dues: list[Due] = []
    for sc in spots:
        left = max(0, int((sc.due_at - now).total_seconds() // 60))
        dues.append(Due("spot_check", "信息化核查", f"请在{timezone.localtime(sc.due_at):%H:%M}前完成人脸核验（还剩{left}分钟），"
                        "逾期未答复的，记为未按规定报告", f"/m/checkin/?spot={sc.pk}", True))
    overdue = s.next_due < today
    start, _end = s.this_period
    waiting = (not s.reported_this_period and Verification.objects.filter(
        case_id=case.pk, purpose=Verification.Purpose.REPORT_IN, review=Verification.Review.PENDING,
        captured_at__date__gte=start).exists())
    if s.reported_this_period:
        dues.append(Due("report_in", "报到", f"本期（{s.period_label}）已报到，下次报到最迟{_md(s.next_due)}",
                        "/m/checkin/", False, True))
    elif waiting:
        dues.append(Due("report_in", "报到", "已提交，等待司法所工作人员复核；复核确认后即算本期报到。也可以重新核验",
                        "/m/checkin/", False))
    else:
        dues.append(Due("report_in", "报到",
                        (f"已超过报到期限（{_md(s.next_due)}），请立即报到" if overdue
                         else f"请在{_md(s.next_due)}前报到（{s.period_label}一次）")
                        + "；未按规定报到的，将依法给予训诫、警告", "/m/checkin/", overdue or s.next_due == today))
    if s.four_ones:
        left = [label for label, done in s.four_ones if not done]
        dues.append(Due("four_ones", "本周“四个一”（严管）", "本周已全部完成" if not left else "尚未完成：" + "、".join(left),
                        "", False, not left))
    thought_done = Record.objects.filter(case_id=case.pk, kind=Record.Kind.THOUGHT, superseded_by__isnull=True,
                                         happened_at__date__gte=today.replace(day=1)).exists()
    dues.append(Due("thought", "思想汇报", "本月已提交" if thought_done else "本月尚未提交思想汇报",
                    "/m/thought/", False, thought_done))
    if s.study_target:
        dues.append(Due("study", "教育学习", f"本月已完成{s.study:g}小时，应完成{s.study_target:g}小时",
                        "/m/study/", False, s.study >= s.study_target))
    if s.service_target:
        dues.append(Due("service", "公益活动", f"本月已完成{s.service:g}小时，应完成{s.service_target:g}小时",
                        "/m/study/", False, s.service >= s.service_target))
    if s.health_due:
        dues.append(Due("health", "病情报告", "本月已报告" if s.health_done
                        else f"请在{_md(s.health_due)}前向司法所报告病情", "", False, s.health_done))
    last = Verification.objects.filter(case_id=case.pk).order_by("-captured_at").first()
    return Today(s, spots, dues, last, LEVELS.get(case.management_level, case.management_level))


def spot_check(actor: SelfActor, spot_id) -> SpotCheck | None:
    return SpotCheck.objects.filter(pk=parse_pk(spot_id) or -1, case_id=actor.case_id).first()


def my_requests(actor: SelfActor) -> list[Request]:
    return list(Request.objects.filter(case_id=actor.case_id).select_related("authority_org").order_by("-id")[:50])


def my_request(actor: SelfActor, request_id) -> Request:
    r = (Request.objects.filter(pk=parse_pk(request_id) or -1, case_id=actor.case_id)
         .select_related("authority_org").prefetch_related("events").first())
    if r is None:
        raise NotFound()
    return r


@dataclass(frozen=True)
class Study:
    schedule: Schedule
    hours: list[Hours]
    activities: list[Activity]


def study_view(case, today: date) -> Study:
    s = schedule(case, today)
    hours = list(Hours.objects.filter(case_id=case.pk, day__gte=today.replace(day=1), superseded_by__isnull=True)
                 .select_related("activity").order_by("-day", "-id"))
    acts = Activity.objects.filter(office_id=case.judicial_office_id, day__gte=today).order_by("day", "id")
    if not case.is_minor:
        acts = acts.filter(for_minors=False)
    return Study(s, hours, list(acts[:20]))


def my_messages(actor: SelfActor) -> list[Message]:
    return list(Message.objects.filter(person_id=actor.person_id).order_by("-sent_at", "-id")[:100])


def my_documents(actor: SelfActor) -> list[Document]:
    return list(Document.objects.filter(object_type="case", object_id=str(actor.case_id), doc_type__in=PERSON_DOCS)
                .order_by("-issued_on", "-id"))


def my_document(actor: SelfActor, document_id, *, ip: str = "") -> Document:
    doc = (Document.objects.filter(pk=parse_pk(document_id) or -1, object_type="case", object_id=str(actor.case_id),
                                   doc_type__in=PERSON_DOCS).first())
    if doc is None:
        raise NotFound()
    audit_view(actor=actor, object_type="document", object_ids=[doc.pk], summary=f"手机端查阅文书：{doc.title}（{doc.number}）",
               ip=ip, org_path=doc.org_path, action="document.view")
    return doc


@dataclass(frozen=True)
class Level:
    level: str
    label: str
    since: date | None
    period_label: str
    rules: list[str]


def level_view(case, today: date) -> Level:
    s = schedule(case, today)
    since = level_since([case.pk]).get(case.pk)
    what = [f"报到：{s.period_label}一次（可通过手机人脸核验报到）",
            f"教育学习：每月{s.study_target:g}小时"]
    if s.service_target:
        what.append(f"公益活动：每月{s.service_target:g}小时")
    if case.management_level == "strict":
        what.append("每周：" + "、".join(sv_rules.FOUR_ONES.values()))
    what.append("外出须事先申请并经批准；变更居住地须提前一个月申请")
    return Level(case.management_level, LEVELS.get(case.management_level, case.management_level), since,
                 s.period_label, what)


def unread_count(actor: SelfActor) -> int:
    return Message.objects.filter(person_id=actor.person_id, read_at__isnull=True).count()


def recent_checks(actor: SelfActor, n: int = 5) -> list[Verification]:
    return list(Verification.objects.filter(case_id=actor.case_id).order_by("-captured_at", "-id")[:n])


def my_thoughts(actor: SelfActor, n: int = 12) -> list[Record]:
    return list(Record.objects.filter(case_id=actor.case_id, kind=Record.Kind.THOUGHT, superseded_by__isnull=True)
                .order_by("-happened_at", "-id")[:n])


def request_document(actor: SelfActor, r: Request) -> Document | None:
    """The approval form issued on this application (its context names the application)."""
    docs = Document.objects.filter(object_type="case", object_id=str(actor.case_id), doc_type__in=PERSON_DOCS)
    return next((d for d in docs.order_by("-id") if d.context.get("request") == r.pk), None)
