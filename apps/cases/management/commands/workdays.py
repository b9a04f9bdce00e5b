"""manage.py workdays add DATE N | workdays between DATE1 DATE2, on the calendar the deadlines use.

`add` prints the N-th working day after DATE; `between` the number of working days after DATE1 up to and including
DATE2. One line each, dates in ISO form. An answer that rests on a year whose holidays are not loaded (counted
Monday to Friday) is marked on stderr."""
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.cases import services, workdays


def _date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise CommandError(f"日期“{s}”无效，应为 YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "按期限所用的节假日日历计算工作日：add DATE N（之后第N个工作日），between DATE1 DATE2（其后至DATE2含的工作日数）"

    def add_arguments(self, parser):
        parser.add_argument("op", choices=["add", "between"])
        parser.add_argument("a")
        parser.add_argument("b")

    def handle(self, *args, op, a, b, **opts):
        cal = services.calendar()
        try:
            if op == "add":
                try:
                    n = int(b)
                except ValueError:
                    raise CommandError(f"工作日数“{b}”应为整数") from None
                c = workdays.add_workdays(cal, _date(a), n)
                self.stdout.write(c.value.isoformat())
            else:
                c = workdays.workdays_between(cal, _date(a), _date(b))
                self.stdout.write(str(c.value))
        except ValueError as e:
            raise CommandError(str(e)) from None
        if c.provisional:
            years = "、".join(map(str, c.unloaded_years))
            self.stderr.write(f"provisional: {years} holidays not loaded, counted Monday to Friday "
                              f"(load them with manage.py load_holidays)")
