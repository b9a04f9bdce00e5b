"""manage.py supervision_settings: the leave, report-in and hours tables in force and those to come;
manage.py supervision_settings set TABLE '{"field": value}' --from DATE [--note TEXT]: a province's own numbers
(apps.supervision.rules: LeaveTable, ReportTable, HoursTable), in force from a date. A matter is judged by the table in
force on the day it began, so a change never rewrites a closed period."""
import dataclasses
import json
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_seal
from apps.people.services import InputErrors
from apps.supervision import services


class Command(BaseCommand):
    help = "查看日常监管规则表（外出审批、报到频次、教育学习和社区服务时长）；设置本省规则（自某日起施行）"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="op")
        sub.add_parser("list", help="列出各表")
        s = sub.add_parser("set", help="设置一张表的若干项")
        s.add_argument("table", choices=sorted(services._TABLES))
        s.add_argument("values", help='JSON，如 {"office_max_days": 5} 或 {"period": {"strict": "week", ...}}')
        s.add_argument("--from", dest="effective_from", required=True, help="施行日期 YYYY-MM-DD")
        s.add_argument("--note", default="")

    def handle(self, *args, op=None, **opts):
        if op == "set":
            try:
                values = json.loads(opts["values"])
                day = date.fromisoformat(opts["effective_from"])
            except (ValueError, json.JSONDecodeError) as e:
                raise CommandError(f"参数无效：{e}") from None
            if not isinstance(values, dict):
                raise CommandError("values 应为 JSON 对象")
            try:
                row = services.rule_setting_set(actor=None, table_name=opts["table"], values=values,
                                                effective_from=day, note=opts["note"])
            except InputErrors as e:
                raise CommandError("；".join(e.errors.values())) from None
            audit_seal()
            self.stdout.write(f"{row.table}: {json.dumps(row.values, ensure_ascii=False)} from {day.isoformat()}")
            return
        today = date.today()
        for name in sorted(services._TABLES):
            for t in services.tables(name):
                mark = "in force" if t == services.table(name, today) else (
                    "upcoming" if t.effective_from > today else "earlier")
                fields = {k: v for k, v in dataclasses.asdict(t).items() if k != "effective_from"}
                self.stdout.write(f"{name}\t{t.effective_from.isoformat()}\t{mark}\t"
                                  f"{json.dumps(fields, ensure_ascii=False, default=str)}")
