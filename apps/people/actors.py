"""Who acts when it is not a staff account: the supervisee on their own case, through the portal (ADR 0010)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SelfActor:
    """The supervisee acting on their own open case from a bound phone. Services that accept it let it write on that
    one case only (another case id is not found), never read another's, and record it by these words, not by a
    staff id: audit records and records keep `actor_name`, their staff foreign keys stay empty."""

    person_id: int
    case_id: int
    org_path: str
    device: str = ""
    is_minor: bool = False

    pk = None
    username = ""
    minor_access = False
    is_active = True

    @property
    def full_name(self) -> str:
        return "社区矫正对象本人（手机端）"

    @property
    def scope_path(self) -> str:
        return self.org_path

    def can(self, action) -> bool:  # no staff action: the services that take a SelfActor say what it may do
        return False

    def __str__(self) -> str:
        return self.full_name


def staff(actor):
    """The staff account behind an actor, for a foreign key: None for the supervisee or the system."""
    return actor if getattr(actor, "pk", None) else None


def is_self(actor) -> bool:
    return isinstance(actor, SelfActor)
