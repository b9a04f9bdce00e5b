"""Location monitoring as pure rules (no Django): the electronic monitoring order of 社区矫正法第29条 (its five
grounds, the county bureau head's approval, at most three months an approval, renewable after review), the level of
an alert by its type and its repetition, and the province's dated table of the numbers the law does not fix
(hysteresis, escalation limits, retention). Phone location checks are 信息化核查, not devices: no order is needed."""
from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date, timedelta

# --- 社区矫正法第29条: the order --------------------------------------------------------------------------------

GROUNDS = {  # 第二十九条第一款
    "1": "违反人民法院禁止令的",
    "2": "无正当理由，未经批准离开所居住的市、县的",
    "3": "拒不按照规定报告自己的活动情况，被给予警告的",
    "4": "违反监督管理规定，被给予治安管理处罚的",
    "5": "拟提请撤销缓刑、假释或者暂予监外执行收监执行的",
}
ORDER_MAX_MONTHS = 3  # 第二十九条第二款: 期限不得超过三个月；延长的，每次不得超过三个月
ARTICLE_29 = "《中华人民共和国社区矫正法》第二十九条"


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day where it has fewer days)."""
    m = day.month - 1 + months
    y, m = day.year + m // 12, m % 12 + 1
    return date(y, m, min(day.day, _cal.monthrange(y, m)[1]))


def order_last_day(start: date) -> date:
    """The last day an approval starting on `start` may run: three months, the start day counted (2026-01-10 →
    2026-04-09)."""
    return add_months(start, ORDER_MAX_MONTHS) - timedelta(days=1)


def order_refusals(*, ground: str, approver_is_bureau_head: bool, start: date, end: date,
                   today: date, renewal_of_end: date | None = None, reviewed: bool = False) -> list[str]:
    """Why the law refuses an order (or its renewal); empty when it may be made. Each reason names its article."""
    out = []
    if ground not in GROUNDS:
        out.append(f"使用电子定位装置须具有{ARTICLE_29}第一款规定的情形之一")
    if not approver_is_bureau_head:
        out.append(f"使用电子定位装置须经县级司法行政部门负责人批准（{ARTICLE_29}第一款）")
    if end < start:
        out.append("结束日期不能早于开始日期")
    elif end > order_last_day(start):
        out.append(f"使用电子定位装置的期限不得超过三个月（{ARTICLE_29}第二款），"
                   f"自{start:%Y-%m-%d}起最迟至{order_last_day(start):%Y-%m-%d}")
    if renewal_of_end is not None:
        if not reviewed:
            out.append(f"期限届满后延长使用，须经评估仍有必要（{ARTICLE_29}第二款）")
        if start != renewal_of_end + timedelta(days=1):
            out.append(f"延长期限应自原期限届满次日（{renewal_of_end + timedelta(days=1):%Y-%m-%d}）起算")
    elif start < today - timedelta(days=3):
        out.append("开始日期不能早于审批前三日")
    return out


def order_reminder_due(end: date, today: date, days_before: int) -> bool:
    """An officer is reminded `days_before` days before the end (and every day after, until decided)."""
    return today >= end - timedelta(days=days_before)


# --- alerts -----------------------------------------------------------------------------------------------------

LEVELS = ("blue", "yellow", "red")  # 蓝色 < 黄色 < 红色
LEVEL_LABELS = {"red": "红色预警", "yellow": "黄色预警", "blue": "蓝色预警"}

ALERT_TYPES = {  # type -> (label, base level)
    "fence_exit": ("越界（离开执行地县域）", "red"),
    "exclusion_enter": ("进入禁止区域", "red"),
    "curfew_breach": ("宵禁时段不在居所", "yellow"),
    "devices_apart": ("人机分离", "yellow"),
    "strap_tamper": ("腕带拆卸或破坏", "red"),
    "signal_lost": ("定位信号丢失", "yellow"),
    "speed_impossible": ("定位异常（速度不可能）", "blue"),
    "battery_low": ("设备电量低", "blue"),
    "spot_check_failed": ("信息化核查未通过", "yellow"),
    "spot_check_missed": ("信息化核查未答复", "yellow"),
}
# the events that end an open alert's condition (the alert itself stays open until disposed)
CLEARED_BY = {"fence_return": "fence_exit", "exclusion_leave": "exclusion_enter"}


def raise_level(level: str, steps: int = 1) -> str:
    return LEVELS[min(LEVELS.index(level) + steps, len(LEVELS) - 1)]


def alert_level(kind: str, *, repeats_open: int, earlier_in_window: int, repeat_open_step: int,
                repeat_window_step: int) -> str:
    """The level of an alert: its type's base level, one step up when the same condition repeated
    `repeat_open_step` times while open, and one step up when the person had `repeat_window_step` alerts of the
    type in the province's window before it (red stays red)."""
    level = ALERT_TYPES[kind][1]
    if repeat_open_step and repeats_open >= repeat_open_step:
        level = raise_level(level)
    if repeat_window_step and earlier_in_window >= repeat_window_step:
        level = raise_level(level)
    return level


DISPOSALS = {
    "called": "电话联系核实",
    "visited": "实地查访",
    "verified": "信息化核查确认",
    "violation": "确认违规（提出处理建议）",
    "false_alarm": "误报",
    "device_fault": "设备故障",
}
FALSE_CAUSES = {
    "drift": "定位漂移（精度不足）",
    "boundary": "边界附近（围栏数据误差）",
    "approved": "已获批准外出（请假未同步）",
    "indoor": "室内或地下信号弱",
    "other": "其他原因",
}


def disposal_errors(disposal: str, note: str, false_cause: str) -> dict[str, str]:
    errors = {}
    if disposal not in DISPOSALS:
        errors["disposal"] = "请选择处置方式"
    if not note.strip():
        errors["note"] = "请填写处置情况（联系、查访或核实的结果）"
    if disposal == "false_alarm" and false_cause not in FALSE_CAUSES:
        errors["false_cause"] = "误报须注明原因"
    return errors


# --- the province's numbers ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LocationTable:
    effective_from: date
    exit_fixes: int = 3  # K decisive fixes raise (and clear) an exit
    exit_minutes: float = 5.0  # ... or decisive fixes spanning T minutes
    margin_m: float = 50.0  # beyond the boundary by more than the fix's accuracy plus this
    signal_lost_minutes: int = 60  # no fix for this long while a device is bound
    ack_minutes_red: int = 30  # not acknowledged within this: escalated to the county agency
    ack_minutes_yellow: int = 120
    ack_minutes_blue: int = 0  # 0: never escalated
    repeat_open_step: int = 3  # the same condition this many times while open: one level up
    repeat_window_days: int = 30
    repeat_window_step: int = 2  # this many earlier alerts of the type in the window: one level up
    order_remind_days: int = 7  # remind the officer this many days before a monitoring order ends
    retention_days: int = 365  # fixes older than this are dropped (by month partition on PostgreSQL)
    max_fix_age_days: int = 30  # a device may hold fixes this long before it uploads them
    violation_task_days: int = 3  # a confirmed violation asks for a proposal within this many days


LOCATION_TABLES = (LocationTable(date(2020, 7, 1)),)


def escalation_minutes(table: LocationTable, level: str) -> int:
    return {"red": table.ack_minutes_red, "yellow": table.ack_minutes_yellow, "blue": table.ack_minutes_blue}[level]
