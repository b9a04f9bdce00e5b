import pytest

from apps.orgs import rules
from apps.orgs.rules import Action, Role


@pytest.mark.parametrize("role,action,allowed", [
    (Role.COUNTY_OFFICER, Action.SUPERVISEE_IMPORT, True),
    (Role.OFFICE_STAFF, Action.SUPERVISEE_IMPORT, False),
    (Role.OFFICE_STAFF, Action.SUPERVISEE_CREATE, True),
    (Role.PROCURATOR, Action.SUPERVISEE_VIEW, True),
    (Role.PROCURATOR, Action.SUPERVISEE_CHANGE, False),   # oversight is read-only
    (Role.SYSADMIN, Action.SUPERVISEE_VIEW, False),       # administrators do not read case files
    (Role.SYSADMIN, Action.STAFF_MANAGE, True),
    (Role.VOLUNTEER, Action.SUPERVISEE_VIEW, False),
    (Role.CITY_SUPERVISOR, Action.SUPERVISEE_CHANGE, False),
])
def test_permission_matrix(role, action, allowed):
    assert rules.allowed({role.value}, action) is allowed


# The whole permission table, written out: a change to who may do what must change this table too, on purpose.
#        view create change import export org  staff-view staff-manage audit decide deadline-set approval-decide
#        monitoring-approve (法29) location-ingest
PINNED = {
    "county_officer":      "V C H I E O S . A D . J . .",
    "office_staff":        "V C H . E O S . . . . J . .",
    "auxiliary":           "V C H . . O . . . . . . . .",
    "police_secondee":     "V . . . . O . . . . . . . .",
    "social_worker":       "V . . . . O . . . . . . . .",
    "volunteer":           ". . . . . O . . . . . . . .",
    "city_supervisor":     "V . . . E O S . A . . J . .",
    "province_supervisor": "V . . . E O S . A . P J . .",
    "procurator":          "V . . . E O . . A . . . . .",
    "sysadmin":            ". . . . . O S M A . . . . .",
    "bureau_head":         "V . . . . O . . . . . . M .",
    "device_gateway":      ". . . . . . . . . . . . . L",
}
COLUMNS = [Action.SUPERVISEE_VIEW, Action.SUPERVISEE_CREATE, Action.SUPERVISEE_CHANGE, Action.SUPERVISEE_IMPORT,
           Action.SUPERVISEE_EXPORT, Action.ORG_VIEW, Action.STAFF_VIEW, Action.STAFF_MANAGE, Action.AUDIT_VIEW,
           Action.CASE_DECIDE, Action.DEADLINE_SET, Action.APPROVAL_DECIDE,
           Action.MONITORING_APPROVE, Action.LOCATION_INGEST]


def test_the_permission_table_is_pinned_in_full():
    assert set(COLUMNS) == set(Action), "a new action needs a column here"
    assert set(PINNED) == {r.value for r in Role}, "a new role needs a row here"
    for role, row in PINNED.items():
        marks = row.split()
        expected = {a for a, m in zip(COLUMNS, marks) if m != "."}
        assert rules.PERMISSIONS[Role(role)] == frozenset(expected), role


def test_every_role_has_a_label_and_a_home():
    for role in Role:
        assert role in rules.ROLE_LABELS
        assert any(role in roles for roles in rules.ROLES_FOR_KIND.values())


@pytest.mark.parametrize("roles,kind,ok", [
    (["procurator"], "procuratorate", True),
    (["procurator"], "county_agency", False),
    (["office_staff"], "judicial_office", True),
    (["county_officer"], "judicial_office", False),
    ([], "judicial_office", False),
    (["wizard"], "judicial_office", False),
])
def test_roles_fit_the_organisation(roles, kind, ok):
    assert rules.check_roles_for_org(roles, kind).ok is ok


def test_lockout_after_repeated_failures():
    assert not rules.lockout_state(failed=4, max_failed=5)
    assert rules.lockout_state(failed=5, max_failed=5)
