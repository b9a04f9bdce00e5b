"""Read queries over supervisees, always scoped to the reader."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from apps.orgs.rules import Action
from apps.orgs.selectors import NotFound, access, parse_pk, restrict

from . import rules
from .models import Supervisee

SORTS = {
    "name": "name", "-name": "-name",
    "start": "supervision_start", "-start": "-supervision_start",
    "end": "supervision_end", "-end": "-supervision_end",
    "office": "judicial_office__name", "-office": "-judicial_office__name",
    "type": "sentence_type", "-type": "-sentence_type",
    "level": "management_level", "-level": "-management_level",
}


@dataclass(frozen=True)
class SuperviseeFilters:
    q: str = ""
    office: str = ""
    county: str = ""
    sentence_type: str = ""
    level: str = ""
    status: str = ""
    minor: str = ""  # "", "1", "0"
    sort: str = "-start"


def supervisee_list(*, fetched_by, filters: SuperviseeFilters = SuperviseeFilters(),
                    action: Action = Action.SUPERVISEE_VIEW) -> QuerySet[Supervisee]:
    qs = restrict(Supervisee.objects.all(), fetched_by, action).select_related("judicial_office", "execution_county")
    f = filters
    if f.q:
        q = f.q.strip()
        match = Q(name__contains=q) | Q(id_number__startswith=q.upper()) | Q(phone__startswith=q)
        if not fetched_by.minor_access:
            # Sealed records (法54) are never found by name, ID or phone without the grant.
            match &= Q(is_minor=False)
        qs = qs.filter(match)
    if f.office:
        qs = qs.filter(judicial_office_id=parse_pk(f.office) or 0)
    if f.county:
        qs = qs.filter(execution_county_id=parse_pk(f.county) or 0)
    if f.sentence_type in rules.SENTENCE_LABELS:
        qs = qs.filter(sentence_type=f.sentence_type)
    if f.level in rules.LEVEL_LABELS:
        qs = qs.filter(management_level=f.level)
    if f.status in rules.STATUS_LABELS:
        qs = qs.filter(status=f.status)
    if f.minor in ("0", "1"):
        qs = qs.filter(is_minor=f.minor == "1")
    return qs.order_by(SORTS.get(f.sort, "-supervision_start"), "id")


def can_reveal(user, s: Supervisee) -> bool:
    return not s.is_minor or bool(user.minor_access)


def access_supervisee(*, user, supervisee_id, action: Action = Action.SUPERVISEE_VIEW) -> Supervisee:
    """One record, or NotFound. A minor's record needs the minor-access grant on top of scope."""
    s = access(Supervisee, user=user, pk=supervisee_id, action=action,
               qs=Supervisee.objects.select_related("judicial_office", "execution_county", "deciding_organ"))
    if not can_reveal(user, s):
        raise NotFound()
    return s


def supervisee_counts_by_org(*, fetched_by) -> dict[int, int]:
    """Supervisees in correction per judicial office and per county agency, within the reader's scope."""
    from django.db.models import Count

    rows = (restrict(Supervisee.objects.filter(status=rules.Status.ACTIVE), fetched_by, Action.SUPERVISEE_VIEW)
            .values("judicial_office_id", "execution_county_id").annotate(n=Count("id")))
    counts: dict[int, int] = {}
    for r in rows:
        for key in ("judicial_office_id", "execution_county_id"):
            counts[r[key]] = counts.get(r[key], 0) + r["n"]
    return counts


__all__ = ["NotFound", "supervisee_counts_by_org", "SuperviseeFilters", "supervisee_list", "access_supervisee", "can_reveal"]
