"""POST /api/v1/pings: a batch stored once however often it is retried, bad fixes refused one by one with reasons
while the good ones are kept, a body that is not JSON or too big refused whole, an account without location.ingest
refused, and an exit raised through the API."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.monitoring.models import Alert, Fix
from apps.monitoring.tests.test_location import OUTSIDE, _point_inside, _walk, _wristband
from apps.cases.models import Case
from apps.orgs.services import token_issue
from apps.orgs.testing import given_staff
from apps.people.testing import given_supervisee


def _auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {token_issue(user=user, name='定位平台').key}"}


def _post(client, body, auth):
    return client.post("/api/v1/pings", body if isinstance(body, (bytes, str)) else json.dumps(body),
                       content_type="application/json", **auth)


@pytest.fixture
def setup(bounded, officer):
    p = given_supervisee(officer, office=bounded.donghu_office, status="active")
    case = Case.objects.get(person=p, is_open=True)
    head = given_staff(bounded.donghu, "bureau_head")
    _wristband(officer, head, case)
    return case, given_staff(bounded.donghu, "device_gateway")


def test_a_retried_batch_is_stored_once_and_bad_fixes_come_back_with_reasons(client, setup):
    case, gateway = setup
    auth = _auth(gateway)
    lat, lon = _point_inside("360102")
    fixes = _walk([(lat, lon)] * 4, timezone.now() - timedelta(minutes=5))
    fixes[2]["lon"] = 200  # out of range
    r = _post(client, {"fixes": fixes}, auth)
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["stored"], body["duplicates"]) == (3, 0)
    assert body["rejected"] == [{"index": 2, "client_id": "c2", "errors": {"lon": "经度须在 -180 至 180 之间"}}]
    again = _post(client, {"fixes": fixes}, auth).json()
    assert (again["stored"], again["duplicates"]) == (0, 3) and Fix.objects.count() == 3


def test_a_batch_of_only_bad_fixes_is_422_and_a_bad_body_400(client, setup):
    _case, gateway = setup
    auth = _auth(gateway)
    r = _post(client, {"fixes": [{"device": "x", "client_id": "1", "time": "yesterday", "lat": 1, "lon": 1}]}, auth)
    assert r.status_code == 422 and r.json()["rejected"][0]["errors"]["device"] == "未知设备或设备未绑定"
    assert _post(client, b"{not json", auth).status_code == 400
    r = _post(client, {"fixes": "many"}, auth)
    assert r.status_code == 400 and "fixes" in r.json()["errors"]
    assert _post(client, "[" * 100_000 + "]" * 100_000, auth).status_code == 400  # deep JSON is not a 500
    assert Fix.objects.count() == 0


def test_only_a_location_account_may_send(client, setup, officer):
    r = _post(client, {"fixes": [{"device": "861234567890123"}]}, _auth(officer))
    assert r.status_code == 403 and "定位" in r.json()["detail"]
    assert client.post("/api/v1/pings", "{}", content_type="application/json").status_code == 401


def test_an_exit_through_the_api_raises_an_alert(client, setup):
    case, gateway = setup
    auth = _auth(gateway)
    r = _post(client, {"fixes": _walk([OUTSIDE] * 4, timezone.now() - timedelta(minutes=10))}, auth)
    assert r.json()["alerts"] == 1
    a = Alert.objects.get()
    assert (a.case_id, a.type, a.level) == (case.pk, "fence_exit", "red")
