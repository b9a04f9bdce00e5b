"""Location monitoring end to end below the pages: monitoring orders under 法29 (proposal, the bureau head's
approval, binding only under an order, expiry unbinding, the reminder), pings stored once and judged fix by fix,
coordinates stored as WGS-84, the engine's alerts (raised after the hysteresis, de-duplicated while open, cleared,
escalated, disposed), leave fences, spot checks in the same queue, a crash between store and evaluation."""
from datetime import date, datetime, timedelta

import pytest
import shapely
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.cases.models import Case, Task
from apps.monitoring import location, rules
from apps.monitoring.models import Alert, Fence, Fix, MonitoringOrder, PingBatch, SpotCheck, Tracker, TrackState
from apps.orgs import coords
from apps.orgs.testing import boundaries
from apps.orgs.scope import NotFound
from apps.orgs.testing import given_staff
from apps.people.services import InputErrors, NotPermitted
from apps.people.testing import given_supervisee


def _point_inside(adcode: str):
    g = shapely.geometry.shape(boundaries()[adcode]["geometry"])
    p = g.representative_point()
    return p.y, p.x


@pytest.fixture
def case(bounded, officer):
    p = given_supervisee(officer, office=bounded.donghu_office, status="active")
    return Case.objects.get(person=p, is_open=True)


@pytest.fixture
def head(tree):
    return given_staff(tree.donghu, "bureau_head")


@pytest.fixture
def gateway(tree):
    return given_staff(tree.donghu, "device_gateway")


def _order(officer, head, case, start=None, days=30):
    start = start or timezone.localdate()
    o = location.order_propose(actor=officer, case_id=case.pk, ground="2", detail="未经批准离开所居住的县",
                               start=start, end=start + timedelta(days=days))
    return location.order_decide(actor=head, order_id=o.pk, approve=True)


def _wristband(officer, head, case, imei="861234567890123"):
    """A wristband bound (as if) yesterday: the fixes of the tests are dated after it."""
    _order(officer, head, case, start=timezone.localdate() - timedelta(days=1))
    tr = location.tracker_bind(actor=officer, case_id=case.pk, kind="wristband", identifier=imei)
    Tracker.objects.filter(pk=tr.pk).update(bound_at=timezone.now() - timedelta(days=1))
    tr.refresh_from_db()
    return tr


def _fix(i, lat, lon, *, t, device="861234567890123", **over):
    return {"device": device, "client_id": f"c{i}", "time": t.isoformat(), "lat": lat, "lon": lon,
            "accuracy": 10, **over}


def _walk(points, start, step_s=60, first=0, **over):
    return [_fix(first + i, la, lo, t=start + timedelta(seconds=step_s * i), **over) for i, (la, lo) in
            enumerate(points)]


OUTSIDE = (29.20, 115.60)  # 永修 direction, tens of km from 东湖区


def EXITS():
    return Alert.objects.filter(type="fence_exit")


# --- 法29: the order -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("start,end,ok", [
    (date(2026, 1, 10), date(2026, 4, 9), True),   # three months, the first day counted
    (date(2026, 1, 10), date(2026, 4, 10), False),
    (date(2026, 11, 30), date(2027, 2, 27), True),  # 30 Nov + 3 months = 28 Feb (the month's last day) - 1
    (date(2026, 11, 30), date(2027, 2, 28), False),
])
def test_article_29_three_months_at_most(start, end, ok):
    refusals = rules.order_refusals(ground="1", approver_is_bureau_head=True, start=start, end=end, today=start)
    assert (not refusals) is ok, refusals


@pytest.mark.parametrize("ground,head_ok,renewal,reviewed,words", [
    ("6", True, None, False, "第一款规定的情形"),
    ("1", False, None, False, "负责人批准"),
    ("3", True, date(2026, 1, 9), False, "评估"),
    ("3", True, date(2026, 1, 5), True, "届满次日"),
])
def test_article_29_grounds_approval_and_renewal(ground, head_ok, renewal, reviewed, words):
    refusals = rules.order_refusals(ground=ground, approver_is_bureau_head=head_ok, start=date(2026, 1, 10),
                                    end=date(2026, 2, 10), today=date(2026, 1, 10), renewal_of_end=renewal,
                                    reviewed=reviewed)
    assert any(words in r for r in refusals), refusals


def test_a_wristband_only_under_an_approved_order_and_the_order_ends_it(officer, head, case):
    with pytest.raises(InputErrors) as e:
        location.tracker_bind(actor=officer, case_id=case.pk, kind="wristband", identifier="861234567890123")
    assert "第二十九条" in e.value.errors["identifier"]
    start = timezone.localdate()
    o = location.order_propose(actor=officer, case_id=case.pk, ground="2", detail="未经批准离开所居住的县",
                               start=start, end=start + timedelta(days=30))
    with pytest.raises(NotPermitted):  # the officer proposes; only the bureau head approves
        location.order_decide(actor=officer, order_id=o.pk, approve=True)
    with pytest.raises(InputErrors):  # still only proposed
        location.tracker_bind(actor=officer, case_id=case.pk, kind="wristband", identifier="861234567890123")
    location.order_decide(actor=head, order_id=o.pk, approve=True)
    tr = location.tracker_bind(actor=officer, case_id=case.pk, kind="wristband", identifier="861234567890123")
    assert tr.case_id == case.pk and tr.bindings.get().order_id == o.pk
    # binding made the allowed area from the execution county's boundary
    allowed = Fence.objects.get(case=case, kind="allowed", retired_at__isnull=True)
    assert allowed.source == f"county:{case.execution_county_id}" and allowed.geometry == {"ref": [case.execution_county_id]}
    assert location.fence_geometry(allowed.geometry)["type"] in ("Polygon", "MultiPolygon")
    location.order_end(actor=head, order_id=o.pk, reason="表现良好，不需要继续使用")
    tr.refresh_from_db()
    assert tr.case_id is None and tr.bindings.get().unbound_at is not None
    assert AuditRecord.objects.filter(action__startswith="monitoring_order.").count() == 3


def test_an_order_expires_unbinding_its_wristband_and_the_officer_is_reminded_a_week_before(officer, head, case):
    tr = _wristband(officer, head, case)
    o = MonitoringOrder.objects.get(case=case)
    location.orders_sweep(o.end - timedelta(days=8))
    assert not Task.objects.filter(kind=f"morder:{o.pk}").exists()
    location.orders_sweep(o.end - timedelta(days=7))
    task = Task.objects.get(kind=f"morder:{o.pk}", state="open")
    assert task.due_date == o.end and "第二十九条" in task.article
    location.orders_sweep(o.end - timedelta(days=6))  # reminded once
    assert Task.objects.filter(kind=f"morder:{o.pk}").count() == 1
    location.orders_sweep(o.end + timedelta(days=1))
    o.refresh_from_db()
    tr.refresh_from_db()
    assert o.state == "expired" and tr.case_id is None
    assert Task.objects.get(kind=f"morder:{o.pk}").state == "done"


def test_a_renewal_needs_a_review_and_carries_the_wristband_on(officer, head, case):
    tr = _wristband(officer, head, case)
    o = MonitoringOrder.objects.get(case=case)
    nxt = o.end + timedelta(days=1)
    with pytest.raises(InputErrors):
        location.order_propose(actor=officer, case_id=case.pk, ground="2", detail="仍有必要", start=nxt,
                               end=nxt + timedelta(days=30), renews_id=o.pk)
    r = location.order_propose(actor=officer, case_id=case.pk, ground="2", detail="仍有必要", start=nxt,
                               end=nxt + timedelta(days=30), renews_id=o.pk, review_note="评估：仍多次越界")
    location.order_decide(actor=head, order_id=r.pk, approve=True)
    o.refresh_from_db()
    tr.refresh_from_db()
    assert o.state == "ended" and tr.case_id == case.pk and tr.bindings.get(unbound_at__isnull=True).order_id == r.pk


# --- pings ---------------------------------------------------------------------------------------------------------

def test_a_retried_batch_stores_nothing_twice_and_bad_fixes_are_refused_one_by_one(officer, head, gateway, case):
    _wristband(officer, head, case)
    now = timezone.now()
    lat, lon = _point_inside("360102")
    good = _walk([(lat, lon)] * 3, now - timedelta(minutes=10))
    bad = [
        _fix(10, 95.0, lon, t=now),  # latitude out of range
        _fix(11, lat, lon, t=now + timedelta(hours=1)),  # in the future
        _fix(12, lat, lon, t=now, device="000000000000000"),  # unknown device
        _fix(13, lat, lon, t=now, crs="itrf"),  # unknown system
        {"device": "861234567890123", "time": now.isoformat(), "lat": lat, "lon": lon},  # no client id
        "nonsense",
    ]
    r = location.ingest(actor=gateway, fixes=good + bad)
    assert (r.stored, r.duplicates) == (3, 0)
    reasons = {x["index"]: x["errors"] for x in r.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7, 8}
    assert "lat" in reasons[3] and "time" in reasons[4] and "device" in reasons[5] and "crs" in reasons[6]
    assert "client_id" in reasons[7]
    again = location.ingest(actor=gateway, fixes=good)
    assert (again.stored, again.duplicates) == (0, 3)
    assert Fix.objects.count() == 3
    batches = AuditRecord.objects.filter(action="location.batch")
    # one record for the batch that stored; the retry stored nothing and changed nothing
    assert batches.count() == 1 and "3 条" in batches.get().summary


def test_gcj02_and_bd09_fixes_are_stored_as_wgs84(officer, head, gateway, case):
    _wristband(officer, head, case)
    now = timezone.now()
    lat, lon = _point_inside("360102")
    glon, glat = coords.convert(lon, lat, src=coords.CRS.WGS84, dst=coords.CRS.GCJ02)
    blon, blat = coords.convert(lon, lat, src=coords.CRS.WGS84, dst=coords.CRS.BD09)
    location.ingest(actor=gateway, fixes=[_fix(1, glat, glon, t=now, crs="gcj02"),
                                          _fix(2, blat, blon, t=now - timedelta(seconds=5), crs="BD-09")])
    for f in Fix.objects.all():
        assert coords.haversine_m(f.lon, f.lat, lon, lat) < 1.0
    assert set(Fix.objects.values_list("crs", flat=True)) == {"gcj02", "bd09"}


def test_out_of_scope_devices_look_unknown_and_officers_cannot_send(officer, head, case, tree):
    _wristband(officer, head, case)
    xihu_gateway = given_staff(tree.xihu, "device_gateway")
    lat, lon = _point_inside("360102")
    r = location.ingest(actor=xihu_gateway, fixes=[_fix(1, lat, lon, t=timezone.now())])
    assert r.stored == 0 and r.rejected[0]["errors"]["device"] == "未知设备或设备未绑定"
    with pytest.raises(NotPermitted):
        location.ingest(actor=officer, fixes=[_fix(1, lat, lon, t=timezone.now())])


# --- the engine's alerts -------------------------------------------------------------------------------------------

def test_leaving_the_county_raises_one_red_alert_after_the_hysteresis_and_a_return_clears_it(
        officer, head, gateway, case):
    _wristband(officer, head, case)
    start = timezone.now() - timedelta(minutes=30)
    lat, lon = _point_inside("360102")
    location.ingest(actor=gateway, fixes=_walk([(lat, lon)] * 3 + [OUTSIDE] * 2, start))
    assert not EXITS().exists()  # two fixes outside: not yet
    # (the jump of tens of kilometres in a minute is an impossible speed: a blue alert of its own)
    assert Alert.objects.get(type="speed_impossible").level == "blue"
    r2 = location.ingest(actor=gateway, fixes=_walk([OUTSIDE] * 2, start + timedelta(minutes=5), first=5))
    a = EXITS().get()
    assert r2.alerts == 1 and (a.type, a.level, a.state) == ("fence_exit", "red", "open")
    assert a.office_id == case.judicial_office_id and a.county_id == case.execution_county_id
    assert abs(a.lat - OUTSIDE[0]) < 1e-6 and a.distance_m > 1000
    assert AuditRecord.objects.filter(action="alert.raise", object_id=str(case.pk)).count() == Alert.objects.count()
    # still outside: the same alert counts on, no new one
    location.ingest(actor=gateway, fixes=_walk([OUTSIDE] * 3, start + timedelta(minutes=7), first=7))
    a.refresh_from_db()
    assert EXITS().count() == 1 and a.repeats == 1 and a.cleared_at is None
    # back home for K fixes: the condition clears; the alert waits for its disposal
    location.ingest(actor=gateway, fixes=_walk([(lat, lon)] * 3, start + timedelta(minutes=10), first=10))
    a.refresh_from_db()
    assert a.cleared_at is not None and a.state == "open"
    assert TrackState.objects.filter(person_id=case.person_id).exists()


def test_a_state_saved_as_json_before_the_packed_form_continues_and_is_saved_packed(officer, head, gateway, case):
    """A row written by the JSON version (export) is read, its run continues, and the next save packs it."""
    from apps.monitoring import engine as E

    _wristband(officer, head, case)
    start = timezone.now() - timedelta(minutes=30)
    lat, lon = _point_inside("360102")
    location.ingest(actor=gateway, fixes=_walk([(lat, lon)] * 3 + [OUTSIDE] * 2, start))  # 2 of the 3 outside
    row = TrackState.objects.get(person_id=case.person_id)
    assert row.packed and row.state == {}
    legacy = E.EngineState.unpack({case.person_id: bytes(row.packed)}).export()[case.person_id]
    assert any(g[0] is None and g[2] == 2 for g in legacy["groups"])  # the run of two outside is in the state
    TrackState.objects.filter(pk=row.pk).update(packed=None, state=legacy)
    location.ingest(actor=gateway, fixes=_walk([OUTSIDE], start + timedelta(minutes=5), first=5))
    assert EXITS().count() == 1  # the third fix outside completes the run begun before
    row.refresh_from_db()
    assert row.packed and row.state == {}


def test_order_and_batching_of_fixes_do_not_change_the_alerts(officer, head, gateway, case):
    _wristband(officer, head, case)
    start = timezone.now() - timedelta(minutes=30)
    lat, lon = _point_inside("360102")
    fixes = _walk([(lat, lon)] * 3 + [OUTSIDE] * 4, start)
    location.ingest(actor=gateway, fixes=list(reversed(fixes)))  # arrive newest first
    a = EXITS().get()
    assert a.first_at == datetime.fromisoformat(fixes[5]["time"])  # the third fix outside: K = 3


def test_late_fixes_older_than_the_last_are_judged_in_time_order(officer, head, gateway, case):
    _wristband(officer, head, case)
    now = timezone.now()
    lat, lon = _point_inside("360102")
    location.ingest(actor=gateway, fixes=_walk([(lat, lon)] * 2, now - timedelta(minutes=2), first=100))
    # an hour-old excursion uploaded after the newer fixes (the wristband had no signal)
    late = _walk([OUTSIDE] * 4, now - timedelta(minutes=70))
    r = location.ingest(actor=gateway, fixes=late)
    a = Alert.objects.get()
    assert r.alerts == 1 and a.detail.get("late") is True and a.first_at < now - timedelta(minutes=60)


def test_a_crash_between_store_and_evaluation_loses_nothing(officer, head, gateway, case):
    _wristband(officer, head, case)
    start = timezone.now() - timedelta(minutes=30)
    lat, lon = _point_inside("360102")
    fixes = _walk([(lat, lon)] * 2 + [OUTSIDE] * 4, start)
    r = location.ingest(actor=gateway, fixes=fixes, evaluate_now=False)  # the process dies after the commit
    assert r.stored == 6 and PingBatch.objects.get().evaluated_at is None and not Alert.objects.exists()
    assert location.evaluate_pending() == 1
    assert EXITS().count() == 1 and PingBatch.objects.get().evaluated_at is not None
    n = Alert.objects.count()
    assert location.evaluate_pending() == 0 and Alert.objects.count() == n  # evaluated once


def test_an_approved_leave_is_allowed_for_its_dates(officer, head, gateway, case, tree):
    from apps.supervision import services as supervision

    _wristband(officer, head, case)
    today = timezone.localdate()
    r = supervision.request_apply(actor=officer, case_id=case.pk, today=today - timedelta(days=5), data={
        "kind": "leave", "reason": "family", "detail": "探望病重的母亲", "destination": "南昌市西湖区",
        "destination_adcodes": "360103", "evidence": "医院病危通知书", "start": (today - timedelta(days=1)).isoformat(),
        "end": (today + timedelta(days=1)).isoformat()}).record
    supervision.request_act(actor=officer, request_id=r.pk, code="approve", today=today - timedelta(days=4))
    r.refresh_from_db()
    assert r.state == "approved", r.state
    leave = Fence.objects.get(case=case, kind="leave", retired_at__isnull=True)
    assert leave.source == f"request:{r.pk}"
    xlat, xlon = _point_inside("360103")
    now = timezone.now()
    location.ingest(actor=gateway, fixes=_walk([(xlat, xlon)] * 5, now - timedelta(minutes=10)))
    assert not Alert.objects.exists()  # in 西湖区 on approved leave


def test_escalation_acknowledgement_and_disposal(officer, head, gateway, case, tree):
    _wristband(officer, head, case)
    start = timezone.now() - timedelta(minutes=30)
    location.ingest(actor=gateway, fixes=_walk([OUTSIDE] * 4, start))
    a = Alert.objects.get()
    assert location.escalate(a.raised_at + timedelta(minutes=29)) == 0
    assert location.escalate(a.raised_at + timedelta(minutes=31)) == 1
    a.refresh_from_db()
    assert a.escalated_at is not None
    staff = given_staff(tree.donghu_office, "office_staff")
    location.alert_acknowledge(actor=staff, alert_id=a.pk)
    with pytest.raises(InputErrors) as e:
        location.alert_dispose(actor=staff, alert_id=a.pk, disposal="false_alarm", note="核实在家")
    assert "误报须注明原因" in e.value.errors["false_cause"]
    a.refresh_from_db()
    assert a.state == "acknowledged"  # nothing written by the refused disposal
    location.alert_dispose(actor=staff, alert_id=a.pk, disposal="violation", note="电话核实：擅自前往永修")
    a.refresh_from_db()
    task = Task.objects.get(pk=a.task_id)
    assert a.state == "closed" and "第二十八条" in task.article and task.state == "open"
    xihu_staff = given_staff(tree.xihu_office, "office_staff")
    with pytest.raises(NotFound):
        location.alert_acknowledge(actor=xihu_staff, alert_id=a.pk)


def test_a_missed_spot_check_lands_in_the_same_queue(officer, case):
    from apps.monitoring import services

    now = timezone.now()
    s = SpotCheck.objects.create(case=case, person_id=case.person_id, office_id=case.judicial_office_id,
                                 org_path=case.org_path, kind="targeted", day=timezone.localdate(),
                                 issued_at=now - timedelta(minutes=40), due_at=now - timedelta(minutes=10))
    services.sweep(now)
    a = Alert.objects.get()
    assert (a.type, a.level, a.spot_check_id) == ("spot_check_missed", "yellow", s.pk)
    services.spot_check_dispose(actor=officer, spot_check_id=s.pk, note="电话联系，手机没电")
    a.refresh_from_db()
    assert a.state == "closed"


def test_a_silent_wristband_raises_signal_lost_once_and_a_fix_clears_it(officer, head, gateway, case):
    tr = _wristband(officer, head, case)
    later = timezone.now() + timedelta(minutes=61)
    assert location.signal_sweep(later) == 1
    assert location.signal_sweep(later + timedelta(minutes=5)) == 0  # open: not again
    a = Alert.objects.get(type="signal_lost")
    lat, lon = _point_inside("360102")
    location.ingest(actor=gateway, fixes=[_fix(1, lat, lon, t=timezone.now())])
    a.refresh_from_db()
    assert a.cleared_at is not None and tr.identifier in a.detail["device"]


def test_repetition_raises_the_level():
    assert rules.alert_level("battery_low", repeats_open=1, earlier_in_window=0, repeat_open_step=3,
                             repeat_window_step=2) == "blue"
    assert rules.alert_level("battery_low", repeats_open=3, earlier_in_window=0, repeat_open_step=3,
                             repeat_window_step=2) == "yellow"
    assert rules.alert_level("devices_apart", repeats_open=1, earlier_in_window=2, repeat_open_step=3,
                             repeat_window_step=2) == "red"
    assert rules.alert_level("fence_exit", repeats_open=9, earlier_in_window=9, repeat_open_step=3,
                             repeat_window_step=2) == "red"


def test_retention_drops_old_fixes(officer, head, gateway, case):
    tr = _wristband(officer, head, case)
    Tracker.objects.filter(pk=tr.pk).update(bound_at=timezone.now() - timedelta(days=25))
    lat, lon = _point_inside("360102")
    now = timezone.now()
    location.ingest(actor=gateway, fixes=_walk([(lat, lon)] * 2, now - timedelta(days=20)))
    location.ingest(actor=gateway, fixes=_walk([(lat, lon)] * 2, now - timedelta(minutes=5), first=10))
    assert Fix.objects.count() == 4
    from apps.monitoring import partitions

    cutoff = now - timedelta(days=10)
    partitions.drop_before(cutoff)
    old_month = timezone.localdate(now - timedelta(days=20)).replace(day=1)
    whole_month_gone = partitions._next(old_month) <= cutoff.date().replace(day=1)
    # PostgreSQL drops whole months only: old fixes sharing the cutoff's month stay until that month goes
    expected = 2 if not partitions.is_partitioned() or whole_month_gone else 4
    assert Fix.objects.count() == expected


def test_fixes_dated_before_the_binding_are_refused(officer, head, gateway, case):
    tr = _wristband(officer, head, case)
    lat, lon = _point_inside("360102")
    r = location.ingest(actor=gateway, fixes=[_fix(1, lat, lon, t=tr.bound_at - timedelta(hours=1))])
    assert r.stored == 0 and r.rejected[0]["errors"]["time"] == "定位时间早于设备绑定时间"


def test_retention_drops_whole_months_on_postgresql(db):
    from django.db import transaction

    from apps.monitoring import partitions

    now = timezone.now()
    with transaction.atomic():
        location._insert_fixes([(1, 1, 1, 1, t, 28.6, 115.9, 10.0, 0, None, "wgs84", f"k{i}")
                                for i, t in enumerate((now - timedelta(days=75), now))])
    dropped = partitions.drop_before(now - timedelta(days=40))
    assert Fix.objects.count() == 1
    if partitions.is_partitioned():
        assert dropped >= 1 and partitions.name_of((now - timedelta(days=75)).date().replace(day=1)) \
            not in partitions.existing()


def test_a_client_id_sent_again_with_another_time_is_a_duplicate(officer, head, gateway, case):
    _wristband(officer, head, case)
    lat, lon = _point_inside("360102")
    now = timezone.now()
    location.ingest(actor=gateway, fixes=[_fix(1, lat, lon, t=now - timedelta(minutes=5))])
    r = location.ingest(actor=gateway, fixes=[_fix(1, lat, lon, t=now - timedelta(minutes=3))])
    assert (r.stored, r.duplicates) == (0, 1) and Fix.objects.count() == 1


def test_hostile_values_are_refused_fix_by_fix_not_a_500(officer, head, gateway, case):
    _wristband(officer, head, case)
    lat, lon = _point_inside("360102")
    now = timezone.now()
    big = 10 ** 400
    r = location.ingest(actor=gateway, fixes=[
        _fix(1, lat, lon, t=now) | {"time": big}, _fix(2, big, lon, t=now), _fix(3, lat, lon, t=now, accuracy=big),
        _fix(4, lat, lon, t=now, device="86\x00123"), _fix(5, lat, lon, t=now, device="\ud800"),
        _fix(6, lat, lon, t=now, device=["x"]), _fix(7, lat, lon, t=now)])
    assert r.stored == 1 and [x["index"] for x in r.rejected] == [0, 1, 2, 3, 4, 5]


def test_a_second_order_while_one_is_in_force_must_be_a_renewal(officer, head, case):
    _order(officer, head, case)
    start = timezone.localdate()
    with pytest.raises(InputErrors) as e:
        location.order_propose(actor=officer, case_id=case.pk, ground="1", detail="又一次", start=start,
                               end=start + timedelta(days=10))
    assert "延长" in e.value.errors["ground"]


def test_a_minor_status_or_a_move_carries_the_location_rows(officer, head, gateway, case):
    from django.db import transaction

    from apps.cases.daily import case_moved

    _wristband(officer, head, case)
    location.ingest(actor=gateway, fixes=_walk([OUTSIDE] * 4, timezone.now() - timedelta(minutes=20)))
    Case.objects.filter(pk=case.pk).update(is_minor=True)
    case.refresh_from_db()
    with transaction.atomic():
        case_moved(case=case, before={})
    assert set(Alert.objects.values_list("is_minor", flat=True)) == {True}
    assert Tracker.objects.get().is_minor and Fence.objects.filter(is_minor=False).count() == 0


@pytest.mark.django_db
def test_array_literals_read_back_exactly_on_postgresql():
    """The bulk statements' parameters: texts with quotes, backslashes, braces, commas and the word NULL, floats
    at full precision and not finite, times with their offsets, bytes, and None, all as the server reads them."""
    from django.db import connection

    from apps.monitoring import bulk

    if connection.vendor != "postgresql":
        pytest.skip("array literals are PostgreSQL's")
    texts = ['a"b', "c\\d", "{e,f}", "NULL", "", " 空 格 ", None, "x'y"]
    floats = [0.1, 1 / 3, -1e-300, 1.7976931348623157e308, float("nan"), float("inf"), float("-inf"), None]
    times = [datetime(2026, 12, 3, 8, 0, 0, 123456, tzinfo=timezone.get_fixed_timezone(480)),
             datetime(2026, 12, 3, 0, 0, tzinfo=timezone.get_fixed_timezone(0)), None]
    blobs = [b"", bytes(range(256)), None]
    ints = [0, -5, 2 ** 62, None]
    got = bulk.run("SELECT %s::text[], %s::float8[], %s::timestamptz[], ARRAY(SELECT decode(x, 'hex') FROM "
                   "unnest(%s::text[]) x), %s::bigint[], %s::bool[]",
                   [bulk.texts(texts), bulk.floats(floats), bulk.times(times), bulk.hexes(blobs), bulk.ints(ints),
                    bulk.bools([True, False, None])], fetch=True)[0]
    assert got[0] == texts
    assert got[1][:4] == floats[:4] and got[1][4] != got[1][4] and got[1][5:] == floats[5:]
    assert got[2] == times and [bytes(b) if b is not None else None for b in got[3]] == blobs
    assert got[4] == ints and got[5] == [True, False, None]
    assert bulk.floats([1.5, 2.25]) == "{1.5,2.25}" and bulk.ints([1, 2]) == "{1,2}"
    with pytest.raises(ValueError):
        bulk.times([datetime(2026, 1, 1)])  # naive: the server would read it in its own zone
