"""The officer's pages of location monitoring (定位监控): the alert queue (red and escalated first, filters, one audit
record a page), one alert with its map and track, 签收 and 处置 through the views (a refused disposal is shown again
with its errors, 422, nothing written; a violation links its task), the office's map, the statistics of a known set
of alerts, the 定位监控 section of the 监控 tab with each of its forms (success, 422, 403), and a day's track logged
once; out of scope (西湖区) is not found."""
import json
import re
from datetime import timedelta
from functools import lru_cache

import pytest
import shapely
from django.urls import reverse
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.cases.models import Case, Task
from apps.monitoring import location
from apps.monitoring.models import Alert, Fence, Fix, MonitoringOrder, Tracker
from apps.orgs import coords
from apps.orgs.models import OrgBoundary
from apps.orgs.places import load_boundaries
from apps.orgs.testing import given_staff
from apps.people.testing import given_supervisee
from apps.portal import location_selectors as sel

IMEI = "861234567890123"
OUTSIDE = (29.20, 115.60)  # tens of km from 东湖区


@lru_cache(maxsize=1)
def _boundaries():
    return load_boundaries("data/demo")


def _inside(adcode="360102"):
    p = shapely.geometry.shape(_boundaries()[adcode]["geometry"]).representative_point()
    return p.y, p.x


@pytest.fixture
def bounded(tree):
    for org in (tree.donghu, tree.xihu):
        OrgBoundary.objects.create(organisation=org, geometry=_boundaries()[org.adcode]["geometry"], source="test",
                                   source_crs="GCJ02")
    return tree


@pytest.fixture
def case(bounded, officer):
    p = given_supervisee(officer, office=bounded.donghu_office, status="active", name="周建国")
    return Case.objects.get(person=p, is_open=True)


@pytest.fixture
def head(tree):
    return given_staff(tree.donghu, "bureau_head")


@pytest.fixture
def gateway(tree):
    return given_staff(tree.donghu, "device_gateway")


@pytest.fixture
def staff(tree):
    return given_staff(tree.donghu_office, "office_staff")


@pytest.fixture
def outsider(tree):
    return given_staff(tree.xihu, "county_officer", minor_access=True)


def _login(client, user):
    client.force_login(user)
    return client


def _order(officer, head, case, start=None, days=30):
    start = start or timezone.localdate() - timedelta(days=1)
    o = location.order_propose(actor=officer, case_id=case.pk, ground="2", detail="未经批准离开所居住的县",
                               start=start, end=start + timedelta(days=days))
    return location.order_decide(actor=head, order_id=o.pk, approve=True)


def _wristband(officer, head, case):
    _order(officer, head, case)
    tr = location.tracker_bind(actor=officer, case_id=case.pk, kind="wristband", identifier=IMEI)
    Tracker.objects.filter(pk=tr.pk).update(bound_at=timezone.now() - timedelta(days=1))
    return tr


def _walk(points, start, first=0):
    return [{"device": IMEI, "client_id": f"c{first + i}", "time": (start + timedelta(minutes=i)).isoformat(),
             "lat": la, "lon": lo, "accuracy": 10, "battery": 80} for i, (la, lo) in enumerate(points)]


def _exit_alert(officer, head, gateway, case) -> Alert:
    """A wristband, an hour at home then four fixes outside the county: one red 越界 alert."""
    _wristband(officer, head, case)
    start = timezone.now() - timedelta(minutes=40)
    lat, lon = _inside()
    location.ingest(actor=gateway, fixes=_walk([(lat, lon)] * 3, start - timedelta(minutes=60), first=100))
    location.ingest(actor=gateway, fixes=_walk([OUTSIDE] * 4, start))
    return Alert.objects.get(type="fence_exit")


def _alert(case, type="battery_low", level="blue", at=None, **kw) -> Alert:
    at = at or timezone.now() - timedelta(minutes=5)
    return Alert.objects.create(case=case, person_id=case.person_id, office_id=case.judicial_office_id,
                                county_id=case.execution_county_id, org_path=case.org_path, is_minor=case.is_minor,
                                type=type, level=level, key=f"{type}:{IMEI}", first_at=at, last_at=at, raised_at=at,
                                **kw)


def _views(action):
    return AuditRecord.objects.filter(kind=AuditRecord.Kind.VIEW, action=action)


def _messages(resp) -> list[str]:
    return [str(m) for m in resp.context["messages"]] if resp.context else []


def _map_data(resp) -> dict:
    m = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', resp.content.decode(), re.S)
    assert m, "the page has no map data"
    return json.loads(m.group(1))


# --- the queue ----------------------------------------------------------------------------------------------------

def test_the_queue_lists_red_first_with_its_columns_and_is_logged_once(client, officer, head, gateway, case, outsider):
    red = _exit_alert(officer, head, gateway, case)
    blue = _alert(case, at=timezone.now() - timedelta(minutes=1))  # newer, but blue
    r = _login(client, officer).get(reverse("monitoring:alerts"))
    assert r.status_code == 200
    body = r.content.decode()
    assert body.index(f'data-alert="{red.pk}"') < body.index(f'data-alert="{blue.pk}"')
    for words in ("红色预警", "蓝色预警", "越界（离开执行地县域）", "周建国", "公园司法所", "待签收", "处置"):
        assert words in body
    assert f"/people/{case.person_id}/?tab=monitoring" in body
    assert _views("alert.list").count() == 1
    # filters: the level, the state
    r = client.get(reverse("monitoring:alerts"), {"level": "blue"})
    assert f'data-alert="{blue.pk}"' in r.content.decode() and f'data-alert="{red.pk}"' not in r.content.decode()
    r = client.get(reverse("monitoring:alerts"), {"state": "closed"})
    assert 'data-alert=' not in r.content.decode()
    # 西湖区 sees none of them; an office outside the reader's scope is not found
    r = _login(client, outsider).get(reverse("monitoring:alerts"))
    assert r.status_code == 200 and "data-alert=" not in r.content.decode()
    assert client.get(reverse("monitoring:alerts"), {"office": case.judicial_office_id}).status_code == 404


def test_escalated_alerts_are_flagged_and_first_for_the_county(client, officer, case):
    older = _alert(case, type="devices_apart", level="yellow", at=timezone.now() - timedelta(hours=3),
                   escalated_at=timezone.now() - timedelta(minutes=30))
    newer = _alert(case, type="exclusion_enter", level="red")
    body = _login(client, officer).get(reverse("monitoring:alerts")).content.decode()
    assert f'data-escalated="{older.pk}"' in body and "已上报县级" in body
    assert body.index(f'data-alert="{older.pk}"') < body.index(f'data-alert="{newer.pk}"')


def test_minors_alerts_only_with_the_grant(client, tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active", minor=True, name="李小龙")
    a = _alert(Case.objects.get(person=p, is_open=True))
    body = _login(client, officer).get(reverse("monitoring:alerts")).content.decode()
    assert f'data-alert="{a.pk}"' not in body
    assert client.get(reverse("monitoring:alert", args=[a.pk])).status_code == 404
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    assert f'data-alert="{a.pk}"' in _login(client, granted).get(reverse("monitoring:alerts")).content.decode()


# --- one alert ------------------------------------------------------------------------------------------------------

def test_the_alert_page_shows_what_happened_with_its_map_and_is_logged_once(
        client, officer, head, gateway, case, outsider):
    a = _exit_alert(officer, head, gateway, case)
    r = _login(client, officer).get(reverse("monitoring:alert", args=[a.pk]))
    assert r.status_code == 200
    body = r.content.decode()
    for words in ("越界（离开执行地县域）", "红色预警", "越界距离", "重复次数", "签收", "处置方式", "误报原因"):
        assert words in body
    data = _map_data(r)
    assert len(data["track"]) == 7 and sum(p["out"] for p in data["track"]) == 4  # the four fixes outside
    assert {p["device"] for p in data["track"]} == {"wristband"}
    assert data["alerts"][0]["id"] == a.pk and data["alerts"][0]["level"] == "red"
    assert data["focus"] == {"lat": data["alerts"][0]["lat"], "lon": data["alerts"][0]["lon"]}
    kinds = {f["properties"]["kind"] for f in data["fences"]["features"]}
    assert "allowed" in kinds
    rec = _views("alert.view").get()
    assert rec.object_type == "case" and rec.object_id == str(case.pk) and "7 个定位点" in rec.summary
    assert _login(client, outsider).get(reverse("monitoring:alert", args=[a.pk])).status_code == 404


def test_acknowledge_and_dispose_through_the_views(client, officer, head, gateway, case, staff, outsider):
    a = _exit_alert(officer, head, gateway, case)
    web = _login(client, staff)
    r = web.post(reverse("monitoring:alert_ack", args=[a.pk]), follow=True)
    assert r.redirect_chain[-1][0] == reverse("monitoring:alert", args=[a.pk])
    assert "已签收预警，请及时核实处置" in _messages(r)
    a.refresh_from_db()
    assert a.state == "acknowledged" and a.acknowledged_at is not None
    assert web.post(reverse("monitoring:alert_ack", args=[a.pk])).status_code == 422  # already acknowledged
    # a false alarm without its cause: shown again with the error, nothing written
    r = web.post(reverse("monitoring:alert_dispose", args=[a.pk]), {"disposal": "false_alarm", "note": "核实在家"})
    assert r.status_code == 422 and "误报须注明原因" in r.content.decode() and "核实在家" in r.content.decode()
    a.refresh_from_db()
    assert a.state == "acknowledged" and a.disposal == ""
    r = web.post(reverse("monitoring:alert_dispose", args=[a.pk]), {"disposal": "", "note": ""})
    assert r.status_code == 422 and "请选择处置方式" in r.content.decode()
    # out of scope is not found, and writes nothing
    assert _login(client, outsider).post(reverse("monitoring:alert_dispose", args=[a.pk]),
                                         {"disposal": "called", "note": "x"}).status_code == 404
    r = _login(client, staff).post(reverse("monitoring:alert_dispose", args=[a.pk]),
                                   {"disposal": "violation", "note": "电话核实：擅自前往永修"}, follow=True)
    assert "已处置预警：确认违规，已生成违规处理建议待办" in _messages(r)
    a.refresh_from_db()
    assert a.state == "closed" and a.disposal == "violation" and Task.objects.get(pk=a.task_id).state == "open"
    body = r.content.decode()
    assert 'id="disposed"' in body and 'id="task-link"' in body and "电话核实：擅自前往永修" in body
    assert 'id="dispose-form"' not in body
    assert AuditRecord.objects.filter(action="alert.dispose", object_id=str(case.pk)).count() == 1


def test_a_reader_who_may_not_change_is_refused_with_the_reason(client, tree, case):
    a = _alert(case)
    procurator = given_staff(tree.donghu_procuratorate, "procurator")
    web = _login(client, procurator)
    r = web.get(reverse("monitoring:alert", args=[a.pk]))
    assert r.status_code == 200 and 'id="dispose-form"' not in r.content.decode()
    r = web.post(reverse("monitoring:alert_ack", args=[a.pk]))
    assert r.status_code == 403 and "您没有处置预警的权限" in r.content.decode()


# --- the map and the statistics -------------------------------------------------------------------------------------

def test_the_office_map_shows_open_alerts_and_the_county_and_is_logged(client, officer, head, gateway, case, outsider):
    a = _exit_alert(officer, head, gateway, case)
    _alert(case, type="spot_check_missed", level="yellow")  # no place: counted, not drawn
    r = _login(client, officer).get(reverse("monitoring:map"), {"office": case.judicial_office_id})
    assert r.status_code == 200
    data = _map_data(r)
    assert [m["id"] for m in data["alerts"]] == [a.pk] and data["alerts"][0]["url"].endswith(f"/alerts/{a.pk}/")
    assert [f["properties"]["label"] for f in data["fences"]["features"]] == ["东湖区社区矫正管理局"]
    assert "另有 1 条预警没有位置" in r.content.decode()
    assert _views("alert.map").count() == 1
    r = _login(client, outsider).get(reverse("monitoring:map"))
    assert r.status_code == 200 and _map_data(r)["alerts"] == []


def test_the_statistics_of_a_known_set_of_alerts(client, officer, staff, case):
    now = timezone.now()
    a1 = _alert(case, type="fence_exit", level="red", at=now - timedelta(minutes=60))
    a1.key = "fence_exit"
    a1.save()
    _alert(case, type="battery_low", level="blue", at=now - timedelta(minutes=30))
    Alert.objects.filter(pk=a1.pk).update(raised_at=now - timedelta(minutes=60))
    location.alert_acknowledge(actor=staff, alert_id=a1.pk)
    Alert.objects.filter(pk=a1.pk).update(acknowledged_at=now - timedelta(minutes=50))  # 10 minutes to sign
    location.alert_dispose(actor=staff, alert_id=a1.pk, disposal="false_alarm", note="定位漂移", false_cause="drift")
    r = _login(client, officer).get(reverse("monitoring:stats"))
    assert r.status_code == 200
    s = r.context["s"]
    assert s.total == 2 and s.false_alarms == 1 and s.false_rate == 50.0
    assert s.false_causes == [("定位漂移（精度不足）", 1)]
    assert {row["type"]: (row["red"], row["blue"]) for row in s.by_type} == {"fence_exit": (1, 0),
                                                                             "battery_low": (0, 1)}
    assert s.ack_median == 10.0 and s.disposed == 1 and s.within_limit == 0  # disposed after 60 minutes > 30
    assert s.per_office[0]["total"] == 2 and s.per_office[0]["false_rate"] == 50.0
    assert _views("alert.stats").count() == 1
    body = r.content.decode()
    assert 'id="s-false-rate">50.0%' in body and "定位漂移（精度不足）" in body
    # a range without alerts
    r = client.get(reverse("monitoring:stats"), {"from": "2021-01-01", "to": "2021-01-31"})
    assert r.context["s"].total == 0 and "该期间没有预警" in r.content.decode()


# --- the 定位监控 section of the 监控 tab and its forms ---------------------------------------------------------------

def _tab(case):
    return reverse("people:detail", args=[case.person_id]) + "?tab=monitoring"


def test_the_section_and_the_order_from_proposal_to_end(client, officer, head, case, outsider):
    web = _login(client, officer)
    body = web.get(_tab(case)).content.decode()
    assert 'id="location"' in body and "电子定位装置使用审批" in body and 'id="propose-form"' in body
    assert reverse("monitoring:track", args=[case.person_id]) in body
    today = timezone.localdate()
    url = reverse("monitoring:order_propose", args=[case.pk])
    # more than three months: refused with the article, nothing written
    r = web.post(url, {"ground": "2", "detail": "擅自离开", "start": today.isoformat(),
                       "end": (today + timedelta(days=120)).isoformat()})
    assert r.status_code == 422 and "不得超过三个月" in r.content.decode() and not MonitoringOrder.objects.exists()
    assert _views("monitoring.form").count() == 1
    r = web.post(url, {"ground": "2", "detail": "擅自离开", "start": today.isoformat(),
                       "end": (today + timedelta(days=30)).isoformat()}, follow=True)
    assert "已提请使用电子定位装置，待县级司法行政部门负责人审批" in _messages(r)
    o = MonitoringOrder.objects.get()
    # the officer cannot approve: the reason, 403
    r = web.post(reverse("monitoring:order_decide", args=[o.pk]), {"approve": "1"})
    assert r.status_code == 403 and "县级司法行政部门负责人批准" in r.content.decode()
    # the bureau head sees the 审批 form; refusing without a reason is 422, approving is done
    hweb = _login(client, head)
    assert f'data-decide="{o.pk}"' in hweb.get(_tab(case)).content.decode()
    assert hweb.post(reverse("monitoring:order_decide", args=[o.pk]), {"approve": "0"}).status_code == 422
    r = hweb.post(reverse("monitoring:order_decide", args=[o.pk]), {"approve": "1"}, follow=True)
    assert "已批准使用电子定位装置" in _messages(r)
    o.refresh_from_db()
    assert o.state == "active" and 'id="bind-form"' not in "" and "批准人" in r.content.decode()
    # out of scope: not found
    assert _login(client, outsider).post(reverse("monitoring:order_end", args=[o.pk]),
                                         {"reason": "x"}).status_code == 404
    hweb = _login(client, head)
    assert hweb.post(reverse("monitoring:order_end", args=[o.pk]), {"reason": ""}).status_code == 422
    r = hweb.post(reverse("monitoring:order_end", args=[o.pk]), {"reason": "表现良好"}, follow=True)
    assert "已解除使用电子定位装置，腕带已解绑" in _messages(r)
    o.refresh_from_db()
    assert o.state == "ended"


def test_a_renewal_is_proposed_with_its_review(client, officer, head, case):
    o = _order(officer, head, case)
    web = _login(client, officer)
    assert 'id="renew-form"' in web.get(_tab(case)).content.decode()
    nxt = o.end + timedelta(days=1)
    data = {"ground": "2", "detail": "仍有必要", "start": nxt.isoformat(), "end": (nxt + timedelta(days=30)).isoformat(),
            "renews_id": str(o.pk)}
    r = web.post(reverse("monitoring:order_propose", args=[case.pk]), data)
    assert r.status_code == 422 and "评估" in r.content.decode() and 'id="renew-form"' in r.content.decode()
    r = web.post(reverse("monitoring:order_propose", args=[case.pk]), {**data, "review_note": "仍多次越界"},
                 follow=True)
    assert "已提请延长使用电子定位装置，待县级司法行政部门负责人审批" in _messages(r)
    assert MonitoringOrder.objects.get(renews=o).state == "proposed"


def test_binding_and_unbinding_a_wristband(client, officer, head, case, outsider):
    web = _login(client, officer)
    url = reverse("monitoring:tracker_bind", args=[case.pk])
    r = web.post(url, {"identifier": IMEI})  # no order in force
    assert r.status_code == 422 and "第二十九条" in r.content.decode() and not Tracker.objects.exists()
    _order(officer, head, case)
    assert 'id="bind-form"' in web.get(_tab(case)).content.decode()
    assert web.post(url, {"identifier": "坏 号"}).status_code == 422
    r = web.post(url, {"identifier": IMEI, "label": "XT-200"}, follow=True)
    assert f"已绑定电子定位腕带：{IMEI}" in _messages(r)
    tr = Tracker.objects.get(identifier=IMEI)
    assert tr.case_id == case.pk and f'id="tracker-{tr.pk}"' in r.content.decode()
    assert _login(client, outsider).post(reverse("monitoring:tracker_unbind", args=[tr.pk]),
                                         {"reason": "x"}).status_code == 404
    web = _login(client, officer)
    assert web.post(reverse("monitoring:tracker_unbind", args=[tr.pk]), {"reason": ""}).status_code == 422
    r = web.post(reverse("monitoring:tracker_unbind", args=[tr.pk]), {"reason": "设备故障更换"}, follow=True)
    assert f"已解绑设备：{IMEI}" in _messages(r)
    tr.refresh_from_db()
    assert tr.case_id is None


def test_adding_and_retiring_fences(client, officer, case, outsider):
    web = _login(client, officer)
    url = reverse("monitoring:fence_add", args=[case.pk])
    r = web.post(url, {"kind": "curfew", "label": "居所", "lat": "28.68", "lon": "115.89", "radius_m": "100",
                       "crs": "wgs84", "windows": "25:00-06:00"})
    assert r.status_code == 422 and "时段格式如 22:00-06:00" in r.content.decode() and not Fence.objects.exists()
    r = web.post(url, {"kind": "curfew", "label": "居所", "lat": "28.68", "lon": "115.89", "radius_m": "100",
                       "crs": "wgs84", "windows": "22:00-06:00"}, follow=True)
    assert "已设置宵禁区域：居所" in _messages(r)
    glon, glat = coords.convert(115.9, 28.69, src=coords.CRS.WGS84, dst=coords.CRS.GCJ02)
    r = web.post(url, {"kind": "exclusion", "label": "某小学周边", "lat": str(glat), "lon": str(glon),
                       "radius_m": "200", "crs": "gcj02"}, follow=True)
    f = Fence.objects.get(kind="exclusion")
    assert coords.haversine_m(f.geometry["coordinates"][0], f.geometry["coordinates"][1], 115.9, 28.69) < 1.0
    body = r.content.decode()
    assert f'id="fence-{f.pk}"' in body and f'data-retire="{f.pk}"' in body and "22:00-06:00" in body
    assert _login(client, outsider).post(reverse("monitoring:fence_retire", args=[f.pk])).status_code == 404
    r = _login(client, officer).post(reverse("monitoring:fence_retire", args=[f.pk]), follow=True)
    assert "已撤销禁止进入区域：某小学周边" in _messages(r)
    f.refresh_from_db()
    assert f.retired_at is not None


# --- the track ------------------------------------------------------------------------------------------------------

def test_the_track_of_a_day_with_its_table_logged_once(client, officer, head, gateway, case, outsider):
    _exit_alert(officer, head, gateway, case)
    n = Fix.objects.filter(person_id=case.person_id).count()
    day = timezone.localdate(Fix.objects.order_by("t").first().t)
    web = _login(client, officer)
    r = web.get(reverse("monitoring:track", args=[case.person_id]), {"day": day.isoformat()})
    assert r.status_code == 200
    body = r.content.decode()
    assert 'id="purpose-note"' in body and "第二十九条" in body
    assert body.count("data-fix=") == len(r.context["t"].fixes) and "卫星定位" in body and "80%" in body
    data = _map_data(r)
    assert len(data["track"]) == len(r.context["t"].fixes) <= n
    rec = _views("location.track").get()
    assert rec.summary == f"查看定位轨迹 {day.isoformat()}（{len(r.context['t'].fixes)} 个定位点）"
    assert rec.object_id == str(case.person_id)
    r = web.get(reverse("monitoring:track", args=[case.person_id]), {"day": "2021-01-01"})
    assert "该日没有定位数据" in r.content.decode() and _views("location.track").count() == 2
    assert _login(client, outsider).get(reverse("monitoring:track", args=[case.person_id])).status_code == 404


def test_map_coordinates_follow_the_tiles_system(settings, officer, head, gateway, case):
    a = _exit_alert(officer, head, gateway, case)
    settings.ZHIJIAO_MAP_TILES = {"url": "https://tiles.example/{z}/{x}/{y}.png", "attribution": "测试",
                                  "max_zoom": 17, "crs": "gcj02"}
    d = sel.alert_detail(user=officer, alert_id=a.pk, log=False)
    glon, glat = coords.convert(a.lon, a.lat, src=coords.CRS.WGS84, dst=coords.CRS.GCJ02)
    assert abs(d.map_data["alerts"][0]["lat"] - glat) < 1e-6 and abs(d.map_data["alerts"][0]["lon"] - glon) < 1e-6
    assert d.map_data["tiles"] == {"url": "https://tiles.example/{z}/{x}/{y}.png", "attribution": "测试",
                                   "max_zoom": 17}
    settings.ZHIJIAO_MAP_TILES = None
    d = sel.alert_detail(user=officer, alert_id=a.pk, log=False)
    assert d.map_data["tiles"] is None and abs(d.map_data["alerts"][0]["lat"] - a.lat) < 1e-6
