"""Location monitoring in a browser, end to end: a person of 东湖区 under an approved monitoring order wears a
wristband; a real GeoLife trace (moved to start in the district) is replayed through the API over HTTP with
`manage.py replay_gps`, as the wristband platform would send it; it leaves the district, and the red 越界 alert is on
the office's queue and on the map, is acknowledged and disposed of as a confirmed violation, and is counted in the
statistics. The track page draws the replayed fixes."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

TRACE = Path("/work/shared/data/gps/002/Trajectory/20081026233830.plt")  # 546 fixes, 96 minutes, 15 km
if not TRACE.is_file():
    TRACE = ROOT.parent / "shared" / "data" / "gps" / "002" / "Trajectory" / "20081026233830.plt"

SETUP = """
from datetime import timedelta
from django.utils import timezone
from apps.cases.models import Case
from apps.monitoring import location
from apps.monitoring.models import Tracker
from apps.orgs.models import Organisation, User
from apps.orgs.services import staff_create, token_issue
officer = User.objects.get(username="donghu")
county = officer.organisation
t = timezone.localdate()
c = (Case.objects.filter(org_path__startswith=county.path, is_open=True, status="active", is_minor=False)
     .order_by("id").first())
head = staff_create(actor=None, username="e2e_head", full_name="局长甲", organisation=county, roles=["bureau_head"],
                    password="Zhijiao@2026-e2e")
gw = staff_create(actor=None, username="e2e_gateway", full_name="定位平台", organisation=county,
                  roles=["device_gateway"], password="Zhijiao@2026-e2e")
o = location.order_propose(actor=officer, case_id=c.pk, ground="2", detail="曾未经批准离开所居住的县",
                           start=t - timedelta(days=1), end=t + timedelta(days=60))
location.order_decide(actor=head, order_id=o.pk, approve=True)
tr = location.tracker_bind(actor=officer, case_id=c.pk, kind="wristband", identifier="868120300000001")
Tracker.objects.filter(pk=tr.pk).update(bound_at=timezone.now() - timedelta(days=1))
print(c.person_id, c.pk, token_issue(user=gw, name="定位平台").key)
"""


def _manage(live_site, *args: str) -> str:
    r = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=live_site["env"], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout.strip().splitlines()[-1]


def test_a_replayed_trace_leaves_its_county_and_the_office_disposes_of_the_alert(page, live_site, sign_in, shot):
    if not TRACE.is_file():
        pytest.fail(f"the GeoLife trace is missing: {TRACE}")
    base = live_site["base"]
    person, _case, token = _manage(live_site, "shell", "-c", SETUP).split()
    out = json.loads(_manage(live_site, "replay_gps", str(TRACE), "--supervisee", person, "--speed", "0",
                             "--url", base, "--token", token))
    assert out["sent"] == 546 and out["stored"] == 546 and out["rejected"] == 0 and out["alerts"] >= 1
    again = json.loads(_manage(live_site, "replay_gps", str(TRACE), "--supervisee", person, "--speed", "0",
                               "--url", base, "--token", token))
    assert again["stored"] == 0 and again["duplicates"] == 546  # a replay of the same fixes stores nothing twice

    sign_in("donghu")
    page.goto(base + "/monitoring/alerts/?type=fence_exit")
    row = page.locator("#alert-queue tr[data-alert]").filter(has_text="越界").first
    expect(row).to_be_visible()
    expect(row).to_contain_text("红色预警")
    alert_id = row.get_attribute("data-alert")
    shot(page, "75-location-alerts")

    page.goto(base + "/monitoring/map/")
    expect(page.locator(".zj-map")).to_be_visible()
    ids = page.evaluate("() => (window.ZjMap.get('map').data.alerts || []).map(a => String(a.id))")
    assert alert_id in ids
    shot(page, "76-location-map")

    page.goto(base + f"/monitoring/alerts/{alert_id}/")
    expect(page.locator("#what")).to_contain_text("越界")
    track = page.evaluate("() => window.ZjMap.get('map').data.track.length")
    assert track > 10  # the replayed fixes around the alert are drawn
    shot(page, "77-location-alert")
    page.locator("#ack-btn").click()
    expect(page.locator("#acked")).to_be_visible()
    page.locator("#disp-violation").check()
    page.locator("#f-note").fill("电话联系本人，承认未经批准前往外县，已责令返回")
    page.locator("#dispose-btn").click()
    expect(page.locator("#disposed")).to_be_visible()
    expect(page.locator("#task-link")).to_be_visible()

    page.goto(base + "/monitoring/stats/")
    expect(page.locator("#stats-cards")).to_be_visible()
    assert int(page.locator("#s-total").inner_text()) >= 1
    expect(page.locator("[data-type=fence_exit]")).to_contain_text("越界")
    shot(page, "78-location-stats")

    page.goto(base + f"/monitoring/people/{person}/track/")
    n = page.evaluate("() => window.ZjMap.get('map').data.track.length")
    assert n >= 1  # today's fixes (the replay ends now; those before midnight are on yesterday's page)
    shot(page, "79-location-track")
