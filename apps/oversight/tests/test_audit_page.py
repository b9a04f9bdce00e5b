"""The audit trail as oversight reads it: what happened in the reader's county, whoever did it; in words; odd
filters answered, not crashed; and the chain's last check shown."""
import pytest

from apps.audit.models import AuditRecord
from apps.audit.services import audit_seal, audit_verify
from apps.orgs.testing import given_staff
from apps.people.selectors import access_supervisee
from apps.people.testing import given_supervisee

pytestmark = pytest.mark.django_db


def _rows(client, query=""):
    r = client.get("/audit/" + query)
    assert r.status_code == 200
    return r.content.decode()


def test_a_county_sees_who_read_its_files_even_from_the_city(client, tree):
    dh = given_staff(tree.donghu, "county_officer")
    s = given_supervisee(dh, office=tree.donghu_office, name="周建国")
    city = given_staff(tree.city, "city_supervisor")
    access_supervisee(user=city, supervisee_id=s.pk, purpose="市级督导查阅档案")
    rec = AuditRecord.objects.get(summary="市级督导查阅档案")
    assert rec.org_path == s.org_path  # where it happened, not where the reader sits
    procurator = given_staff(tree.donghu_procuratorate, "procurator")
    client.force_login(procurator)
    html = _rows(client, f"?object_type=supervisee&object_id={s.pk}")
    assert "市级督导查阅档案" in html and "周建国" in html
    client.force_login(given_staff(tree.xihu, "county_officer"))  # another county sees none of it
    assert "市级督导查阅档案" not in _rows(client)


def test_a_minor_is_masked_on_the_audit_page_for_a_reader_without_the_grant(client, tree):
    granted = given_staff(tree.donghu, "county_officer", minor_access=True)
    minor = given_supervisee(granted, office=tree.donghu_office, minor=True, name="李小龙")
    client.force_login(given_staff(tree.donghu_procuratorate, "procurator"))
    html = _rows(client, f"?object_type=supervisee&object_id={minor.pk}")
    assert "李**" in html and "李小龙" not in html
    client.force_login(given_staff(tree.province, "sysadmin"))  # administrators read no case files: masked too
    html = _rows(client, "?action=supervisee.create")
    assert "李**" in html and "李小龙" not in html


@pytest.mark.parametrize("query", ["?to=9999-12-31", "?from=0001-01-01", "?p=%C2%B2", "?after=%21%21",
                                   "?action=nonsense&object_type=x&kind=y", "?from=2026-02-30"])
def test_odd_filters_are_answered(client, tree, query):
    client.force_login(given_staff(tree.province, "province_supervisor"))
    assert client.get("/audit/" + query).status_code == 200
    assert client.get("/audit/export.xlsx" + query).status_code == 200


def test_the_page_shows_the_last_check_of_the_chain(client, tree):
    client.force_login(given_staff(tree.province, "province_supervisor"))
    assert "尚未核验" in _rows(client)
    audit_seal()
    audit_verify()
    html = _rows(client)
    assert "完好" in html and 'id="chain-status"' in html


def test_what_a_procurator_looks_up_in_the_log_stays_out_of_the_county_view(client, tree):
    procurator = given_staff(tree.donghu_procuratorate, "procurator")
    given_supervisee(given_staff(tree.donghu, "county_officer"), office=tree.donghu_office)
    client.force_login(procurator)
    _rows(client)  # the procurator reads the county's log: the read is logged
    rec = AuditRecord.objects.filter(action="audit.view", actor=procurator).first()
    assert rec is not None and rec.org_path == tree.donghu_procuratorate.path

    def body(html):
        return html.split('id="audit-table"')[1].split("<tbody>")[1].split("</tbody>")[0]

    client.force_login(given_staff(tree.donghu, "county_officer"))
    assert "查阅审计日志" not in body(_rows(client, "?action=audit.view"))
    client.force_login(given_staff(tree.city, "city_supervisor"))
    assert "查阅审计日志" in body(_rows(client, "?action=audit.view"))
