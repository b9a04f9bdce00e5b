"""The migration that turned each person's row into their first case: nothing lost, each at its stage."""
import importlib

from django.apps import apps as registry

from apps.cases.models import Case, CaseEvent, Task
from apps.orgs.testing import TODAY
from apps.people.models import Supervisee
from apps.people.services import supervisee_create
from apps.people.testing import supervisee_data

migration = importlib.import_module("apps.cases.migrations.0001_cases")


def test_each_person_becomes_one_case_at_the_stage_their_row_gave(tree, officer):
    statuses = ["active", "pending", "released", "terminated", "active"]
    people = [supervisee_create(actor=officer, data=supervisee_data(tree.donghu_office, status=s,
                                                                    judgment_number=f"（2026）赣0102刑初{i}号"),
                                today=TODAY) for i, s in enumerate(statuses)]
    Supervisee.objects.filter(pk=people[2].pk).update(supervision_end="2026-01-01")
    # as before the cases app: the person rows alone
    Task.objects.all().delete()
    CaseEvent.objects.all().delete()
    Case.objects.all().delete()
    migration.cases_from_people(registry, None)  # it uses the registry, not the schema editor
    cases = {c.person_id: c for c in Case.objects.all()}
    assert set(cases) == {p.pk for p in people}
    expected = {"active": "active", "pending": "awaiting_report", "released": "released", "terminated": "terminated"}
    for p, s in zip(people, statuses):
        c = cases[p.pk]
        p.refresh_from_db()
        assert c.status == expected[s] and c.is_open == (s in ("active", "pending"))
        assert (c.org_path, c.judicial_office_id, c.execution_county_id) == (p.org_path, p.judicial_office_id,
                                                                             p.execution_county_id)
        assert (c.term_start, c.term_end, c.management_level) == (p.supervision_start, p.supervision_end,
                                                                  p.management_level)
        assert c.judgment["judgment_number"] == p.judgment_number and c.judgment["crime"] == p.crime
        assert CaseEvent.objects.get(case=c).code == "migrated"
    assert cases[people[2].pk].end_reason == "expiry" and cases[people[3].pk].end_reason == "unrecorded"


def test_the_shipped_calendar_is_loaded(db):
    from apps.cases.models import Holiday, HolidayYear

    assert set(HolidayYear.objects.values_list("year", flat=True)) == set(range(2007, 2027))
    assert Holiday.objects.get(day="2026-10-10").is_off is False  # a make-up Saturday
    assert Holiday.objects.get(day="2026-10-01").is_off is True


def test_migrated_cases_awaiting_report_in_get_their_intake_deadlines(tree, officer):
    later = importlib.import_module("apps.cases.migrations.0006_intake_deadlines_for_migrated_cases")
    p = supervisee_create(actor=officer, data=supervisee_data(tree.donghu_office, status="pending",
                                                              effective_date="2026-09-25", judgment_date="2026-09-10"),
                          today=TODAY)
    Task.objects.all().delete()
    later.forwards(registry, None)
    tasks = {t.kind: t for t in Task.objects.filter(case__person=p)}
    assert set(tasks) == {"notice_due", "documents_due", "report_in"}
    assert str(tasks["report_in"].due_date) == "2026-10-08"  # 10-05 is National Day (刑诉法第105条)
    later.forwards(registry, None)
    assert Task.objects.filter(case__person=p).count() == 3, "run twice, made once"
