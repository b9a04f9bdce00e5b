"""Officer pages through the test client: what a user sees, and what a bad request leaves behind."""
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from apps.audit.models import AuditRecord
from apps.orgs.testing import given_staff
from apps.people.testing import given_supervisee, sheet_file, sheet_row, supervisee_data
from apps.people import sheets
from apps.people.models import Supervisee

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(client, officer):
    client.force_login(officer)
    return client


def test_front_page_is_the_chinese_sign_in(client):
    r = client.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "智矫社区矫正平台" in html and 'lang="zh-CN"' in html and 'name="password"' in html


def test_sign_in_and_out_through_the_page(client, tree):
    from apps.orgs.testing import PASSWORD

    given_staff(tree.donghu, "county_officer", username="donghu_t")
    r = client.post("/", {"username": "donghu_t", "password": "wrong-wrong"})
    assert r.status_code == 401 and "用户名或密码错误" in r.content.decode()
    r = client.post("/", {"username": "donghu_t", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/cases/work/"
    assert client.get("/people/").status_code == 200
    client.post("/logout/")
    assert client.get("/people/").status_code == 302


def test_open_redirect_after_sign_in_is_refused(client, tree):
    from apps.orgs.testing import PASSWORD

    given_staff(tree.donghu, "county_officer", username="donghu_r")
    r = client.post("/", {"username": "donghu_r", "password": PASSWORD, "next": "https://evil.example/"})
    assert r["Location"] == "/cases/work/"


def test_pages_need_a_session(client):
    r = client.get("/people/")
    assert r.status_code == 302 and r["Location"].startswith("/?next=/people/")


def test_healthz(client):
    r = client.get("/healthz")
    body = r.json()
    assert r.status_code == 200 and body["status"] == "ok" and body["database"] == connection.vendor
    assert body["version"]


def _many(officer, tree, n):
    return [given_supervisee(officer, office=tree.donghu_office if i % 2 else tree.donghu_office2) for i in range(n)]


def test_list_filters_paginates_masks_minors_and_logs_the_view(officer_client, officer, tree):
    _many(officer, tree, 25)
    minor = given_supervisee(officer, office=tree.donghu_office, minor=True, name="李小龙")
    html = officer_client.get("/people/").content.decode()
    assert "共 26 人" in html and "第 1 / 2 页" in html
    html += officer_client.get("/people/?page=2").content.decode()
    assert "李小龙" not in html and "李**" in html  # the minor's name is masked in the list
    assert minor.id_number not in html
    assert f'href="/people/{minor.pk}/"' not in html  # and a sealed row is not a link
    r = officer_client.get(f"/people/?office={tree.donghu_office2.pk}")
    assert "共 13 人" in r.content.decode()  # i = 0, 2, ... 24
    r = officer_client.get("/people/?minor=1")
    assert "共 1 人" in r.content.decode()
    assert AuditRecord.objects.filter(kind="view", action="supervisee.view").count() == 4


def _row_names(html: str) -> list[str]:
    """The names in the list's rows, top to bottom."""
    body = html.split('<tbody>')[1].split('</tbody>')[0]
    return re.findall(r'class="fw-semibold[^"]*">([^<]+)<', body)


@pytest.mark.parametrize("sort,key", [
    ("name", lambda s: (s.name, s.pk)), ("-name", lambda s: (s.name, s.pk)),
    ("end", lambda s: (s.supervision_end, s.pk)), ("-end", lambda s: (s.supervision_end, s.pk)),
    ("office", lambda s: (s.org_path, s.pk)), ("type", lambda s: (s.sentence_type, s.pk)),
])
def test_each_sort_orders_the_rows(officer_client, officer, tree, sort, key):
    names = ["赵一", "钱二", "孙三", "李四", "周五", "吴六"]
    terms = ["10", "4", "36", "8", "24", "2"]
    control = {"sentence_type": "control", "original_penalty": "管制一年"}
    people = [given_supervisee(officer, office=tree.donghu_office if i % 2 else tree.donghu_office2, name=n,
                               term_months=t if i != 3 else "12", **(control if i == 3 else {}))
              for i, (n, t) in enumerate(zip(names, terms))]
    expected = [s.name for s in sorted(people, key=key, reverse=sort.startswith("-"))]
    assert _row_names(officer_client.get(f"/people/?sort={sort}").content.decode()) == expected


def test_list_query_count_is_pinned(officer_client, officer, tree):
    _many(officer, tree, 30)
    officer_client.get("/people/")  # the first view after sign-in refreshes the session
    with CaptureQueriesContext(connection) as q:
        r = officer_client.get("/people/?per=20")
    assert r.status_code == 200
    # session, user, user's organisation, count, page, read log (savepoint, insert, release), offices, counties: 10
    assert len(q.captured_queries) <= 10, "\n".join(x["sql"] for x in q.captured_queries)
    n = len(q.captured_queries)
    _many(officer, tree, 30)
    with CaptureQueriesContext(connection) as q2:
        officer_client.get("/people/?per=50")
    assert len(q2.captured_queries) == n  # no query per row


def test_htmx_filter_returns_only_the_table(officer_client, officer, tree):
    _many(officer, tree, 3)
    r = officer_client.get("/people/?q=王", HTTP_HX_REQUEST="true")
    html = r.content.decode()
    assert "supervisee-table" in html and "<html" not in html


def test_detail_shows_the_record_and_logs_the_view(officer_client, officer, tree):
    s = given_supervisee(officer, office=tree.donghu_office)
    n = AuditRecord.objects.filter(kind="view").count()
    html = officer_client.get(f"/people/{s.pk}/").content.decode()
    assert s.name in html and s.id_number in html and "2027-03-11" in html
    for tab in ("案件", "报到与走访", "审批", "监控", "考核评估", "文书", "变更历史"):
        assert tab in html
    assert AuditRecord.objects.filter(kind="view").count() == n + 1
    hist = officer_client.get(f"/people/{s.pk}/?tab=history").content.decode()
    assert "新增社区矫正对象" in hist


def test_create_with_an_error_explains_it_and_writes_nothing(officer_client, tree):
    data = supervisee_data(tree.donghu_office, id_number="36010219900517001X", name="张<三>")
    before = Supervisee.objects.count(), AuditRecord.objects.filter(kind="change").count()
    r = officer_client.post("/people/new/", data)
    html = r.content.decode()
    assert r.status_code == 422
    assert "身份证号校验码错误" in html and "姓名只能包含汉字" in html and "未保存" in html
    assert 'value="（2026）赣0102刑初' in html  # what the user typed is kept
    assert (Supervisee.objects.count(), AuditRecord.objects.filter(kind="change").count()) == before


def test_create_through_the_page(officer_client, tree):
    r = officer_client.post("/people/new/", supervisee_data(tree.donghu_office, name="赵六"))
    assert r.status_code == 302
    s = Supervisee.objects.get(name="赵六")
    assert r["Location"] == f"/people/{s.pk}/"


def test_edit_through_the_page(officer_client, officer, tree):
    s = given_supervisee(officer, office=tree.donghu_office)
    data = supervisee_data(tree.donghu_office, id_number=s.id_number, phone="13907910077")
    assert officer_client.post(f"/people/{s.pk}/edit/", data).status_code == 302
    s.refresh_from_db()
    assert s.phone == "13907910077"


def _sheet(rows, header=None, title=None):
    return sheet_file(rows, header=header, title=title)


def _row(tree, **over):
    return sheet_row(tree.donghu_office, **over)


def test_import_lists_every_bad_row_and_writes_nothing(officer_client, tree):
    rows = [_row(tree), _row(tree, id_number="36010219900517001X"), _row(tree, effective_date="2026-01-01"),
            _row(tree, name="<script>x</script>")]
    rows.append(dict(rows[0]))  # the same person twice
    before = Supervisee.objects.count()
    r = officer_client.post("/people/import/", {"file": _sheet(rows)})
    html = r.content.decode()
    assert r.status_code == 422
    assert "其中 4 行有误，未导入任何数据" in html
    for n, text in ((3, "校验码错误"), (4, "不能早于"), (5, "姓名只能包含"), (6, "与第 2 行重复")):
        assert re.search(f"第 {n} 行.*?{text}", html, re.S), (n, text)
    assert Supervisee.objects.count() == before


def test_import_good_sheet_previews_then_writes_all(officer_client, tree):
    rows = [_row(tree) for _ in range(3)]
    r = officer_client.post("/people/import/", {"file": _sheet(rows)})
    assert r.status_code == 200 and "检查全部通过" in r.content.decode()
    assert Supervisee.objects.count() == 0
    token = re.search(r'name="token" value="([0-9a-f]+)"', r.content.decode()).group(1)
    r = officer_client.post("/people/import/confirm/", {"token": token})
    assert r.status_code == 302 and Supervisee.objects.count() == 3
    # the same token cannot be replayed
    officer_client.post("/people/import/confirm/", {"token": token})
    assert Supervisee.objects.count() == 3


@pytest.mark.parametrize("payload,message", [
    (b"not a spreadsheet", "无法读取文件"),
    (b"", "文件是空的"),
])
def test_malformed_upload_gets_a_clear_error(officer_client, payload, message):
    f = io.BytesIO(payload)
    f.name = "x.xlsx"
    r = officer_client.post("/people/import/", {"file": f})
    assert r.status_code == 422 and message in r.content.decode()


def test_sheet_with_wrong_headers_is_refused(officer_client, tree):
    r = officer_client.post("/people/import/", {"file": _sheet([_row(tree)], header=["名字", "号码"])})
    assert r.status_code == 422 and "表头缺少必填列" in r.content.decode()


def test_template_round_trips_through_the_parser(officer_client):
    r = officer_client.get("/people/import/template.xlsx")
    parsed = sheets.parse_sheet(r.content)
    assert parsed.rows[0][1]["name"] == "张伟"
    assert load_workbook(io.BytesIO(r.content)).sheetnames == ["社区矫正对象", "填写说明"]


def test_language_switch_to_english(client, officer):
    client.force_login(officer)
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/people/"})
    assert r.status_code == 302
    html = client.get("/people/").content.decode()
    assert 'lang="en"' in html and "Supervisees" in html


def test_contacts_and_team_through_the_page(officer_client, officer, tree):
    s = given_supervisee(officer, office=tree.donghu_office, male=False)
    html = officer_client.get(f"/people/{s.pk}/").content.decode()
    assert "尚未组建矫正小组" in html
    officer_client.post(f"/people/{s.pk}/team/", {"name": "刘芳", "kind": "office", "gender": "M"})
    html = officer_client.get(f"/people/{s.pk}/").content.decode()
    assert "应当有女性成员" in html
    officer_client.post(f"/people/{s.pk}/team/", {"name": "陈静", "kind": "community", "gender": "F"})
    html = officer_client.get(f"/people/{s.pk}/").content.decode()
    assert "应当有女性成员" not in html and "陈静" in html


def test_history_tab_shows_labels_and_office_names(officer_client, officer, tree):
    s = given_supervisee(officer, office=tree.donghu_office)
    officer_client.post(f"/people/{s.pk}/edit/", supervisee_data(tree.donghu_office2, id_number=s.id_number,
                                                                  management_level="normal"))
    html = officer_client.get(f"/people/{s.pk}/?tab=history").content.decode()
    assert "负责司法所" in html and "公园司法所" in html and "八一桥司法所" in html
    assert "管理等级" in html and "严管" in html and "普管" in html


def test_edit_page_and_photo_reads_are_logged(officer_client, officer, tree, settings, tmp_path):
    from apps.people.services import CheckedPhoto, supervisee_set_photo

    settings.MEDIA_ROOT = tmp_path
    s = given_supervisee(officer, office=tree.donghu_office)
    views = AuditRecord.objects.filter(kind="view", object_id=str(s.pk))
    n = views.count()
    officer_client.get(f"/people/{s.pk}/edit/")
    assert views.count() == n + 1 and views.order_by("-id").first().summary == "打开档案编辑页"
    assert officer_client.get(f"/people/{s.pk}/photo/").status_code == 404  # no photo yet
    buf = io.BytesIO()
    from PIL import Image

    Image.new("RGB", (200, 250), (180, 160, 150)).save(buf, "JPEG")
    supervisee_set_photo(actor=officer, supervisee=s, photo=CheckedPhoto(buf.getvalue(), "jpg"))
    r = officer_client.get(f"/people/{s.pk}/photo/")
    assert r.status_code == 200 and b"".join(r.streaming_content)[:2] == b"\xff\xd8"  # the JPEG itself
    assert views.order_by("-id").first().summary == "查看照片"


class _Clock:
    """Time as the idle-timeout middleware sees it, moved by hand."""

    def __init__(self):
        import time

        self.now = time.time()

    def __call__(self):
        return self.now


def test_idle_session_times_out_after_thirty_minutes(client, tree, settings, monkeypatch):
    from apps.orgs import middleware
    from apps.orgs.testing import PASSWORD

    assert settings.ZHIJIAO_IDLE_SECONDS == 30 * 60
    clock = _Clock()
    monkeypatch.setattr(middleware.time, "time", clock)
    given_staff(tree.donghu, "county_officer", username="idle_u")
    client.post("/", {"username": "idle_u", "password": PASSWORD})
    assert client.get("/people/").status_code == 200
    clock.now += 29 * 60  # active again before the limit: the session is refreshed
    assert client.get("/people/").status_code == 200
    clock.now += 29 * 60
    assert client.get("/people/?q=%E7%8E%8B&page=2").status_code == 200
    clock.now += 32 * 60  # idle longer than the limit
    r = client.get("/people/?q=%E7%8E%8B&page=2")
    assert r.status_code == 302 and r["Location"] == "/?next=/people/%3Fq%3D%25E7%258E%258B%26page%3D2"
    assert AuditRecord.objects.filter(action="auth.timeout", actor__username="idle_u").count() == 1
    assert client.get("/people/").status_code == 302  # signed out for good, not only for one request
    assert "长时间未操作" in client.get("/").content.decode()


def test_a_session_idle_for_hours_is_still_told_and_audited(client, tree, monkeypatch):
    """The session row outlives the idle limit, so coming back after a long lunch still says why, and is logged."""
    from apps.orgs import middleware
    from apps.orgs.testing import PASSWORD

    clock = _Clock()
    monkeypatch.setattr(middleware.time, "time", clock)
    given_staff(tree.donghu, "county_officer", username="idle_h")
    client.post("/", {"username": "idle_h", "password": PASSWORD})
    clock.now += 3 * 3600
    assert client.get("/people/").status_code == 302
    assert AuditRecord.objects.filter(action="auth.timeout", actor__username="idle_h").count() == 1


def test_a_page_view_writes_only_its_read_log(officer_client, officer, tree):
    """The session is refreshed at most once a minute, so an ordinary page view's only write is the read log."""
    s = given_supervisee(officer, office=tree.donghu_office)
    officer_client.get("/people/")  # the first view after sign-in refreshes the session
    writes = ("INSERT", "UPDATE", "DELETE")
    with CaptureQueriesContext(connection) as q:
        assert officer_client.get(f"/people/{s.pk}/").status_code == 200
    done = [x["sql"] for x in q.captured_queries if x["sql"].lstrip().upper().startswith(writes)]
    assert len(done) == 1 and "audit_auditrecord" in done[0], done


def _png(w, h):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (w, h)).save(buf, "PNG")
    buf.seek(0)
    buf.name = "p.png"
    return buf


@pytest.mark.parametrize("photo", [
    lambda: io.BytesIO(b"not an image"),
    lambda: _png(20000, 20000),  # a decompression bomb: 48 KB on disk, 400 megapixels
    lambda: _png(100, 100),      # too small for face check-in
])
def test_edit_with_a_bad_photo_changes_nothing(officer_client, officer, tree, photo):
    s = given_supervisee(officer, office=tree.donghu_office)
    n = AuditRecord.objects.filter(kind="change").count()
    f = photo()
    f.name = getattr(f, "name", "x.jpg")
    data = supervisee_data(tree.donghu_office, id_number=s.id_number, phone="13907910077")
    r = officer_client.post(f"/people/{s.pk}/edit/", {**data, "photo": f})
    assert r.status_code == 422 and "照片" in r.content.decode()
    s.refresh_from_db()
    assert s.phone == "13807910001" and not s.photo
    assert AuditRecord.objects.filter(kind="change").count() == n


@pytest.mark.parametrize("query", ["?office=²", "?county=²", "?office=99999999999999999999999", "?page=abc&per=x",
                                   "?sort=../../etc", "?minor=2&level=x&type=y&status=z", "?q=" + "王" * 500])
def test_odd_query_strings_never_crash(officer_client, officer, tree, query):
    given_supervisee(officer, office=tree.donghu_office)
    assert officer_client.get("/people/" + query).status_code == 200
    from urllib.parse import parse_qsl

    assert officer_client.post("/people/export/", dict(parse_qsl(query[1:]))).status_code == 200


def test_huge_ids_in_urls_are_not_found(officer_client):
    assert officer_client.get("/people/99999999999999999999999/").status_code == 404
    assert officer_client.get("/orgs/staff/?org=²").status_code == 200


def test_sheet_with_a_repeated_header_is_refused(officer_client, tree):
    header = [h for _, h, _, _ in sheets.COLUMNS] + ["姓名"]
    r = officer_client.post("/people/import/", {"file": _sheet([_row(tree)], header=header)})
    assert r.status_code == 422 and "出现了两次" in r.content.decode()
