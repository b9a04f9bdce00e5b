"""`manage.py load_places`: a real installation's organisation tree for 南昌 (province, city, the 9 county agencies,
a judicial office per township, the courts, procuratorates and police), from the real places in apps.orgs.places,
boundaries converted to WGS-84. No accounts, no people: then `manage.py create_staff` for the first administrator."""
from django.conf import settings
from django.core.management.base import BaseCommand

from apps.audit.services import audit_seal
from apps.orgs import places
from apps.orgs.models import Organisation
from apps.orgs.services import org_tree_load


class Command(BaseCommand):
    help = "Create the organisation tree of 南昌市 from real places (only into a database without organisations)."

    def handle(self, *args, **options):
        if Organisation.objects.exists():
            self.stdout.write("机构已存在，跳过 (organisations already present; nothing to do)")
            return
        orgs = org_tree_load(plan=places.org_plan(str(settings.SHARED_DATA_DIR)))
        audit_seal()
        n = len({o.pk for o in orgs.values()})
        self.stdout.write(f"机构树已建立 (organisation tree created): {n} 个机构。"
                          "下一步：manage.py create_staff 建立系统管理员账号。")
