"""The phone portal's pages through HTTP: the code's first sign-in binds the phone (an HttpOnly cookie on /m/), every
page needs the session and a bound phone, each screen shows the person's own case only, queued uploads count once,
bad input changes nothing, and the installable shell (manifest, service worker) is served from /m/."""
import base64
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.cases.models import Case
from apps.monitoring import services as monitoring
from apps.monitoring.models import SpotCheck, Verification
from apps.people.services import today_local
from apps.people.testing import given_supervisee
from apps.portal import services
from apps.portal.models import Device
from apps.supervision.models import Record, Request

FACES = Path(__file__).resolve().parents[3] / "data" / "faces"
PW = "Qing2026abc"
UA = "Mozilla/5.0 (Linux; Android 12; M2004J19C) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"


@pytest.fixture
def person(tree, officer):
    return given_supervisee(officer, office=tree.donghu_office, status="active")


@pytest.fixture
def case(person):
    return Case.objects.get(person=person, is_open=True)


def _phone() -> Client:
    return Client(HTTP_USER_AGENT=UA)


def _signed_in(person, officer) -> Client:
    c = _phone()
    code = services.code_issue(actor=officer, person_id=person.pk).code
    r = c.post("/m/login/", {"id_number": person.id_number, "use_code": "1", "code": code, "new_password": PW,
                             "new_password2": PW})
    assert r.status_code == 302 and r["Location"] == "/m/", r.content.decode()[:500]
    return c


def test_the_code_signs_in_binds_the_phone_and_every_page_opens(person, officer, case):
    c = _phone()
    assert c.get("/m/")["Location"] == "/m/login/"
    assert c.get("/m/leave/")["Location"] == "/m/login/?next=%2Fm%2Fleave%2F"
    c = _signed_in(person, officer)
    cookie = c.cookies["zjdev"]
    assert cookie["httponly"] and cookie["path"] == "/m/" and len(cookie.value) > 30
    for url, words in [("/m/", "今日待办"), ("/m/checkin/", "开始核验"), ("/m/thought/", "提交思想汇报"),
                       ("/m/leave/", "申请外出"), ("/m/leave/new/", "外出事由"), ("/m/study/", "本月完成情况"),
                       ("/m/messages/", "还没有消息"), ("/m/me/", "管理等级"), ("/m/offline/", "没有网络")]:
        r = c.get(url)
        assert r.status_code == 200 and words in r.content.decode(), url
        assert "no-cache" in r.get("Cache-Control", "") or url == "/m/offline/"
    assert "报到" in c.get("/m/").content.decode()
    assert c.get("/m/login/")["Location"] == "/m/"  # signed in already


def test_a_wrong_password_is_refused_in_chinese_and_changes_nothing(person, officer):
    _signed_in(person, officer)
    c = _phone()
    r = c.post("/m/login/", {"id_number": person.id_number, "password": "wrong-one-1"}, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 401 and "身份证号码或密码不正确" in r.content.decode()
    assert "zjdev" not in c.cookies and Device.objects.count() == 1
    r = c.post("/m/login/", {"id_number": person.id_number, "use_code": "1", "code": "123456", "new_password": PW,
                             "new_password2": PW + "x"})
    assert r.status_code == 422 and "两次输入的新密码不一致" in r.content.decode()


def test_a_new_phone_waits_then_comes_in_and_an_unbound_phone_is_out(person, officer):
    first = _signed_in(person, officer)
    second = _phone()
    r = second.post("/m/login/", {"id_number": person.id_number, "password": PW})
    assert r["Location"] == "/m/pending/"
    assert "还没有批准使用" in second.get("/m/pending/").content.decode()
    assert second.get("/m/")["Location"] == "/m/login/"
    pending = Device.objects.get(state="pending")
    services.device_decide(actor=officer, device_id=pending.pk, approve=True)
    assert second.get("/m/pending/")["Location"] == "/m/"
    assert second.get("/m/").status_code == 200
    services.device_decide(actor=officer, device_id=Device.objects.exclude(pk=pending.pk).get().pk, approve=False)
    assert first.get("/m/")["Location"] == "/m/login/"
    assert first.get("/m/api/ping").status_code == 401


def test_a_thought_report_queued_twice_is_stored_once(person, officer, case):
    c = _signed_in(person, officer)
    cid = uuid.uuid4().hex
    body = {"client_id": cid, "text": "本月按时报到，参加了公益劳动。", "captured_at": (timezone.now() - timedelta(hours=5)).isoformat()}
    r1 = c.post("/m/api/thought", json.dumps(body), content_type="application/json")
    r2 = c.post("/m/api/thought", json.dumps(body), content_type="application/json")
    assert (r1.status_code, r2.status_code) == (201, 200) and r2.json()["created"] is False
    rec = Record.objects.get(case=case, kind="thought_report")
    assert rec.channel == "portal" and rec.recorded_by is None and rec.client_id == cid
    assert timezone.now() - rec.happened_at > timedelta(hours=4)  # the time it was written, not uploaded
    bad = c.post("/m/api/thought", json.dumps({"client_id": "x2", "text": ""}), content_type="application/json")
    assert bad.status_code == 422 and "思想汇报内容" in bad.json()["error"]
    assert c.post("/m/api/thought", "not json", content_type="application/json").status_code == 400
    # without script the page's own form posts; the same drawn form twice stores once
    form = {"client_id": "page-1", "text": "第二份汇报"}
    assert c.post("/m/thought/", form)["Location"] == "/m/thought/?sent=1"
    assert c.post("/m/thought/", form).status_code == 302
    assert Record.objects.filter(case=case, kind="thought_report").count() == 2
    assert "第二份汇报"[:5] in c.get("/m/thought/").content.decode()


def _b64(name):
    return base64.b64encode((FACES / name).read_bytes()).decode()


def test_a_check_in_through_the_api_passes_for_the_person_and_a_retry_counts_once(person, officer, case):
    monitoring.face_enrol(actor=officer, person_id=person.pk, photo=(FACES / "obama/obama.jpg").read_bytes())
    c = _signed_in(person, officer)
    ch = c.get("/m/api/challenge").json()
    turned = "obama/obama3.jpg" if ch["direction"] == "left" else "obama/obama2.jpg"
    body = {"client_id": "ck-1", "purpose": "report_in", "challenge": ch["token"], "direction": ch["direction"],
            "captured_at": timezone.now().isoformat(), "lat": 28.68, "lon": 115.89, "accuracy": 20,
            "frames": [_b64("obama/obama.jpg"), _b64(turned)]}
    r = c.post("/m/api/verify", json.dumps(body), content_type="application/json")
    assert r.status_code == 201 and r.json()["passed"] is True, r.content
    again = c.post("/m/api/verify", json.dumps(body), content_type="application/json")
    assert again.status_code == 200 and again.json()["created"] is False
    assert Verification.objects.count() == 1
    assert Record.objects.get(case=case, kind="report_in").verified == "pass"
    assert "本期" in c.get("/m/").content.decode() and "已报到" in c.get("/m/").content.decode()
    bad = dict(body, client_id="ck-2", lat=999)
    r = c.post("/m/api/verify", json.dumps(bad), content_type="application/json")
    assert r.status_code == 422 and "定位" in r.json()["error"] and Verification.objects.count() == 1


def test_a_spot_check_shows_on_today_and_another_cases_is_not_found(person, officer, case, tree):
    c = _signed_in(person, officer)
    spot = monitoring.spot_check_issue(actor=officer, case_id=case.pk, note="点对点核查")
    page = c.get("/m/").content.decode()
    assert "信息化核查" in page and f"/m/checkin/?spot={spot.pk}" in page
    assert c.get("/m/api/ping").json()["spot_checks"][0]["id"] == spot.pk
    assert "逾期未答复" in c.get(f"/m/checkin/?spot={spot.pk}").content.decode()
    other = given_supervisee(officer, office=tree.donghu_office, status="active")
    theirs = monitoring.spot_check_issue(actor=officer, case_id=Case.objects.get(person=other).pk)
    assert c.get(f"/m/checkin/?spot={theirs.pk}").status_code == 404
    assert SpotCheck.objects.filter(state="open").count() == 2


def test_a_leave_request_goes_to_its_authority_and_a_refusal_gives_the_article(person, officer, case):
    c = _signed_in(person, officer)
    today = today_local()
    form = {"client_id": "lv-1", "reason": "medical", "detail": "到省人民医院复查", "destination": "江西省南昌市东湖区",
            "start": (today + timedelta(days=5)).isoformat(), "end": (today + timedelta(days=7)).isoformat(),
            "evidence": "诊断证明"}
    early = dict(form, client_id="lv-0", start=(today - timedelta(days=1)).isoformat())
    r = c.post("/m/leave/new/", early)
    assert r.status_code == 422 and "外出日期不能早于申请日期" in r.content.decode() and not Request.objects.exists()
    r = c.post("/m/leave/new/", form)
    req = Request.objects.get(case=case)
    assert r["Location"] == f"/m/leave/{req.pk}/?new=1" and req.channel == "portal" and req.created_by is None
    page = c.get(r["Location"]).content.decode()
    assert "待审批" in page and req.authority_org.name in page
    assert c.post("/m/leave/new/", form).status_code == 302 and Request.objects.count() == 1  # the same form again
    assert AuditRecord.objects.filter(action="request.apply", actor_name__contains="本人").count() == 1
    assert c.get(f"/m/leave/{req.pk + 99}/").status_code == 404


def test_messages_are_marked_read_and_documents_are_the_persons_own(person, officer, case, tree):
    from apps.documents.services import document_issue

    services.message_send(actor=officer, person_id=person.pk, text="请于周五上午到司法所参加集中教育。")
    c = _signed_in(person, officer)
    assert 'aria-label="未读1条"' in c.get("/m/").content.decode()
    assert "集中教育" in c.get("/m/messages/").content.decode()
    assert 'aria-label="未读' not in c.get("/m/").content.decode()
    doc = document_issue(actor=officer, agency=tree.donghu, doc_type="announcement", object_type="case",
                         object_id=case.pk, org_path=case.org_path, context={"name": person.name},
                         issued_on=today_local(), is_minor=False)
    assert "社区矫正宣告书" in c.get("/m/me/").content.decode()
    r = c.get(f"/m/documents/{doc.pk}/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert AuditRecord.objects.filter(action="document.view", object_id=str(doc.pk)).exists()
    other = given_supervisee(officer, office=tree.donghu_office, status="active")
    theirs = document_issue(actor=officer, agency=tree.donghu, doc_type="announcement", object_type="case",
                            object_id=Case.objects.get(person=other).pk, org_path=other.org_path,
                            context={"name": other.name}, issued_on=today_local(), is_minor=False)
    assert c.get(f"/m/documents/{theirs.pk}/").status_code == 404


def test_the_installable_shell_is_served_from_m(client):
    m = client.get("/m/manifest.webmanifest")
    body = json.loads(m.content)
    assert m["Content-Type"] == "application/manifest+json" and body["scope"] == "/m/" and body["start_url"] == "/m/"
    assert {i["sizes"] for i in body["icons"]} == {"192x192", "512x512"}
    sw = client.get("/m/sw.js")
    text = sw.content.decode()
    assert sw["Content-Type"].startswith("text/javascript") and sw["Service-Worker-Allowed"] == "/m/"
    assert "/static/portal/portal.js" in text and "/m/offline/" in text
    assert "'zj-static-' + VERSION" in text and len(text.split("var VERSION = '")[1].split("'")[0]) == 12


def test_signing_out_is_recorded_and_ends_the_session(person, officer):
    c = _signed_in(person, officer)
    assert c.post("/m/logout/")["Location"] == "/m/login/"
    assert c.get("/m/")["Location"] == "/m/login/"
    assert AuditRecord.objects.filter(action="portal.logout").count() == 1


def test_hostile_input_is_refused_cleanly(person, officer, case):
    c = _signed_in(person, officer)
    deep = "[" * 200000
    for url in ("/m/api/verify", "/m/api/thought"):
        r = c.post(url, deep, content_type="application/json")
        assert r.status_code == 400 and "格式不正确" in r.json()["error"]
    for bad in ("//evil.example/", "/m/../admin/", "https://evil.example/m/", "/m/\\evil"):
        r = _phone().get("/m/login/", {"next": bad})
        assert f'value="{bad}"' not in r.content.decode(), bad
    r = c.post("/m/logout/")
    assert r["Clear-Site-Data"] == '"cache"'
    assert not Verification.objects.exists() and not Record.objects.filter(case=case).exists()


def test_a_spot_check_past_its_window_is_not_offered_and_the_pages_name_the_account(person, officer, case):
    c = _signed_in(person, officer)
    late = monitoring.spot_check_issue(actor=officer, case_id=case.pk, now=timezone.now() - timedelta(minutes=40))
    assert c.get("/m/api/ping").json()["spot_checks"] == []
    late.refresh_from_db()
    assert late.state == "missed"  # swept by the page (no beat here)
    page = c.get("/m/").content.decode()
    assert 'data-account="' in page and 'data-account=""' not in page and person.id_number not in page.split(
        'data-account="')[1][:20]
