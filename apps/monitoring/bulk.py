"""PostgreSQL array literals for statements that take a column of a thousand values as one parameter
(`unnest(%s::float8[])`, `= ANY(%s::bigint[])`). psycopg adapts a Python list element by element in Python
(~9 ms for a thousand values); a literal is built in C string joins (~0.1 ms) and read by the server's own array
input. Every value is written so that the server reads it back exactly: integers and floats by `repr`, texts
quoted, times in ISO 8601 with their offset, bytes as hex for `decode(x, 'hex')`; None is NULL."""
from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime


def ints(values: Iterable) -> str:
    values = list(values)
    if None not in values and all(type(v) is int for v in values):
        return "{" + ",".join(map(str, values)) + "}"
    return "{" + ",".join("NULL" if v is None else str(int(v)) for v in values) + "}"


def floats(values: Iterable) -> str:
    values = list(values)
    if None not in values:
        try:
            s = ",".join(map(repr, map(float, values)))
        except (TypeError, ValueError):
            s = "n"
        if "n" not in s:  # no nan, no inf: the usual case, joined in C
            return "{" + s + "}"
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
            continue
        v = float(v)
        out.append(repr(v) if math.isfinite(v) else ("NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")))
    return "{" + ",".join(out) + "}"


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def texts(values: Iterable) -> str:
    return "{" + ",".join("NULL" if v is None else _quote(str(v)) for v in values) + "}"


def times(values: Iterable) -> str:
    """Aware datetimes (naive ones are refused: the server would read them in its own time zone)."""
    out = []
    for v in values:
        if v is None:
            out.append("NULL")
        elif not isinstance(v, datetime) or v.tzinfo is None:
            raise ValueError(f"an aware datetime is needed, not {v!r}")
        else:
            out.append('"' + v.isoformat() + '"')
    return "{" + ",".join(out) + "}"


def hexes(values: Iterable) -> str:
    """bytes as hex texts, for `decode(unnest(%s::text[]), 'hex')`."""
    return "{" + ",".join("NULL" if v is None else '"' + bytes(v).hex() + '"' for v in values) + "}"


def bools(values: Iterable) -> str:
    return "{" + ",".join("NULL" if v is None else ("t" if v else "f") for v in values) + "}"


def run(sql: str, params: list, *, fetch: bool = False):
    """Run one statement on PostgreSQL with its parameters bound by the server (the literals above are sent as they
    are; Django's cursor would quote half a megabyte of them into the text of the statement first), inside the
    caller's transaction. Returns the rows when `fetch`, else the number of rows changed."""
    import psycopg
    from django.db import connection

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cur:
        cur.execute(sql, params)
        return cur.fetchall() if fetch else cur.rowcount
