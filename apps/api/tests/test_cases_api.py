"""The case through the API: the same reading (scoped, logged, sealed) and the same one transition function as
the pages; a refusal names its reasons and articles and writes nothing."""
from __future__ import annotations

import json

from apps.audit.models import AuditRecord
from apps.cases.models import Case
from apps.orgs.services import token_issue
from apps.orgs.testing import TODAY, given_staff
from apps.people.services import supervisee_register
from apps.people.testing import id_number, supervisee_data


def _auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=user).key}"}


def test_read_a_case_and_act_on_it(client, tree, officer):
    p = supervisee_register(actor=officer, data=supervisee_data(tree.donghu_office, effective_date="2026-11-16",
                                                                judgment_date="2026-11-05"), today=TODAY)
    c = Case.objects.get(person=p)
    auth = _auth(officer)
    body = client.get(f"/api/v1/supervisees/{p.pk}/case", **auth).json()
    assert body["id"] == c.pk and body["status"] == "awaiting_report" and body["status_label"] == "待报到"
    assert {t["kind"] for t in body["tasks"]} >= {"report_in", "notice_due", "documents_due"}
    act = next(a for a in body["actions"] if a["code"] == "documents_received")
    assert "documents_date" in act["fields"]
    assert AuditRecord.objects.filter(kind="view", summary__contains="API 查阅案件").exists()
    # refused: reasons with the article, nothing written
    n = AuditRecord.objects.filter(kind="change").count()
    r = client.post(f"/api/v1/cases/{c.pk}/act/announce", json.dumps({"data": {}}),
                    content_type="application/json", **auth)
    assert r.status_code == 409 and any("入矫宣告" in x for x in r.json()["reasons"])
    assert AuditRecord.objects.filter(kind="change").count() == n
    r = client.post(f"/api/v1/cases/{c.pk}/act/documents_received",
                    json.dumps({"data": {"documents": ["判决书", "执行通知书"], "documents_date": "2026-11-18"}}),
                    content_type="application/json", **auth)
    assert r.status_code == 200, r.content
    assert "documents_received" in [e["code"] for e in r.json()["events"]]
    c.refresh_from_db()
    assert str(c.documents_date) == "2026-11-18"


def test_out_of_scope_sealed_and_read_only_callers(client, tree, officer):
    p = supervisee_register(actor=officer, data=supervisee_data(tree.donghu_office), today=TODAY)
    c = Case.objects.get(person=p)
    other = _auth(given_staff(tree.xihu, "county_officer"))
    assert client.get(f"/api/v1/supervisees/{p.pk}/case", **other).status_code == 404
    r = client.post(f"/api/v1/cases/{c.pk}/act/notice_received", json.dumps({"data": {}}),
                    content_type="application/json", **other)
    assert r.status_code == 404
    proc = _auth(given_staff(tree.donghu_procuratorate, "procurator"))
    assert client.get(f"/api/v1/supervisees/{p.pk}/case", **proc).status_code == 200
    r = client.post(f"/api/v1/cases/{c.pk}/act/notice_received", json.dumps({"data": {}}),
                    content_type="application/json", **proc)
    assert r.status_code == 404
    minor = supervisee_register(actor=officer, today=TODAY, data=supervisee_data(
        tree.donghu_office, name="李小龙", term_months="6", id_number=id_number("360102", __import__("datetime").date(2010, 3, 3), 77)))
    assert client.get(f"/api/v1/supervisees/{minor.pk}/case", **_auth(officer)).status_code == 404
