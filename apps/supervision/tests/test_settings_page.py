"""本省监管规则 on a page: everyone who supervises reads the tables in force and the province's dated rows; only the
province adds one, from today or later, with its basis; a bad form writes nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from apps.audit.models import AuditRecord
from apps.orgs.testing import given_staff
from apps.people.services import today_local
from apps.supervision import services
from apps.supervision.models import RuleSetting


def _form(table_name, today, **over):
    """The form as the page fills it: the values in force, then the changes."""
    out = {"table": table_name, "effective_from": (today + timedelta(days=1)).isoformat(), "note": "赣司发〔2026〕9号"}
    for t in services.settings_overview(today):
        if t["name"] != table_name:
            continue
        for f in t["fields"]:
            if f["kind"] == "levels":
                out.update({f"{f['key']}.{k}": str(v) for k, _, v in f["levels"]})
            elif f["kind"] == "bool":
                if f["value"]:
                    out[f["key"]] = "1"
            elif f["kind"] == "lines":
                out[f["key"]] = f["text"]
            else:
                out[f["key"]] = str(f["value"])
    out.update(over)
    return out


@pytest.fixture
def province(tree):
    return given_staff(tree.province, "province_supervisor")


def test_an_office_reads_the_tables(client, tree, django_assert_max_num_queries):
    client.force_login(given_staff(tree.donghu_office, "office_staff"))
    with django_assert_max_num_queries(10):
        page = client.get("/supervision/settings/")
    body = page.content.decode()
    assert page.status_code == 200 and "司法所可批准的外出天数上限" in body and "营业执照" in body
    assert 'id="form-leave"' not in body  # no form for those who may not set
    assert client.post("/supervision/settings/", _form("leave", today_local(), office_max_days="5")).status_code == 404
    assert not RuleSetting.objects.exists()


def test_the_province_sets_leave_from_tomorrow_and_later_rows_keep_earlier_changes(client, province):
    today = today_local()
    client.force_login(province)
    r = client.post("/supervision/settings/", _form("leave", today, office_max_days="5"))
    assert r.status_code == 302 and r["Location"].endswith("#t-leave")
    tomorrow = today + timedelta(days=1)
    assert services.table("leave", tomorrow).office_max_days == 5 and services.table("leave", today).office_max_days == 7
    assert AuditRecord.objects.filter(action="supervision.setting").count() == 1
    body = client.get("/supervision/settings/").content.decode()
    assert "待施行" in body and "赣司发〔2026〕9号" in body
    assert '司法所可批准的外出天数上限（日）：<span class="text-body">5</span>' in body  # the row says what it changed
    # a second row a week on, from the form as it then shows (5 in force): the 5 is kept, the days change
    later = today + timedelta(days=8)
    form = _form("leave", tomorrow, effective_from=later.isoformat(), decide_days="5",
                 business_evidence="营业执照\n购销合同")
    assert client.post("/supervision/settings/", form).status_code == 302
    t = services.table("leave", later)
    assert (t.office_max_days, t.decide_days, t.business_evidence) == (5, 5, ("营业执照", "购销合同"))
    leave = next(x for x in services.settings_overview(today) if x["name"] == "leave")
    assert [[c["key"] for c in h["changes"]] for h in leave["history"]] == [
        ["office_max_days"], ["decide_days", "business_evidence"]]  # each row against the table before it


@pytest.mark.parametrize("over, field", [
    ({"effective_from": "2020-01-01"}, "施行日期不能早于今天"),
    ({"note": ""}, "请写明依据"),
    ({"office_max_days": "-1"}, "应为0至366的整数"),
    ({"study.strict": "abc"}, "严管的每月教育学习时长"),
    ({}, "没有需要保存的变更"),
])
def test_a_bad_form_says_why_and_writes_nothing(client, province, over, field):
    client.force_login(province)
    name = "hours" if any(k.startswith("study") for k in over) else "leave"
    r = client.post("/supervision/settings/", _form(name, today_local(), **over))
    assert r.status_code == 422 and field in r.content.decode()
    assert not RuleSetting.objects.exists() and not AuditRecord.objects.filter(action="supervision.setting").exists()


def test_report_periods_are_chosen_per_level(client, province):
    client.force_login(province)
    today = today_local()
    r = client.post("/supervision/settings/", _form("report", today, **{"period.lenient": "half_month"}))
    assert r.status_code == 302
    assert services.table("report", today + timedelta(days=1)).period["lenient"] == "half_month"
    bad = client.post("/supervision/settings/", _form("report", today, **{"period.strict": "daily",
                                                                           "effective_from": (today + timedelta(days=3)).isoformat()}))
    assert bad.status_code == 422 and RuleSetting.objects.count() == 1



@pytest.mark.parametrize("over, field", [
    ({"day_start_hour": "20", "day_end_hour": "8"}, "day_end_hour"),
    ({"answer_minutes": "0"}, "answer_minutes"),
    ({"turn_percent": "90"}, "turn_percent"),
])
def test_the_verification_table_refuses_what_cannot_work(province, over, field):
    from apps.people.services import InputErrors

    today = today_local()
    with pytest.raises(InputErrors) as e:
        services.rule_setting_from_form(actor=province, table_name="check", post=_form("check", today, **over),
                                        today=today)
    assert field in e.value.errors and not RuleSetting.objects.exists()


def test_the_province_sets_more_spot_checks_for_strict(province):
    today = today_local()
    post = _form("check", today, **{"spot_checks.strict": "12"})
    services.rule_setting_from_form(actor=province, table_name="check", post=post, today=today)
    t = services.table("check", today + timedelta(days=1))
    assert t.spot_checks == {"strict": 12, "normal": 4, "lenient": 2} and t.answer_minutes == 15
