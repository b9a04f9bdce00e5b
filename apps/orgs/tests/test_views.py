import pytest

from apps.audit.models import AuditRecord
from apps.orgs.testing import PASSWORD, given_staff
from apps.people.testing import given_supervisee

pytestmark = pytest.mark.django_db


def test_staff_page_shows_the_tree_with_counts(client, tree):
    officer = given_staff(tree.donghu, "county_officer")
    given_supervisee(officer, office=tree.donghu_office)
    given_staff(tree.donghu_office, "office_staff", username="office_a")
    client.force_login(officer)
    html = client.get("/orgs/staff/").content.decode()
    assert "公园司法所" in html and "八一桥司法所" in html and "南浦司法所" not in html  # scope
    assert "office_a" in html
    html = client.get(f"/orgs/staff/?org={tree.donghu_office2.pk}").content.decode()
    assert "office_a" not in html and "该机构没有工作人员" in html


def test_admin_grants_minor_access_with_a_reason(client, tree):
    admin = given_staff(tree.province, "sysadmin")
    target = given_staff(tree.xihu_office, "office_staff")
    client.force_login(admin)
    r = client.post(f"/orgs/staff/{target.pk}/minor-access/", {"granted": "1", "reason": ""})
    target.refresh_from_db()
    assert r.status_code == 302 and not target.minor_access
    client.post(f"/orgs/staff/{target.pk}/minor-access/", {"granted": "1", "reason": "负责未成年人案件"})
    target.refresh_from_db()
    assert target.minor_access
    assert AuditRecord.objects.filter(action="staff.minor_access", object_id=str(target.pk)).count() == 1


def test_county_admin_cannot_reach_staff_of_another_county(client, tree):
    admin = given_staff(tree.donghu, "sysadmin")
    target = given_staff(tree.xihu_office, "office_staff")
    client.force_login(admin)
    r = client.post(f"/orgs/staff/{target.pk}/minor-access/", {"granted": "1", "reason": "越权"})
    target.refresh_from_db()
    assert r.status_code == 404 and not target.minor_access


def test_password_change(client, tree):
    user = given_staff(tree.donghu, "county_officer", username="pw_user")
    client.force_login(user)
    r = client.post("/orgs/password/", {"old": PASSWORD, "new": "1234567890", "new_again": "1234567890"})
    assert r.status_code == 422 and "数字" in r.content.decode()  # Django's validators, in Chinese
    r = client.post("/orgs/password/", {"old": PASSWORD, "new": "Gan-1", "new_again": "Gan-1"})
    assert "密码太短，至少需要 10 个字符" in r.content.decode()
    r = client.post("/orgs/password/", {"old": "wrong", "new": "Ganjiang-River-88", "new_again": "Ganjiang-River-88"})
    assert r.status_code == 422 and "原密码不正确" in r.content.decode()
    r = client.post("/orgs/password/", {"old": PASSWORD, "new": "Ganjiang-River-88", "new_again": "Ganjiang-River-88"})
    assert r.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Ganjiang-River-88")
    assert client.get("/people/").status_code == 200  # still signed in
    assert AuditRecord.objects.filter(action="auth.password_change").count() == 1


@pytest.mark.parametrize("role,org,landing", [
    ("county_officer", "donghu", "/cases/work/"),
    ("sysadmin", "province", "/orgs/staff/"),
    ("volunteer", "donghu_office", "/orgs/password/"),
])
def test_each_role_lands_on_a_page_it_may_open(client, tree, role, org, landing):
    given_staff(getattr(tree, org), role, username=f"land_{role}")
    r = client.post("/", {"username": f"land_{role}", "password": PASSWORD})
    assert r["Location"] == landing
    assert client.get(landing).status_code == 200
    assert client.get("/")["Location"] == landing


def test_admin_adds_a_staff_member_who_can_sign_in(client, tree):
    admin = given_staff(tree.donghu, "sysadmin")
    client.force_login(admin)
    bad = client.post("/orgs/staff/new/", {"username": "new_officer", "full_name": "周敏",
                                           "organisation": tree.donghu_office.pk, "roles": ["county_officer"],
                                           "password": "Tengwang-Pavilion-9"})
    assert bad.status_code == 422 and "不能属于司法所" in bad.content.decode()
    outside = client.post("/orgs/staff/new/", {"username": "new_officer", "full_name": "周敏",
                                               "organisation": tree.xihu_office.pk, "roles": ["office_staff"],
                                               "password": "Tengwang-Pavilion-9"})
    assert outside.status_code == 422 and "本辖区" in outside.content.decode()
    ok = client.post("/orgs/staff/new/", {"username": "new_officer", "full_name": "周敏", "gender": "F",
                                          "organisation": tree.donghu_office.pk, "roles": ["office_staff"],
                                          "password": "Tengwang-Pavilion-9"})
    assert ok.status_code == 302
    from apps.orgs import services

    u = services.login_attempt(username="new_officer", password="Tengwang-Pavilion-9")
    assert u.organisation == tree.donghu_office and u.roles == ["office_staff"]
    assert AuditRecord.objects.filter(action="staff.create", object_id=str(u.pk), actor=admin).exists()


def test_disabled_account_cannot_sign_in_or_use_tokens(client, tree):
    from apps.orgs import services

    admin = given_staff(tree.province, "sysadmin")
    u = given_staff(tree.donghu, "county_officer", username="leaver")
    key = services.token_issue(user=u).key
    client.force_login(admin)
    assert client.post(f"/orgs/staff/{admin.pk}/active/", {"active": "0", "reason": "x"}).status_code == 302
    admin.refresh_from_db()
    assert admin.is_active  # not yourself
    client.post(f"/orgs/staff/{u.pk}/active/", {"active": "0", "reason": "调离"})
    u.refresh_from_db()
    assert not u.is_active and services.token_user(key) is None
    with pytest.raises(services.LoginFailed):
        services.login_attempt(username="leaver", password=PASSWORD)
