"""Roles, actions and the permission matrix as plain data. No Django here.

A permission is role x action; the scope (which organisation subtree) is applied separately by
`Organisation.scope_path` and the one scoping method in selectors. Minors' records need an explicit
grant on top of the role (社区矫正法 第54条: identity and file are sealed)."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class OrgKind(StrEnum):
    PROVINCE = "province"  # 省司法厅 (社区矫正管理局)
    CITY = "city"  # 市司法局
    COUNTY_AGENCY = "county_agency"  # 县级社区矫正机构
    JUDICIAL_OFFICE = "judicial_office"  # 司法所
    COURT = "court"  # 人民法院
    PROCURATORATE = "procuratorate"  # 人民检察院
    POLICE = "police"  # 公安机关
    PRISON = "prison"  # 监狱、监狱管理局 (a requester of investigations and a deciding organ of 暂予监外执行)


ORG_KIND_LABELS = {
    OrgKind.PROVINCE: "省级社区矫正机构",
    OrgKind.CITY: "市级社区矫正机构",
    OrgKind.COUNTY_AGENCY: "县级社区矫正机构",
    OrgKind.JUDICIAL_OFFICE: "司法所",
    OrgKind.COURT: "人民法院",
    OrgKind.PROCURATORATE: "人民检察院",
    OrgKind.POLICE: "公安机关",
    OrgKind.PRISON: "监狱管理机关",
}
EXTERNAL_KINDS = frozenset({OrgKind.COURT, OrgKind.PROCURATORATE, OrgKind.POLICE})

# Which kind may sit under which: the tree is province > city > county agency > judicial office.
ALLOWED_PARENT = {
    OrgKind.PROVINCE: None,
    OrgKind.CITY: OrgKind.PROVINCE,
    OrgKind.COUNTY_AGENCY: OrgKind.CITY,
    OrgKind.JUDICIAL_OFFICE: OrgKind.COUNTY_AGENCY,
    OrgKind.COURT: OrgKind.CITY,
    OrgKind.PROCURATORATE: OrgKind.CITY,
    OrgKind.POLICE: OrgKind.CITY,
    OrgKind.PRISON: OrgKind.PROVINCE,  # provincial: 省监狱管理局 and its prisons; no staff accounts here
}


class Role(StrEnum):
    COUNTY_OFFICER = "county_officer"  # 社区矫正官 (county agency)
    OFFICE_STAFF = "office_staff"  # 司法所工作人员
    AUXILIARY = "auxiliary"  # 执法辅助人员
    POLICE_SECONDEE = "police_secondee"  # 派驻民警
    SOCIAL_WORKER = "social_worker"  # 社会工作者
    VOLUNTEER = "volunteer"  # 志愿者
    CITY_SUPERVISOR = "city_supervisor"  # 市级督导
    PROVINCE_SUPERVISOR = "province_supervisor"  # 省级督导
    PROCURATOR = "procurator"  # 检察监督 (read-only)
    SYSADMIN = "sysadmin"  # 系统管理员
    BUREAU_HEAD = "bureau_head"  # 县级司法行政部门负责人 (approves electronic monitoring, 社区矫正法第29条)
    DEVICE_GATEWAY = "device_gateway"  # 定位平台接口账户: the wristband platform's machine account, sends fixes


ROLE_LABELS = {
    Role.COUNTY_OFFICER: "社区矫正机构工作人员",  # the law's words (社区矫正法 第10条); some provinces say 社区矫正官
    Role.OFFICE_STAFF: "司法所工作人员",
    Role.AUXILIARY: "执法辅助人员",
    Role.POLICE_SECONDEE: "派驻民警",
    Role.SOCIAL_WORKER: "社会工作者",
    Role.VOLUNTEER: "志愿者",
    Role.CITY_SUPERVISOR: "市级社区矫正机构工作人员",
    Role.PROVINCE_SUPERVISOR: "省级社区矫正机构工作人员",
    Role.PROCURATOR: "检察人员（监督）",
    Role.SYSADMIN: "系统管理员",
    Role.BUREAU_HEAD: "县级司法行政部门负责人",
    Role.DEVICE_GATEWAY: "定位平台接口账户",
}


class Action(StrEnum):
    SUPERVISEE_VIEW = "supervisee.view"
    SUPERVISEE_CREATE = "supervisee.create"
    SUPERVISEE_CHANGE = "supervisee.change"
    SUPERVISEE_IMPORT = "supervisee.import"
    SUPERVISEE_EXPORT = "supervisee.export"
    ORG_VIEW = "org.view"
    STAFF_VIEW = "staff.view"
    STAFF_MANAGE = "staff.manage"
    AUDIT_VIEW = "audit.view"
    # the county agency's decisions on a case (社区矫正法第9条): accept an investigation request and issue its
    # opinion, receive documents, announce, release, transfer. An office acts by entrustment (apps.cases.rules).
    CASE_DECIDE = "case.decide"
    # a province's own numbers for the deadlines the law leaves to it (dated settings, apps.cases)
    DEADLINE_SET = "deadline.set"
    # decide an application (leave, standing permits, special places, meetings) where the rules name the actor's
    # organisation as the authority (apps.supervision.rules.leave_authority)
    APPROVAL_DECIDE = "approval.decide"
    # approve, renew or end the use of an electronic monitoring device (社区矫正法第29条: the county bureau's head)
    MONITORING_APPROVE = "monitoring.approve"
    # send location fixes of the devices bound within the account's scope (POST /api/v1/pings)
    LOCATION_INGEST = "location.ingest"


A = Action
_READ = {A.SUPERVISEE_VIEW, A.ORG_VIEW}
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.COUNTY_OFFICER: frozenset(_READ | {A.SUPERVISEE_CREATE, A.SUPERVISEE_CHANGE, A.SUPERVISEE_IMPORT,
                                            A.SUPERVISEE_EXPORT, A.STAFF_VIEW, A.AUDIT_VIEW, A.CASE_DECIDE,
                                            A.APPROVAL_DECIDE}),
    Role.OFFICE_STAFF: frozenset(_READ | {A.SUPERVISEE_CREATE, A.SUPERVISEE_CHANGE, A.SUPERVISEE_EXPORT, A.STAFF_VIEW,
                                          A.APPROVAL_DECIDE}),
    Role.AUXILIARY: frozenset(_READ | {A.SUPERVISEE_CREATE, A.SUPERVISEE_CHANGE}),
    Role.POLICE_SECONDEE: frozenset(_READ),
    Role.SOCIAL_WORKER: frozenset(_READ),
    # Volunteers see only the people assigned to them; that assignment arrives with the services issue.
    Role.VOLUNTEER: frozenset({A.ORG_VIEW}),
    Role.CITY_SUPERVISOR: frozenset(_READ | {A.SUPERVISEE_EXPORT, A.STAFF_VIEW, A.AUDIT_VIEW, A.APPROVAL_DECIDE}),
    Role.PROVINCE_SUPERVISOR: frozenset(_READ | {A.SUPERVISEE_EXPORT, A.STAFF_VIEW, A.AUDIT_VIEW, A.DEADLINE_SET,
                                                 A.APPROVAL_DECIDE}),
    Role.PROCURATOR: frozenset(_READ | {A.SUPERVISEE_EXPORT, A.AUDIT_VIEW}),
    # Separation of duties: the administrator manages accounts and reads the audit trail, not case files.
    Role.SYSADMIN: frozenset({A.ORG_VIEW, A.STAFF_VIEW, A.STAFF_MANAGE, A.AUDIT_VIEW}),
    Role.BUREAU_HEAD: frozenset(_READ | {A.MONITORING_APPROVE}),
    # a machine account: it sends fixes and reads nothing (a device is told only what it sent was stored)
    Role.DEVICE_GATEWAY: frozenset({A.LOCATION_INGEST}),
}

# Roles that can hold each kind of organisation (a procurator sits in a procuratorate, and so on).
ROLES_FOR_KIND: dict[OrgKind, frozenset[Role]] = {
    OrgKind.PROVINCE: frozenset({Role.PROVINCE_SUPERVISOR, Role.SYSADMIN, Role.DEVICE_GATEWAY}),
    OrgKind.CITY: frozenset({Role.CITY_SUPERVISOR, Role.SYSADMIN, Role.DEVICE_GATEWAY}),
    OrgKind.COUNTY_AGENCY: frozenset({Role.COUNTY_OFFICER, Role.AUXILIARY, Role.POLICE_SECONDEE,
                                      Role.SOCIAL_WORKER, Role.VOLUNTEER, Role.SYSADMIN, Role.BUREAU_HEAD,
                                      Role.DEVICE_GATEWAY}),
    OrgKind.JUDICIAL_OFFICE: frozenset({Role.OFFICE_STAFF, Role.AUXILIARY, Role.SOCIAL_WORKER, Role.VOLUNTEER}),
    OrgKind.COURT: frozenset(),
    OrgKind.PROCURATORATE: frozenset({Role.PROCURATOR}),
    OrgKind.POLICE: frozenset({Role.POLICE_SECONDEE}),
}


def allowed(roles: frozenset[str] | set[str] | list[str], action: Action | str) -> bool:
    """True when any of the roles grants the action."""
    action = Action(action)
    return any(action in PERMISSIONS.get(Role(r), frozenset()) for r in roles)


@dataclass(frozen=True)
class RoleCheck:
    ok: bool
    reason: str = ""


def check_roles_for_org(roles: list[str], kind: str) -> RoleCheck:
    """A staff member's roles must exist and fit the kind of organisation they belong to."""
    if not roles:
        return RoleCheck(False, "至少需要一个角色")
    for r in roles:
        if r not in Role.__members__.values():
            return RoleCheck(False, f"未知角色：{r}")
        if Role(r) not in ROLES_FOR_KIND[OrgKind(kind)]:
            return RoleCheck(False, f"角色“{ROLE_LABELS[Role(r)]}”不能属于{ORG_KIND_LABELS[OrgKind(kind)]}")
    return RoleCheck(True)


def lockout_state(*, failed: int, max_failed: int) -> bool:
    """After max_failed consecutive failures the account is locked for a while."""
    return failed >= max_failed


def may_hold_minor_access(roles) -> bool:
    """The grant to open minors' sealed files (社区矫正法 第54条) goes only to accounts whose roles read case files."""
    return allowed(roles, Action.SUPERVISEE_VIEW)
