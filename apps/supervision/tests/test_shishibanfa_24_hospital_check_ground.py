"""实施办法第24条: only 保外就医 owes the hospital's re-examination every three months; a 暂予监外执行 for pregnancy
or nursing, or for being unable to care for oneself, owes the monthly health report but no hospital check, no
missed-check task, and no extension of one."""
from __future__ import annotations

import pytest

from apps.cases.models import Case, Task
from apps.orgs.testing import TODAY, given_staff
from apps.people.testing import given_supervisee
from apps.people.services import InputErrors
from apps.supervision import rules, services
from apps.supervision.models import Fact
from apps.supervision.selectors import schedule
from datetime import date

D = date.fromisoformat


@pytest.mark.parametrize("sentence_type, ground, owes", [
    ("medical_parole", "medical", True),
    ("medical_parole", "", True),  # registered before the ground was recorded: supervised as 保外就医
    ("medical_parole", "pregnant", False),
    ("medical_parole", "incapable", False),
    ("parole", "", False),
    ("probation", "", False),
])
def test_shishibanfa_24_who_owes_the_hospital_check(sentence_type, ground, owes):
    assert rules.needs_hospital_check(sentence_type, ground) is owes


def _case(tree, officer, ground):
    p = given_supervisee(officer, office=tree.donghu_office, status="active", sentence_type="medical_parole",
                         original_penalty="有期徒刑二年，暂予监外执行", judgment_date="2026-06-01",
                         effective_date="2026-06-01", release_date="2026-06-10", sentence_end_date="2027-09-11",
                         term_months="", temporary_ground=ground, male=ground != "pregnant")
    return Case.objects.get(person=p, is_open=True)


def test_the_daily_job_asks_a_check_of_the_sick_only(tree, officer):
    staff = given_staff(tree.donghu_office, "office_staff")
    sick, nursing = _case(tree, officer, "medical"), _case(tree, officer, "pregnant")
    for c in (sick, nursing):  # a check recorded for both (a hospital visit happens), months ago
        services.record_add(actor=staff, case_id=c.pk, kind="hospital_check",
                            data={"hospital": "江西省妇幼保健院", "text": "复查", "happened_at": "2026-07-01T10:00"})
    services.supervision_daily(TODAY)
    assert Fact.objects.filter(case=sick, kind="check_missing").exists()
    assert Task.objects.filter(case=sick, kind="check_missing").exists()
    assert not Fact.objects.filter(case=nursing, kind="check_missing").exists()
    assert not Task.objects.filter(case=nursing, kind="check_missing").exists()
    assert services.check_due(sick) == D("2026-10-01") and services.check_due(nursing) is None
    assert schedule(sick, TODAY).needs_check and not schedule(nursing, TODAY).needs_check
    assert schedule(nursing, TODAY).health_due is not None  # the monthly health report is still owed


def test_no_extension_of_a_check_that_is_not_owed(tree, officer):
    staff = given_staff(tree.donghu_office, "office_staff")
    c = _case(tree, officer, "incapable")
    with pytest.raises(InputErrors) as e:
        services.request_apply(actor=staff, case_id=c.pk, today=TODAY, data={
            "kind": "extension", "months": "2", "detail": "住院", "evidence": "住院证明"})
    assert "第24条" in e.value.errors["months"]


def test_the_record_page_offers_the_check_and_its_extension_to_the_sick_only(client, tree, officer):
    sick, unable = _case(tree, officer, "medical"), _case(tree, officer, "incapable")
    client.force_login(officer)
    for c, shown in ((sick, True), (unable, False)):
        checkins = client.get(f"/people/{c.person_id}/?tab=checkins").content.decode()
        approvals = client.get(f"/people/{c.person_id}/?tab=approvals").content.decode()
        assert ('id="add-health_report"' in checkins) and ('id="add-hospital_check"' in checkins) is shown
        assert ('id="new-extension"' in approvals) is shown and 'id="new-leave"' in approvals


def test_the_daily_check_step_reads_the_ground_with_the_cases(tree, officer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as q:
            services._daily_checks(TODAY)
        return len(q)

    _case(tree, officer, "medical"), _case(tree, officer, "pregnant")
    few = queries()
    for g in ("medical", "pregnant", "incapable", "medical"):
        _case(tree, officer, g)
    assert queries() == few  # no query per case


def test_a_case_registered_before_grounds_were_recorded_is_still_checked(tree, officer):
    staff = given_staff(tree.donghu_office, "office_staff")
    old = _case(tree, officer, "medical")
    Case.objects.filter(pk=old.pk).update(judgment={k: v for k, v in old.judgment.items() if k != "temporary_ground"})
    services.record_add(actor=staff, case_id=old.pk, kind="hospital_check",
                        data={"hospital": "江西省人民医院", "text": "复查", "happened_at": "2026-07-01T10:00"})
    services.supervision_daily(TODAY)
    assert Task.objects.filter(case=old, kind="check_missing").exists()
