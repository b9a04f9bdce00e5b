"""Jurisdiction: the one place that decides whether a row lies inside a user's part of the organisation tree.

Every list reads through `restrict`, every single record through `access`, and every check after a write
through `within` or `require_within`; nothing else compares organisation paths (ADR 0001).

A path is the chain of zero-padded ids from the root ("/00000001/00000005/"). A subtree is the range
[path, path[:-1] + "0"): '/' sorts just below '0', so every descendant sorts inside it and nothing else does.
A range, unlike `startswith`, lets SQLite seek its index; on PostgreSQL the path columns use the "C" collation
(migrations orgs 0002, people 0002) so the range means the same there."""
from __future__ import annotations

from django.db import connections
from django.db.models import Model, Q, QuerySet

from .rules import Action

NOWHERE = "/nowhere/"  # the scope of a user without an organisation: matches no row


class NotFound(Exception):
    """Same error, same message, whether the record is missing or outside the caller's jurisdiction."""

    message = "记录不存在或您无权查看"


class OutOfScope(PermissionError):
    """A change would put a record outside the actor's jurisdiction (the record itself was inside)."""


MAX_PK = 2**63 - 1


def parse_pk(value) -> int | None:
    """An id from a URL, a query string or a form: ASCII digits within the database's range, else None.
    ("²".isdigit() is True and 10**30 overflows SQLite; neither may become a 500.)"""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    n = int(text)
    return n if 0 < n <= MAX_PK else None


def subtree_bounds(path: str) -> tuple[str, str]:
    return path, path[:-1] + "0"


def in_subtree(field: str, path: str) -> Q:
    """Rows whose `field` (a path) lies in the subtree rooted at `path`, as an index range."""
    low, high = subtree_bounds(path)
    return Q(**{f"{field}__gte": low, f"{field}__lt": high})


def _scope_of(user_or_path) -> str:
    return user_or_path if isinstance(user_or_path, str) else user_or_path.scope_path


def within(user_or_path, path: str | None) -> bool:
    """Is `path` (an organisation's, or a record's org_path) inside the user's scope (or under that path)?"""
    if not path:
        return False
    low, high = subtree_bounds(_scope_of(user_or_path))
    return low <= path < high


def require_within(user, path: str | None, message: str = "不在您的辖区内") -> None:
    if not within(user, path):
        raise OutOfScope(message)


def _broad(path: str) -> bool:
    """A province or a city: a scope that holds most rows of an installation."""
    return path.count("/") - 2 <= 1


def restrict(qs: QuerySet, user, action: Action | str) -> QuerySet:
    """Limit a queryset to what `user` may do `action` on: nothing without the permission, otherwise the
    caller's organisation subtree. Models declare `SCOPE_FIELD`, the path that places a row in the tree.

    SQLite plans without statistics of value ranges: given an index range on the path it seeks it even when the
    range is a whole city, then sorts every row for one page (115 ms at 100,000). For a province or a city the
    same subtree test is written so that it cannot seek (a prefix LIKE), and SQLite walks the sort's index
    instead, stopping after one page (13 ms). PostgreSQL keeps statistics and gets the range always."""
    if not getattr(user, "is_authenticated", False) or not user.can(action):
        return qs.none()
    field = getattr(qs.model, "SCOPE_FIELD", None)
    if field is None:
        raise TypeError(f"{qs.model.__name__} has no SCOPE_FIELD; it cannot be listed through restrict()")
    path = user.scope_path
    scope_q = getattr(qs.model, "scope_q", None)
    if scope_q is not None:  # a model whose place in the tree takes more than one path (the audit log)
        return qs.filter(scope_q(path, in_subtree))
    if _broad(path) and qs.db == "default" and connections[qs.db].vendor == "sqlite":
        return qs.filter(**{f"{field}__startswith": path})
    return qs.filter(in_subtree(field, path))


def access(model: type[Model], *, user, pk, action: Action | str, qs: QuerySet | None = None) -> Model:
    """One row by id, inside the user's scope and permission, or NotFound (the same for missing)."""
    pk = parse_pk(pk)
    if pk is None:
        raise NotFound()
    obj = restrict(qs if qs is not None else model.objects.all(), user, action).filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj
