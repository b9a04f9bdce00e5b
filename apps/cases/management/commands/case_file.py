"""manage.py case_file CASE_ID --out FILE.pdf: the case's file (执法档案) as one PDF, read as the system user."""
from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_seal
from apps.cases.selectors import case_file, case_file_pdf
from apps.orgs.scope import NotFound


class Command(BaseCommand):
    help = "生成案件的执法档案 PDF（目录、页码、按标准顺序排列的文书）"

    def add_arguments(self, parser):
        parser.add_argument("case_id", type=int)
        parser.add_argument("--out", required=True)

    def handle(self, *args, case_id, out, **opts):
        try:
            case, docs = case_file(case_id=case_id)
        except NotFound:
            raise CommandError(f"案件 {case_id} 不存在") from None
        data = case_file_pdf(case, docs)
        try:
            with open(out, "wb") as f:
                f.write(data)
        except OSError as e:
            raise CommandError(f"无法写入 {out}：{e}") from None
        self.stdout.write(f"{out}: {len(docs)} documents, {len(data)} bytes")
        audit_seal()
