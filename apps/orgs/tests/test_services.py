from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.orgs import services
from apps.orgs.models import ApiToken
from apps.orgs.testing import PASSWORD, given_staff

pytestmark = pytest.mark.django_db


def test_password_is_hashed_with_argon2(tree, settings):
    settings.PASSWORD_HASHERS = [h for h in settings.PASSWORD_HASHERS if "MD5" not in h]  # the installation's
    u = given_staff(tree.donghu, "county_officer")
    assert u.password.startswith("argon2")


def test_login_locks_after_repeated_failures(tree, settings):
    settings.ZHIJIAO_MAX_FAILED_LOGINS = 3
    u = given_staff(tree.donghu, "county_officer", username="zhang")
    now = timezone.now()
    for expected in ("再失败 2 次", "再失败 1 次"):
        with pytest.raises(services.LoginFailed, match=expected):
            services.login_attempt(username="zhang", password="wrong-password", now=now)
    with pytest.raises(services.LoginFailed, match="分钟后再试"):
        services.login_attempt(username="zhang", password="wrong-password", now=now)
    # even the right password is refused while locked
    with pytest.raises(services.LoginFailed, match="分钟后再试"):
        services.login_attempt(username="zhang", password=PASSWORD, now=now + timedelta(minutes=1))
    later = now + timedelta(minutes=settings.ZHIJIAO_LOCKOUT_MINUTES + 1)
    assert services.login_attempt(username="zhang", password=PASSWORD, now=later) == u
    actions = list(AuditRecord.objects.filter(object_type="user", object_id=str(u.pk)).values_list("action", flat=True))
    assert actions.count("auth.login_failed") == 3 and "auth.login_locked" in actions and actions[-1] == "auth.login"
    # a success resets the count
    with pytest.raises(services.LoginFailed, match="再失败 2 次"):  # counting starts again
        services.login_attempt(username="zhang", password="wrong-password", now=later)


def test_unknown_and_known_names_get_the_same_answers(tree, settings):
    """An outsider cannot tell which user names exist: same messages, same lock-out, one hash each."""
    settings.ZHIJIAO_MAX_FAILED_LOGINS = 3
    given_staff(tree.donghu, "county_officer", username="real_name")
    now = timezone.now()

    def answers(username):
        out = []
        for _ in range(4):
            with pytest.raises(services.LoginFailed) as exc:
                services.login_attempt(username=username, password="wrong-password", now=now)
            out.append(exc.value.message)
        return out

    assert answers("real_name") == answers("no_such_name")
    assert AuditRecord.objects.filter(action="auth.login_failed", summary__contains="no_such_name").count() == 3


def test_tokens_are_stored_hashed_expire_and_revoke(tree, settings):
    u = given_staff(tree.donghu, "county_officer")
    issued = services.token_issue(user=u, name="kiosk")
    tok = ApiToken.objects.get()
    assert issued.key not in (tok.key_hash, tok.prefix) and len(tok.key_hash) == 64
    assert services.token_user(issued.key) == u
    assert services.token_user(issued.key, now=timezone.now() + timedelta(days=settings.API_TOKEN_DAYS + 1)) is None
    assert services.token_user("zj_not-a-token") is None
    assert services.token_revoke(user=u, key=issued.key)
    assert services.token_user(issued.key) is None


def test_inactive_user_token_is_refused(tree):
    u = given_staff(tree.donghu, "county_officer")
    issued = services.token_issue(user=u)
    u.is_active = False
    u.save()
    assert services.token_user(issued.key) is None


def test_staff_create_checks_roles_and_password(tree):
    with pytest.raises(services.StaffError) as exc:
        services.staff_create(actor=None, username="p1", full_name="张三", organisation=tree.donghu,
                              roles=["procurator"], password="short")
    assert "roles" in exc.value.errors and "password" in exc.value.errors


def test_only_administrators_grant_minor_access_with_a_reason(tree):
    admin = given_staff(tree.province, "sysadmin")
    officer = given_staff(tree.donghu, "county_officer")
    with pytest.raises(PermissionError):
        services.staff_set_minor_access(actor=officer, user=officer, granted=True, reason="需要")
    with pytest.raises(services.StaffError):
        services.staff_set_minor_access(actor=admin, user=officer, granted=True, reason=" ")
    services.staff_set_minor_access(actor=admin, user=officer, granted=True, reason="负责未成年人案件")
    officer.refresh_from_db()
    assert officer.minor_access
    rec = AuditRecord.objects.filter(action="staff.minor_access").get()
    assert rec.before == {"minor_access": False} and "负责未成年人案件" in rec.summary


def test_minor_access_goes_only_to_roles_that_read_case_files(tree):
    admin = given_staff(tree.province, "sysadmin")
    for role, org in (("volunteer", tree.donghu_office), ("sysadmin", tree.city)):
        u = given_staff(org, role)
        with pytest.raises(services.StaffError) as exc:
            services.staff_set_minor_access(actor=admin, user=u, granted=True, reason="需要")
        assert "不能授予" in exc.value.errors["granted"]
    with pytest.raises(services.StaffError):
        services.staff_set_minor_access(actor=admin, user=admin, granted=True, reason="需要")
    police = given_staff(tree.donghu_police, "police_secondee")
    services.staff_set_minor_access(actor=admin, user=police, granted=True, reason="办理未成年人案件")


def test_a_new_account_is_checked_field_by_field_all_at_once(tree):
    admin = given_staff(tree.province, "sysadmin")
    with pytest.raises(services.StaffError) as exc:
        services.staff_create(actor=admin, username="  ", full_name="<script>", organisation=None, roles=[],
                              password="short", phone="12345")
    assert {"username", "full_name", "organisation", "phone", "password"} <= set(exc.value.errors)
    with pytest.raises(services.StaffError) as exc:
        services.staff_create(actor=admin, username="x" * 151, full_name="张三", organisation=tree.donghu_office,
                              roles=["office_staff"], password="Bayi-Square-2026")
    assert "150" in exc.value.errors["username"]
    u = services.staff_create(actor=admin, username="zhang.san", full_name="张三", organisation=tree.donghu_office,
                              roles=["office_staff"], password="Bayi-Square-2026", phone="+86 138 0791 0001")
    assert u.phone == "13807910001" and u.must_change_password


def test_org_tree_paths_and_parent_rules(tree):
    assert tree.donghu_office.path.startswith(tree.donghu.path) and tree.donghu.path.startswith(tree.city.path)
    assert tree.donghu_procuratorate.scope_path == tree.donghu.path
    with pytest.raises(services.StaffError):
        services.org_create(actor=None, name="错挂司法所", kind="judicial_office", parent=tree.city)
    with pytest.raises(services.StaffError):
        services.org_create(actor=None, name="无主法院", kind="court", parent=tree.city)


def test_issue_token_command_prints_a_working_token(tree, capsys):
    from django.core.management import call_command

    u = given_staff(tree.donghu, "county_officer", username="kiosk_acct")
    call_command("issue_token", "kiosk_acct", "--name", "kiosk-01")
    key = capsys.readouterr().out.split()[0]
    assert services.token_user(key) == u
    assert ApiToken.objects.get().name == "kiosk-01"


def test_a_real_installation_starts_with_the_tree_and_an_administrator(db, monkeypatch, capsys):
    from django.core.management import call_command

    from apps.orgs.models import Organisation, User
    from apps.people.models import Supervisee

    call_command("seed_demo", "--orgs-only")
    assert Organisation.objects.filter(kind="county_agency").count() == 9 and Supervisee.objects.count() == 0
    assert User.objects.count() == 0
    monkeypatch.setenv("ZHIJIAO_NEW_PASSWORD", "Poyang-Lake-2026")
    call_command("create_staff", "root", "--full-name", "管理员", "--org", "360000", "--kind", "province",
                 "--role", "sysadmin")
    u = services.login_attempt(username="root", password="Poyang-Lake-2026")
    assert u.organisation.adcode == "360000" and u.roles == ["sysadmin"]
    from django.core.management.base import CommandError

    monkeypatch.setenv("ZHIJIAO_NEW_PASSWORD", "123")
    with pytest.raises(CommandError, match="password"):
        call_command("create_staff", "weak", "--full-name", "弱", "--org", "360000", "--kind", "province",
                     "--role", "sysadmin")
