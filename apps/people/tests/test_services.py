"""Supervisee use cases against a real database: each writes its audit record, bad input writes nothing."""
from datetime import date

import pytest

from apps.audit.models import AuditRecord
from apps.audit.services import audit_seal, audit_verify
from apps.orgs.selectors import NotFound
from apps.orgs.testing import TODAY, given_staff
from apps.people.testing import given_supervisee, supervisee_data
from apps.people import services
from apps.people.models import Supervisee
from apps.people.selectors import SuperviseeFilters, access_supervisee, supervisee_list

pytestmark = pytest.mark.django_db


def counts():
    return Supervisee.objects.count(), AuditRecord.objects.count()


def test_create_computes_the_period_and_audits(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    assert (s.supervision_start, s.supervision_end) == (date(2026, 9, 12), date(2027, 3, 11))
    assert s.execution_county == tree.donghu and s.org_path == tree.donghu_office.path
    assert s.birth_date == date(1990, 5, 17) and s.gender == "M" and not s.is_minor
    rec = AuditRecord.objects.filter(action="supervisee.create", object_id=str(s.pk)).get()
    assert rec.actor == officer and rec.after["crime"] == "危险驾驶罪"
    assert s.id_number not in str(rec.after)  # ID numbers never reach the log in clear
    assert audit_seal().sealed >= 1 and audit_verify().ok


@pytest.mark.parametrize("override,field,message", [
    ({"id_number": "36010219900517001X"}, "id_number", "校验码"),
    ({"effective_date": "2026-08-01"}, "effective_date", "不能早于"),
    ({"name": "<script>alert(1)</script>"}, "name", "不能包含"),
    ({"residence_address": "<img src=x onerror=alert(1)>"}, "residence_address", "尖括号"),
    ({"judgment_date": "2026-13-01"}, "judgment_date", "格式不正确"),
    ({"judgment_date": "2027-01-01", "effective_date": "2027-01-02"}, "judgment_date", "晚于今天"),
    ({"sentence_type": "死缓"}, "sentence_type", "无效"),
    ({"term_months": ""}, "term_months", "缓刑考验期"),
    ({"gender": "F"}, "gender", "不一致"),
    ({"ethnicity": "火星族"}, "ethnicity", "56个民族"),
    ({"phone": "12345"}, "phone", "格式不正确"),
    ({"judicial_office": "999999"}, "judicial_office", "不在您的辖区"),
])
def test_bad_input_gets_a_chinese_error_and_writes_nothing(tree, officer, override, field, message):
    before = counts()
    with pytest.raises(services.InputErrors) as exc:
        services.supervisee_create(actor=officer, data=supervisee_data(tree.donghu_office, **override), today=TODAY)
    assert message in exc.value.errors[field]
    assert counts() == before


def test_duplicate_id_number_is_refused(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    before = counts()
    with pytest.raises(services.InputErrors) as exc:
        services.supervisee_create(actor=officer, data=supervisee_data(tree.donghu_office, id_number=s.id_number),
                                   today=TODAY)
    assert "已有登记" in exc.value.errors["id_number"]
    assert Supervisee.objects.count() == before[0]
    # the answer reveals that the person is registered somewhere, so the question itself is logged
    probe = AuditRecord.objects.get(action="supervisee.id_lookup")
    assert probe.actor == officer and probe.object_id == str(s.pk) and AuditRecord.objects.count() == before[1] + 1


def test_full_width_digits_cannot_register_the_same_person_twice(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    wide = s.id_number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))
    with pytest.raises(services.InputErrors) as exc:
        services.supervisee_create(actor=officer, data=supervisee_data(tree.donghu_office, id_number=wide),
                                   today=TODAY)
    assert "已有登记" in exc.value.errors["id_number"]


@pytest.mark.parametrize("override,field", [
    ({"term_months": "nan"}, "term_months"), ({"term_months": "inf"}, "term_months"),
    ({"term_months": "99999999999"}, "term_months"), ({"detention_days": "999999999999"}, "detention_days"),
    ({"term_months": "6.5"}, "term_months"), ({"judicial_office": "²"}, "judicial_office"),
    ({"judicial_office": "99999999999999999999999"}, "judicial_office"), ({"name": 12345}, "name"),
    ({"judgment_date": "0001-01-01"}, "judgment_date"), ({"residence_address": "=HYPERLINK(\"x\")"}, "residence_address"),
    ({"residence_address": "八一大道\u202e001"}, "residence_address"), ({"phone": "１３８０７９１０００１x"}, "phone"),
])
def test_odd_values_are_clear_errors_not_crashes(tree, officer, override, field):
    before = counts()
    with pytest.raises(services.InputErrors) as exc:
        services.supervisee_create(actor=officer, data=supervisee_data(tree.donghu_office, **override), today=TODAY)
    assert field in exc.value.errors
    assert counts() == before


def test_office_outside_the_officers_county_is_refused(tree, officer):
    before = counts()
    with pytest.raises(services.InputErrors) as exc:
        services.supervisee_create(actor=officer, data=supervisee_data(tree.xihu_office), today=TODAY)
    assert "不在您的辖区" in exc.value.errors["judicial_office"]
    assert counts() == before


def test_read_only_roles_cannot_create(tree):
    procurator = given_staff(tree.donghu_procuratorate, "procurator")
    with pytest.raises(services.NotPermitted):
        services.supervisee_create(actor=procurator, data=supervisee_data(tree.donghu_office), today=TODAY)
    assert Supervisee.objects.count() == 0


def test_update_records_before_and_after(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    services.supervisee_update(actor=officer, supervisee=s, data={"phone": "13907910002",
                                                                  "judicial_office": str(tree.donghu_office2.pk)},
                               today=TODAY)
    s.refresh_from_db()
    assert s.phone == "13907910002" and s.org_path == tree.donghu_office2.path
    rec = AuditRecord.objects.filter(action="supervisee.update").get()
    assert rec.before == {"phone": "13807910001", "judicial_office": tree.donghu_office.pk}
    assert rec.after == {"phone": "13907910002", "judicial_office": tree.donghu_office2.pk}


def test_update_with_no_change_writes_no_record(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    n = AuditRecord.objects.count()
    services.supervisee_update(actor=officer, supervisee=s, data={"phone": s.phone}, today=TODAY)
    assert AuditRecord.objects.count() == n


def test_correcting_an_id_number_is_recorded_even_when_masks_match(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    from apps.people.testing import id_number

    # another valid number with the same first digits (not the one the shared counter happened to give this person)
    other = next(n for n in (id_number("360102", date(1990, 5, 17), k) for k in (321, 322)) if n != s.id_number)
    assert other[:4] == s.id_number[:4]
    services.supervisee_update(actor=officer, supervisee=s, data={"id_number": other}, today=TODAY)
    rec = AuditRecord.objects.filter(action="supervisee.update").get()
    assert "id_number" in rec.after and other not in str(rec.after)


def test_bad_update_changes_nothing(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    before = counts()
    with pytest.raises(services.InputErrors):
        services.supervisee_update(actor=officer, supervisee=s, data={"phone": "13907910002", "name": "x<y"},
                                   today=TODAY)
    s.refresh_from_db()
    assert s.phone == "13807910001" and counts() == before


def test_import_is_all_or_nothing(tree, officer):
    good = [supervisee_data(tree.donghu_office) for _ in range(3)]
    bad = supervisee_data(tree.donghu_office, id_number="36010219900517001X")
    before = counts()
    with pytest.raises(services.ImportRefused) as exc:
        services.supervisee_import(actor=officer, rows=list(enumerate(good + [bad], start=2)), today=TODAY)
    assert [n for n, _ in exc.value.problems] == [5] and "校验码" in str(exc.value.problems)
    assert counts() == before
    result = services.supervisee_import(actor=officer, rows=list(enumerate(good, start=2)), today=TODAY)
    assert len(result.created) == 3 and Supervisee.objects.count() == 3
    assert AuditRecord.objects.filter(action="supervisee.import").count() == 1
    assert AuditRecord.objects.filter(action="supervisee.create").count() == 3  # one per person, in bulk


def test_minor_is_computed_at_start_and_sealed(tree, officer):
    minor = given_supervisee(officer, office=tree.donghu_office, minor=True, name="李小龙")
    assert minor.is_minor
    with pytest.raises(NotFound):
        access_supervisee(user=officer, supervisee_id=minor.pk)
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    assert access_supervisee(user=granted, supervisee_id=minor.pk) == minor
    # a search by name does not find a sealed record without the grant
    assert not supervisee_list(fetched_by=officer, filters=SuperviseeFilters(q="李小龙")).exists()
    assert supervisee_list(fetched_by=granted, filters=SuperviseeFilters(q="李小龙")).exists()


def test_out_of_scope_looks_like_not_found(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    xihu_officer = given_staff(tree.xihu, "county_officer")
    with pytest.raises(NotFound) as a:
        access_supervisee(user=xihu_officer, supervisee_id=s.pk)
    with pytest.raises(NotFound) as b:
        access_supervisee(user=xihu_officer, supervisee_id=987654)
    assert str(a.value) == str(b.value)
    assert not supervisee_list(fetched_by=xihu_officer).exists()


def test_procurator_sees_the_county_it_oversees(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office)
    assert access_supervisee(user=given_staff(tree.donghu_procuratorate, "procurator"), supervisee_id=s.pk) == s
    with pytest.raises(NotFound):
        access_supervisee(user=given_staff(tree.xihu_procuratorate, "procurator"), supervisee_id=s.pk)


def test_office_staff_see_only_their_office(tree, officer):
    a = given_supervisee(officer, office=tree.donghu_office)
    b = given_supervisee(officer, office=tree.donghu_office2)
    staff = given_staff(tree.donghu_office, "office_staff")
    assert list(supervisee_list(fetched_by=staff)) == [a]
    city = given_staff(tree.city, "city_supervisor")
    assert set(supervisee_list(fetched_by=city)) == {a, b}


def test_team_and_contacts_are_audited(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office, male=False)
    services.team_member_add(actor=officer, supervisee=s, data={"name": "刘芳", "kind": "office", "gender": "F"})
    services.contact_add(actor=officer, supervisee=s, data={"name": "王大明", "relation": "父亲",
                                                             "phone": "13807910009"})
    actions = list(AuditRecord.objects.filter(object_id=str(s.pk)).values_list("action", flat=True))
    assert "supervisee.team_add" in actions and "supervisee.contact_add" in actions
    with pytest.raises(services.InputErrors):
        services.contact_add(actor=officer, supervisee=s, data={"name": "<b>x</b>", "relation": "父亲"})
    assert s.contacts.count() == 1


def test_photo_must_be_a_real_image(tree, officer, tmp_path, settings):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    s = given_supervisee(officer, office=tree.donghu_office)
    with pytest.raises(services.InputErrors) as exc:
        services.supervisee_set_photo(actor=officer, supervisee=s,
                                      upload=SimpleUploadedFile("a.jpg", b"<?php echo 1; ?>"))
    assert "无法识别" in exc.value.errors["photo"]
    buf = io.BytesIO()
    Image.new("RGB", (240, 320), (200, 180, 160)).save(buf, "JPEG")
    s = services.supervisee_set_photo(actor=officer, supervisee=s, upload=SimpleUploadedFile("a.jpg", buf.getvalue()))
    assert s.photo.name.endswith(".jpg") and (tmp_path / s.photo.name).exists()


def test_services_refuse_a_sealed_minor_without_the_grant(tree, officer):
    """The seal holds in the services themselves, not only in the pages: an officer without the grant cannot
    change a minor's record, add to it, or take from its team, even holding the object."""
    from apps.people.services import CheckedPhoto

    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    minor = given_supervisee(granted, office=tree.donghu_office, minor=True)
    member = services.team_member_add(actor=granted, supervisee=minor,
                                      data={"name": "刘芳", "kind": "office", "gender": "F"})
    before = counts()
    calls = [
        lambda: services.supervisee_update(actor=officer, supervisee=minor, data={"phone": "13900000000"}, today=TODAY),
        lambda: services.contact_add(actor=officer, supervisee=minor, data={"name": "王芳", "relation": "母亲"}),
        lambda: services.team_member_add(actor=officer, supervisee=minor, data={"name": "张三", "kind": "community",
                                                                               "gender": "M"}),
        lambda: services.team_member_remove(actor=officer, supervisee=minor, member_id=member.pk, reason="调离"),
        lambda: services.supervisee_set_photo(actor=officer, supervisee=minor, photo=CheckedPhoto(b"x", "jpg")),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()
    minor.refresh_from_db()
    assert counts() == before and minor.phone != "13900000000" and minor.team.count() == 1
    # the same officer with the grant may
    services.supervisee_update(actor=granted, supervisee=minor, data={"phone": "13900000000"}, today=TODAY)


def test_a_refused_attempt_to_open_a_sealed_file_is_logged(tree, officer):
    minor = given_supervisee(given_staff(tree.donghu, "county_officer", minor_access=True), office=tree.donghu_office,
                             minor=True)
    with pytest.raises(NotFound):
        access_supervisee(user=officer, supervisee_id=minor.pk, purpose="查阅档案")
    rec = AuditRecord.objects.get(action="supervisee.sealed_refused")
    assert (rec.actor, rec.object_id) == (officer, str(minor.pk))
    assert not AuditRecord.objects.filter(action="supervisee.view", object_id=str(minor.pk)).exists()


def test_team_removal_needs_a_reason_and_records_what_the_team_then_lacks(tree, officer):
    s = given_supervisee(officer, office=tree.donghu_office, male=False)
    woman = services.team_member_add(actor=officer, supervisee=s, data={"name": "刘芳", "kind": "office", "gender": "F"})
    services.team_member_add(actor=officer, supervisee=s, data={"name": "张伟", "kind": "community", "gender": "M"})
    with pytest.raises(services.InputErrors) as exc:
        services.team_member_remove(actor=officer, supervisee=s, member_id=woman.pk, reason="  ")
    assert "理由" in exc.value.errors["reason"] and s.team.count() == 2
    services.team_member_remove(actor=officer, supervisee=s, member_id=woman.pk, reason="工作调动")
    rec = AuditRecord.objects.get(action="supervisee.team_remove")
    assert "工作调动" in rec.summary and rec.after["reason"] == "工作调动"
    assert any("女性成员" in p for p in rec.after["team_problems"])
