"""Named, reproducible test data built through the services (so it is audited like real data).

    tree = given_tree()
    officer = given_staff(tree.donghu, "county_officer")

Supervisees: apps.people.testing.given_supervisee."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date

from apps.orgs.models import Organisation, User
from apps.orgs.rules import OrgKind
from apps.orgs.services import org_create, staff_create

PASSWORD = "Zhijiao@2026-test"
TODAY = date(2026, 11, 22)


@dataclass
class Tree:
    province: Organisation
    city: Organisation
    donghu: Organisation
    xihu: Organisation
    donghu_office: Organisation
    donghu_office2: Organisation
    xihu_office: Organisation
    donghu_court: Organisation
    donghu_procuratorate: Organisation
    donghu_police: Organisation
    xihu_procuratorate: Organisation


def given_tree() -> Tree:
    p = org_create(actor=None, name="江西省社区矫正管理局", kind=OrgKind.PROVINCE, parent=None, adcode="360000")
    c = org_create(actor=None, name="南昌市社区矫正管理局", kind=OrgKind.CITY, parent=p, adcode="360100")
    dh = org_create(actor=None, name="东湖区社区矫正管理局", short_name="东湖区", kind=OrgKind.COUNTY_AGENCY, parent=c,
                    adcode="360102")
    xh = org_create(actor=None, name="西湖区社区矫正管理局", short_name="西湖区", kind=OrgKind.COUNTY_AGENCY, parent=c,
                    adcode="360103")
    o1 = org_create(actor=None, name="公园司法所", kind=OrgKind.JUDICIAL_OFFICE, parent=dh, adcode="360102001")
    o2 = org_create(actor=None, name="八一桥司法所", kind=OrgKind.JUDICIAL_OFFICE, parent=dh, adcode="360102002")
    o3 = org_create(actor=None, name="南浦司法所", kind=OrgKind.JUDICIAL_OFFICE, parent=xh, adcode="360103001")
    court = org_create(actor=None, name="南昌市东湖区人民法院", kind=OrgKind.COURT, parent=c, oversees=dh, adcode="360102")
    proc = org_create(actor=None, name="南昌市东湖区人民检察院", kind=OrgKind.PROCURATORATE, parent=c, oversees=dh,
                      adcode="360102")
    pol = org_create(actor=None, name="南昌市公安局东湖分局", kind=OrgKind.POLICE, parent=c, oversees=dh, adcode="360102")
    xproc = org_create(actor=None, name="南昌市西湖区人民检察院", kind=OrgKind.PROCURATORATE, parent=c, oversees=xh,
                       adcode="360103")
    return Tree(p, c, dh, xh, o1, o2, o3, court, proc, pol, xproc)


@lru_cache(maxsize=1)
def boundaries() -> dict:
    """The real boundaries of 南昌市's districts (WGS-84), from the demo data shipped in the repository."""
    from pathlib import Path

    from .places import load_boundaries

    return load_boundaries(str(Path(__file__).resolve().parents[2] / "data" / "demo"))


def give_boundaries(*orgs: Organisation) -> None:
    """Give the test tree's counties their real outlines (东湖区 360102, 西湖区 360103)."""
    from .models import OrgBoundary

    for org in orgs:
        OrgBoundary.objects.update_or_create(organisation=org, defaults={
            "geometry": boundaries()[org.adcode]["geometry"], "source": "test", "source_crs": "GCJ02"})


_counter = [0]


def given_staff(org: Organisation, *roles: str, minor_access: bool = False, username: str | None = None) -> User:
    _counter[0] += 1
    n = "".join("零一二三四五六七八九"[int(d)] for d in str(_counter[0]))  # a name holds no digits
    return staff_create(actor=None, username=username or f"u{_counter[0]}_{roles[0]}", full_name=f"测试{n}",
                        organisation=org, roles=list(roles), password=PASSWORD, minor_access=minor_access)
