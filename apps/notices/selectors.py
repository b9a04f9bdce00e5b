"""The inbox: notices addressed to the reader's organisation (or the county agency above the reader's office)."""
from __future__ import annotations

from django.db.models import QuerySet

from apps.orgs.rules import Action

from .models import Notice


def _mine(user) -> QuerySet:
    org = user.organisation
    if org is None or not user.can(Action.SUPERVISEE_VIEW):
        return Notice.objects.none()
    ids = [int(p) for p in org.path.strip("/").split("/") if p]  # own organisation and those above it
    qs = Notice.objects.filter(to_org_id__in=ids)
    if not user.minor_access:
        qs = qs.exclude(is_minor=True)
    return qs


def inbox(*, user, unread: bool = False, limit: int = 200) -> list[Notice]:
    qs = _mine(user).select_related("from_org", "to_org")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return list(qs.order_by("-id")[:limit])


def unread_count(user) -> int:
    return _mine(user).filter(read_at__isnull=True).count()


def sent_about(ref: str) -> list[Notice]:
    """What was sent about a matter ("request:12"), for the sender's page: whom, when, whether read."""
    return list(Notice.objects.filter(ref=ref).select_related("to_org", "document").order_by("id"))
