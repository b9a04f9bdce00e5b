"""Background jobs for the audit log: thin wrappers over services."""
from celery import shared_task

from .services import audit_verify


@shared_task(name="audit.verify_chain")
def audit_verify_task() -> dict:
    """Walk the whole chain (nightly in production, through Celery beat). Returns what it found."""
    count, brk = audit_verify()
    return {"count": count, "broken_seq": brk.seq if brk else None, "reason": brk.reason if brk else ""}
