"""Daily supervision in a browser, as an office and its county agency carry it: the office records a report-in and a
visit (the visit at work warned of 法26); a twelve-day leave goes from the office to the county agency and back
approved, with its approval form, then the person does not come back in time and the office gets a task; an officer
reads the month's 双八 shortfalls and enters hours that shrink them. (Named to run after the other browser tests:
it runs the daily job for a day in the future.)"""
from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.conftest import DEMO_PASSWORD, ROOT

pytestmark = pytest.mark.e2e


def _shell(live_site, code: str) -> str:
    r = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=live_site["env"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip().splitlines()[-1]


def _a_person(live_site, *, level: str = "", of: str = "office") -> tuple[int, int]:
    """An adult of the demo office (or of the county agency `of` names) under supervision for a while yet, with no
    leave under way: (person, case)."""
    out = _shell(live_site, f"""
from datetime import timedelta
from django.utils import timezone
from apps.cases.models import Case
from apps.orgs.models import User
t = timezone.localdate()
o = User.objects.get(username="{of}").organisation
c = (Case.objects.filter(org_path__startswith=o.path, is_open=True, status="active", is_minor=False,
                         term_end__gte=t + timedelta(days=40), term_start__lte=t - timedelta(days=7))
     .filter(**({{"management_level": "{level}"}} if "{level}" else {{}}))
     .exclude(requests__state__in=["applied", "approved", "departed", "arrived", "overdue"]).order_by("-id").first())
print(c.person_id, c.pk)""")
    person, case = out.split()
    return int(person), int(case)


def _officer(browser, live_site, username):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(live_site["base"] + "/")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-btn")
    page.wait_for_load_state("networkidle")
    return page


def _today(live_site) -> date:
    return date.fromisoformat(_shell(live_site, "from django.utils import timezone; print(timezone.localdate())"))


def test_an_office_records_a_report_in_and_a_visit(page, live_site, sign_in, shot):
    base = live_site["base"]
    person, case = _a_person(live_site, level="strict")
    sign_in("office")
    page.goto(base + "/supervision/day/")
    expect(page.locator("h1")).to_contain_text("日视图")
    shot(page, "40-supervision-day")
    page.goto(base + f"/people/{person}/?tab=checkins")
    expect(page.locator("#schedule")).to_contain_text("每周一次")
    before = page.locator("#records tbody tr[data-kind]").count()
    page.click("#add-report_in")
    expect(page.locator("h1")).to_contain_text("登记报到")
    shot(page, "41-record-report-in")
    page.fill("#f-findings", "到所报到，汇报本周在物流公司上班的情况")
    page.click("#save-btn")
    expect(page.locator(".alert-success")).to_contain_text("已登记报到")
    expect(page.locator("#records tbody tr[data-kind=report_in]").first).to_contain_text("汇报本周在物流公司上班的情况")
    expect(page.locator("#next-due")).to_contain_text("本期已报到")
    expect(page.locator("#four-ones li").first.locator(".bi-check-circle-fill")).to_have_count(1)
    # a visit: the place and the findings are required; a refusal keeps what was typed
    page.click("#add-visit")
    page.fill("#f-findings", "单位负责人反映其按时上班")
    page.click("#save-btn")
    expect(page.locator("#form-errors")).to_contain_text("未保存")
    expect(page.locator("[data-field=place]")).to_contain_text("请选择查访地点")
    expect(page.locator("#f-findings")).to_have_value("单位负责人反映其按时上班")
    page.select_option("#f-place", "work")
    page.fill("#f-place_note", "南昌市东湖区某物流公司")
    page.click("#save-btn")
    expect(page.locator(".alert-warning", has_text="在工作单位走访")).to_contain_text("社区矫正法第26条")
    row = page.locator("#records tbody tr[data-kind=visit]").first
    expect(row).to_contain_text("工作单位")
    expect(row).to_contain_text("单位负责人反映其按时上班")
    assert page.locator("#records tbody tr[data-kind]").count() == before + 2
    shot(page, "42-checkins-tab")
    # filtered to visits only
    page.select_option("#f-kind", "visit")
    page.click("#record-filters button")
    expect(page.locator("#records tbody tr[data-kind=report_in]")).to_have_count(0)
    expect(page.locator("#records tbody tr[data-kind=visit]").first).to_be_visible()


def test_a_twelve_day_leave_goes_to_the_county_and_back_then_returns_late(page, live_site, sign_in, browser, shot):
    base = live_site["base"]
    today = _today(live_site)
    person, case = _a_person(live_site)
    start, end = today, today + timedelta(days=11)  # at short notice: the officer is warned, not refused
    sign_in("office")
    page.goto(base + f"/people/{person}/?tab=approvals")
    page.click("#new-leave")
    shot(page, "43-leave-form")
    page.select_option("#f-reason", "family")
    page.fill("#f-destination", "广东省深圳市")
    page.fill("#f-destination_adcodes", "440304")
    page.fill("#f-start", start.isoformat())
    page.fill("#f-end", end.isoformat())
    page.fill("#f-detail", "处理父亲丧事")
    page.fill("#f-evidence", "村委会出具的证明")
    page.click("#save-btn")
    expect(page.locator("#request-state")).to_have_text("待审批")
    expect(page.locator("#request-authority")).to_contain_text("东湖区社区矫正管理局")
    expect(page.locator("#request-period")).to_contain_text("12 日")
    expect(page.locator("#waiting")).to_contain_text("等待东湖区社区矫正管理局审批")
    expect(page.locator(".alert-warning").first).to_contain_text("应当提前3日提出书面申请")
    expect(page.locator("#step-approve")).to_have_count(0)  # more than seven days: not the office's to decide
    request_url = page.url
    # the county agency finds it on its list and approves it
    county = _officer(browser, live_site, "donghu")
    county.goto(base + "/supervision/requests/")
    county.locator("#pending a", has_text="").first.wait_for()
    county.goto(request_url)
    shot(county, "44-leave-request")
    county.fill("#n-approve", "同意，外出期间保持通讯畅通，按期返回销假")
    county.locator("#step-approve button").click()
    expect(county.locator("#request-state")).to_have_text("已批准")
    href = county.locator("#request-document a", has_text="PDF").get_attribute("href")
    r = county.request.get(base + href)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.body())).pages).replace(" ", "").replace("\n", "")
    for words in ("社区矫正对象外出审批表", "广东省深圳市", "共12日", "同意", "东湖区社区矫正管理局"):
        assert words in text, words
    county.context.close()
    # the office records the departure; the last approved day passes without a return
    page.reload()
    expect(page.locator("#request-state")).to_have_text("已批准")
    page.fill("#d-depart", start.isoformat())
    page.locator("#step-depart button").click()
    expect(page.locator("#request-state")).to_have_text("已离开")
    late = end + timedelta(days=2)
    subprocess.run([sys.executable, "manage.py", "cases_daily", "--date", late.isoformat(), "--force"], cwd=ROOT,
                   env=live_site["env"], check=True, capture_output=True)
    page.reload()
    expect(page.locator("#request-state")).to_have_text("逾期未归")
    expect(page.locator("#request-events")).to_contain_text("未按期返回销假")
    expect(page.locator("#step-return")).to_be_visible()
    page.goto(base + f"/people/{person}/?tab=case")  # the office's task, on the case
    expect(page.locator("#case-tasks tr[data-kind^='leave_overdue:']")).to_contain_text("外出逾期未归，责令返回")
    page.goto(base + f"/people/{person}/?tab=checkins")
    expect(page.locator("#facts")).to_contain_text("逾期未归")
    page.goto(base + f"/people/{person}/?tab=approvals")
    expect(page.locator("#requests tr[data-state=overdue]")).to_have_count(1)
    shot(page, "45-approvals-tab")


def test_an_officer_sees_the_months_shortfalls_and_hours_shrink_them(page, live_site, sign_in, shot):
    base = live_site["base"]
    today = _today(live_site)
    last = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    sign_in("office")
    page.goto(base + f"/supervision/month/?m={last:%Y-%m}")
    expect(page.locator("h1")).to_contain_text(f"{last.year}年{last.month}月")
    short = page.locator("#month-table tr.short")
    expect(short.first).to_be_visible()
    n_short = short.count()
    expect(page.locator("#n-short")).to_have_text(str(n_short))
    expect(short.first).to_contain_text("缺")
    page.check("#f-short")
    page.click("#month-pick button")
    assert page.locator("#month-table tbody tr").count() == n_short
    shot(page, "46-supervision-month")
    # this month: someone still owes hours; two hours of study with evidence shrink what is still needed
    page.goto(base + "/supervision/month/")
    row = page.locator("#month-table tr.short").first
    case_id = row.get_attribute("data-case")
    study_before = float(row.locator("td").nth(5).inner_text())
    row.locator("a").first.click()
    page.click("#add-hours")
    page.select_option("#f-kind", "study")
    page.fill("#f-hours", "20")
    page.fill("#f-evidence", "网络课程学习证明")
    page.click("#save-btn")
    expect(page.locator("[data-field=hours]")).to_contain_text("时长应在")
    expect(page.locator("#f-evidence")).to_have_value("网络课程学习证明")
    page.fill("#f-hours", "2")
    page.click("#save-btn")
    expect(page.locator(".alert-success")).to_contain_text("2.0 小时")
    page.goto(base + "/supervision/month/")
    after = page.locator(f"#month-table tr[data-case='{case_id}'] td").nth(5).inner_text()
    assert float(after) == study_before + 2
    page.goto(base + "/supervision/activities/")
    expect(page.locator("#activities")).to_contain_text("集中法治教育")
    shot(page, "47-activities")


def test_a_trip_to_the_next_district_asks_its_agency_to_help_and_the_sender_sees_it_read(page, live_site, sign_in,
                                                                                           browser, shot):
    base = live_site["base"]
    today = _today(live_site)
    person, case = _a_person(live_site, of="donghu")  # the county agency registers it (any of its offices' people)
    sign_in("donghu")
    page.goto(base + f"/supervision/cases/{case}/requests/new/?kind=leave")
    expect(page.locator("#business-evidence")).to_be_hidden()
    page.select_option("#f-reason", "business")  # a business trip shows the proofs to confirm
    expect(page.locator("#business-evidence")).to_be_visible()
    shot(page, "52-business-trip-form")
    page.select_option("#f-reason", "family")
    page.fill("#f-destination", "南昌市西湖区")
    page.fill("#f-destination_adcodes", "360103")
    page.fill("#f-start", (today + timedelta(days=4)).isoformat())
    page.fill("#f-end", (today + timedelta(days=13)).isoformat())
    page.fill("#f-detail", "照顾住院的父亲")
    page.fill("#f-evidence", "医院住院证明")
    page.click("#save-btn")
    expect(page.locator("#request-state")).to_have_text("待审批")
    request_url = page.url
    county = _officer(browser, live_site, "donghu")
    county.goto(request_url)
    expect(county.locator("label[for=assist]")).to_contain_text("西湖区社区矫正管理局")
    expect(county.locator("#assist")).to_be_checked()
    county.locator("#step-approve button").click()
    expect(county.locator("#request-state")).to_have_text("已批准")
    expect(county.locator("#request-events")).to_contain_text("已函请")
    expect(county.locator("#request-notices")).to_contain_text("未阅")
    # the destination's agency finds the letter in 通知, without the case opening to it
    xihu = _officer(browser, live_site, "xihu")
    xihu.goto(base + "/notices/")
    shot(xihu, "53-notices-inbox")
    xihu.locator("#notices a", has_text="协助监督管理").first.click()
    expect(xihu.locator("#notice-body")).to_contain_text("第28条")
    shot(xihu, "54-notice")
    href = xihu.locator("#notice-document a").get_attribute("href")
    r = xihu.request.get(base + href)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.body())).pages).replace(" ", "").replace("\n", "")
    for words in ("外出期间协助监督管理函", "西湖区社区矫正管理局", "第二十八条", "照顾住院的父亲"):
        assert words in text, words
    assert xihu.request.get(base + f"/people/{person}/").status == 404
    xihu.context.close()
    county.reload()
    expect(county.locator("#request-notices")).to_contain_text("已阅知")
    shot(county, "55-request-notices-read")
    county.context.close()


def test_the_province_reads_and_sets_its_rules(page, live_site, sign_in, shot):
    base = live_site["base"]
    sign_in("province", stay=True)
    page.goto(base + "/supervision/settings/")
    expect(page.locator("#t-leave")).to_contain_text("司法所可批准的外出天数上限")
    page.fill("#leave-note", "")
    page.locator("#form-leave button").click()
    expect(page.locator("#form-leave .invalid-feedback").first).to_be_visible()
    expect(page.locator("#form-leave")).to_contain_text("请写明依据")
    page.fill("#leave-office_max_days", "5")
    page.fill("#leave-note", "赣司发〔2026〕12号")
    page.locator("#form-leave button").click()
    expect(page.locator(".alert-success")).to_contain_text("已设置本省规则")
    expect(page.locator("#t-leave")).to_contain_text("赣司发〔2026〕12号")
    page.goto(base + "/supervision/settings/")
    shot(page, "56-rule-settings")
