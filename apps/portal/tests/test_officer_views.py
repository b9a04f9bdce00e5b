"""The officer's pages for the phone accounts and 信息化核查: the 监控 tab of the record page with each of its sections,
the one-time code shown once, a phone approved and unbound, the face enrolled from the record's photo (or refused
with the reason), a failed check confirmed on review, a targeted spot check (one open at a time) and the disposal of
a missed one, a message, the check's photo as a logged read, the index of what waits; out of scope is not found."""
import base64
import io
import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from apps.audit.models import AuditRecord
from apps.cases.models import Case
from apps.monitoring import services as monitoring
from apps.monitoring.models import FaceEnrolment, SpotCheck, Verification
from apps.orgs.testing import given_staff
from apps.people.actors import SelfActor
from apps.people.testing import given_supervisee
from apps.portal import services as portal
from apps.portal.models import Account, Device, Message
from apps.supervision.models import Record

FACES = Path(__file__).resolve().parents[3] / "data" / "faces"
PW = "Qing2026abc"
UA = "Mozilla/5.0 (Linux; Android 12; M2004 Build/X) Chrome/120.0"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def person(tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active", name="周建国")
    p.photo.save(f"s{p.pk}.jpg", ContentFile((FACES / "obama/obama.jpg").read_bytes()), save=True)
    return p


@pytest.fixture
def case(person):
    return Case.objects.get(person=person, is_open=True)


@pytest.fixture
def web(client, officer):
    client.force_login(officer)
    return client


def _tab(person):
    return reverse("people:detail", args=[person.pk]) + "?tab=monitoring"


def _me(case):
    return SelfActor(person_id=case.person_id, case_id=case.pk, org_path=case.org_path, device="手机 测试")


def _b64(name):
    return base64.b64encode((FACES / name).read_bytes()).decode()


def _failed_check(officer, case) -> Verification:
    """A report-in from the phone whose face is another man's: failed, waiting for review."""
    monitoring.face_enrol(actor=officer, person_id=case.person_id, photo=(FACES / "biden/biden.jpg").read_bytes())
    ch = monitoring.challenge_new(case.pk)
    frames = ["obama/obama.jpg", "obama/obama3.jpg" if ch["direction"] == "left" else "obama/obama2.jpg"]
    return monitoring.verify_upload(actor=_me(case), data={
        "client_id": "c1", "challenge": ch["token"], "frames": [_b64(f) for f in frames], "lat": 28.68, "lon": 115.89,
        "accuracy": 12}).verification


def _missed_spot(officer, case) -> SpotCheck:
    s = monitoring.spot_check_issue(actor=officer, case_id=case.pk, now=timezone.now() - timedelta(hours=1))
    monitoring.sweep()
    s.refresh_from_db()
    assert s.state == SpotCheck.State.MISSED
    return s


def _blank_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (200, 250), (180, 160, 150)).save(buf, "JPEG")
    return buf.getvalue()


def _messages(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


def test_the_tab_shows_each_section(web, person, case):
    r = web.get(_tab(person))
    assert r.status_code == 200
    body = r.content.decode()
    for section in ('id="account"', 'id="face"', 'id="messages"', 'id="spot-checks"', 'id="verifications"'):
        assert section in body
    for words in ("未开通", "发放登录码", "以档案照片登记人脸", "发起点对点核查", "尚无人脸核验记录"):
        assert words in body
    assert reverse("monitoring:spot_check", args=[case.pk]) in body


def test_a_reader_without_the_right_to_change_sees_no_buttons(client, tree, person):
    client.force_login(given_staff(tree.donghu_procuratorate, "procurator"))
    r = client.get(_tab(person))
    assert r.status_code == 200  # the procuratorate reads the county's records, and changes nothing
    body = r.content.decode()
    assert 'id="account"' in body and 'id="issue-code"' not in body and 'id="issue-spot"' not in body
    assert 'id="enrol-form"' not in body and 'id="message-form"' not in body


def test_the_code_is_shown_once_with_its_expiry_and_audited(web, person):
    r = web.post(reverse("monitoring:code", args=[person.pk]))
    assert r.status_code == 200 and "no-store" in r["Cache-Control"]
    body = r.content.decode()
    code = re.search(r'id="issued-code"[^>]*>(\d+)<', body).group(1)
    assert len(code) == 6 and "当面交给本人" in body
    acc = Account.objects.get(person=person)
    assert code not in acc.code_hash and acc.code_expires_at > timezone.now() + timedelta(hours=71)
    assert timezone.localtime(acc.code_expires_at).strftime("%Y-%m-%d %H:%M") in body
    assert AuditRecord.objects.filter(action="portal.code", object_id=str(person.pk)).count() == 1
    tab = web.get(_tab(person)).content.decode()
    assert code not in tab and 'id="code-expiry"' in tab  # never again: the tab says only until when it is valid
    # the person signs in with it: the phone is bound, the tab says 已开通
    portal.sign_in(id_number=person.id_number, code=code, new_password=PW, user_agent=UA)
    assert "已开通" in web.get(_tab(person)).content.decode()


def test_a_new_phone_is_approved_and_an_old_one_unbound(web, officer, person):
    code = portal.code_issue(actor=officer, person_id=person.pk).code
    first = portal.sign_in(id_number=person.id_number, code=code, new_password=PW, user_agent=UA).device
    second = portal.sign_in(id_number=person.id_number, password=PW, user_agent=UA).device
    assert second.state == Device.State.PENDING
    body = web.get(_tab(person)).content.decode()
    assert f'data-approve="{second.pk}"' in body and f'data-revoke="{first.pk}"' in body and "待审批" in body
    r = web.post(reverse("monitoring:device", args=[second.pk]), {"approve": "1"})
    assert r.status_code == 302 and r["Location"].endswith("?tab=monitoring#account")
    second.refresh_from_db()
    assert second.state == Device.State.ACTIVE and second.decided_by_name
    r = web.post(reverse("monitoring:device", args=[first.pk]), {"approve": "0"}, follow=True)
    first.refresh_from_db()
    assert first.state == Device.State.REVOKED and any("已解绑" in m for m in _messages(r))
    r = web.post(reverse("monitoring:device", args=[first.pk]), {"approve": "1"}, follow=True)  # not pending
    first.refresh_from_db()
    assert first.state == Device.State.REVOKED and "该设备不是待审批状态" in _messages(r)
    assert AuditRecord.objects.filter(action="portal.device").count() == 2


def test_the_face_is_enrolled_from_the_records_photo(web, person):
    r = web.post(reverse("monitoring:enrol", args=[person.pk]), follow=True)
    assert r.status_code == 200 and any("已登记人脸" in m for m in _messages(r))
    e = FaceEnrolment.objects.get(person=person, retired_at__isnull=True)
    assert len(e.encoding) == 128
    assert 'id="face-state">已登记' in r.content.decode()


def test_a_photo_without_a_face_is_refused_with_the_reason_and_nothing_changes(web, person):
    person.photo.save("blank.jpg", ContentFile(_blank_jpeg()), save=True)
    r = web.post(reverse("monitoring:enrol", args=[person.pk]), follow=True)
    assert r.status_code == 200 and "照片中未检测到人脸，请正对镜头、光线充足后重拍" in _messages(r)
    assert not FaceEnrolment.objects.exists() and not AuditRecord.objects.filter(action="face.enrol").exists()
    # an uploaded photo with two faces: the same, with its reason
    two = (FACES / "multi/two_people.jpg").read_bytes()
    r = web.post(reverse("monitoring:enrol", args=[person.pk]),
                 {"photo": ContentFile(two, name="two.jpg")}, follow=True)
    assert any("2张人脸" in m for m in _messages(r)) and not FaceEnrolment.objects.exists()


def test_a_failed_check_is_confirmed_on_review_with_a_note(web, officer, person, case):
    v = _failed_check(officer, case)
    assert v.review == Verification.Review.PENDING
    body = web.get(_tab(person)).content.decode()
    assert f'id="v-{v.pk}"' in body and "待复核" in body and f'data-confirm="{v.pk}"' in body
    assert reverse("monitoring:photo", args=[v.pk]) in body and "28.68000, 115.89000" in body
    r = web.post(reverse("monitoring:review", args=[v.pk]), {"outcome": "confirmed", "note": " "})
    assert r.status_code == 422 and 'data-field="note"' in r.content.decode()
    v.refresh_from_db()
    assert v.review == Verification.Review.PENDING
    r = web.post(reverse("monitoring:review", args=[v.pk]), {"outcome": "confirmed", "note": "视频通话核实本人"})
    assert r.status_code == 302 and r["Location"].endswith(f"#v-{v.pk}")
    v.refresh_from_db()
    assert v.review == Verification.Review.CONFIRMED and v.review_note == "视频通话核实本人"
    old = Record.objects.get(pk=v.record_id)
    assert Record.objects.get(pk=old.superseded_by_id).verified == "pass"
    assert "已确认" in web.get(_tab(person)).content.decode()


def test_the_checks_photo_is_a_logged_read(web, officer, case):
    v = _failed_check(officer, case)
    r = web.get(reverse("monitoring:photo", args=[v.pk]))
    assert r.status_code == 200 and r["Content-Type"] == "image/jpeg"
    assert b"".join(r.streaming_content)[:2] == b"\xff\xd8"
    a = AuditRecord.objects.get(action="verification.photo")
    assert a.kind == AuditRecord.Kind.VIEW and a.object_id == str(case.person_id)


def test_a_targeted_spot_check_is_issued_and_a_second_refused_while_it_is_open(web, person, case):
    r = web.post(reverse("monitoring:spot_check", args=[case.pk]), {"note": "夜间核查"})
    s = SpotCheck.objects.get(case=case)
    assert r.status_code == 302 and r["Location"].endswith(f"#s-{s.pk}")
    assert (s.kind, s.state, s.note) == (SpotCheck.Kind.TARGETED, SpotCheck.State.OPEN, "夜间核查")
    r = web.post(reverse("monitoring:spot_check", args=[case.pk]), follow=True)
    assert any("尚未答复" in m for m in _messages(r)) and SpotCheck.objects.filter(case=case).count() == 1
    body = r.content.decode()
    assert 'id="spot-open"' in body and 'id="issue-spot"' not in body and "点对点核查" in body


def test_a_missed_spot_check_is_disposed_of(web, officer, person, case):
    s = _missed_spot(officer, case)
    assert f'data-dispose="{s.pk}"' in web.get(_tab(person)).content.decode()
    r = web.post(reverse("monitoring:dispose", args=[s.pk]), {"note": ""})
    assert r.status_code == 422 and "请填写处置情况" in r.content.decode()
    r = web.post(reverse("monitoring:dispose", args=[s.pk]), {"note": "电话联系，手机没电"})
    assert r.status_code == 302
    s.refresh_from_db()
    assert s.disposed_at and s.disposal == "电话联系，手机没电"
    body = web.get(_tab(person)).content.decode()
    assert "电话联系，手机没电" in body and f'data-dispose="{s.pk}"' not in body


def test_a_message_is_sent_and_shown_with_its_read_state(web, person):
    r = web.post(reverse("monitoring:message", args=[person.pk]), {"text": ""})
    assert r.status_code == 422 and "请填写消息内容" in r.content.decode()
    r = web.post(reverse("monitoring:message", args=[person.pk]), {"text": "请于周五上午到司法所"})
    assert r.status_code == 302
    m = Message.objects.get(person=person)
    body = web.get(_tab(person)).content.decode()
    assert "请于周五上午到司法所" in body and "未读" in body
    Message.objects.filter(pk=m.pk).update(read_at=timezone.now())
    assert "已读" in web.get(_tab(person)).content.decode()


def test_the_index_lists_a_pending_review_an_anomaly_and_the_days_report(web, tree, officer, person, case):
    v = _failed_check(officer, case)
    s = _missed_spot(officer, case)
    monitoring.daily_report_make(timezone.localdate())
    r = web.get(reverse("monitoring:index") + "?day=" + timezone.localdate().isoformat())
    assert r.status_code == 200
    body = r.content.decode()
    assert f'?tab=monitoring#v-{v.pk}' in body and f'?tab=monitoring#s-{s.pk}' in body and "周建国" in body
    assert 'data-report=' in body and "公园司法所" in body
    assert AuditRecord.objects.filter(action="monitoring.index", kind=AuditRecord.Kind.VIEW).exists()
    assert 'id="nav-monitoring"' in body
    # another county's officer sees none of it
    web.force_login(given_staff(tree.xihu, "county_officer"))
    body = web.get(reverse("monitoring:index")).content.decode()
    assert "周建国" not in body and f"#v-{v.pk}" not in body


def _same(body: bytes) -> bytes:
    """A page without what differs on every answer: fresh CSRF tokens, and the page's own address."""
    body = re.sub(rb'"X-CSRFToken": "[^"]+"', b"", body)
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", body)
    return re.sub(rb'name="next" value="[^"]+"', b"", body)


def test_out_of_scope_answers_not_found_everywhere_and_changes_nothing(client, tree, officer, person, case):
    v = _failed_check(officer, case)
    s = _missed_spot(officer, case)
    code = portal.code_issue(actor=officer, person_id=person.pk).code
    d = portal.sign_in(id_number=person.id_number, code=code, new_password=PW, user_agent=UA).device
    urls = [("post", reverse("monitoring:code", args=[person.pk]), {}),
            ("post", reverse("monitoring:enrol", args=[person.pk]), {}),
            ("post", reverse("monitoring:message", args=[person.pk]), {"text": "x"}),
            ("post", reverse("monitoring:device", args=[d.pk]), {"approve": "0"}),
            ("post", reverse("monitoring:review", args=[v.pk]), {"outcome": "confirmed", "note": "x"}),
            ("get", reverse("monitoring:photo", args=[v.pk]), {}),
            ("post", reverse("monitoring:spot_check", args=[case.pk]), {}),
            ("post", reverse("monitoring:dispose", args=[s.pk]), {"note": "x"})]
    other = given_staff(tree.xihu, "county_officer", minor_access=True)
    before = (AuditRecord.objects.filter(kind=AuditRecord.Kind.CHANGE).count(), SpotCheck.objects.count(),
              Message.objects.count(), FaceEnrolment.objects.count())
    client.force_login(other)
    for method, url, data in urls:
        r = getattr(client, method)(url, data)
        assert r.status_code == 404, url
        missing = getattr(client, method)(re.sub(r"/\d+/", "/999999/", url, count=1), data)
        assert missing.status_code == 404 and _same(r.content) == _same(missing.content), url
    assert before == (AuditRecord.objects.filter(kind=AuditRecord.Kind.CHANGE).count(), SpotCheck.objects.count(),
                      Message.objects.count(), FaceEnrolment.objects.count())
    d.refresh_from_db()
    v.refresh_from_db()
    assert d.state == Device.State.ACTIVE and v.review == Verification.Review.PENDING


def test_a_minors_checks_are_sealed_without_the_grant(client, tree):
    officer = given_staff(tree.donghu, "county_officer", minor_access=True)
    minor = given_supervisee(officer, office=tree.donghu_office, status="active", minor=True, name="李小龙")
    mcase = Case.objects.get(person=minor, is_open=True)
    v = _failed_check(officer, mcase)
    client.force_login(given_staff(tree.donghu, "county_officer"))  # same county, no grant (法54)
    assert client.get(reverse("monitoring:photo", args=[v.pk])).status_code == 404
    assert client.post(reverse("monitoring:code", args=[minor.pk])).status_code == 404
    assert client.post(reverse("monitoring:spot_check", args=[mcase.pk])).status_code == 404
    assert "李小龙" not in client.get(reverse("monitoring:index")).content.decode()
    client.force_login(given_staff(tree.donghu, "county_officer", minor_access=True))
    body = client.get(reverse("monitoring:index")).content.decode()
    assert "李小龙" in body and f"#v-{v.pk}" in body
