"""Keyset paging: a page is found by seeking the index to the last row seen, not by counting past every row
before it, so page 5,000 costs what page 1 costs. Page numbers are carried in the links (`p`), and a numbered
page asked for directly (`page=N`) falls back to OFFSET, which is cheap near the start.

A cursor is the sort key of a boundary row (its value and id), base64-encoded JSON; a cursor that does not
decode is ignored (the first page), never an error."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Q, QuerySet

MAX_OFFSET_PAGE = 100_000


@dataclass(frozen=True)
class Order:
    """Sort by `field` then id, both in the same direction."""

    field: str
    descending: bool = False

    @property
    def order_by(self) -> tuple[str, ...]:
        sign = "-" if self.descending else ""
        return (f"{sign}id",) if self.field == "id" else (f"{sign}{self.field}", f"{sign}id")

    def reversed(self) -> Order:
        return Order(self.field, not self.descending)


def _encode(value: Any, pk: int) -> str:
    v = value.isoformat() if isinstance(value, (date, datetime)) else value
    return base64.urlsafe_b64encode(json.dumps([v, pk], ensure_ascii=False).encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Any, int] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, pk = json.loads(raw)
    except (ValueError, TypeError):
        return None
    if not isinstance(pk, int) or isinstance(pk, bool) or not 0 < pk < 2**63 or not isinstance(value, (str, int)):
        return None
    return value, pk


def _value(row, field_name: str):
    obj = row
    for part in field_name.split("__"):
        obj = getattr(obj, part)
    return obj


def _seek(order: Order, value, pk) -> Q:
    op = "lt" if order.descending else "gt"
    if order.field == "id":
        return Q(**{f"id__{op}": pk})
    return Q(**{f"{order.field}__{op}": value}) | Q(**{order.field: value, f"id__{op}": pk})


@dataclass
class Page:
    rows: list
    number: int
    per: int
    count: int
    has_next: bool
    has_previous: bool
    next_cursor: str = ""
    previous_cursor: str = ""
    window: list[int] = field(default_factory=list)

    @property
    def num_pages(self) -> int:
        return max(1, -(-self.count // self.per))

    @property
    def is_last(self) -> bool:
        return not self.has_next


def paginate(qs: QuerySet, *, order: Order, per: int, count: int, page: int | None = None, after: str = "",
             before: str = "", number: int | None = None, last: bool = False) -> Page:
    """One page of `qs` in `order`. Give `after` or `before` (a cursor from a previous page, with its `number`),
    or `last`, or a page `number` (OFFSET), or nothing (the first page). `count` is the total, for the numbers."""
    num_pages = max(1, -(-count // per))
    seek = _decode(after or before) if (after or before) else None
    if seek is not None:
        value, pk = seek
        if after:
            rows = list(qs.filter(_seek(order, value, pk)).order_by(*order.order_by)[: per + 1])
            more, rows = len(rows) > per, rows[:per]
            n = min(max(1, number or 1), num_pages)
            prev = True
        else:
            rev = order.reversed()
            rows = list(qs.filter(_seek(rev, value, pk)).order_by(*rev.order_by)[: per + 1])
            prev, rows = len(rows) > per, rows[:per][::-1]
            n = min(max(1, number or 1), num_pages)
            more = True
            if not prev:
                n = 1
    elif last:
        rev = order.reversed()
        size = count - (num_pages - 1) * per if count else per
        rows = list(qs.order_by(*rev.order_by)[:size])[::-1]
        n, more, prev = num_pages, False, num_pages > 1
    else:
        n = min(max(1, page or 1), num_pages, MAX_OFFSET_PAGE)
        rows = list(qs.order_by(*order.order_by)[(n - 1) * per: n * per + 1])
        more, rows = len(rows) > per, rows[:per]
        prev = n > 1
    p = Page(rows=rows, number=n, per=per, count=count, has_next=more and bool(rows), has_previous=prev and bool(rows))
    if rows:
        p.next_cursor = _encode(_value(rows[-1], order.field), rows[-1].pk)
        p.previous_cursor = _encode(_value(rows[0], order.field), rows[0].pk)
    p.window = [i for i in range(max(1, p.number - 2), min(p.num_pages, p.number + 2) + 1)]
    return p
