from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_verify


class Command(BaseCommand):
    help = ("Check the audit chain from the last verified checkpoint (or all of it with --full): name the first "
            "changed, removed, reordered or inserted record, and records left unsealed longer than the window.")

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="check from the first record, not the last checkpoint")

    def handle(self, *args, full: bool = False, **options):
        r = audit_verify(full=full)
        span = f"第 {r.from_seq + 1} 至 {r.to_seq} 条" if r.to_seq > r.from_seq else "无新记录"
        problems = []
        if r.broken:
            where = f"第 {r.broken.seq} 条记录" + (f"（记录 ID {r.broken.record_id}）" if r.broken.record_id else "")
            problems.append(f"审计链断裂：{where} — {r.broken.reason}（此前 {r.checked} 条完好）")
        if r.late:
            problems.append(f"有 {r.late} 条记录封存时间晚于写入后的封存时限（最早的记录 ID：{'、'.join(map(str, r.late_first))}）"
                            "；封存任务曾经中断，或记录被倒填时间后插入")
        if r.overdue:
            problems.append(f"有 {r.overdue} 条记录超过封存时限仍未封存（最早的记录 ID：{'、'.join(map(str, r.overdue_first))}）"
                            "；请检查封存任务（audit.seal）是否在运行")
        if problems:
            raise CommandError("；".join(problems))
        self.stdout.write(self.style.SUCCESS(
            f"审计链完好：核验 {r.checked} 条记录（{span}，检查点 {r.checkpoints} 个）"
            f" (audit chain intact: {r.checked} records checked)"))
