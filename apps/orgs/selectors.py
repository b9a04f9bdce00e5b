"""Read queries over organisations and staff, always scoped to the reader (through apps.orgs.scope)."""
from __future__ import annotations

from django.db.models import QuerySet

from .models import Organisation, User
from .rules import Action, OrgKind
from .scope import NotFound, access, in_subtree, parse_pk, restrict

__all__ = ["NotFound", "parse_pk", "restrict", "access", "org_list", "judicial_offices_for", "staff_list",
           "access_staff", "org_in_scope"]


def org_list(*, fetched_by, kind: str | None = None) -> QuerySet[Organisation]:
    qs = restrict(Organisation.objects.all(), fetched_by, Action.ORG_VIEW)
    return qs.filter(kind=kind) if kind else qs


def org_in_scope(*, fetched_by, pk, kind: str | None = None) -> Organisation | None:
    """One organisation of the reader's jurisdiction by id, or None."""
    pk = parse_pk(pk)
    return org_list(fetched_by=fetched_by, kind=kind).filter(pk=pk).first() if pk else None


def judicial_offices_for(user, *, county=None) -> QuerySet[Organisation]:
    """The judicial offices a user may pick, optionally only those of one county agency of their scope."""
    qs = org_list(fetched_by=user, kind=OrgKind.JUDICIAL_OFFICE).select_related("parent")
    if county is not None:
        qs = qs.filter(in_subtree("path", county.path))
    return qs


def staff_list(*, fetched_by, q: str = "", role: str = "", org: Organisation | None = None) -> QuerySet[User]:
    qs = restrict(User.objects.select_related("organisation"), fetched_by, Action.STAFF_VIEW)
    if org is not None:
        qs = qs.filter(in_subtree("organisation__path", org.path))
    if q:
        from django.db.models import Q

        q = "".join(q.split())
        qs = qs.filter(Q(username__icontains=q) | Q(full_name__contains=q) | Q(phone__contains=q))
    if role:
        qs = qs.filter(roles__contains=[role]) if _json_contains_supported() else qs.filter(roles__icontains=f'"{role}"')
    return qs


def _json_contains_supported() -> bool:
    from django.db import connection

    return connection.features.supports_json_field_contains


def access_staff(*, user, pk, action: Action = Action.STAFF_MANAGE) -> User:
    return access(User, user=user, pk=pk, action=action, qs=User.objects.select_related("organisation"))
