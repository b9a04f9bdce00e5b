"""What an officer does in a browser: sign in, find people, make a mistake, switch language."""
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e


def test_sign_in_page_is_chinese_and_refuses_a_wrong_password(page, live_site, shot, sign_in):
    page.goto(live_site["base"] + "/")
    expect(page.locator("h1")).to_have_text("智矫社区矫正平台")
    shot(page, "01-login")
    sign_in("donghu", "wrong-password")
    expect(page.locator("#login-error")).to_contain_text("用户名或密码错误")
    shot(page, "02-login-error")


def test_list_filters_and_paginates(page, live_site, shot, sign_in):
    sign_in("donghu", stay=True)
    expect(page).to_have_url(re.compile(r"/cases/work/$"))  # an officer lands on 我的待办
    expect(page.locator("h1")).to_have_text("我的待办")
    shot(page, "02b-work")
    page.get_by_role("link", name="社区矫正对象").first.click()
    expect(page).to_have_url(re.compile(r"/people/$"))
    expect(page.locator("#supervisee-table tbody tr")).to_have_count(20)
    total = int(re.search(r"共 (\d+) 人", page.locator("#result").inner_text()).group(1))
    assert total > 20
    shot(page, "03-list")
    page.click("a[rel=next]")
    expect(page.locator("#result")).to_contain_text("第 2 /")
    page.select_option("#type", "parole")  # htmx swaps the table in place
    page.wait_for_load_state("networkidle")
    expect(page.locator("#supervisee-table tbody tr").first).to_contain_text("假释")
    filtered = int(re.search(r"共 (\d+) 人", page.locator("#result").inner_text()).group(1))
    assert 0 < filtered < total
    assert "type=parole" in page.url


def test_detail_page(page, live_site, shot, sign_in):
    sign_in("donghu")
    page.locator("#supervisee-table tbody tr a").first.click()
    expect(page.locator("#person-name")).to_be_visible()
    expect(page.get_by_role("link", name="变更历史")).to_be_visible()
    shot(page, "04-detail")


def test_create_with_an_error_then_fix_it(page, live_site, shot, sign_in):
    sign_in("donghu")
    page.goto(live_site["base"] + "/people/new/")
    page.fill("#id_name", "测试<script>")
    page.fill("#id_id_number", "36010219900517001X")
    page.fill("#id_household_address", "江西省南昌市东湖区八一大道100号")
    page.fill("#id_residence_address", "江西省南昌市东湖区阳明路28号")
    page.select_option("#id_judicial_office", index=1)
    page.select_option("#id_sentence_type", "probation")
    page.fill("#id_deciding_organ_name", "南昌市东湖区人民法院")
    page.fill("#id_judgment_number", "（2026）赣0102刑初999号")
    page.fill("#id_crime", "危险驾驶罪")
    page.fill("#id_original_penalty", "拘役三个月，缓刑六个月")
    page.fill("#id_judgment_date", "2026-09-01")
    page.fill("#id_effective_date", "2026-08-01")
    page.fill("#id_term_months", "6")
    page.click("#save-btn")
    expect(page.locator("#form-errors")).to_contain_text("未保存")
    expect(page.locator("[data-field=id_number]")).to_contain_text("校验码错误")
    expect(page.locator("[data-field=name]")).to_contain_text("姓名只能包含")
    expect(page.locator("[data-field=effective_date]")).to_contain_text("不能早于")
    shot(page, "05-create-errors")
    # fix all three: a valid ID (check digit computed the GB 11643 way), a clean name, dates in order
    from apps.people.rules import id_check_digit

    first17 = "36010219900517093"
    page.fill("#id_name", "测试人")
    page.fill("#id_id_number", first17 + id_check_digit(first17))
    page.fill("#id_effective_date", "2026-09-12")
    page.click("#save-btn")
    expect(page.locator("#person-name")).to_have_text("测试人")
    expect(page.locator(".alert-success")).to_contain_text("已新增")


def test_minor_is_masked_for_an_officer_without_the_grant(page, live_site, shot, sign_in):
    sign_in("donghu")
    page.goto(live_site["base"] + "/people/?minor=1")
    first = page.locator("#supervisee-table tbody tr").first
    name = first.locator("td").first.inner_text()
    assert "*" in name
    assert re.search(r"\*{10}", first.locator("td").nth(2).inner_text())
    shot(page, "06-minor-masked")
    expect(first.locator("td").first.locator("a")).to_have_count(0)  # a sealed row is not a link
    page.goto(live_site["base"] + "/people/1/")  # the first demo person is a minor of this county
    expect(page.locator("body")).to_contain_text("页面不存在，或您无权查看该记录")


def test_minor_opens_for_an_officer_with_the_grant(page, live_site, sign_in, shot):
    sign_in("donghu_minor")
    page.goto(live_site["base"] + "/people/?minor=1")
    page.locator("#supervisee-table tbody tr a").first.click()
    expect(page.locator(".tag-minor").first).to_contain_text("未成年人")
    assert "*" not in page.locator("#person-name").inner_text()
    shot(page, "07-minor-detail-granted")


def test_language_switch(page, live_site, shot, sign_in):
    sign_in("donghu")
    page.select_option("select[name=language]", "en")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("Supervisees")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    shot(page, "08-list-english")
    page.select_option("select[name=language]", "zh-hans")
    page.wait_for_load_state("networkidle")
    expect(page.locator("h1")).to_have_text("社区矫正对象")


def test_import_page_shows_bad_rows(page, live_site, shot, sign_in, tmp_path):
    from openpyxl import Workbook

    from apps.people import sheets

    wb = Workbook()
    ws = wb.active
    ws.append([h for _, h, _, _ in sheets.COLUMNS])
    ws.append(["张三", "", "", "36010219900517001X"] + [""] * (len(sheets.COLUMNS) - 4))
    f = tmp_path / "bad.xlsx"
    wb.save(f)
    sign_in("donghu")
    page.goto(live_site["base"] + "/people/import/")
    page.set_input_files("#file", str(f))
    page.click("#upload-btn")
    expect(page.locator("#import-problems")).to_contain_text("未导入任何数据")
    expect(page.locator("#problem-table")).to_contain_text("校验码错误")
    shot(page, "09-import-errors")


def test_audit_and_staff_pages(page, live_site, shot, sign_in):
    sign_in("donghu")
    page.goto(live_site["base"] + "/audit/")
    expect(page.locator("h1")).to_have_text("审计日志")
    shot(page, "10-audit")
    page.goto(live_site["base"] + "/orgs/staff/")
    expect(page.locator("#org-tree")).to_contain_text("东湖区社区矫正管理局")
    shot(page, "11-staff")


def test_history_tab_after_an_edit(page, live_site, shot, sign_in):
    sign_in("donghu")
    page.locator("#supervisee-table tbody tr a").first.click()
    page.get_by_role("link", name="编辑").click()
    page.fill("#id_phone", "13907919999")
    page.click("#save-btn")
    expect(page.locator(".alert-success")).to_contain_text("已保存")
    page.get_by_role("link", name="变更历史").click()
    expect(page.locator("#history-table")).to_contain_text("13907919999")
    shot(page, "12-history")


def test_admin_sees_staff_but_not_case_files(page, live_site, shot, sign_in):
    sign_in("admin")
    expect(page.locator("nav.zj-sidebar")).not_to_contain_text("社区矫正对象")
    expect(page).to_have_url(re.compile(r"/orgs/staff/$"))  # lands on a page it may open
    page.locator("#org-tree a", has_text="东湖区社区矫正管理局").click()
    expect(page.locator("#staff-table")).to_contain_text("donghu_minor")
    shot(page, "13-admin-staff")
    page.get_by_role("link", name="新增工作人员").click()
    page.fill("#username", "e2e_new")
    page.fill("#full_name", "程雪")
    page.select_option("#organisation", label="东湖区 · 滕王阁司法所")
    page.check("#role-county_officer")
    page.fill("#password", "short")
    page.click("#save-btn")
    expect(page.locator("#form-errors")).to_be_visible()
    expect(page.locator(".invalid-feedback").first).to_contain_text("不能属于司法所")
    shot(page, "19-staff-create-errors")
    page.uncheck("#role-county_officer")
    page.check("#role-office_staff")
    page.fill("#password", "Bayi-Square-2026")
    page.click("#save-btn")
    expect(page.locator(".alert-success")).to_contain_text("已新增工作人员 程雪")


def test_import_the_template_through_the_browser(page, live_site, shot, sign_in, tmp_path):
    sign_in("donghu")
    page.goto(live_site["base"] + "/people/import/")
    shot(page, "14-import")
    with page.expect_download() as dl:
        page.click("#template-link")
    template = tmp_path / "template.xlsx"
    dl.value.save_as(template)
    # fill in a second person below the example row, as an officer would
    from openpyxl import load_workbook

    from apps.people.rules import id_check_digit

    wb = load_workbook(template)
    ws = wb.active
    row = [c.value for c in ws[2]]
    first17 = "36010219851203051"
    row[0], row[3] = "章晓燕", first17 + id_check_digit(first17)
    ws.append(row)
    wb.save(template)
    page.set_input_files("#file", str(template))
    page.click("#upload-btn")
    expect(page.locator("#import-ready")).to_contain_text("共 2 行，检查全部通过")
    shot(page, "15-import-preview")
    page.click("#confirm-import")
    expect(page.locator(".alert-success")).to_contain_text("已导入 2 名")
    page.fill("#q", "章晓燕")
    page.press("#q", "Enter")
    expect(page.locator("#supervisee-table")).to_contain_text("章晓燕")


def test_password_and_not_found_pages(page, live_site, shot, sign_in):
    sign_in("office")
    page.goto(live_site["base"] + "/orgs/password/")
    page.fill("#old", "wrong")
    page.fill("#new", "1234567890")
    page.fill("#new_again", "1234567890")
    page.click("#save-btn")
    expect(page.locator(".invalid-feedback").first).to_be_visible()
    shot(page, "16-password-errors")
    page.goto(live_site["base"] + "/people/999999/")
    expect(page.locator("body")).to_contain_text("页面不存在，或您无权查看该记录")
    shot(page, "17-not-found")
    page.goto(live_site["base"] + "/people/")
    page.locator("#supervisee-table tbody tr a").first.click()
    page.get_by_role("link", name="考核评估", exact=True).click()  # a tab its issue has not built yet
    expect(page.locator(".empty-state")).to_contain_text("此栏目暂无记录")
    shot(page, "18-empty-tab")
