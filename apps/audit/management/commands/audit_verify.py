from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_verify


class Command(BaseCommand):
    help = "Prove the audit hash chain intact, or name the first broken record."

    def handle(self, *args, **options):
        count, brk = audit_verify()
        if brk:
            raise CommandError(f"审计链断裂：第 {brk.seq} 条记录 — {brk.reason}（此前 {count} 条完好）")
        self.stdout.write(self.style.SUCCESS(f"审计链完好：共 {count} 条记录 (audit chain intact: {count} records)"))
