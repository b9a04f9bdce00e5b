"""The one scoping method. Every list and API reads through `restrict`; single records through
`access_*` helpers that answer "not found" for what is missing and for what is out of scope alike."""
from __future__ import annotations

from django.db.models import Model, QuerySet

from .models import Organisation, User
from .rules import Action, OrgKind


class NotFound(Exception):
    """Same error, same message, whether the record is missing or outside the caller's jurisdiction."""

    message = "记录不存在或您无权查看"


MAX_PK = 2**63 - 1


def parse_pk(value) -> int | None:
    """An id from a URL, a query string or a form: ASCII digits within the database's range, else None.
    ("²".isdigit() is True and 10**30 overflows SQLite; neither may become a 500.)"""
    text = str(value if value is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        return None
    n = int(text)
    return n if 0 < n <= MAX_PK else None


def restrict(qs: QuerySet, user, action: Action | str) -> QuerySet:
    """Limit a queryset to what `user` may do `action` on: nothing without the permission, otherwise the
    caller's organisation subtree. Models declare `SCOPE_FIELD`, the path that places a row in the tree."""
    if not getattr(user, "is_authenticated", False) or not user.can(action):
        return qs.none()
    field = getattr(qs.model, "SCOPE_FIELD", None)
    if field is None:
        raise TypeError(f"{qs.model.__name__} has no SCOPE_FIELD; it cannot be listed through restrict()")
    return qs.filter(**{f"{field}__startswith": user.scope_path})


def access(model: type[Model], *, user, pk, action: Action | str, qs: QuerySet | None = None) -> Model:
    pk = parse_pk(pk)
    if pk is None:
        raise NotFound()
    obj = restrict(qs if qs is not None else model.objects.all(), user, action).filter(pk=pk).first()
    if obj is None:
        raise NotFound()
    return obj


def org_list(*, fetched_by, kind: str | None = None) -> QuerySet[Organisation]:
    qs = restrict(Organisation.objects.all(), fetched_by, Action.ORG_VIEW)
    return qs.filter(kind=kind) if kind else qs


def judicial_offices_for(user) -> QuerySet[Organisation]:
    return org_list(fetched_by=user, kind=OrgKind.JUDICIAL_OFFICE).select_related("parent")


def staff_list(*, fetched_by) -> QuerySet[User]:
    return restrict(User.objects.select_related("organisation"), fetched_by, Action.STAFF_VIEW)

