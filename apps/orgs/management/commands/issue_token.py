from django.core.management.base import BaseCommand, CommandError

from apps.audit.services import audit_seal
from apps.orgs.models import User
from apps.orgs.services import token_issue


class Command(BaseCommand):
    help = "Issue an API bearer token for a staff or device account (shown once; only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="device", help="what the token is for, e.g. kiosk-01")

    def handle(self, *args, username, name, **options):
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"没有启用的账号 {username}")
        issued = token_issue(user=user, name=name)
        audit_seal()  # a command ends before a sealer thread would run: chain its record now
        self.stdout.write(f"{issued.key}\n令牌只显示这一次，有效期至 {issued.token.expires_at:%Y-%m-%d}（only shown once）")
