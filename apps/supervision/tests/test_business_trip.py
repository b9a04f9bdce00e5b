"""经营性外出 (a business trip): the proofs the province's table lists are each declared, and at least one is
uploaded; a province changes the list from a date; a wrong application writes nothing."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.cases.models import Case
from apps.orgs.testing import TODAY, given_staff
from apps.people.services import InputErrors
from apps.people.testing import given_supervisee
from apps.supervision import rules, services
from apps.supervision.models import Request

D = date.fromisoformat
ITEMS = rules.LEAVE_TABLES[0].business_evidence


@pytest.mark.parametrize("given, files, missing", [
    (ITEMS, 1, []),
    (ITEMS, 0, ["经营性外出应当上传证明材料的扫描件或者照片"]),
    (ITEMS[:3], 2, [f"经营性外出应当提交：{ITEMS[3]}"]),
    ((), 1, [f"经营性外出应当提交：{x}" for x in ITEMS]),
])
def test_provincial_business_trip_proofs_table(given, files, missing):
    assert rules.business_evidence_missing(required=ITEMS, given=given, files=files) == missing


def test_a_province_without_a_list_requires_nothing():
    assert rules.business_evidence_missing(required=(), given=(), files=0) == []


@pytest.fixture
def staff(tree):
    return given_staff(tree.donghu_office, "office_staff")


@pytest.fixture
def case(tree, officer):
    p = given_supervisee(officer, office=tree.donghu_office, status="active", management_level="normal")
    return Case.objects.get(person=p, is_open=True)


def _pdf():
    return SimpleUploadedFile("营业执照.pdf", b"%PDF-1.4 licence", content_type="application/pdf")


def apply(staff, case, files=None, **over):
    data = {"kind": "leave", "reason": "business", "detail": "赴杭州洽谈供货合同", "destination": "杭州市",
            "destination_adcodes": "330100", "start": "2026-11-26", "end": "2026-11-28", **over}
    return services.request_apply(actor=staff, case_id=case.pk, data=data, today=TODAY, files=files)


def test_a_business_trip_needs_every_proof_declared_and_one_uploaded(tree, staff, case):
    with pytest.raises(InputErrors) as e:
        apply(staff, case, files=[_pdf()], be_0="1", be_1="1")
    assert ITEMS[2] in e.value.errors["business_evidence"] and ITEMS[0] not in e.value.errors["business_evidence"]
    ticks = {f"be_{i}": "1" for i in range(len(ITEMS))}
    with pytest.raises(InputErrors) as e:
        apply(staff, case, **ticks)
    assert "扫描件" in e.value.errors["business_evidence"]
    assert not Request.objects.exists()
    r = apply(staff, case, files=[_pdf()], **ticks).record
    assert all(x in r.evidence for x in ITEMS) and r.attachments.count() == 1
    # the API names the proofs instead of ticking boxes
    r2 = apply(staff, case, files=[_pdf()], business_evidence=list(ITEMS), start="2026-12-02", end="2026-12-03").record
    assert r2.pk != r.pk and ITEMS[1] in r2.evidence
    # other reasons do not ask for them
    assert apply(staff, case, reason="medical", evidence="诊断证明", start="2026-12-05", end="2026-12-05").created


def test_a_province_sets_its_own_list_from_a_date(tree, staff, case):
    services.rule_setting_set(actor=None, table_name="leave", effective_from=D("2026-11-01"),
                              values={"business_evidence": ["营业执照"]}, note="本省规定")
    assert services.table("leave", TODAY).business_evidence == ("营业执照",)
    with pytest.raises(InputErrors):
        apply(staff, case, files=[_pdf()])
    assert apply(staff, case, files=[_pdf()], be_0="1").record.evidence == "营业执照"
    with pytest.raises(InputErrors):  # a list of words, each short and not empty
        services.rule_setting_set(actor=None, table_name="leave", effective_from=D("2026-12-01"),
                                  values={"business_evidence": ["", 3]})


def test_the_form_keeps_the_ticks_and_says_what_is_missing(client, tree, staff, case):
    client.force_login(staff)
    url = f"/supervision/cases/{case.pk}/requests/new/?kind=leave"
    page = client.get(url).content.decode()
    assert 'id="business-evidence"' in page and ITEMS[0] in page
    from apps.people.services import today_local

    start = today_local() + timedelta(days=5)
    resp = client.post(url, {"kind": "leave", "reason": "business", "detail": "洽谈", "destination": "杭州市",
                             "start": start.isoformat(), "end": (start + timedelta(days=2)).isoformat(), "be_0": "1"})
    body = resp.content.decode()
    assert resp.status_code == 422 and f"经营性外出应当提交：{ITEMS[1]}" in body
    assert 'name="be_0" value="1" id="be-0" checked' in body and 'name="be_1" value="1" id="be-1" >' in body
    assert not Request.objects.exists()
