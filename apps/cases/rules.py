"""The case's stages as data: statuses, the one transition table, the deadlines each stage opens, and the term.
Pure Python, no Django. Articles: 法 = 社区矫正法 (2019); 办法 = 社区矫正法实施办法 (2020, article numbers marked [M]
in ../shared/domain/law-and-practice.md until checked against the official text); 刑法 = 中华人民共和国刑法.

A number the law itself fixes (法20's 5 and 10 days, 法21's 10) is code. A number from the 实施办法 or practice is a
dated setting a province may change (`Deadline.setting`, read through `deadline_days`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from apps.people.rules import Status as PersonStatus


class CaseStatus(StrEnum):
    AWAITING_REPORT = "awaiting_report"  # 待报到 (judgment in force, the person has not reported)
    MISSING = "missing"  # 未按时报到，查找中 (法30)
    REPORTED = "reported"  # 已报到，待宣告 (reception steps of 法22 under way)
    ACTIVE = "active"  # 在矫
    ABSCONDED = "absconded"  # 脱管
    TRANSFERRING = "transferring"  # 执行地变更中
    REVOCATION_PENDING = "revocation_pending"  # 提请撤销缓刑（假释）、收监执行审理中
    RELEASED = "released"  # 解除社区矫正
    TERMINATED = "terminated"  # 终止社区矫正


STATUS_LABELS = {
    CaseStatus.AWAITING_REPORT: "待报到",
    CaseStatus.MISSING: "未报到查找中",
    CaseStatus.REPORTED: "已报到待宣告",
    CaseStatus.ACTIVE: "在矫",
    CaseStatus.ABSCONDED: "脱管",
    CaseStatus.TRANSFERRING: "执行地变更中",
    CaseStatus.REVOCATION_PENDING: "提请撤销（收监）审理中",
    CaseStatus.RELEASED: "解除矫正",
    CaseStatus.TERMINATED: "终止矫正",
}
CLOSED = frozenset({CaseStatus.RELEASED, CaseStatus.TERMINATED})
OPEN = frozenset(CaseStatus) - CLOSED

# What the person's row shows in the list (its coarse status), projected from the open or last case.
PERSON_STATUS = {
    CaseStatus.AWAITING_REPORT: PersonStatus.PENDING,
    CaseStatus.MISSING: PersonStatus.PENDING,
    CaseStatus.REPORTED: PersonStatus.PENDING,
    CaseStatus.ACTIVE: PersonStatus.ACTIVE,
    CaseStatus.ABSCONDED: PersonStatus.ACTIVE,
    CaseStatus.TRANSFERRING: PersonStatus.ACTIVE,
    CaseStatus.REVOCATION_PENDING: PersonStatus.ACTIVE,
    CaseStatus.RELEASED: PersonStatus.RELEASED,
    CaseStatus.TERMINATED: PersonStatus.TERMINATED,
}
# A case opened from an older system's record (an import, the migration of the person rows) starts at the stage
# the record was in.
OPENING_STATUS = {
    PersonStatus.PENDING: CaseStatus.AWAITING_REPORT,
    PersonStatus.ACTIVE: CaseStatus.ACTIVE,
    PersonStatus.RELEASED: CaseStatus.RELEASED,
    PersonStatus.TERMINATED: CaseStatus.TERMINATED,
}


class EndReason(StrEnum):
    EXPIRY = "expiry"  # 矫正期满 (法44)
    PARDON = "pardon"  # 被赦免 (法44)
    PROBATION_REVOKED = "probation_revoked"  # 撤销缓刑 (法45, 46)
    PAROLE_REVOKED = "parole_revoked"  # 撤销假释 (法45, 46)
    RECOMMITTED = "recommitted"  # 暂予监外执行收监执行 (法45, 49)
    DEATH = "death"  # 死亡 (法45, 51)
    UNRECORDED = "unrecorded"  # closed before Zhijiao; the old record did not say why


END_LABELS = {
    EndReason.EXPIRY: "矫正期满", EndReason.PARDON: "被赦免", EndReason.PROBATION_REVOKED: "撤销缓刑",
    EndReason.PAROLE_REVOKED: "撤销假释", EndReason.RECOMMITTED: "收监执行", EndReason.DEATH: "死亡",
    EndReason.UNRECORDED: "原系统未记录原因",
}


# --- who may act ---------------------------------------------------------------------------------------------

class Actor(StrEnum):
    """Who makes a change: the county agency decides (法9), the judicial office acts where entrusted, the system's
    daily job raises what the calendar says."""

    COUNTY = "county"
    OFFICE = "office"
    SYSTEM = "system"


ACTOR_LABELS = {Actor.COUNTY: "县级社区矫正机构", Actor.OFFICE: "司法所", Actor.SYSTEM: "系统"}
# The staff roles that act for each (apps.orgs.rules.Role values).
ACTOR_ROLES = {
    Actor.COUNTY: frozenset({"county_officer"}),
    Actor.OFFICE: frozenset({"county_officer", "office_staff", "auxiliary"}),
}


# --- deadlines -----------------------------------------------------------------------------------------------

class DayKind(StrEnum):
    CALENDAR = "calendar"  # 日
    WORK = "work"  # 工作日
    MONTH = "month"  # 月 (to the same day of the next month, or its last day)


class Anchor(StrEnum):
    """The date a deadline counts from."""

    EFFECTIVE = "effective"  # the judgment (ruling, decision) took effect
    NOTICE = "notice"  # the deciding organ's notice reached the county agency
    DOCUMENTS = "documents"  # the legal documents reached the county agency
    REPORTED = "reported"  # the person reported in (or was handed over)
    STEP = "step"  # the step that opened it (today)
    TERM_END = "term_end"  # the end of the term (negative days: before it)
    LOST = "lost"  # the day contact was lost (脱管)


@dataclass(frozen=True)
class Deadline:
    kind: str
    title: str
    article: str
    days: int
    day_kind: DayKind
    anchor: Anchor
    actor: Actor
    setting: bool = False  # the number is not fixed by the law itself: a dated setting a province may change
    note: str = ""
    # 刑事诉讼法第105条: a period whose last day is a holiday ends on the first working day after it. Not for the
    # days counted back from the end of the term, nor the release day itself (the term ends when it ends).
    extends: bool = True


_D = Deadline
DEADLINES: dict[str, Deadline] = {d.kind: d for d in (
    _D("report_in", "社区矫正对象报到期限", "社区矫正法第21条第一款", 10, DayKind.CALENDAR, Anchor.EFFECTIVE,
       Actor.OFFICE, note="判决、裁定生效之日起十日内到执行地社区矫正机构报到"),
    _D("notice_due", "决定机关送达通知期限", "社区矫正法第20条", 5, DayKind.CALENDAR, Anchor.EFFECTIVE, Actor.COUNTY,
       note="决定机关应当自判决、裁定或者决定生效之日起五日内通知执行地社区矫正机构"),
    _D("documents_due", "法律文书送达期限", "社区矫正法第20条", 10, DayKind.CALENDAR, Anchor.EFFECTIVE, Actor.COUNTY,
       note="十日内送达有关法律文书；逾期未送达的，催告决定机关补齐"),
    _D("receipt", "送达回执", "社区矫正法实施办法第16条", 5, DayKind.CALENDAR, Anchor.DOCUMENTS, Actor.COUNTY,
       setting=True, note="收到法律文书后五日内送达回执"),
    _D("documents_complete", "补齐法律文书", "社区矫正法实施办法第16条", 5, DayKind.CALENDAR, Anchor.REPORTED,
       Actor.COUNTY, setting=True, note="对象先于文书报到的，先行登记，通知决定机关五日内补齐"),
    _D("handover", "暂予监外执行罪犯移送交接", "社区矫正法第21条第二、三款", 10, DayKind.CALENDAR, Anchor.EFFECTIVE,
       Actor.COUNTY, note="看守所、监狱自收到决定或批准之日起十日内移送"),
    _D("search", "未按时报到查找", "社区矫正法第30条", 0, DayKind.CALENDAR, Anchor.STEP, Actor.OFFICE,
       note="发现未按时报到的，立即组织查找", extends=False),
    _D("notify_deciding_organ", "通报决定机关（未按时报到）", "社区矫正法实施办法第17条", 1, DayKind.WORK, Anchor.STEP,
       Actor.COUNTY, setting=True),
    _D("notify_procuratorate", "通报人民检察院（查找情况）", "社区矫正法实施办法第38条", 1, DayKind.WORK, Anchor.STEP,
       Actor.COUNTY, setting=True),
    _D("announce", "入矫宣告", "社区矫正法第22条", 5, DayKind.WORK, Anchor.REPORTED, Actor.OFFICE, setting=True,
       note="核对法律文书、核实身份、办理接收登记、建立档案后宣告"),
    _D("exit_filing", "出境报备", "社区矫正法实施办法第19条", 5, DayKind.WORK, Anchor.STEP, Actor.COUNTY, setting=True,
       note="入矫后向公安机关出入境管理部门报备"),
    _D("release_appraisal", "矫正期满鉴定", "社区矫正法实施办法第53条", -30, DayKind.CALENDAR, Anchor.TERM_END,
       Actor.OFFICE, setting=True, note="矫正期满前三十日作出书面鉴定", extends=False),
    _D("prison_notice", "暂予监外执行期满书面通知原执行机关", "社区矫正法实施办法第54条", -30, DayKind.CALENDAR,
       Anchor.TERM_END, Actor.COUNTY, setting=True, note="期满前一个月书面通知监狱、看守所", extends=False),
    _D("release", "期满解除社区矫正", "社区矫正法第44条", 0, DayKind.CALENDAR, Anchor.TERM_END, Actor.COUNTY,
       note="期满之日解除，发给解除社区矫正证明书并通知有关机关", extends=False),
    # 脱管 (社区矫正法第28条、第30条; 实施办法第34-35条, 第46条): the suggestions that follow the days lost
    _D("abscond_warning", "脱管超过十日：研究是否给予警告", "社区矫正法实施办法第35条", 10, DayKind.CALENDAR, Anchor.LOST,
       Actor.COUNTY, setting=True, note="脱离监管十日以内训诫，超过十日警告；系统只提示，由工作人员决定"),
    _D("abscond_revocation", "脱管超过一个月：研究是否提请撤销", "社区矫正法第46条", 1, DayKind.MONTH, Anchor.LOST,
       Actor.COUNTY, setting=True, note="脱离监管超过一个月的，提请撤销缓刑、假释或者收监执行"),
    # 执行地变更 (社区矫正法第27条; 实施办法第30-31条 [M]): each step within 5 days, the person reports in within 7
    _D("transfer_letter", "执行地变更：向拟变更执行地发征求意见函", "社区矫正法实施办法第30条", 5, DayKind.CALENDAR,
       Anchor.STEP, Actor.COUNTY, setting=True, note="收到申请之日起五日内"),
    _D("transfer_answer", "执行地变更：函复是否同意接收", "社区矫正法实施办法第30条", 5, DayKind.CALENDAR,
       Anchor.STEP, Actor.COUNTY, setting=True, note="收到征求意见函之日起五日内（拟变更执行地的县级机构）"),
    _D("transfer_decide", "执行地变更：作出决定", "社区矫正法实施办法第30条", 5, DayKind.CALENDAR, Anchor.STEP,
       Actor.COUNTY, setting=True, note="收到回复之日起五日内"),
    _D("transfer_files", "执行地变更：移交法律文书和档案", "社区矫正法实施办法第31条", 5, DayKind.CALENDAR, Anchor.STEP,
       Actor.COUNTY, setting=True, note="决定之日起五日内"),
    _D("transfer_receipt", "执行地变更：接收档案并送达回执", "社区矫正法实施办法第31条", 5, DayKind.CALENDAR, Anchor.STEP,
       Actor.COUNTY, setting=True, note="收到档案之日起五日内（新执行地）"),
    _D("transfer_report", "执行地变更：社区矫正对象到新执行地报到", "社区矫正法实施办法第31条", 7, DayKind.CALENDAR,
       Anchor.STEP, Actor.COUNTY, setting=True, note="收到决定之日起七日内"),
)}
# The transfer's stage after each of its steps (transfer_answered: agreed or refused, by the answer).
TRANSFER_NEXT_STAGE = {"transfer_apply": "applied", "transfer_office_view": "viewed",
                       "transfer_letter_sent": "letter_sent", "transfer_decided": "decided",
                       "transfer_files_sent": "files_sent", "transfer_received": "received",
                       "transfer_closed": "closed"}
# The kinds the county the case moves to is responsible for (its tasks sit in its own queue).
TRANSFER_TO_SIDE = frozenset({"transfer_answer", "transfer_receipt", "transfer_report"})
TRANSFER_ADVANCE_DAYS = 30  # apply a month ahead [M]: a dated setting would replace it with the rest


# --- the transition table -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Transition:
    code: str
    label: str
    sources: frozenset[CaseStatus]
    target: CaseStatus | None  # None: a step inside the stage, the status stays
    actor: Actor
    article: str
    requires: tuple[str, ...] = ()  # named checks in `problems`
    opens: tuple[str, ...] = ()  # deadlines opened
    closes: tuple[str, ...] = ()  # deadlines it fulfils
    cancels: tuple[str, ...] = ()  # deadlines it makes moot (closed without being done)
    fields: tuple[str, ...] = ()  # what the officer enters
    end_reason: EndReason | None = None
    documents: tuple[str, ...] = ()  # issued with the change (apps.documents.catalogue codes)
    side: str = "from"  # "to": done by the county the case is transferring to (it acts before it has the case)


S = CaseStatus
_ANY_OPEN = OPEN
_SUPERVISED = frozenset({S.ACTIVE, S.ABSCONDED, S.TRANSFERRING, S.REVOCATION_PENDING})
_T = Transition
TRANSITIONS: dict[str, Transition] = {t.code: t for t in (
    # 交付接收
    _T("notice_received", "收到决定机关通知", frozenset({S.AWAITING_REPORT}), None, Actor.COUNTY, "社区矫正法第20条",
       closes=("notice_due",), fields=("notice_date",)),
    _T("documents_received", "收到法律文书", frozenset({S.AWAITING_REPORT, S.MISSING, S.REPORTED, S.ACTIVE}), None,
       Actor.COUNTY, "社区矫正法第20条", requires=("documents_listed",), opens=("receipt",),
       closes=("documents_due", "documents_complete"), fields=("documents_date", "documents")),
    _T("receipt_sent", "送达回执", frozenset({S.AWAITING_REPORT, S.MISSING, S.REPORTED, S.ACTIVE}), None, Actor.COUNTY,
       "社区矫正法实施办法第16条", requires=("documents_in",), closes=("receipt",), documents=("receipt",)),
    _T("report_in", "本人报到", frozenset({S.AWAITING_REPORT, S.MISSING}), S.REPORTED, Actor.OFFICE,
       "社区矫正法第21条第一款", requires=("self_report",), opens=("announce", "documents_complete"),
       closes=("report_in", "search"), cancels=("notify_deciding_organ", "notify_procuratorate"),
       fields=("reported_date",), documents=("report_notice",)),
    _T("handover", "移送交接", frozenset({S.AWAITING_REPORT, S.MISSING}), S.REPORTED, Actor.COUNTY,
       "社区矫正法第21条第二、三款", requires=("escorted", "delivering_unit"), opens=("announce", "documents_complete"),
       closes=("handover", "report_in", "search"), cancels=("notify_deciding_organ", "notify_procuratorate"),
       fields=("reported_date", "delivering_unit"), documents=("report_notice",)),
    _T("missing", "未按时报到，启动查找", frozenset({S.AWAITING_REPORT}), S.MISSING, Actor.SYSTEM, "社区矫正法第30条",
       requires=("report_overdue",), opens=("search", "notify_deciding_organ", "notify_procuratorate"),
       documents=("missing_report",)),
    _T("notified_deciding_organ", "已通报决定机关", frozenset({S.MISSING}), None, Actor.COUNTY,
       "社区矫正法实施办法第17条", requires=("task_open:notify_deciding_organ",), closes=("notify_deciding_organ",)),
    _T("notified_procuratorate", "已通报人民检察院", frozenset({S.MISSING, S.ABSCONDED, S.ACTIVE, S.TRANSFERRING,
                                                           S.REVOCATION_PENDING}), None, Actor.COUNTY,
       "社区矫正法实施办法第38条", requires=("task_open:notify_procuratorate",), closes=("notify_procuratorate",)),
    # 入矫 (法22, in the law's order)
    _T("documents_checked", "核对法律文书", frozenset({S.REPORTED}), None, Actor.OFFICE, "社区矫正法第22条",
       requires=("documents_in",)),
    _T("identity_verified", "核实身份", frozenset({S.REPORTED}), None, Actor.OFFICE, "社区矫正法第22条",
       requires=("step:documents_checked",)),
    _T("registered", "办理接收登记", frozenset({S.REPORTED}), None, Actor.OFFICE, "社区矫正法第22条",
       requires=("step:identity_verified",)),
    _T("file_opened", "建立档案", frozenset({S.REPORTED}), None, Actor.OFFICE, "社区矫正法第22条",
       requires=("step:registered",)),
    _T("announce", "入矫宣告", frozenset({S.REPORTED}), S.ACTIVE, Actor.OFFICE, "社区矫正法第22条、第25条",
       requires=("step:file_opened", "team"), opens=("exit_filing",), closes=("announce",),
       fields=("announced_date", "announce_place"), documents=("announcement", "team_agreement")),
    _T("exit_filed", "出境报备", frozenset(_SUPERVISED), None, Actor.COUNTY, "社区矫正法实施办法第19条",
       requires=("task_open:exit_filing",), closes=("exit_filing",)),
    # 日常
    _T("abscond", "脱离监管", frozenset({S.ACTIVE}), S.ABSCONDED, Actor.OFFICE, "社区矫正法第30条",
       opens=("search", "notify_procuratorate", "abscond_warning", "abscond_revocation"), fields=("lost_since",),
       documents=("missing_report",)),
    _T("found", "查找到案，恢复监管", frozenset({S.ABSCONDED}), S.ACTIVE, Actor.OFFICE, "社区矫正法第30条",
       closes=("search",), cancels=("abscond_warning", "abscond_revocation")),
    # lost while a transfer or a revocation is under way: the stage stays, the search and its counts start
    _T("lost_contact", "失去联系（脱离监管）", frozenset({S.TRANSFERRING, S.REVOCATION_PENDING}), None, Actor.OFFICE,
       "社区矫正法第30条", requires=("not_lost",),
       opens=("search", "notify_procuratorate", "abscond_warning", "abscond_revocation"), fields=("lost_since",),
       documents=("missing_report",)),
    _T("contact_restored", "查找到案，恢复联系", frozenset({S.TRANSFERRING, S.REVOCATION_PENDING}), None, Actor.OFFICE,
       "社区矫正法第30条", requires=("task_open:search",), closes=("search",),
       cancels=("abscond_warning", "abscond_revocation")),
    # 执行地变更 (社区矫正法第27条; 实施办法第30-31条)
    _T("transfer_apply", "受理执行地变更申请", frozenset({S.ACTIVE}), S.TRANSFERRING, Actor.OFFICE,
       "社区矫正法第27条、实施办法第30条", requires=("transfer_target", "month_ahead"), opens=("transfer_letter",),
       fields=("to_county", "new_address", "reason", "planned_date")),
    _T("transfer_office_view", "司法所出具意见", frozenset({S.TRANSFERRING}), None, Actor.OFFICE,
       "社区矫正法实施办法第30条", requires=("transfer_stage:applied", "filled:office_view"), fields=("office_view",)),
    _T("transfer_letter_sent", "发出征求意见函", frozenset({S.TRANSFERRING}), None, Actor.COUNTY,
       "社区矫正法实施办法第30条", requires=("transfer_stage:viewed",),
       opens=("transfer_answer",), closes=("transfer_letter",), documents=("transfer_letter",)),
    _T("transfer_answered", "函复是否同意接收", frozenset({S.TRANSFERRING}), None, Actor.COUNTY,
       "社区矫正法实施办法第30条", requires=("transfer_stage:letter_sent", "agree_given"), closes=("transfer_answer",),
       fields=("agree", "answer_note"), side="to"),
    _T("transfer_decided", "作出变更执行地决定", frozenset({S.TRANSFERRING}), None, Actor.COUNTY,
       "社区矫正法第27条、实施办法第30条", requires=("transfer_stage:agreed",), opens=("transfer_files", "transfer_report"),
       closes=("transfer_decide",), documents=("transfer_decision",)),
    _T("transfer_files_sent", "移交法律文书和档案", frozenset({S.TRANSFERRING}), None, Actor.COUNTY,
       "社区矫正法实施办法第31条", requires=("transfer_stage:decided",), opens=("transfer_receipt",),
       closes=("transfer_files",)),
    _T("transfer_received", "新执行地接收并送达回执", frozenset({S.TRANSFERRING}), S.ACTIVE, Actor.COUNTY,
       "社区矫正法实施办法第31条", requires=("transfer_stage:files_sent", "new_office"), closes=("transfer_receipt",),
       fields=("new_office",), side="to"),
    _T("transfer_reported", "到新执行地报到", frozenset({S.TRANSFERRING, S.ACTIVE}), None, Actor.COUNTY,
       "社区矫正法实施办法第31条", requires=("transfer_stage:any", "task_open:transfer_report"),
       closes=("transfer_report",),
       fields=("reported_date",), side="to"),
    _T("transfer_closed", "不予变更，终结申请", frozenset({S.TRANSFERRING}), S.ACTIVE, Actor.COUNTY,
       "社区矫正法实施办法第30条", requires=("transfer_stage:refused_or_before_decision",),
       cancels=("transfer_letter", "transfer_answer", "transfer_decide", "transfer_files", "transfer_receipt",
                "transfer_report")),
    # 终止 / 解除
    _T("revocation_proposed", "提请撤销缓刑（假释）或收监执行", frozenset({S.ACTIVE, S.ABSCONDED}),
       S.REVOCATION_PENDING, Actor.COUNTY, "社区矫正法第46条、第49条", requires=("sentence:not_control",),
       fields=("proposal_date",)),
    _T("revocation_refused", "不予撤销（收监），继续矫正", frozenset({S.REVOCATION_PENDING}), S.ACTIVE, Actor.COUNTY,
       "社区矫正法第46条、第49条"),
    _T("probation_revoked", "撤销缓刑", frozenset({S.REVOCATION_PENDING}), S.TERMINATED, Actor.COUNTY,
       "社区矫正法第45条、第46条", requires=("sentence:probation",), cancels=("*",),
       end_reason=EndReason.PROBATION_REVOKED, fields=("ruling_organ", "ruling_number", "end_date"), documents=("termination_notice",)),
    _T("parole_revoked", "撤销假释", frozenset({S.REVOCATION_PENDING}), S.TERMINATED, Actor.COUNTY,
       "社区矫正法第45条、第46条", requires=("sentence:parole",), cancels=("*",),
       end_reason=EndReason.PAROLE_REVOKED, fields=("ruling_organ", "ruling_number", "end_date"), documents=("termination_notice",)),
    _T("recommitted", "收监执行", frozenset({S.REVOCATION_PENDING}), S.TERMINATED, Actor.COUNTY,
       "社区矫正法第45条、第49条", requires=("sentence:medical_parole",), cancels=("*",),
       end_reason=EndReason.RECOMMITTED, fields=("ruling_organ", "ruling_number", "end_date"), documents=("termination_notice",)),
    _T("death", "死亡", frozenset(_ANY_OPEN), S.TERMINATED, Actor.COUNTY, "社区矫正法第45条、第51条", cancels=("*",),
       end_reason=EndReason.DEATH, fields=("end_date",), documents=("termination_notice",)),
    _T("appraised", "完成期满鉴定", frozenset({S.ACTIVE, S.REVOCATION_PENDING}), None, Actor.OFFICE,
       "社区矫正法实施办法第53条", requires=("task_open:release_appraisal", "filled:appraisal"),
       closes=("release_appraisal",), fields=("appraisal",), documents=("release_appraisal",)),
    _T("prison_notified", "已书面通知原执行机关", frozenset({S.ACTIVE}), None, Actor.COUNTY, "社区矫正法实施办法第54条",
       requires=("sentence:medical_parole", "task_open:prison_notice"), closes=("prison_notice",)),
    _T("release", "期满解除社区矫正", frozenset({S.ACTIVE, S.REVOCATION_PENDING}), S.RELEASED, Actor.COUNTY,
       "社区矫正法第44条", requires=("not_revocation_pending", "term_ended", "step:appraised"),
       closes=("release", "release_appraisal", "prison_notice"), cancels=("*",), end_reason=EndReason.EXPIRY,
       fields=("end_date",), documents=("release_announcement", "release_certificate", "release_notice")),
)}

# Codes only the opening of a case writes (the first line of its history).
OPENING_CODES = {"open": "接收登记（建立案件）", "migrated": "由原有记录建立案件", "readmitted": "再次纳入社区矫正"}


@dataclass(frozen=True)
class Facts:
    """What the checks in `problems` look at, gathered by the service."""

    status: CaseStatus
    sentence_type: str
    steps_done: frozenset[str] = frozenset()
    documents_in: bool = False
    today: date | None = None
    term_end: date | None = None
    report_due: date | None = None
    team_problems: tuple[str, ...] = ()
    entered: dict = field(default_factory=dict)
    transfer_stage: str = ""  # applied / letter_sent / agreed / refused / decided / files_sent / received
    county_id: int | None = None
    open_tasks: frozenset[str] = frozenset()  # the kinds of the case's open deadlines


def problems(t: Transition, f: Facts) -> list[str]:
    """Why this change may not be made now, each reason with its article; empty when it may."""
    out: list[str] = []
    if f.status not in t.sources:
        allowed = "、".join(STATUS_LABELS[s] for s in sorted(t.sources, key=list(CaseStatus).index))
        out.append(f"案件当前为“{STATUS_LABELS[f.status]}”，不能办理“{t.label}”（{t.article}：仅限{allowed}）")
        return out
    for req in t.requires:
        why = _check(req, t, f)
        if why:
            out.append(why)
    return out


def _check(req: str, t: Transition, f: Facts) -> str | None:
    if req.startswith("step:"):
        step = req[5:]
        if step not in f.steps_done:
            return f"请先完成“{TRANSITIONS[step].label}”（{TRANSITIONS[step].article}规定的顺序）"
        return None
    if req.startswith("task_open:"):
        kind = req[10:]
        if kind not in f.open_tasks:
            return f"“{t.label}”的期限事项尚未开启（{DEADLINES[kind].title}）"
        return None
    if req == "sentence:not_control":
        if f.sentence_type == "control":
            return ("管制不适用撤销或收监；违反监督管理规定的，可以提请公安机关予以治安管理处罚"
                    "（社区矫正法第28条、第59条）")
        return None
    if req.startswith("sentence:"):
        wanted = req[9:]
        if f.sentence_type != wanted:
            return f"“{t.label}”只适用于{_SENTENCE_WORDS[wanted]}（{t.article}）"
        return None
    if req.startswith("filled:"):
        key = req[7:]
        label = {"office_view": "司法所意见", "appraisal": "鉴定意见（矫正期间的表现）"}[key]
        return None if (f.entered.get(key) or "").strip() else f"请填写{label}"
    if req == "not_lost":
        return "已在查找中（社区矫正法第30条）" if "search" in f.open_tasks else None
    if req == "documents_in":
        return None if f.documents_in else f"尚未收到法律文书（社区矫正法第20条），不能办理“{t.label}”"
    if req == "documents_listed":
        return None if f.entered.get("documents") else "请列明收到的法律文书（判决书、裁定书、决定书、执行通知书等）"
    if req == "self_report":
        if f.sentence_type == "medical_parole":
            return "暂予监外执行的罪犯由看守所、监狱移送交接，请使用“移送交接”（社区矫正法第21条第二、三款）"
        return None
    if req == "escorted":
        if f.sentence_type != "medical_parole":
            return "管制、缓刑、假释的社区矫正对象应当自行报到，请使用“本人报到”（社区矫正法第21条第一款）"
        return None
    if req == "delivering_unit":
        return None if (f.entered.get("delivering_unit") or "").strip() else "请填写移送单位"
    if req == "report_overdue":
        if f.report_due is None or f.today is None or f.today <= f.report_due:
            return "报到期限尚未届满（社区矫正法第21条：判决生效之日起十日内）"
        return None
    if req == "team":
        if f.team_problems:
            return "矫正小组不符合要求：" + "；".join(f.team_problems)
        return None
    if req == "term_ended":
        if f.term_end is None or f.today is None or f.today < f.term_end:
            end = f.term_end.isoformat() if f.term_end else "未确定"
            return f"矫正期限尚未届满（矫正期满日 {end}，社区矫正法第44条）"
        return None
    if req.startswith("transfer_stage:"):
        want = req[15:]
        stage = f.transfer_stage
        ok = {"any": bool(stage),
              "refused_or_before_decision": stage in ("applied", "viewed", "letter_sent", "refused")}.get(
            want, stage == want)
        if not ok:
            return f"执行地变更当前为“{TRANSFER_STAGE_LABELS.get(stage, '未申请')}”，不能办理“{t.label}”（{t.article}）"
        return None
    if req == "transfer_target":
        to = f.entered.get("to_county")
        if to is None:
            return "请选择拟变更的执行地（县级社区矫正机构）"
        if getattr(to, "pk", to) == f.county_id:
            return "拟变更的执行地与现执行地相同"
        if not (f.entered.get("new_address") or "").strip():
            return "请填写新执行地的居住地址"
        return None
    if req == "month_ahead":
        planned = f.entered.get("planned_date")
        if planned is None or f.today is None or (planned - f.today).days < TRANSFER_ADVANCE_DAYS:
            return f"执行地变更应当提前一个月申请（社区矫正法实施办法第30条）：拟迁居日期应在 {TRANSFER_ADVANCE_DAYS} 日以后"
        return None
    if req == "agree_given":
        return None if f.entered.get("agree") in ("yes", "no") else "请选择是否同意接收"
    if req == "new_office":
        return None if f.entered.get("new_office") else "请选择负责日常监管的司法所"
    if req == "not_revocation_pending":
        if f.status == CaseStatus.REVOCATION_PENDING:
            return ("提请撤销缓刑（假释）或收监执行尚在审理，期满暂缓解除，待人民法院（决定机关）作出裁定（决定）后"
                    "再行办理（社区矫正法第46条、司办通〔2021〕94号）")
        return None
    raise KeyError(req)


_SENTENCE_WORDS = {"control": "管制", "probation": "缓刑", "parole": "假释", "medical_parole": "暂予监外执行"}


def may_act(t: Transition, roles, org_kind: str) -> bool:
    """The roles of the staff member and the kind of organisation they act from: the county agency's decisions
    need a county officer (the role holding case.decide) in a county agency; an office's steps any of the roles
    that do the daily work, in the office or the county."""
    if t.actor == Actor.SYSTEM:
        return False
    if t.actor == Actor.COUNTY and org_kind != "county_agency":
        return False
    return bool(ACTOR_ROLES[t.actor] & set(roles))


def available(f: Facts) -> list[Transition]:
    """Every change whose source status is the case's, in the table's order (each may still have problems)."""
    return [t for t in TRANSITIONS.values() if f.status in t.sources and t.actor != Actor.SYSTEM
            and not (t.target is None and t.code in f.steps_done and t.code not in REPEATABLE | TRANSFER_STEPS)
            and not any(_hides(r) and _check(r, t, f) for r in t.requires)
            and not (t.code in TRANSFER_STEPS | {"transfer_received", "transfer_closed"} and _check(
                next(r for r in t.requires if r.startswith("transfer_stage:")), t, f))]


def _hides(req: str) -> bool:
    """Requirements that, unmet, keep a change off the page rather than refuse it when tried: the law's order of
    steps, the sentence type, a deadline not (yet) open, a term not yet over, a pending revocation."""
    return req.startswith(("step:", "sentence:", "task_open:")) or req in (
        "term_ended", "not_revocation_pending", "self_report", "escorted", "documents_in", "not_lost")


REQUIRED_DOCUMENTS = {
    "control": ("判决书", "执行通知书"),
    "probation": ("判决书", "执行通知书"),
    "parole": ("判决书", "假释裁定书"),
    "medical_parole": ("暂予监外执行决定书",),
}


def missing_documents(sentence_type: str, received) -> list[str]:
    """The legal documents still to come for the sentence type (法20: 判决书、裁定书、决定书、执行通知书)."""
    return [d for d in REQUIRED_DOCUMENTS[sentence_type] if d not in set(received)]


REPEATABLE = frozenset({"documents_received", "notified_procuratorate", "exit_filed", "appraised", "lost_contact",
                        "contact_restored"})
# Changes an officer makes rarely and must not make by a slip: shown folded away on the case tab.
RARE = frozenset({"death", "abscond", "lost_contact", "revocation_proposed", "transfer_apply"})
TRANSFER_STEPS = frozenset({"transfer_office_view", "transfer_letter_sent", "transfer_answered", "transfer_decided",
                            "transfer_files_sent", "transfer_reported"})
TRANSFER_STAGE_LABELS = {"applied": "已申请", "viewed": "司法所已出具意见", "letter_sent": "已发征求意见函", "agreed": "同意接收",
                         "refused": "不同意接收", "decided": "已决定变更", "files_sent": "档案已移交",
                         "received": "新执行地已接收", "closed": "已终结"}


def release_wording(sentence_type: str) -> str:
    """What the release announcement says (办法第54条 [M]): the consequence of the term's expiry by sentence type."""
    return {
        "control": "管制执行期满，依法解除管制",
        "probation": "缓刑考验期满，原判刑罚不再执行",
        "parole": "假释考验期满，原判刑罚执行完毕",
        "medical_parole": "暂予监外执行期满，刑期执行完毕",
    }[sentence_type]


# --- 调查评估 (pre-sentence investigation, 法18; time limits 办法第13条 [M]) ----------------------------------------

class InvStatus(StrEnum):
    RECEIVED = "received"  # 已受理，待指派
    ASSIGNED = "assigned"  # 已指派司法所调查
    ISSUED = "issued"  # 已出具意见书（锁定）
    RETURNED = "returned"  # 无法调查评估，已函复（锁定）


INV_LABELS = {InvStatus.RECEIVED: "待指派", InvStatus.ASSIGNED: "调查中", InvStatus.ISSUED: "已出具意见",
              InvStatus.RETURNED: "无法调查评估"}
INV_LOCKED = frozenset({InvStatus.ISSUED, InvStatus.RETURNED})
REQUESTER_KINDS = {"court": "人民法院", "procuratorate": "人民检察院", "police": "公安机关", "prison": "监狱管理机关"}
OPINIONS = {"suitable": "适宜社区矫正", "unsuitable": "不适宜社区矫正"}

DEADLINES["investigation"] = Deadline(
    "investigation", "调查评估意见书出具期限", "社区矫正法实施办法第13条", 10, DayKind.WORK, Anchor.STEP, Actor.COUNTY,
    setting=True, note="收到委托函之日起十个工作日内完成调查评估，提交意见书")
DEADLINES["investigation_fast"] = Deadline(
    "investigation_fast", "调查评估意见书出具期限（速裁）", "社区矫正法实施办法第13条", 5, DayKind.WORK, Anchor.STEP,
    Actor.COUNTY, setting=True, note="适用速裁程序的，五个工作日内")


@dataclass(frozen=True)
class InvTransition:
    code: str
    label: str
    sources: frozenset[InvStatus]
    target: InvStatus | None
    actor: Actor
    article: str
    fields: tuple[str, ...] = ()


INV_TRANSITIONS: dict[str, InvTransition] = {t.code: t for t in (
    InvTransition("assign", "指派司法所调查", frozenset({InvStatus.RECEIVED, InvStatus.ASSIGNED}), InvStatus.ASSIGNED,
                  Actor.COUNTY, "社区矫正法第18条", ("office",)),
    InvTransition("findings", "记录调查情况", frozenset({InvStatus.ASSIGNED}), None, Actor.OFFICE,
                  "社区矫正法第18条", ("residence", "family", "victim", "impact")),
    InvTransition("issue", "出具调查评估意见书", frozenset({InvStatus.ASSIGNED}), InvStatus.ISSUED, Actor.COUNTY,
                  "社区矫正法第18条、实施办法第13条", ("opinion", "opinion_text")),
    InvTransition("cannot", "函复无法调查评估", frozenset({InvStatus.RECEIVED, InvStatus.ASSIGNED}), InvStatus.RETURNED,
                  Actor.COUNTY, "社区矫正法实施办法第13条", ("cannot_reason",)),
)}


def investigation_problems(t: InvTransition, status: InvStatus, entered: dict) -> list[str]:
    if status in INV_LOCKED:
        return [f"调查评估意见已出具（{INV_LABELS[status]}），记录已锁定，不能再办理“{t.label}”"]
    if status not in t.sources:
        return [f"调查评估当前为“{INV_LABELS[status]}”，不能办理“{t.label}”"]
    out = []
    if t.code == "issue":
        if entered.get("opinion") not in OPINIONS:
            out.append("请选择评估意见：适宜或不适宜社区矫正")
        missing = [label for key, label in (("residence", "居住情况"), ("family", "家庭和社会关系"),
                                            ("victim", "被害人意见"), ("impact", "对所居住社区的影响"))
                   if not (entered.get("findings") or {}).get(key)]
        if missing:
            out.append("出具意见前须记录调查情况：" + "、".join(missing) + "（社区矫正法第18条）")
    if t.code == "cannot" and not (entered.get("cannot_reason") or "").strip():
        out.append("请写明无法调查评估的原因（如被告人姓名、住址不实）")
    return out
