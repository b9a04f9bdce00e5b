"""Notices an approval requires: the procuratorate told of a leave decided one level up (实施办法第27条) and of an
extended hospital check (实施办法第24条); the destination's agency asked to help supervise a trip (实施办法第28条) and
told when it is over. The recipient reads the notice and its document without opening the case."""
from __future__ import annotations

from datetime import date

import pytest

from apps.audit.models import AuditRecord
from apps.cases.models import Case
from apps.documents.models import Document
from apps.documents.selectors import access_document
from apps.notices.models import Notice
from apps.notices.selectors import inbox, unread_count
from apps.notices.services import notice_document, notice_open
from apps.orgs.scope import NotFound
from apps.orgs.testing import TODAY, given_staff
from apps.people.testing import given_supervisee
from apps.supervision import services
from apps.supervision.models import RequestEvent

D = date.fromisoformat


@pytest.fixture
def staff(tree):
    return given_staff(tree.donghu_office, "office_staff")


def _case(tree, officer, **over) -> Case:
    p = given_supervisee(officer, office=tree.donghu_office, status="active", management_level="normal", **over)
    return Case.objects.get(person=p, is_open=True)


def leave(staff, case, start="2026-11-26", end="2026-12-07", adcodes="360103", **over):
    data = {"kind": "leave", "reason": "family", "detail": "探望住院的母亲", "destination": "南昌市西湖区",
            "destination_adcodes": adcodes, "evidence": "住院证明", "start": start, "end": end, **over}
    return services.request_apply(actor=staff, case_id=case.pk, data=data, today=TODAY).record


def test_art28_a_trip_to_another_county_asks_its_agency_to_help_and_tells_it_when_it_is_over(tree, officer, staff):
    case = _case(tree, officer)
    r = leave(staff, case)
    services.request_act(actor=officer, request_id=r.pk, code="approve", today=TODAY)
    n = Notice.objects.get(kind="assist")
    assert n.to_org == tree.xihu and n.from_org == tree.donghu and n.ref == f"request:{r.pk}" and n.read_at is None
    letter = n.document
    assert letter.doc_type == "leave_assist_letter" and letter.agency == tree.donghu and "协函" in letter.number
    assert letter.context["to_name"] == tree.xihu.name and letter.context["days"] == 12
    assert "西湖区" in RequestEvent.objects.get(request=r, code="notice").note
    assert AuditRecord.objects.filter(action="notice.sent", object_id=str(n.pk)).exists()

    xihu = given_staff(tree.xihu, "county_officer")
    xihu_office = given_staff(tree.xihu_office, "office_staff")
    assert [x.pk for x in inbox(user=xihu, unread=True)] == [n.pk] and unread_count(xihu_office) == 1
    assert inbox(user=staff) == [] and inbox(user=given_staff(tree.city, "city_supervisor")) == []
    with pytest.raises(NotFound):  # the case's file stays closed to the destination
        access_document(user=xihu, document_id=letter.pk, purpose="查阅")
    assert notice_document(user=xihu, notice_id=n.pk).pk == letter.pk
    n.refresh_from_db()
    assert n.read_by == xihu and n.read_at is not None and unread_count(xihu) == 0
    assert AuditRecord.objects.filter(action="notice.view", object_id=str(n.pk)).exists()
    first_read = n.read_at
    notice_open(user=xihu_office, notice_id=n.pk)
    n.refresh_from_db()
    assert n.read_by == xihu and n.read_at == first_read  # the first reading is the one the sender sees
    for outsider in (staff, officer, given_staff(tree.city, "city_supervisor")):
        with pytest.raises(NotFound):
            notice_open(user=outsider, notice_id=n.pk)

    services.request_act(actor=staff, request_id=r.pk, code="depart", data={"day": "2026-11-26"},
                         today=D("2026-11-26"))
    services.request_act(actor=staff, request_id=r.pk, code="return", data={"day": "2026-12-06"},
                         today=D("2026-12-06"))
    end = Notice.objects.get(kind="assist_end")
    assert end.to_org == tree.xihu and ["返回（销假）日期", "2026-12-06"] in end.facts


def test_art28_the_approver_may_decide_no_help_is_needed_and_unknown_destinations_are_named(tree, officer, staff):
    case = _case(tree, officer)
    r = leave(staff, case)
    services.request_act(actor=officer, request_id=r.pk, code="approve", data={"assist": "0"}, today=TODAY)
    assert not Notice.objects.exists() and not Document.objects.filter(doc_type="leave_assist_letter").exists()
    r2 = leave(staff, case, "2026-12-10", "2026-12-12", adcodes="310101, 360102")  # Shanghai; the own county
    services.request_act(actor=staff, request_id=r2.pk, code="approve", today=TODAY)
    assert not Notice.objects.exists()
    assert "310101" in RequestEvent.objects.get(request=r2, code="notice").note


def test_art27_a_leave_decided_one_level_up_is_copied_to_the_procuratorate(tree, officer, staff):
    case = _case(tree, officer)
    r = leave(staff, case, "2026-11-26", "2027-01-05", adcodes="")  # 41 days: the city decides
    assert r.authority == "above" and r.tell_procuratorate
    services.request_act(actor=given_staff(tree.city, "city_supervisor"), request_id=r.pk, code="approve",
                         today=TODAY)
    n = Notice.objects.get(kind="procuratorate")
    assert n.to_org == tree.donghu_procuratorate and n.document.doc_type == "leave_approval"
    assert "第27条" in n.body and ["社区矫正对象", case.person.name] in n.facts
    procurator = given_staff(tree.donghu_procuratorate, "procurator")
    assert [x.pk for x in inbox(user=procurator)] == [n.pk]
    assert "已通报" in RequestEvent.objects.get(request=r, code="notice").note


def test_a_minors_notice_is_read_only_with_minor_access(tree, officer, staff):
    grant = given_staff(tree.donghu_office, "office_staff", minor_access=True)
    boss = given_staff(tree.donghu, "county_officer", minor_access=True)
    case = _case(tree, boss, minor=True)
    r = leave(grant, case)
    services.request_act(actor=boss, request_id=r.pk, code="approve", today=TODAY)
    n = Notice.objects.get(kind="assist")
    assert n.is_minor
    plain = given_staff(tree.xihu, "county_officer")
    assert inbox(user=plain) == []
    with pytest.raises(NotFound):
        notice_open(user=plain, notice_id=n.pk)
    assert notice_open(user=given_staff(tree.xihu, "county_officer", minor_access=True), notice_id=n.pk).pk == n.pk


def test_the_inbox_the_notice_and_its_pdf_in_the_browserless_client(client, tree, officer, staff,
                                                                     django_assert_max_num_queries):
    case = _case(tree, officer)
    for start, end in (("2026-11-26", "2026-12-07"), ("2026-12-10", "2026-12-20")):
        services.request_act(actor=officer, request_id=leave(staff, case, start, end).pk, code="approve", today=TODAY)
    n = Notice.objects.filter(kind="assist").first()
    client.force_login(given_staff(tree.xihu, "county_officer"))
    with django_assert_max_num_queries(12):
        page = client.get("/notices/")
    assert page.status_code == 200 and page.content.decode().count("关于协助监督管理外出社区矫正对象") == 2
    one = client.get(f"/notices/{n.pk}/")
    assert one.status_code == 200 and "第28条" in one.content.decode() and case.person.name in one.content.decode()
    pdf = client.get(f"/notices/{n.pk}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.get("/notices/").content.decode().count("关于协助监督管理外出社区矫正对象") == 1  # one still unread
    assert client.get("/notices/?show=all").content.decode().count("关于协助监督管理外出社区矫正对象") == 2
    client.force_login(staff)
    assert client.get(f"/notices/{n.pk}/").status_code == 404
    assert client.get(f"/notices/{n.pk}/document.pdf").status_code == 404
    assert client.get("/notices/999999/").status_code == 404
    # the sender sees whom it told and whether they have read it
    client.force_login(officer)
    body = client.get(f"/supervision/requests/{n.ref.split(':')[1]}/").content.decode()
    assert "request-notices" in body and "已阅知" in body and "社区矫正对象外出期间协助监督管理函" in body
