"""manage.py cases_daily [--date D]: run the daily case job now (what beat or the embedded thread runs)."""
from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_seal
from apps.cases.daily import run_daily


class Command(BaseCommand):
    help = "立即运行每日案件任务：未按时报到转查找、逾期提醒、期满前事项"

    def add_arguments(self, parser):
        parser.add_argument("--date", help="按该日运行（YYYY-MM-DD），默认今天")
        parser.add_argument("--force", action="store_true",
                            help="今天已运行过也再运行一次（每项提醒仍只产生一次），如导入节假日或补录之后")

    def handle(self, *args, date=None, force=False, **opts):
        from datetime import date as D
        try:
            day = D.fromisoformat(date) if date else None
        except ValueError:
            raise CommandError(f"日期“{date}”无效") from None
        result = run_daily(day, force=force)
        self.stdout.write(" ".join(f"{k}={v}" for k, v in result.items()))
        audit_seal()
