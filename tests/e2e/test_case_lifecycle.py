"""Cases in a browser, as the officers of each office would carry them: one from the court's investigation
request to release on expiry; another through a change of execution county and a revocation. Each document's
text is read back from the PDF the page serves."""
from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date, timedelta

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.conftest import DEMO_PASSWORD, ROOT

pytestmark = pytest.mark.e2e


def _officer(browser, live_site, username):
    """A second officer at another desk: their own browser context and session."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = ctx.new_page()
    page.goto(live_site["base"] + "/")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("#login-btn")
    page.wait_for_load_state("networkidle")
    return page


def _pdf_text(page, href: str) -> str:
    r = page.request.get(href if href.startswith("http") else page.url.split("/", 3)[0] + "//" +
                         page.url.split("/", 3)[2] + href)
    assert r.status == 200 and r.headers["content-type"] == "application/pdf"
    return "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.body())).pages).replace(" ", "").replace("\n", "")


def _act(page, code, **fields):
    form = page.locator(f"#act-{code}")
    if not form.is_visible():
        page.locator("#rare-actions summary").click()
    for name, value in fields.items():
        el = form.locator(f"[name={name}]")
        kind = el.first.evaluate("e => e.tagName + ':' + (e.type || '')")
        if kind.startswith("SELECT"):
            el.select_option(value)
        elif kind.endswith("checkbox"):
            for v in value:
                form.locator(f"[name={name}][value='{v}']").check()
        elif kind.endswith("radio"):
            form.locator(f"[name={name}][value='{value}']").check()
        else:
            el.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    expect(page.locator(".alert-success").first).to_contain_text("已办理")


def _select_containing(page, selector: str, text: str) -> None:
    page.select_option(selector, page.locator(f"{selector} option", has_text=text).first.get_attribute("value"))


def _doc_text(page, title: str) -> str:
    link = page.locator("#documents-table tr", has_text=title).locator("a", has_text="PDF").first
    return _pdf_text(page, link.get_attribute("href"))


def test_from_the_courts_request_to_release(page, live_site, sign_in, browser, shot):
    from apps.people.rules import id_check_digit

    base = live_site["base"]
    first17 = "36010219850311041"
    id_number = first17 + id_check_digit(first17)
    sign_in("donghu", stay=True)
    # 调查评估: the court's request, accepted by the county agency
    page.goto(base + "/cases/investigations/")
    shot(page, "29-investigations")
    page.select_option("#requester_kind", "court")
    page.select_option("#requester", label="南昌市东湖区人民法院")
    page.fill("#letter_number", "（2026）赣0102刑初委501号")
    page.fill("#subject_name", "韩立东")
    page.fill("#subject_id_number", id_number)
    page.fill("#subject_address", "江西省南昌市东湖区滕王阁路18号")
    page.fill("#crime", "危险驾驶罪")
    page.select_option("#proposed", "probation")
    page.click("#inv-submit")
    expect(page.locator("#inv-status")).to_have_text("待指派")
    expect(page.locator("#inv-due")).to_contain_text("社区矫正法实施办法第13条")
    inv_url = page.url
    _act(page, "assign", office=page.locator("#act-assign select option", has_text="滕王阁司法所").get_attribute("value"))
    shot(page, "30-investigation")
    # the office investigates
    office = _officer(browser, live_site, "office")
    office.goto(inv_url)
    _act(office, "findings", residence="在滕王阁路有自有住房，与妻子、女儿同住", family="家庭和睦，妻子愿意协助监管",
         victim="无直接被害人", impact="社区居委会认为其平时表现良好，适用社区矫正对社区无不良影响")
    # the county issues the opinion: locked, copied to the procuratorate
    page.reload()
    _act(page, "issue", opinion="suitable")
    expect(page.locator("#inv-status")).to_have_text("已出具意见")
    text = _pdf_text(page, page.locator("#inv-documents a", has_text="PDF").get_attribute("href"))
    for words in ("调查评估意见书", "南昌市东湖区人民法院", "韩立东", "适宜社区矫正", "抄送：南昌市东湖区人民检察院",
                  "在滕王阁路有自有住房"):
        assert words in text, words
    expect(page.locator("#act-findings")).to_have_count(0)

    # the court sentences him to probation; the county registers him (the judgment took effect in May)
    page.goto(base + "/people/new/")
    page.fill("#id_name", "韩立东")
    page.fill("#id_id_number", id_number)
    page.fill("#id_household_address", "江西省南昌市东湖区滕王阁路18号")
    page.fill("#id_residence_address", "江西省南昌市东湖区滕王阁路18号")
    _select_containing(page, "#id_judicial_office", "滕王阁司法所")
    page.select_option("#id_sentence_type", "probation")
    page.fill("#id_deciding_organ_name", "南昌市东湖区人民法院")
    page.fill("#id_judgment_number", "（2026）赣0102刑初501号")
    page.fill("#id_crime", "危险驾驶罪")
    page.fill("#id_original_penalty", "拘役二个月，缓刑六个月")
    page.fill("#id_judgment_date", "2026-05-01")
    page.fill("#id_effective_date", "2026-05-12")
    page.fill("#id_term_months", "6")
    page.click("#save-btn")
    expect(page.locator("#person-name")).to_have_text("韩立东")
    person_url = page.url.split("?")[0]
    page.goto(person_url + "?tab=case")
    expect(page.locator("#case-status")).to_have_text("待报到")
    expect(page.locator("#case-tasks")).to_contain_text("社区矫正法第21条第一款")
    _act(page, "documents_received", documents=["判决书", "执行通知书"])
    _act(page, "receipt_sent")
    # the office: report-in, the reception steps in the law's order, the team, the announcement
    office.goto(person_url + "?tab=case")
    _act(office, "report_in")
    expect(office.locator("#case-status")).to_have_text("已报到待宣告")
    for step in ("documents_checked", "identity_verified", "registered", "file_opened"):
        _act(office, step)
    office.goto(person_url + "?tab=profile")
    team = office.locator("#team form").last
    team.locator("[name=name]").fill("黄丽萍")
    team.locator("[name=kind]").select_option("community")
    team.locator("[name=gender]").select_option("F")
    team.locator("button").click()
    office.goto(person_url + "?tab=case")
    _act(office, "announce", announce_place="滕王阁司法所宣告室")
    expect(office.locator("#case-status")).to_have_text("在矫")
    office.goto(person_url + "?tab=documents")
    text = _doc_text(office, "社区矫正宣告书")
    for words in ("社区矫正宣告书", "韩立东", "危险驾驶罪", "第二十二条", "二〇二六年五月十二日", "黄丽萍"):
        assert words in text, words
    assert "本人报到" not in text and "社区矫正对象报到情况通知单" in _doc_text(office, "报到情况通知单")
    shot(office, "31-case-documents")

    # the term ended on 2026-11-11: the daily job opens the release stage
    subprocess.run([sys.executable, "manage.py", "cases_daily", "--force"], cwd=ROOT, env=live_site["env"],
                   check=True, capture_output=True)
    office.goto(person_url + "?tab=case")
    expect(office.locator("#case-tasks")).to_contain_text("矫正期满鉴定")
    _act(office, "appraised", appraisal="矫正期间遵纪守法，按时报到，积极参加教育学习和公益活动")
    page.goto(person_url + "?tab=case")
    _act(page, "release")
    expect(page.locator("#case-status")).to_have_text("解除矫正")
    shot(page, "32-case-released")
    page.goto(person_url + "?tab=documents")
    cert = _doc_text(page, "解除社区矫正证明书")
    for words in ("解除社区矫正证明书", "韩立东", "原判刑罚不再执行", "第四十四条", id_number):
        assert words in cert, words
    notice = _doc_text(page, "解除社区矫正通知书")
    assert "南昌市东湖区人民检察院" in notice and "南昌市公安局东湖分局" in notice
    assert "原判刑罚不再执行" in _doc_text(page, "解除社区矫正宣告书")
    # the case file: a catalogue, then every document
    r = page.request.get(base + page.locator("[id^=case-file-]").first.get_attribute("href"))
    reader = PdfReader(io.BytesIO(r.body()))
    assert "卷内文书目录" in reader.pages[0].extract_text().replace(" ", "") and len(reader.pages) >= 9
    office.context.close()


def test_change_of_county_then_revocation(page, live_site, sign_in, browser, shot):
    base = live_site["base"]
    office = sign_in("office")
    office.goto(base + "/people/?status=active&type=probation&minor=0&sort=-end")
    office.locator("#supervisee-table tbody tr a").first.click()
    person_url = office.url.split("?")[0]
    name = office.locator("#person-name").inner_text()
    office.goto(person_url + "?tab=case")
    planned = (date.today() + timedelta(days=45)).isoformat()
    _act(office, "transfer_apply", to_county=office.locator("#act-transfer_apply [name=to_county] option",
                                                              has_text="西湖区").get_attribute("value"),
         new_address="江西省南昌市西湖区孺子路66号", reason="随子女共同生活", planned_date=planned)
    expect(office.locator("#case-status")).to_have_text("执行地变更中")
    _act(office, "transfer_office_view", office_view="经走访核实，其子女在西湖区有固定住所，同意变更")
    county = _officer(browser, live_site, "donghu")
    county.goto(person_url + "?tab=case")
    _act(county, "transfer_letter_sent")
    county.goto(person_url + "?tab=documents")
    letter = _doc_text(county, "征求意见函")
    for words in ("西湖区社区矫正管理局", name, "孺子路66号", "五日内函复"):
        assert words in letter, words
    # the receiving county finds the request in its own queue and answers
    xihu = _officer(browser, live_site, "xihu")
    for bucket in ("today", "week", "later", "overdue"):
        xihu.goto(base + f"/cases/work/?b={bucket}")
        row = xihu.locator("#work-table tr", has_text="函复是否同意接收").filter(has_text=name)
        if row.count():
            break
    if row.count():
        row.first.locator("a").click()
    else:  # a bucket lists its 50 most urgent tasks: on some days of the week the demo's push this one past them
        assert "/transfer/" in office.url, office.url
        xihu.goto(office.url)
    expect(xihu.locator("h1")).to_contain_text(name)
    expect(xihu.locator("body")).to_contain_text("本机构为新执行地")
    assert xihu.request.get(person_url + "?tab=case").status == 404, "not the new county's record before receipt"
    _act(xihu, "transfer_answered", agree="yes", answer_note="同意接收")
    shot(xihu, "33-transfer-receiving")
    county.goto(person_url + "?tab=case")
    _act(county, "transfer_decided")
    county.goto(person_url + "?tab=documents")
    decision = _doc_text(county, "变更执行地决定书")
    assert "西湖区社区矫正管理局" in decision and "七日内" in decision
    county.goto(base + county.url.split(base)[1].split("?")[0] + "?tab=case")
    _act(county, "transfer_files_sent")
    xihu.reload()
    _act(xihu, "transfer_received", new_office=xihu.locator("#act-transfer_received [name=new_office] option",
                                                            has_text="司法所").nth(0).get_attribute("value"))
    _act(xihu, "transfer_reported")
    # now the case is the new county's: its record opens there, and no longer at the old office
    xihu.goto(person_url + "?tab=case")
    expect(xihu.locator("#case-status")).to_have_text("在矫")
    assert office.request.get(person_url).status == 404
    # revocation, decided by the court, recorded by the new county
    shot(xihu, "33b-case-after-transfer")
    _act(xihu, "revocation_proposed", note="违反监督管理规定，经警告后仍不改正")
    _act(xihu, "probation_revoked", ruling_number="（2026）赣0103刑更8号")
    expect(xihu.locator("#case-status")).to_have_text("终止矫正")
    xihu.goto(person_url + "?tab=documents")
    notice = _doc_text(xihu, "终止社区矫正通知书")
    for words in ("终止社区矫正通知书", name, "撤销缓刑", "（2026）赣0103刑更8号", "第四十五条", "西湖区社区矫正管理局"):
        assert words in notice, words
    assert re.search(r"〔\d{4}〕西湖区矫终通字第\d+号", notice)
    shot(xihu, "34-case-revoked-documents")
    county.context.close()
    xihu.context.close()
