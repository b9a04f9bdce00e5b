"""Hooks through which the apps above people (the case lifecycle) take part in its use cases and pages without
people importing them (people sits below cases in the layers import-linter checks). An app registers in its
AppConfig.ready(). Each hook runs inside the caller's transaction: what it writes commits or rolls back with it."""
from __future__ import annotations

from typing import Callable

_case_openers: list[Callable] = []
_case_syncers: list[Callable] = []
_tab_panels: dict[str, Callable] = {}


def register_case_hooks(*, opened: Callable, changed: Callable) -> None:
    """`opened(actor=, people=[(person, initial status)], ip=)` when records are created (the form, an import, the
    demo); `changed(actor=, person=, fields=[...], ip=)` when a record's sentence or office is edited."""
    if opened not in _case_openers:
        _case_openers.append(opened)
    if changed not in _case_syncers:
        _case_syncers.append(changed)


def people_created(*, actor, people: list, ip: str = "") -> None:
    for fn in _case_openers:
        fn(actor=actor, people=people, ip=ip)


def person_changed(*, actor, person, fields: list[str], ip: str = "") -> None:
    for fn in _case_syncers:
        fn(actor=actor, person=person, fields=fields, ip=ip)


def register_tab_panel(tab: str, render: Callable) -> None:
    """`render(request, person) -> (template name, context)` fills a tab of the record page."""
    _tab_panels[tab] = render


def tab_panel(tab: str) -> Callable | None:
    return _tab_panels.get(tab)
