"""Cases opened by 0001 from person rows still awaiting report-in had no deadlines, so the daily job never
searched for them: give each the intake deadlines a registration would (法20: notice 5 days, documents 10;
法21: report-in or, for 暂予监外执行, the handover within 10 days, from the judgment taking effect). Calendar days
as the law counts them; the move off a holiday (刑诉法第105条) is applied here from the shipped calendar."""
import datetime

from django.db import migrations

KINDS = {
    "notice_due": ("决定机关送达通知期限", "社区矫正法第20条", 5, "county"),
    "documents_due": ("法律文书送达期限", "社区矫正法第20条", 10, "county"),
    "report_in": ("社区矫正对象报到期限", "社区矫正法第21条第一款", 10, "office"),
    "handover": ("暂予监外执行罪犯移送交接", "社区矫正法第21条第二、三款", 10, "county"),
}


def forwards(apps, schema_editor):
    Case, Task, Holiday = apps.get_model("cases", "Case"), apps.get_model("cases", "Task"), apps.get_model(
        "cases", "Holiday")
    off = set(Holiday.objects.filter(is_off=True).values_list("day", flat=True))
    makeup = set(Holiday.objects.filter(is_off=False).values_list("day", flat=True))

    def workday(d):
        return d in makeup or (d.weekday() < 5 and d not in off)

    todo = (Case.objects.filter(status="awaiting_report", is_open=True).exclude(tasks__kind__in=list(KINDS))
            .select_related("execution_county", "judicial_office"))
    batch = []
    for c in todo.iterator(chunk_size=2000):
        kinds = ["notice_due", "documents_due", "handover" if c.sentence_type == "medical_parole" else "report_in"]
        for kind in kinds:
            title, article, days, who = KINDS[kind]
            due = c.effective_date + datetime.timedelta(days=days)
            while not workday(due):
                due += datetime.timedelta(days=1)
            org = c.execution_county if who == "county" else c.judicial_office
            batch.append(Task(case=c, kind=kind, title=title, article=article, anchor_date=c.effective_date,
                              days=days, day_kind="calendar", due_date=due, provisional=False, org=org,
                              org_path=org.path, is_minor=c.is_minor))
        if len(batch) >= 3000:
            Task.objects.bulk_create(batch)
            batch = []
    Task.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_month_deadlines")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
