"""A province's own numbers (社区矫正法实施办法 leaves some periods to practice): a dated setting, applied to the
deadlines that start counting on or after its date, refused for the periods the law itself fixes; the table every
officer can read; the command."""
from __future__ import annotations

from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.audit.models import AuditRecord
from apps.cases import investigations as inv_services
from apps.cases import services
from apps.cases.models import DeadlineSetting, Task
from apps.orgs.testing import given_staff
from apps.people.services import InputErrors
from apps.cases.tests.test_investigations import request_data

D = date.fromisoformat


@pytest.fixture
def province_staff(tree):
    return given_staff(tree.province, "province_supervisor")


def _inv_task(officer, tree, received):
    inv = inv_services.investigation_create(actor=officer, data=request_data(tree, received_date=received),
                                            today=D(received))
    return Task.objects.get(investigation=inv)


def test_a_setting_applies_from_its_date_and_recomputes_what_starts_then(tree, officer, province_staff):
    before = _inv_task(officer, tree, "2026-12-01")  # counting already: keeps its ten working days
    after = _inv_task(officer, tree, "2026-12-04")
    assert (before.due_date, after.due_date) == (D("2026-12-15"), D("2026-12-18"))
    r = services.deadline_setting_set(actor=province_staff, kind="investigation", days="8",
                                      effective_from="2026-12-03", note="赣司发〔2026〕12号", today=D("2026-12-02"))
    assert r.recomputed == 1
    before.refresh_from_db(), after.refresh_from_db()
    assert (before.days, before.due_date) == (10, D("2026-12-15"))
    assert (after.days, after.due_date) == (8, D("2026-12-16"))
    assert services.deadline_days("investigation", D("2026-12-02")) == 10
    assert services.deadline_days("investigation", D("2026-12-03")) == 8
    # a new request after the date counts eight
    assert _inv_task(officer, tree, "2026-12-07").days == 8
    rec = AuditRecord.objects.get(action="deadline.setting")
    assert "8个工作日" in rec.summary and "原为10个工作日" in rec.summary and rec.actor_id == province_staff.pk


@pytest.mark.parametrize("kind, days, start, field, words", [
    ("report_in", "12", "2026-12-03", "kind", "社区矫正法第21条第一款"),  # the law fixes it
    ("nothing", "5", "2026-12-03", "kind", "没有这一期限"),
    ("investigation", "0", "2026-12-03", "days", "1 至 365"),
    ("investigation", "五", "2026-12-03", "days", "整数"),
    ("release_appraisal", "30", "2026-12-03", "days", "-1 至 -365"),  # counted back from the end of the term
    ("abscond_revocation", "13", "2026-12-03", "days", "1 至 12"),  # months
    ("investigation", "8", "2026-12-01", "effective_from", "不能早于今天"),
    ("investigation", "8", "2026/12/03", "effective_from", "YYYY-MM-DD"),
])
def test_bad_settings_are_refused_in_words_and_write_nothing(tree, province_staff, kind, days, start, field, words):
    with pytest.raises(InputErrors) as e:
        services.deadline_setting_set(actor=province_staff, kind=kind, days=days, effective_from=start,
                                      today=D("2026-12-02"))
    assert words in e.value.errors[field]
    assert not DeadlineSetting.objects.exists() and not AuditRecord.objects.filter(action="deadline.setting").exists()


def test_only_the_province_sets_and_every_officer_reads_the_table(client, tree, officer, province_staff):
    with pytest.raises(services.NotPermitted):
        services.deadline_setting_set(actor=officer, kind="investigation", days=8, effective_from="2027-01-04")
    client.force_login(officer)
    html = client.get("/cases/deadlines/").content.decode()
    assert "调查评估意见书出具期限" in html and "社区矫正法实施办法第13条" in html and 'id="deadline-form"' not in html
    assert client.post("/cases/deadlines/", {"kind": "investigation", "days": "8",
                                             "effective_from": "2027-01-04"}).status_code == 404
    client.force_login(province_staff)
    r = client.post("/cases/deadlines/", {"kind": "investigation", "days": "0", "effective_from": "2027-01-04"})
    assert r.status_code == 422 and "1 至 365" in r.content.decode()
    r = client.post("/cases/deadlines/", {"kind": "investigation", "days": "8", "effective_from": "2027-01-04"})
    assert r.status_code == 302
    html = client.get("/cases/deadlines/").content.decode()
    assert "2027-01-04起：8" in html and 'id="deadline-form"' in html


def test_the_command_lists_and_sets(db, capsys):
    call_command("deadline_settings")
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("investigation\t10\twork\tsettable") for line in lines)
    assert any(line.startswith("report_in\t10\tcalendar\tfixed") for line in lines)
    call_command("deadline_settings", "set", "transfer_report", "10", "--from", "2030-01-01", "--note", "试行")
    assert "transfer_report: 10 from 2030-01-01" in capsys.readouterr().out
    with pytest.raises(CommandError, match="已经存在"):
        call_command("deadline_settings", "set", "transfer_report", "9", "--from", "2030-01-01")
    assert DeadlineSetting.objects.get().days == 10
