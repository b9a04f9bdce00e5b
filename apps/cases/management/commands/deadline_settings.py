"""manage.py deadline_settings: list every deadline with the number in force and its article;
manage.py deadline_settings set KIND DAYS --from DATE [--note TEXT]: a province's own number for a deadline the
law does not fix, in force from a date. Open deadlines that start counting from that date are recomputed."""
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_seal
from apps.cases import services
from apps.people.services import InputErrors


class Command(BaseCommand):
    help = "查看期限表；设置省级可调整的期限（自某日起生效），并重算受影响的待办"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="op")
        sub.add_parser("list", help="列出全部期限")
        s = sub.add_parser("set", help="设置一项期限")
        s.add_argument("kind")
        s.add_argument("days")
        s.add_argument("--from", dest="effective_from", required=True, help="生效日期 YYYY-MM-DD")
        s.add_argument("--note", default="")

    def handle(self, *args, op=None, **opts):
        if op == "set":
            try:
                r = services.deadline_setting_set(actor=None, kind=opts["kind"], days=opts["days"],
                                                  effective_from=opts["effective_from"], note=opts["note"])
            except InputErrors as e:
                raise CommandError("；".join(e.errors.values())) from None
            audit_seal()
            self.stdout.write(f"{r.kind}: {r.days} from {r.effective_from.isoformat()}; "
                              f"{r.recomputed} open deadlines recomputed")
            return
        for row in services.deadline_table(date.today()):
            d = row["d"]
            mark = "settable" if d.setting else "fixed"
            nxt = "".join(f"; {u.days} from {u.effective_from.isoformat()}" for u in reversed(row["upcoming"]))
            self.stdout.write(f"{d.kind}\t{row['current']}\t{d.day_kind.value}\t{mark}\t{d.title}\t{d.article}{nxt}")
