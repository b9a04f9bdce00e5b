"""Paging cursors carry nothing the reader may not see, and a crafted one is harmless."""
import base64
import json

import pytest

from apps.orgs.services import token_issue
from apps.orgs.testing import given_staff
from apps.people.testing import given_supervisee

pytestmark = pytest.mark.django_db


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj, ensure_ascii=False).encode()).decode().rstrip("=")


@pytest.fixture
def people(tree, officer):
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    adults = [given_supervisee(officer, office=tree.donghu_office, name=n) for n in ("赵大", "赵小鼠", "赵小龚", "钱二")]
    minor = given_supervisee(granted, office=tree.donghu_office, minor=True, name="赵小龙")
    return adults, minor


def test_no_cursor_holds_a_sealed_name(client, officer, people):
    client.force_login(officer)
    html = client.get("/people/?sort=name&per=20").content.decode()
    html += client.get("/people/?sort=-name&per=20&page=1").content.decode()
    for cursor in set(__import__("re").findall(r"(?:after|before)=([A-Za-z0-9_-]+)", html)):
        decoded = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        assert "小龙" not in decoded and decoded.isdigit()
    token = token_issue(user=officer).key
    for sort in ("name", "-name"):
        r = client.get(f"/api/v1/supervisees?sort={sort}&page_size=1", HTTP_AUTHORIZATION=f"Bearer {token}").json()
        cursor = r["next_cursor"]
        assert "小龙" not in base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


def test_sorting_by_name_places_a_sealed_row_by_what_the_reader_sees(client, officer, people):
    """Were the minor sorted by the real name, a crafted cursor could bisect it (赵小鼠 < 赵小龙 < 赵小龚)."""
    client.force_login(officer)
    token = token_issue(user=officer).key
    rows = client.get("/api/v1/supervisees?sort=name&page_size=50", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    names = [r["name"] for r in rows["results"]]
    assert names.index("赵**") < names.index("赵大")  # sorted as "赵*", before every 赵 name: its place says nothing more


@pytest.mark.parametrize("cursor", [_b64(["x", 1]), _b64(["2026-13-45", 1]), _b64([5, 1]), "!!!", "", "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAx",
                                    _b64(["赵小鼠", 1])])
def test_a_crafted_cursor_is_ignored_not_an_error(client, officer, people, cursor):
    client.force_login(officer)
    for sort in ("start", "name", "-end", "office"):
        r = client.get(f"/people/?sort={sort}&after={cursor}")
        assert r.status_code == 200 and "共 5 人" in r.content.decode()
    token = token_issue(user=officer).key
    r = client.get(f"/api/v1/supervisees?sort=start&cursor={cursor}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 200 and r.json()["count"] == 5


def test_a_cursor_naming_a_row_outside_the_list_is_ignored(client, officer, tree, people):
    outside = given_supervisee(given_staff(tree.xihu, "county_officer"), office=tree.xihu_office)
    client.force_login(officer)
    cursor = base64.urlsafe_b64encode(str(outside.pk).encode()).decode().rstrip("=")
    html = client.get(f"/people/?after={cursor}&p=2").content.decode()
    assert "第 1 / 1 页" in html


def test_paging_goes_on_when_the_boundary_row_has_left_the_filtered_list(client, officer, tree):
    from apps.people import services

    people = [given_supervisee(officer, office=tree.donghu_office, management_level="strict") for _ in range(5)]
    client.force_login(officer)
    token = token_issue(user=officer).key
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    first = client.get("/api/v1/supervisees?level=strict&page_size=2", **auth).json()
    seen = [r["id"] for r in first["results"]]
    boundary = next(p for p in people if p.pk == seen[-1])
    services.supervisee_update(actor=officer, supervisee=boundary, data={"management_level": "normal"})
    second = client.get(f"/api/v1/supervisees?level=strict&page_size=2&cursor={first['next_cursor']}", **auth).json()
    assert not set(seen) & {r["id"] for r in second["results"]}  # goes on after it, no repeats
    assert len(second["results"]) == 2
