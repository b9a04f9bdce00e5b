from django.core.management.base import BaseCommand

from apps.audit.services import audit_seal


class Command(BaseCommand):
    help = "Seal every committed audit record now (normally the sealer does this every few seconds)."

    def handle(self, *args, **options):
        r = audit_seal()
        self.stdout.write(f"已封存 {r.sealed} 条审计记录，{r.batches} 批，链尾序号 {r.last_seq}"
                          f" (sealed {r.sealed} records in {r.batches} batches)")
