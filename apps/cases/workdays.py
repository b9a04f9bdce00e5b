"""Working days on China's official holiday calendar. Pure Python, no Django.

The State Council publishes each year's holidays and make-up working days (调休上班) in late autumn. A year that has
been loaded counts its days as published: a weekday holiday is off, a weekend make-up day is a working day. A year
not yet loaded is counted Monday to Friday, and any answer that crossed such a year is *provisional*: the pages
mark it, and the deadline is recomputed when the year is loaded (apps.cases.services.holidays_load).

Counting follows the law's way of counting periods (刑事诉讼法第105条: the day the period starts is not counted):
`add_workdays(d, n)` is the n-th working day after d, and `workdays_between(d1, d2)` the number of working days
after d1 up to and including d2. So add_workdays(d, n) == e exactly when workdays_between(d, e) == n, for a
working day e.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Iterable


class CalendarError(ValueError):
    """A holiday file that cannot be loaded, said in words an administrator can act on."""


@dataclass(frozen=True)
class Calendar:
    off_days: frozenset[date] = frozenset()  # holidays falling on weekdays and weekend days alike
    makeup_days: frozenset[date] = frozenset()  # weekend days that are working days (调休上班)
    years: frozenset[int] = frozenset()  # the years whose official schedule is loaded

    def is_workday(self, d: date) -> bool:
        if d in self.makeup_days:
            return True
        return d.weekday() < 5 and d not in self.off_days

    def is_official(self, d: date) -> bool:
        return d.year in self.years


@dataclass(frozen=True)
class Counted:
    """An answer and whether it rests on a year not yet loaded (then it is computed Monday to Friday)."""

    value: date | int
    provisional: bool
    unloaded_years: tuple[int, ...] = field(default=())


# Longest span a count may cover: a deadline is weeks, not decades; a typo in a year must not loop for minutes.
MAX_WORKDAYS = 3660


def add_workdays(cal: Calendar, start: date, n: int) -> Counted:
    """The n-th working day after `start` (n >= 0; n == 0 gives `start` itself)."""
    if n < 0:
        raise ValueError("工作日数不能为负数")
    if n > MAX_WORKDAYS:
        raise ValueError(f"工作日数不能超过 {MAX_WORKDAYS}")
    d, left = start, n
    one = timedelta(days=1)
    while left:
        d += one
        if cal.is_workday(d):
            left -= 1
    return _counted(cal, d, start, d)


def workdays_between(cal: Calendar, first: date, last: date) -> Counted:
    """The number of working days after `first` up to and including `last` (last >= first)."""
    if last < first:
        raise ValueError("结束日期不能早于开始日期")
    if (last - first).days > MAX_WORKDAYS * 2:
        raise ValueError("日期跨度过大")
    one = timedelta(days=1)
    d, count = first, 0
    while d < last:
        d += one
        count += cal.is_workday(d)
    return _counted(cal, count, first, last)


def add_days(cal: Calendar, start: date, n: int, *, extend: bool = True) -> Counted:
    """Calendar days (法21's 10 days, 法20's 5 and 10). As 刑事诉讼法第105条 counts periods, a last day that is a
    holiday or a rest day moves to the first working day after it (`extend`); that move depends on the calendar,
    so it is provisional when the last day lies in a year not loaded."""
    end = start + timedelta(days=n)
    if not extend:
        return Counted(end, False)
    moved = end
    while not cal.is_workday(moved):
        moved += timedelta(days=1)
    provisional = end.year not in cal.years or moved.year not in cal.years
    return Counted(moved, provisional, tuple(sorted({y for y in (end.year, moved.year) if y not in cal.years})))


def add_months(cal: Calendar, start: date, months: int, *, extend: bool = True) -> Counted:
    """To the same day `months` later (the month's last day when it has no such day), then as add_days."""
    y, m = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m + 1
    day = min(start.day, [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31,
                          31, 30, 31, 30, 31][month - 1])
    return add_days(cal, date(year, month, day), 0, extend=extend)


def _counted(cal: Calendar, value, first: date, last: date) -> Counted:
    """Provisional when a day that was counted (after `first`, up to `last`) lies in a year not loaded."""
    if last <= first:
        return Counted(value, False)
    counted_from = first + timedelta(days=1)
    missing = tuple(y for y in range(counted_from.year, last.year + 1) if y not in cal.years)
    return Counted(value, bool(missing), missing)


# --- the published files --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class YearSchedule:
    year: int
    off_days: tuple[tuple[date, str], ...]  # (date, holiday name)
    makeup_days: tuple[tuple[date, str], ...]
    source: str  # the State Council notice, when the file names it


def parse_holiday_cn(text: str) -> YearSchedule:
    """One year in the holiday-cn JSON format: {"year": 2026, "papers": [url], "days": [{name, date, isOffDay}]}."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise CalendarError(f"文件不是有效的 JSON：第 {e.lineno} 行 {e.msg}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("year"), int) or not isinstance(doc.get("days"), list):
        raise CalendarError("文件格式不符：应包含 year（年份）和 days（节假日列表）")
    year = doc["year"]
    if not 2000 <= year <= 2100:
        raise CalendarError(f"年份 {year} 不在 2000–2100 之间")
    if not doc["days"]:
        raise CalendarError(f"{year} 年的文件没有列出任何放假或调休日期（国务院通知可能尚未发布），未导入")
    off, makeup, seen = [], [], set()
    for i, row in enumerate(doc["days"], start=1):
        if not isinstance(row, dict) or not {"name", "date", "isOffDay"} <= set(row):
            raise CalendarError(f"第 {i} 条缺少 name、date 或 isOffDay")
        try:
            d = date.fromisoformat(str(row["date"]))
        except ValueError:
            raise CalendarError(f"第 {i} 条日期“{row['date']}”无效，应为 YYYY-MM-DD") from None
        # a schedule may reach into the years beside it (a New Year holiday from 30 December, a make-up day)
        if not date(year - 1, 12, 1) <= d <= date(year + 1, 1, 31):
            raise CalendarError(f"第 {i} 条日期 {d} 不属于 {year} 年的安排")
        if d in seen:
            raise CalendarError(f"日期 {d} 重复出现")
        seen.add(d)
        name = str(row["name"])[:30]
        if row["isOffDay"] is True:
            off.append((d, name))
        elif row["isOffDay"] is False:  # mostly a weekend make-up day; a weekday here says it stays a working day
            makeup.append((d, name))
        else:
            raise CalendarError(f"第 {i} 条 isOffDay 应为 true 或 false")
    papers = doc.get("papers") or []
    return YearSchedule(year, tuple(off), tuple(makeup), str(papers[0])[:300] if papers else "")


def build(schedules: Iterable[YearSchedule]) -> Calendar:
    off, makeup, years = set(), set(), set()
    for s in schedules:
        years.add(s.year)
        off.update(d for d, _ in s.off_days)
        makeup.update(d for d, _ in s.makeup_days)
    return Calendar(frozenset(off), frozenset(makeup), frozenset(years))
