"""信息化核查 in a browser, as an office works it: a person's 监控 tab with a bound phone and one waiting for approval, a
report-in from the phone that failed the face check and waits for review, a missed random spot check; the officer
issues a one-time code (shown once), confirms the check on review, issues a targeted spot check, disposes of the
missed one, and finds what waits on the 信息化核查 page with the day's report."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ROOT

pytestmark = pytest.mark.e2e

SETUP = """
import base64
from datetime import timedelta
from pathlib import Path
from django.utils import timezone
from apps.cases.models import Case
from apps.monitoring import services as mon
from apps.monitoring.models import SpotCheck
from apps.orgs.models import User
from apps.people.actors import SelfActor
from apps.portal import services as portal
t = timezone.localdate()
officer = User.objects.get(username="office")
o = officer.organisation
c = (Case.objects.filter(org_path__startswith=o.path, is_open=True, status="active", is_minor=False,
                         term_start__lte=t - timedelta(days=1))
     .exclude(person__portal_account__isnull=False).order_by("-id").first())
faces = Path("data/faces")
code = portal.code_issue(actor=officer, person_id=c.person_id).code
ua = "Mozilla/5.0 (Linux; Android 12; Redmi Note 11 Build/X) Chrome/120.0"
portal.sign_in(id_number=c.person.id_number, code=code, new_password="Qing2026abc", user_agent=ua)
portal.sign_in(id_number=c.person.id_number, password="Qing2026abc",
               user_agent="Mozilla/5.0 (Linux; Android 13; V2118A Build/X) Chrome/121.0")
mon.face_enrol(actor=officer, person_id=c.person_id, photo=(faces / "biden/biden.jpg").read_bytes())
me = SelfActor(person_id=c.person_id, case_id=c.pk, org_path=c.org_path, device="手机 Redmi Note 11")
ch = mon.challenge_new(c.pk)
frames = ["obama/obama.jpg", "obama/obama3.jpg" if ch["direction"] == "left" else "obama/obama2.jpg"]
v = mon.verify_upload(actor=me, data={"client_id": "e2e-1", "challenge": ch["token"], "lat": 28.6829, "lon": 115.8936,
    "accuracy": 18, "captured_at": (timezone.now() - timedelta(minutes=50)).isoformat(),
    "frames": [base64.b64encode((faces / f).read_bytes()).decode() for f in frames]}).verification
at = timezone.now() - timedelta(hours=3)
s = SpotCheck.objects.create(case=c, person_id=c.person_id, office_id=c.judicial_office_id, org_path=c.org_path,
    is_minor=False, kind="random", day=timezone.localdate(at), issued_at=at, due_at=at + timedelta(minutes=15),
    issued_by_name="系统随机")
mon.sweep()
mon.daily_report_make(timezone.localdate())
portal.message_send(actor=officer, person_id=c.person_id, text="请于本周五上午到司法所参加集中教育")
print(c.person_id, c.pk, v.pk, s.pk)
"""


def _shell(live_site, code: str) -> str:
    r = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=live_site["env"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip().splitlines()[-1]


def test_an_office_works_its_checks(page, live_site, sign_in, shot):
    base = live_site["base"]
    person, _case, verification, spot = (int(x) for x in _shell(live_site, SETUP).split())
    sign_in("office")
    page.goto(base + "/monitoring/")
    expect(page.locator(f"#review-queue [data-verification='{verification}']")).to_be_visible()
    expect(page.locator(f"#anomaly-queue [data-spot-check='{spot}']")).to_be_visible()
    shot(page, "70-monitoring-index")
    page.locator(f"#review-queue [data-verification='{verification}'] a").first.click()
    assert f"/people/{person}/?tab=monitoring" in page.url
    expect(page.locator("#account-state")).to_have_text("已开通")
    expect(page.locator("#devices [data-state=pending]")).to_contain_text("待审批")
    expect(page.locator(f"#v-{verification}")).to_contain_text("待复核")
    expect(page.locator(f"#s-{spot}")).to_contain_text("未答复")
    expect(page.locator(f"#v-{verification} img")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "71-monitoring-tab")
    # the one-time code, once
    page.once("dialog", lambda d: d.accept())
    page.click("#issue-code")
    code = page.locator("#issued-code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    shot(page, "72-monitoring-code")
    page.click("#code-done")
    assert code not in page.content()
    # approve the new phone
    page.locator("#devices [data-state=pending] [data-approve]").click()
    expect(page.locator(".alert-success")).to_contain_text("已批准绑定手机")
    # confirm the failed check on review
    row = page.locator(f"#v-{verification}")
    row.locator("input[name=note]").fill("视频通话核实系本人，光线不足")
    row.locator("[data-confirm]").click()
    expect(page.locator(".alert-success")).to_contain_text("已复核")
    expect(page.locator(f"#v-{verification}")).to_contain_text("已确认")
    # dispose of the missed spot check, then a targeted one
    srow = page.locator(f"#s-{spot}")
    srow.locator("input[name=note]").fill("电话联系，手机没电，已当面核实")
    srow.locator("[data-dispose]").click()
    expect(page.locator(f"#s-{spot}")).to_contain_text("电话联系，手机没电")
    page.fill("#spot-form input[name=note]", "夜间核查")
    page.click("#issue-spot")
    expect(page.locator(".alert-success")).to_contain_text("已发起点对点核查")
    expect(page.locator("#spot-open")).to_be_visible()
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "73-monitoring-tab-after")
    # the 信息化核查 page: the queue and the day's report
    page.click("#nav-monitoring")
    expect(page.locator("h1")).to_contain_text("信息化核查")
    expect(page.locator("#report-table tbody tr[data-report]").first).to_be_visible()
    expect(page.locator(f"[data-verification='{verification}']")).to_have_count(0)
    shot(page, "74-monitoring-index-after")
