"""Daily supervision through the API: a kiosk's report-in stored once however often it is retried, its capture time
kept beside the upload time; a thought report from the portal; a leave application answered with its authority, and
leaving the country refused with the article; out of scope is not found."""
from __future__ import annotations

import base64
import io
import json

from PIL import Image

from apps.cases.models import Case
from apps.orgs.services import token_issue
from apps.orgs.testing import given_staff
from apps.people.testing import given_supervisee
from apps.supervision.models import Record, Request


def _auth(user, name="api"):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=user, name=name).key}"}


def _post(client, url, body, auth):
    return client.post(url, json.dumps(body), content_type="application/json", **auth)


def _jpeg() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 180, 160)).save(buf, "JPEG")
    return base64.b64encode(buf.getvalue()).decode()


def test_a_kiosk_report_in_is_stored_once_and_keeps_its_capture_time(client, tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active")
    c = Case.objects.get(person=p)
    kiosk = given_staff(tree.donghu_office, "office_staff", username="kiosk-donghu-1")
    auth = _auth(kiosk, name="东湖司法所自助报到终端1")
    body = {"client_id": "kiosk1-20261122-0001", "happened_at": "2026-11-22T08:15:00+08:00", "channel": "kiosk",
            "verified": "pass", "verify_note": "指纹比对得分 92", "photo": _jpeg()}
    r = _post(client, f"/api/v1/cases/{c.pk}/report-ins", body, auth)
    assert r.status_code == 201, r.content
    first = r.json()
    assert first["created"] and first["channel"] == "kiosk" and first["happened_at"] == "2026-11-22T08:15:00+08:00"
    assert first["recorded_at"] != first["happened_at"] and first["next_due"]
    again = _post(client, f"/api/v1/cases/{c.pk}/report-ins", body, auth)
    assert again.status_code == 200 and again.json()["id"] == first["id"] and not again.json()["created"]
    rec = Record.objects.get(case=c)
    assert rec.device == "东湖司法所自助报到终端1" and rec.photo and rec.verified == "pass"
    assert Record.objects.filter(case=c).count() == 1
    bad = _post(client, f"/api/v1/cases/{c.pk}/report-ins", {**body, "client_id": "x2", "photo": "AAAA"}, auth)
    assert bad.status_code == 422 and "photo" in bad.json()["errors"]
    assert Record.objects.filter(case=c).count() == 1
    # another county's kiosk: not found, as if the case did not exist
    other = _auth(given_staff(tree.xihu_office, "office_staff"))
    assert _post(client, f"/api/v1/cases/{c.pk}/report-ins", {**body, "client_id": "x3"}, other).status_code == 404
    assert _post(client, "/api/v1/cases/99999/report-ins", {**body, "client_id": "x3"}, other).json() == \
        {"detail": "记录不存在或您无权查看"}


def test_portal_thought_report_leave_and_schedule(client, tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active", management_level="strict")
    c = Case.objects.get(person=p)
    auth = _auth(given_staff(tree.donghu_office, "office_staff"), name="portal")
    r = _post(client, f"/api/v1/cases/{c.pk}/thought-reports", {"client_id": "t1", "text": "本周思想汇报"}, auth)
    assert r.status_code == 201 and r.json()["kind"] == "thought_report" and r.json()["channel"] == "portal"
    leave = {"client_id": "l1", "reason": "family", "detail": "探望病重母亲", "destination": "九江市",
             "destination_adcodes": ["360402"], "start": "2026-12-10", "end": "2026-12-21", "evidence": "医院证明"}
    r = _post(client, f"/api/v1/cases/{c.pk}/requests", leave, auth)
    assert r.status_code == 201, r.content
    assert r.json()["authority"] == "county" and r.json()["authority_org"] == tree.donghu.name and r.json()["days"] == 12
    assert _post(client, f"/api/v1/cases/{c.pk}/requests", leave, auth).status_code == 200
    assert Request.objects.filter(case=c).count() == 1
    r = _post(client, f"/api/v1/cases/{c.pk}/requests", {**leave, "client_id": "l2", "abroad": True}, auth)
    assert r.status_code == 409 and "出境" in r.json()["reasons"][0]
    s = client.get(f"/api/v1/cases/{c.pk}/supervision", **auth).json()
    assert s["level"] == "strict" and s["period"] == "week" and len(s["four_ones"]) == 4
    assert [x["done"] for x in s["four_ones"]] == [False, True, False, False]
    assert s["requests"][0]["state"] == "applied"


def test_a_business_trip_through_the_api_names_its_proofs_and_uploads_one(client, tree, officer):
    from apps.supervision.rules import LEAVE_TABLES

    items = list(LEAVE_TABLES[0].business_evidence)
    p = given_supervisee(officer, office=tree.donghu_office, status="active")
    c = Case.objects.get(person=p)
    auth = _auth(given_staff(tree.donghu_office, "office_staff"), name="portal")
    trip = {"client_id": "b1", "reason": "business", "detail": "赴杭州洽谈供货合同", "destination": "杭州市",
            "destination_adcodes": ["330100"], "start": "2026-12-10", "end": "2026-12-12",
            "business_evidence": items}
    r = _post(client, f"/api/v1/cases/{c.pk}/requests", trip, auth)
    assert r.status_code == 422 and "扫描件" in r.json()["errors"]["business_evidence"]
    r = _post(client, f"/api/v1/cases/{c.pk}/requests", {**trip, "files": [{"name": "x.pdf", "content_base64": "%%"}]},
              auth)
    assert r.status_code == 422 and "base64" in r.json()["errors"]["files"]
    pdf = base64.b64encode(b"%PDF-1.4 licence").decode()
    r = _post(client, f"/api/v1/cases/{c.pk}/requests",
              {**trip, "files": [{"name": "营业执照.pdf", "content_base64": pdf}]}, auth)
    assert r.status_code == 201, r.content
    req = Request.objects.get(case=c)
    assert req.attachments.get().name == "营业执照.pdf" and items[0] in req.evidence
