"""manage.py load_holidays FILE [FILE ...]: load the State Council's holiday schedule for a year (holiday-cn JSON:
{"year", "papers", "days": [{"name", "date", "isOffDay"}]}). Open deadlines counted in working days are recomputed."""
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_seal
from apps.cases import services, workdays


class Command(BaseCommand):
    help = "导入国务院公布的某年节假日安排（holiday-cn JSON 格式），并重算按工作日计算的期限"

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+")

    def handle(self, *args, files, **opts):
        schedules = []
        for f in files:
            path = Path(f)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except (OSError, UnicodeDecodeError) as e:
                raise CommandError(f"无法读取 {f}：{e}") from None
            try:
                schedules.append(workdays.parse_holiday_cn(text))
            except workdays.CalendarError as e:
                raise CommandError(f"{f}：{e}") from None
        for s in schedules:  # every file checked before any is loaded
            r = services.holidays_load(actor=None, schedule=s)
            self.stdout.write(f"{r.year}: {'replaced' if r.replaced else 'loaded'} {r.off_days} off days, "
                              f"{r.makeup_days} make-up working days; {r.recomputed} deadlines recomputed")
        audit_seal()
