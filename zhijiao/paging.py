"""Keyset paging: a page is found by seeking the index to the last row seen, not by counting past every row
before it, so page 5,000 costs what page 1 costs. Page numbers are carried in the links (`p`), and a numbered
page asked for directly (`page=N`) falls back to OFFSET, which is cheap near the start.

A cursor names the boundary row by its id alone; its sort value is read back from the same (scoped, filtered)
list. So a cursor carries nothing the reader may not see (a sealed minor's name is not in it), cannot be
crafted into a question about rows outside the list, and one that names no row of the list is ignored (the first
page), never an error."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
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


def _encode(pk: int) -> str:
    return base64.urlsafe_b64encode(str(pk).encode()).decode().rstrip("=")


def _decode(cursor: str) -> int | None:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    pk = int(text)
    return pk if 0 < pk < 2**63 else None


def _boundary(qs: QuerySet, order: Order, cursor: str) -> tuple[Any, int] | None:
    """The sort value and id of the row a cursor names, if that row is in this list."""
    pk = _decode(cursor)
    if pk is None:
        return None
    row = qs.filter(pk=pk).values_list(order.field, "id").first()
    return row if row is not None else None


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


def paginate(qs: QuerySet, *, order: Order, per: int, count: int, page: int | None = None, after: str = "",
             before: str = "", number: int | None = None, last: bool = False,
             boundary_qs: QuerySet | None = None) -> Page:
    """One page of `qs` in `order`. Give `after` or `before` (a cursor from a previous page, with its `number`),
    or `last`, or a page `number` (OFFSET), or nothing (the first page). `count` is the total, for the numbers.
    `boundary_qs` (what the reader may see, unfiltered) finds a cursor's row that has left `qs` since."""
    num_pages = max(1, -(-count // per))
    seek = None
    if after or before:
        seek = _boundary(qs, order, after or before)
        if seek is None and boundary_qs is not None:
            seek = _boundary(boundary_qs, order, after or before)
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
        p.next_cursor = _encode(rows[-1].pk)
        p.previous_cursor = _encode(rows[0].pk)
    p.window = [i for i in range(max(1, p.number - 2), min(p.num_pages, p.number + 2) + 1)]
    return p
