"""The JSON API: bearer tokens, scoping, masking, errors in Chinese, writes through services."""
import json

import pytest

from apps.audit.models import AuditRecord
from apps.orgs.testing import PASSWORD, given_staff
from apps.people.testing import given_supervisee, supervisee_data
from apps.people.models import Supervisee

pytestmark = pytest.mark.django_db


def _token(client, username):
    r = client.post("/api/v1/auth/token", json.dumps({"username": username, "password": PASSWORD, "name": "test"}),
                    content_type="application/json")
    assert r.status_code == 200, r.content
    return {"HTTP_AUTHORIZATION": "Bearer " + r.json()["token"]}


@pytest.fixture
def auth(client, tree):
    given_staff(tree.donghu, "county_officer", username="api_officer")
    return _token(client, "api_officer")


def test_token_sign_in_and_sign_out(client, auth):
    me = client.get("/api/v1/me", **auth).json()
    assert me["username"] == "api_officer" and me["roles"] == ["county_officer"]
    assert client.delete("/api/v1/auth/token", **auth).status_code == 204
    r = client.get("/api/v1/me", **auth)
    assert r.status_code == 401 and r.json()["detail"] == "未登录或令牌无效、已过期"


def test_wrong_password_gets_401_in_chinese(client, tree):
    given_staff(tree.donghu, "county_officer", username="api_x")
    r = client.post("/api/v1/auth/token", json.dumps({"username": "api_x", "password": "nope-nope"}),
                    content_type="application/json")
    assert r.status_code == 401 and "用户名或密码错误" in r.json()["detail"]


def test_list_is_scoped_and_masks_minors(client, auth, tree):
    officer = given_staff(tree.donghu, "county_officer", minor_access=True)
    adult = given_supervisee(officer, office=tree.donghu_office)
    minor = given_supervisee(officer, office=tree.donghu_office, minor=True, name="李小龙")
    xh = given_staff(tree.xihu, "county_officer")
    given_supervisee(xh, office=tree.xihu_office)
    body = client.get("/api/v1/supervisees", **auth).json()
    assert body["count"] == 2
    by_id = {r["id"]: r for r in body["results"]}
    assert by_id[adult.pk]["id_number"] == adult.id_number
    assert by_id[minor.pk]["name"] == "李**" and by_id[minor.pk]["id_number"] != minor.id_number
    assert AuditRecord.objects.filter(kind="view", summary__startswith="API").count() == 1


def test_create_validates_like_the_form(client, auth, tree):
    data = supervisee_data(tree.donghu_office)
    data["term_months"] = 6
    bad = dict(data, id_number="36010219900517001X")
    r = client.post("/api/v1/supervisees", json.dumps(bad), content_type="application/json", **auth)
    assert r.status_code == 422 and "校验码" in r.json()["errors"]["id_number"]
    assert Supervisee.objects.count() == 0
    r = client.post("/api/v1/supervisees", json.dumps(data), content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    assert r.json()["supervision_end"] == "2027-03-11"


def test_malformed_json_is_a_422_not_a_500(client, auth):
    r = client.post("/api/v1/supervisees", "{not json", content_type="application/json", **auth)
    assert r.status_code in (400, 422)
    r = client.post("/api/v1/supervisees", json.dumps({"name": 5}), content_type="application/json", **auth)
    assert r.status_code == 422 and r.json()["detail"] == "请求数据格式不正确"


def test_patch_is_audited(client, auth, tree):
    officer = given_staff(tree.donghu, "county_officer")
    s = given_supervisee(officer, office=tree.donghu_office)
    r = client.patch(f"/api/v1/supervisees/{s.pk}", json.dumps({"phone": "13907910055"}),
                     content_type="application/json", **auth)
    assert r.status_code == 200 and r.json()["phone"] == "13907910055"
    assert AuditRecord.objects.filter(action="supervisee.update", object_id=str(s.pk)).exists()


def test_openapi_schema_is_published(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/supervisees" in schema["paths"] and "/api/v1/auth/token" in schema["paths"]


def test_creating_a_minor_without_the_grant_returns_only_the_masked_record(client, auth, tree):
    data = supervisee_data(tree.donghu_office, name="李小龙")
    data["term_months"] = 6
    from apps.people.testing import id_number
    from datetime import date

    data["id_number"] = id_number("360102", date(2010, 3, 3), 77)
    r = client.post("/api/v1/supervisees", json.dumps(data), content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["is_minor"] and body["name"] == "李**" and body["id_number"] != data["id_number"]
    assert body["residence_address"] == "" and body["phone"] == ""


def test_huge_page_numbers_get_a_clear_answer(client, auth):
    for page in ("99999999999999999999", "5000"):  # deep offsets: use the cursor
        r = client.get(f"/api/v1/supervisees?page={page}", **auth)
        assert r.status_code == 422 and "cursor" in r.json()["detail"]
    assert client.get("/api/v1/supervisees?page=abc", **auth).status_code == 422
    r = client.get("/api/v1/supervisees?office=²", **auth)
    assert r.status_code == 200 and r.json()["count"] == 0


def test_cursor_paging_walks_the_whole_list_once(client, auth, officer, tree):
    people = {given_supervisee(officer, office=tree.donghu_office).pk for _ in range(7)}
    seen, cursor, pages = [], "", 0
    while True:
        r = client.get(f"/api/v1/supervisees?page_size=3&cursor={cursor}", **auth).json()
        seen += [x["id"] for x in r["results"]]
        pages += 1
        if not r["next_cursor"]:
            break
        cursor = r["next_cursor"]
    assert pages == 3 and len(seen) == len(set(seen)) == 7 and set(seen) == people
    assert client.get("/api/v1/supervisees?cursor=not-a-cursor", **auth).json()["count"] == 7  # ignored, page 1
