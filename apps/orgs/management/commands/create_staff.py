"""Create a staff account from the command line: the first administrator of a real installation, or a device
account for `issue_token`. The password is asked for (or read from ZHIJIAO_NEW_PASSWORD for scripts)."""
import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_seal
from apps.orgs.models import Organisation
from apps.orgs.rules import Role
from apps.orgs.services import StaffError, staff_create


class Command(BaseCommand):
    help = "Create a staff account in an organisation (by id, or by adcode and kind)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--full-name", required=True)
        parser.add_argument("--org", required=True, help="organisation id, or adcode (e.g. 360000)")
        parser.add_argument("--kind", default="", help="with an adcode: province, city, county_agency, ...")
        parser.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
        parser.add_argument("--minor-access", action="store_true")

    def handle(self, *args, username, full_name, org, kind, role, minor_access, **options):
        qs = Organisation.objects.filter(pk=int(org)) if org.isascii() and org.isdigit() and len(org) < 6 else \
            Organisation.objects.filter(adcode=org, **({"kind": kind} if kind else {}))
        orgs = list(qs[:2])
        if len(orgs) != 1:
            raise CommandError(f"找不到唯一的机构 {org}{'（' + kind + '）' if kind else ''}；请用机构编号或加 --kind")
        password = os.environ.get("ZHIJIAO_NEW_PASSWORD") or getpass.getpass("密码 (password): ")
        try:
            user = staff_create(actor=None, username=username, full_name=full_name, organisation=orgs[0], roles=role,
                                password=password, minor_access=minor_access)
        except StaffError as exc:
            raise CommandError("；".join(f"{k}: {v}" for k, v in exc.errors.items())) from None
        self.stdout.write(f"已建立账号 {user.username}（{orgs[0].name}）")
        audit_seal()  # a command ends before a sealer thread would run: chain its record now
