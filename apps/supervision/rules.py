"""Daily supervision and approvals as pure rules (no Django): who decides a leave request and whether the law
refuses it, when a report-in falls due by management level, the monthly 双八 hours, the weekly four-ones of 严管,
the health reports and hospital checks of 暂予监外执行. Numbers the law does not fix are dated tables a province
replaces (`*_on(day)` picks the one in force). The first slice of the daily-supervision issue: the services,
pages and API that use these rules come next."""
from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum


# --- leave (外出): 社区矫正法第27条; 社区矫正法实施办法第26-28条 [M] ---------------------------------------------

class Authority(StrEnum):
    OFFICE = "office"  # 司法所 (where the county agency entrusted it)
    COUNTY = "county"  # 县级社区矫正机构
    ABOVE = "above"  # 上一级社区矫正机构 (the city agency)


AUTHORITY_LABELS = {Authority.OFFICE: "司法所（受委托）", Authority.COUNTY: "县级社区矫正机构",
                    Authority.ABOVE: "上一级社区矫正机构", "province": "省级社区矫正机构",
                    "permit": "经常性跨市县活动审批（备案）"}

REASONS = {"medical": "就医", "study": "就学", "litigation": "参与诉讼", "family": "处理家庭重大事项",
           "work": "处理工作重大事项", "business": "经营性外出"}


@dataclass(frozen=True)
class LeaveTable:
    effective_from: date
    office_max_days: int = 7  # ≤ this, the office may decide where entrusted
    approval_max_days: int = 30  # one county approval covers at most this
    window_days: int = 60  # "两个月内"
    window_max_days: int = 30  # more than this within the window goes one level up
    advance_days: int = 3  # apply this many days ahead
    office_entrusted: bool = True  # the county agencies entrust their offices with ≤7-day leave (实施办法第26条)
    decide_days: int = 3  # a decision within this many days of the application (provincial practice)
    # 经营性外出: what the application must carry (嘉兴市社区矫正对象经营性外出工作指引 and like provincial rules)
    business_evidence: tuple = ("营业执照或者所在单位出具的工作证明", "业务合同、邀请函或者订单等经营活动证明",
                                "外出行程（交通、住宿）安排", "遵守外出监管规定的书面保证")


LEAVE_TABLES = (LeaveTable(date(2020, 7, 1)),)  # 社区矫正法实施办法 in force 2020-07-01


def table_on(tables, day: date):
    """The table in force on a day (the latest that started on or before it)."""
    inforce = [t for t in tables if t.effective_from <= day]
    if not inforce:
        raise ValueError(f"no table in force on {day.isoformat()}")
    return max(inforce, key=lambda t: t.effective_from)


@dataclass(frozen=True)
class Trip:
    start: date  # the day of departure
    end: date  # the day of return (both counted)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def rolling_total(new: Trip, others: list[Trip], window: int) -> int:
    """The most leave days in any `window` consecutive days that include a day of the new trip, counting the new
    trip and the other approved trips (a day counted once)."""
    days = {new.start + timedelta(i) for i in range(new.days)}
    for t in others:
        days |= {t.start + timedelta(i) for i in range(max(t.days, 0))}
    best = 0
    first = new.start - timedelta(window - 1)
    while first <= new.end:
        last = first + timedelta(window - 1)
        if last >= new.start:
            best = max(best, sum(1 for d in days if first <= d <= last))
        first += timedelta(1)
    return best


@dataclass(frozen=True)
class LeaveDecision:
    authority: Authority | None  # None: refused by the rules
    tell_procuratorate: bool
    rolling_days: int
    refusals: tuple[str, ...]  # the law refuses: with the article
    warnings: tuple[str, ...]  # the officer decides, but should know


def leave_authority(*, trip: Trip, reason: str, applied: date, abroad: bool = False, entrusted: bool = True,
                    others: tuple[Trip, ...] = (), table: LeaveTable | None = None) -> LeaveDecision:
    t = table or table_on(LEAVE_TABLES, applied)
    entrusted = entrusted and t.office_entrusted
    refusals, warnings = [], []
    if abroad:
        refusals.append("社区矫正对象不准出境（出境入境管理法第12条第二项；国移民公〔2021〕420号）")
    if reason not in REASONS:
        refusals.append("外出须有正当理由：就医、就学、参与诉讼、处理家庭或者工作重大事项（社区矫正法第27条、实施办法第26条至第28条）")
    if trip.end < trip.start:
        refusals.append("返回日期不能早于外出日期")
    if trip.start < applied:
        refusals.append("外出日期不能早于申请日期")
    if refusals:
        return LeaveDecision(None, False, 0, tuple(refusals), ())
    if (trip.start - applied).days < t.advance_days:
        warnings.append(f"应当提前{t.advance_days}日提出书面申请（实施办法第26条至第28条）；紧急就医等情形请在说明中写明")
    rolling = rolling_total(trip, list(others), t.window_days)
    if trip.days > t.approval_max_days or rolling > t.window_max_days:
        authority = Authority.ABOVE
    elif trip.days <= t.office_max_days and entrusted:
        authority = Authority.OFFICE
    else:
        authority = Authority.COUNTY
    return LeaveDecision(authority, authority == Authority.ABOVE, rolling, (), tuple(warnings))


def business_evidence_missing(*, required: tuple[str, ...], given, files: int) -> list[str]:
    """经营性外出 (a business trip): every proof the province's table requires is declared as provided, and at least
    one of them is uploaded as a scan or photo. The national rules name no list; the table is the province's."""
    out = [f"经营性外出应当提交：{x}" for x in required if x not in given]
    if required and files < 1:
        out.append("经营性外出应当上传证明材料的扫描件或者照片")
    return out


# --- report-ins (报到) by management level: 社区矫正法第23条; 实施办法第24条 [M]; provincial tables ------------

class Period(StrEnum):
    WEEK = "week"  # Monday to Sunday
    HALF_MONTH = "half_month"  # 1st-15th, 16th-last
    MONTH = "month"


@dataclass(frozen=True)
class ReportTable:
    effective_from: date
    period: dict  # level -> Period: at least one report-in in person each period


REPORT_TABLES = (ReportTable(date(2020, 7, 1), {"strict": Period.WEEK, "normal": Period.HALF_MONTH,
                                                 "lenient": Period.MONTH}),)


def period_of(p: Period, day: date) -> tuple[date, date]:
    if p == Period.WEEK:
        start = day - timedelta(day.weekday())
        return start, start + timedelta(6)
    last = _cal.monthrange(day.year, day.month)[1]
    if p == Period.HALF_MONTH:
        return (day.replace(day=1), day.replace(day=15)) if day.day <= 15 else (day.replace(day=16),
                                                                                 day.replace(day=last))
    return day.replace(day=1), day.replace(day=last)


def next_report_due(*, level: str, reports: list[date], today: date, table: ReportTable | None = None) -> date:
    """The last day by which the next report-in is due: the end of this period if none has been made in it yet,
    else the end of the next period."""
    p = (table or table_on(REPORT_TABLES, today)).period[level]
    start, end = period_of(p, today)
    if any(start <= r <= end for r in reports):
        return period_of(p, end + timedelta(1))[1]
    return end


def missed_report_periods(*, level: str, reports: list[date], since: date, today: date,
                          table: ReportTable | None = None) -> list[tuple[date, date]]:
    """The closed periods since `since` (the day the level took effect) without a report-in: each one a fact."""
    p = (table or table_on(REPORT_TABLES, since)).period[level]
    out, day = [], since
    while True:
        start, end = period_of(p, day)
        if end >= today:
            return out
        if not any(max(start, since) <= r <= end for r in reports):
            out.append((max(start, since), end))
        day = end + timedelta(1)


# --- 信息化核查 (face-verified spot checks): 社区矫正法第26条 lets the agency verify by information technology; how often
# and how fast is provincial practice (the seeds: 随机抽查、点对点核查), so a dated table ----------------------------

@dataclass(frozen=True)
class CheckTable:
    effective_from: date
    spot_checks: dict  # level -> random spot checks a month
    answer_minutes: int = 15  # the portal must answer within this many minutes
    day_start_hour: int = 8  # random checks fall between these hours, Beijing time
    day_end_hour: int = 20
    turn_percent: int = 10  # liveness: the head turn must move the nose this % of the eye distance


CHECK_TABLES = (CheckTable(date(2020, 7, 1), {"strict": 8, "normal": 4, "lenient": 2}),)


def spot_check_odds(*, level: str, days_in_month: int, table: CheckTable) -> float:
    """The chance of a random spot check on one day: the month's number spread over its days (at most one a day)."""
    return min(1.0, max(0, table.spot_checks.get(level, 0)) / max(1, days_in_month))


def spot_check_outcome(*, passed: bool | None, answered_at, due_at) -> str:
    """passed / failed / late (answered after the window, whatever the face said) / missed (no answer)."""
    if answered_at is None:
        return "missed"
    if answered_at > due_at:
        return "late"
    return "passed" if passed else "failed"


# --- 双八: at least 8 hours of study and 8 of community service a month [M]; provincial tables -----------------

@dataclass(frozen=True)
class HoursTable:
    effective_from: date
    study: dict  # level -> hours a month
    service: dict


HOURS_TABLES = (HoursTable(date(2020, 7, 1), {"strict": 8, "normal": 8, "lenient": 8},
                           {"strict": 8, "normal": 8, "lenient": 8}),)


@dataclass(frozen=True)
class Shortfall:
    study: float
    service: float

    @property
    def any(self) -> bool:
        return self.study > 0 or self.service > 0


def monthly_shortfall(*, level: str, study_hours: float, service_hours: float, month: date, able_to_work: bool = True,
                      table: HoursTable | None = None) -> Shortfall:
    """What is missing of the month's hours (never negative). Community service only for those able to work."""
    t = table or table_on(HOURS_TABLES, month.replace(day=1))
    return Shortfall(max(t.study[level] - study_hours, 0.0),
                     max(t.service[level] - service_hours, 0.0) if able_to_work else 0.0)


# --- the weekly four-ones of 严管 [M: provincial practice] ------------------------------------------------------

FOUR_ONES = {"report_in": "一次到所报到", "thought_report": "一次书面思想汇报", "education": "一次个别教育",
             "visit": "一次走访或信息化核查"}


def four_ones_missing(*, week_start: date, done: list[tuple[str, date]], today: date) -> tuple[str, ...] | None:
    """The items missing from a 严管 week (Monday to Sunday); None while the week is still open."""
    if week_start.weekday() != 0:
        raise ValueError("a week starts on a Monday")
    end = week_start + timedelta(6)
    if today <= end:
        return None
    have = {kind for kind, day in done if week_start <= day <= end}
    return tuple(k for k in FOUR_ONES if k not in have)


# --- 暂予监外执行: monthly health report; 保外就医: hospital check every 3 months (实施办法第24条 [M]) ----------

def needs_hospital_check(sentence_type: str, ground: str) -> bool:
    """Only 保外就医 owes the hospital's re-examination every three months (实施办法第24条); a 暂予监外执行 for
    pregnancy or nursing, or for being unable to care for oneself, does not. A case registered before its ground
    was recorded (blank) is supervised as 保外就医, the stricter reading, until the ground is entered."""
    return sentence_type == "medical_parole" and ground in ("", "medical")


def add_months(day: date, n: int) -> date:
    y, m = divmod(day.month - 1 + n, 12)
    year, month = day.year + y, m + 1
    return date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


def medical_check_due(*, last_check: date, extension_months: int = 0) -> date:
    """The day the next hospital check result is due: three months after the last, plus an approved extension."""
    if extension_months < 0:
        raise ValueError("an extension is not negative")
    return add_months(last_check, 3 + extension_months)


def extension_authority(months: int) -> Authority | str:
    """Who approves extending the check period: 1-3 months one level up, more than 3 the province; the
    procuratorate is told either way."""
    if months < 1:
        raise ValueError("an extension is at least one month")
    return Authority.ABOVE if months <= 3 else "province"


def health_report_due(month: date) -> date:
    """A 暂予监外执行 person reports their health every month: by the month's last day."""
    return month.replace(day=_cal.monthrange(month.year, month.month)[1])


# --- records, hours, requests: the vocabulary the models and pages share ------------------------------------

PLACES = {"home": "家庭", "work": "工作单位", "school": "就读学校", "community": "居住社区（村）",
          "office": "司法所", "other": "其他"}
# 法26: a visit protects the person's identity and privacy; uniformed visits at work or school are avoided
VISIT_PRIVACY_ARTICLE = "社区矫正法第26条：保护社区矫正对象的身份信息和个人隐私"


def visit_warnings(*, place: str, discreet: bool) -> tuple[str, ...]:
    """What the officer should know before a visit is recorded at work or school without discretion (法26)."""
    if place in ("work", "school") and not discreet:
        return (f"在{PLACES[place]}走访应当注意不公开其社区矫正对象身份（{VISIT_PRIVACY_ARTICLE}）",)
    return ()


HOURS_KINDS = {"study": "教育学习", "service": "社区服务（公益活动）"}
MAX_HOURS_A_DAY = 8.0  # one day's entry above this is refused as a typing error


def hours_refusals(*, hours: float, day: date, today: date, is_minor: bool, activity_for_minors: bool | None,
                   group: bool) -> tuple[str, ...]:
    """An entry of hours that cannot be right, or one the law forbids (法52: minors apart from adults)."""
    out = []
    if not 0 < hours <= MAX_HOURS_A_DAY:
        out.append(f"时长应在 0.5 至 {MAX_HOURS_A_DAY:g} 小时之间")
    if day > today:
        out.append("日期不能晚于今天")
    if group and activity_for_minors is not None and activity_for_minors != is_minor:
        out.append("未成年社区矫正对象应当与成年社区矫正对象分别进行集中教育和公益活动（社区矫正法第52条）"
                   if is_minor else "该活动为未成年人专场，成年社区矫正对象不得参加（社区矫正法第52条）")
    return tuple(out)


REQUEST_KINDS = {"leave": "外出", "permit": "经常性跨市县活动", "place": "进入特定区域（场所）", "meeting": "会客",
                 "extension": "延长病情复查期限"}


class RequestState(StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    OVERDUE = "overdue"
    RETURNED = "returned"
    CLOSED = "closed"


S = RequestState
REQUEST_STATE_LABELS = {S.APPLIED: "待审批", S.APPROVED: "已批准", S.REFUSED: "不予批准", S.WITHDRAWN: "已撤回",
                        S.DEPARTED: "已离开", S.ARRIVED: "已报告到达", S.OVERDUE: "逾期未归", S.RETURNED: "已销假",
                        S.CLOSED: "已办结"}


@dataclass(frozen=True)
class Step:
    code: str
    label: str
    sources: frozenset
    target: RequestState
    who: str  # "authority" (the deciding organ's staff), "office" (the supervising office), "system"
    kinds: frozenset = frozenset(REQUEST_KINDS)


_LEAVE = frozenset({"leave"})
STEPS = {s.code: s for s in (
    Step("approve", "批准", frozenset({S.APPLIED}), S.APPROVED, "authority"),
    Step("refuse", "不予批准", frozenset({S.APPLIED}), S.REFUSED, "authority"),
    Step("withdraw", "撤回申请", frozenset({S.APPLIED}), S.WITHDRAWN, "office"),
    Step("depart", "登记离开", frozenset({S.APPROVED}), S.DEPARTED, "office", _LEAVE),
    Step("arrive", "登记到达报告", frozenset({S.DEPARTED}), S.ARRIVED, "office", _LEAVE),
    Step("overdue", "逾期未归", frozenset({S.DEPARTED, S.ARRIVED}), S.OVERDUE, "system", _LEAVE),
    Step("return", "销假", frozenset({S.DEPARTED, S.ARRIVED, S.OVERDUE}), S.RETURNED, "office", _LEAVE),
    Step("cancel", "未成行，办结", frozenset({S.APPROVED}), S.CLOSED, "office", _LEAVE),
    Step("close", "办结", frozenset({S.RETURNED}), S.CLOSED, "office", _LEAVE),
    Step("expire", "期满办结", frozenset({S.APPROVED}), S.CLOSED, "system",
         frozenset({"permit", "place", "meeting", "extension"})),
)}
del S


def steps_available(kind: str, state: str) -> list[Step]:
    return [s for s in STEPS.values() if kind in s.kinds and state in s.sources and s.who != "system"]


def late_days(*, end: date, returned: date) -> int:
    """Days a trip came back after its last approved day (0 when on time)."""
    return max((returned - end).days, 0)


PERMIT_MONTHS = 6  # 经常性跨市县: one approval is valid six months (实施办法第29条)


def permit_refusals(*, start: date, end: date, destinations: list[str]) -> tuple[str, ...]:
    out = []
    if not destinations:
        out.append("应当写明经常性前往的市、县（实施办法第29条）")
    if end < start:
        out.append("结束日期不能早于开始日期")
    elif end > add_months(start, PERMIT_MONTHS) - timedelta(1):
        out.append(f"经常性跨市县活动每次批准的有效期不超过{PERMIT_MONTHS}个月（实施办法第29条）")
    return tuple(out)


FACT_LABELS = {"missed_report": "未按规定报到", "late_return": "外出逾期未归", "four_ones": "严管“四个一”未完成",
               "hours_short": "教育学习、社区服务时长不足", "health_missing": "未按月报告病情",
               "check_missing": "未按期提交病情复查情况"}
FACT_ARTICLES = {"missed_report": "社区矫正法第23条、实施办法第24条", "late_return": "社区矫正法第27条、实施办法第28条",
                 "four_ones": "本省严管社区矫正对象监管规定", "hours_short": "社区矫正法第36条、第42条；本省教育学习和公益活动规定",
                 "health_missing": "实施办法第24条", "check_missing": "实施办法第24条"}


# --- 禁止令 (prohibition orders): 刑法第38条第二款、第72条第二款; 两高两部《关于对判处管制、宣告缓刑的犯罪分子适用禁止令
# 有关问题的规定》(2011) --------------------------------------------------------------------------------------------

PROHIBITION_ITEMS = {"activities": "特定活动", "areas": "特定区域", "places": "特定场所", "people": "特定人"}
PROHIBITION_MIN_MONTHS = {"control": 3, "probation": 2}  # 规定第6条: at least three months (管制), two (缓刑)
PROHIBITION_ARTICLE = "刑法第38条第二款、第72条第二款；《关于对判处管制、宣告缓刑的犯罪分子适用禁止令有关问题的规定》"


def prohibition_refusals(*, sentence_type: str, start: date, end: date, term_start: date, term_end: date,
                         items: dict) -> tuple[str, ...]:
    """What makes a recorded prohibition order impossible: only 管制 and 缓刑 carry one, it names something, and
    its period lies within the term and is at least the minimum (规定第6条)."""
    out = []
    if sentence_type not in PROHIBITION_MIN_MONTHS:
        out.append("禁止令只适用于判处管制、宣告缓刑的犯罪分子（刑法第38条第二款、第72条第二款）")
    if not any(items.get(k) for k in PROHIBITION_ITEMS):
        out.append("请写明禁止从事的活动，禁止进入的区域、场所，或者禁止接触的人")
    if end < start:
        out.append("禁止令结束日期不能早于开始日期")
    elif start < term_start or end > term_end:
        out.append(f"禁止令的期限应在矫正期限（{term_start.isoformat()}至{term_end.isoformat()}）之内（规定第6条）")
    elif sentence_type in PROHIBITION_MIN_MONTHS and end < add_months(start, PROHIBITION_MIN_MONTHS[sentence_type]) \
            - timedelta(1) and end != term_end:
        out.append(f"禁止令的期限不得少于{PROHIBITION_MIN_MONTHS[sentence_type]}个月（规定第6条）")
    return tuple(out)


def check_due_with(*, last_check: date, approved_months: list[int]) -> date:
    """The next hospital check with the extensions approved since the last (each 1-3 months one level up, or more
    with the province's approval)."""
    return medical_check_due(last_check=last_check, extension_months=sum(approved_months))
