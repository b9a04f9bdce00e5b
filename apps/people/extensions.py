"""Hooks through which the apps above people (the case lifecycle) take part in its use cases and pages without
people importing them (people sits below cases in the layers import-linter checks). An app registers in its
AppConfig.ready(). Each hook runs inside the caller's transaction: what it writes commits or rolls back with it."""
from __future__ import annotations

from typing import Callable

_case_openers: list[Callable] = []
_case_syncers: list[Callable] = []
_readmitters: list[Callable] = []
_readmit_checks: list[Callable] = []
_team_watchers: list[Callable] = []
_tab_panels: dict[str, Callable] = {}


def register_case_hooks(*, opened: Callable, changed: Callable, readmitted: Callable,
                        readmit_check: Callable | None = None, team_changed: Callable | None = None) -> None:
    """`opened(actor=, people=[...], ip=)` when records are created (the form, an import, the demo), each at the
    stage its `status` gives; `changed(actor=, person=, fields=[...], ip=)` when a record's sentence or office is
    edited; `readmitted(actor=, person=, ip=)` when a person whose corrections ended is registered again;
    `team_changed(actor=, person=, ip=)` when a staff account joins or leaves the correction team."""
    if opened not in _case_openers:
        _case_openers.append(opened)
    if changed not in _case_syncers:
        _case_syncers.append(changed)
    if readmitted not in _readmitters:
        _readmitters.append(readmitted)
    if readmit_check is not None and readmit_check not in _readmit_checks:
        _readmit_checks.append(readmit_check)
    if team_changed is not None and team_changed not in _team_watchers:
        _team_watchers.append(team_changed)


def team_changed(*, actor, person, ip: str = "") -> None:
    for fn in _team_watchers:
        fn(actor=actor, person=person, ip=ip)


def people_created(*, actor, people: list, ip: str = "") -> None:
    for fn in _case_openers:
        fn(actor=actor, people=people, ip=ip)


def person_changed(*, actor, person, fields: list[str], ip: str = "") -> None:
    for fn in _case_syncers:
        fn(actor=actor, person=person, fields=fields, ip=ip)


def readmission_refusal(person) -> str | None:
    """Why the apps above say this person may not be registered again, or None."""
    for fn in _readmit_checks:
        why = fn(person)
        if why:
            return why
    return None


def person_readmitted(*, actor, person, ip: str = "") -> None:
    for fn in _readmitters:
        fn(actor=actor, person=person, ip=ip)


def register_tab_panel(tab: str, render: Callable) -> None:
    """`render(request, person) -> (template name, context)` fills a tab of the record page."""
    _tab_panels[tab] = render


def tab_panel(tab: str) -> Callable | None:
    return _tab_panels.get(tab)


_demo_steps: list[Callable] = []


def register_demo_step(step: Callable) -> None:
    """`step(plan=, orgs=, users=, data_dir=)` runs at the end of `manage.py seed_demo` (the case stages)."""
    if step not in _demo_steps:
        _demo_steps.append(step)


def demo_steps() -> list[Callable]:
    return list(_demo_steps)
