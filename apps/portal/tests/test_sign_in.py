"""The supervisee's sign-in: the officer's one-time code binds the first phone and sets the password; a new phone
waits for the officer; failures lock out per ID number and never say whether the number is registered."""
import pytest
from django.test import override_settings

from apps.audit.models import AuditRecord
from apps.orgs.models import LoginThrottle
from apps.orgs.testing import given_staff
from apps.people.services import InputErrors
from apps.people.testing import given_supervisee
from apps.portal import services
from apps.portal.models import Device

PW = "Qing2026abc"


@pytest.fixture
def person(tree, officer):
    return given_supervisee(officer, office=tree.donghu_office, status="active")


def _first(person, officer, key=""):
    code = services.code_issue(actor=officer, person_id=person.pk).code
    return services.sign_in(id_number=person.id_number, code=code, new_password=PW, device_key=key,
                            user_agent="Mozilla/5.0 (Linux; Android 12; M2004 Build/X) Chrome/120.0")


def test_the_code_binds_the_phone_and_sets_the_password(person, officer):
    s = _first(person, officer)
    assert s.new_key and s.device.state == Device.State.ACTIVE and s.account.activated_at
    again = services.sign_in(id_number=person.id_number.lower(), password=PW, device_key=s.new_key)
    assert again.device.pk == s.device.pk and not again.new_key
    assert services.session_device(again.account.pk, s.new_key) is not None
    with pytest.raises(services.SignInFailed):  # the code is spent
        services.sign_in(id_number=person.id_number, code="000000", new_password=PW)
    assert AuditRecord.objects.filter(action="portal.login").count() == 2
    assert not AuditRecord.objects.filter(summary__contains=person.id_number).exists()


def test_a_weak_new_password_is_refused_and_the_code_kept(person, officer):
    code = services.code_issue(actor=officer, person_id=person.pk).code
    with pytest.raises(services.SignInFailed) as e:
        services.sign_in(id_number=person.id_number, code=code, new_password="12345678")
    assert "连续" in e.value.message and not Device.objects.exists()
    assert services.sign_in(id_number=person.id_number, code=code, new_password=PW).device.state == "active"


def test_a_new_phone_waits_for_the_officer_and_an_unbound_phone_is_out(person, officer):
    first = _first(person, officer)
    other = services.sign_in(id_number=person.id_number, password=PW, device_key="")
    assert other.device.state == Device.State.PENDING and other.new_key
    assert services.session_device(other.account.pk, other.new_key) is None
    services.device_decide(actor=officer, device_id=other.device.pk, approve=True)
    assert services.session_device(other.account.pk, other.new_key) is not None
    services.device_decide(actor=officer, device_id=first.device.pk, approve=False)
    assert services.session_device(first.account.pk, first.new_key) is None
    with pytest.raises(InputErrors):
        services.device_decide(actor=officer, device_id=first.device.pk, approve=True)


@override_settings(ZHIJIAO_MAX_FAILED_LOGINS=3, ZHIJIAO_LOCKOUT_MINUTES=15)
def test_lock_out_per_id_number_alike_for_unknown_numbers(person, officer):
    s = _first(person, officer)
    answers = []
    for idn in (person.id_number, "110101199003077777"):
        for _ in range(3):
            with pytest.raises(services.SignInFailed) as e:
                services.sign_in(id_number=idn, password="wrong-password", device_key=s.new_key)
            answers.append(e.value.message)
    assert answers[:3] == answers[3:]  # a registered number and an unknown one get the same answers
    assert "锁定" in answers[2] or "分钟后再试" in answers[2]
    with pytest.raises(services.SignInFailed) as e:
        services.sign_in(id_number=person.id_number, password=PW, device_key=s.new_key)
    assert "分钟后再试" in e.value.message
    assert not LoginThrottle.objects.filter(username__contains=person.id_number).exists()
    services.code_issue(actor=officer, person_id=person.pk)  # the officer's new code lifts the lock
    assert services.sign_in(id_number=person.id_number, password=PW, device_key=s.new_key)


def test_out_of_scope_staff_cannot_issue_codes(person, tree):
    from apps.orgs.scope import NotFound

    stranger = given_staff(tree.xihu_office, "office_staff")
    with pytest.raises(NotFound):
        services.code_issue(actor=stranger, person_id=person.pk)


def test_no_code_for_a_person_not_under_supervision(tree, officer):
    from apps.cases.models import Case

    p = given_supervisee(officer, office=tree.donghu_office)
    Case.objects.filter(person=p).update(is_open=False)  # corrections ended
    with pytest.raises(InputErrors):
        services.code_issue(actor=officer, person_id=p.pk)


def test_the_officers_message_reaches_the_phone_and_is_read_once(person, officer):
    from apps.portal.models import Message

    s = _first(person, officer)
    with pytest.raises(InputErrors):
        services.message_send(actor=officer, person_id=person.pk, text="  ")
    m = services.message_send(actor=officer, person_id=person.pk, text="明天上午9点到司法所参加集中教育")
    me = services.actor_for(s.account, s.device)
    assert services.messages_read(actor=me, ids=[m.pk]) == 1 and services.messages_read(actor=me, ids=[m.pk]) == 0
    assert Message.objects.get().read_at is not None


def test_the_phone_writes_on_its_own_case_only(person, officer, tree):
    from apps.orgs.scope import NotFound
    from apps.supervision import services as supervision

    other = given_supervisee(officer, office=tree.donghu_office, status="active")
    s = _first(person, officer)
    me = services.actor_for(s.account, s.device)
    from apps.cases.models import Case

    theirs = Case.objects.get(person=other, is_open=True)
    with pytest.raises(NotFound):
        supervision.record_add(actor=me, case_id=theirs.pk, kind="thought_report", device=me.device,
                               data={"client_id": "t1", "text": "思想汇报", "channel": "portal"})
    ok = supervision.record_add(actor=me, case_id=me.case_id, kind="thought_report", device=me.device,
                                data={"client_id": "t1", "text": "本月思想汇报", "channel": "portal"})
    assert ok.created and ok.record.recorded_by is None and ok.record.recorder_name == "社区矫正对象本人（手机端）"
