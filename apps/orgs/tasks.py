"""Background jobs for accounts."""
from celery import shared_task
from django.core.management import call_command


@shared_task(name="orgs.clear_sessions", ignore_result=True)
def clear_sessions() -> None:
    """Delete expired sessions (Django's clearsessions), daily."""
    call_command("clearsessions")
