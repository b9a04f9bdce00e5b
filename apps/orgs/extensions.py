"""Hooks through which the apps above orgs add to its pages without orgs importing them (orgs sits below people
in the layers that import-linter checks). An app registers in its AppConfig.ready()."""
from __future__ import annotations

from typing import Callable

# (permission needed, column label, function(user) -> {organisation id: number})
_org_counters: list[tuple[str, str, Callable]] = []


def register_org_counter(*, action: str, label: str, count: Callable) -> None:
    if not any(c[2] is count for c in _org_counters):
        _org_counters.append((action, label, count))


def org_counter_for(user) -> tuple[str, dict[int, int]] | None:
    """The first counter the user may read: its label and the numbers per organisation of their scope."""
    for action, label, count in _org_counters:
        if user.can(action):
            return label, count(fetched_by=user)
    return None
