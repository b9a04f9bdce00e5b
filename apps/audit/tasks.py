"""Background jobs for the audit log: thin wrappers over services (scheduled by Celery beat, settings.py)."""
from celery import shared_task

from .services import audit_seal, audit_verify


@shared_task(name="audit.seal", ignore_result=True)
def audit_seal_task() -> dict:
    """Link the records committed since the last run into the chain (every few seconds)."""
    r = audit_seal()
    return {"sealed": r.sealed, "batches": r.batches, "last_seq": r.last_seq}


@shared_task(name="audit.verify_chain")
def audit_verify_task(full: bool = False) -> dict:
    """Check the chain from the last verified checkpoint (nightly), or all of it. Returns what it found."""
    r = audit_verify(full=full)
    return {"count": r.checked, "from_seq": r.from_seq, "to_seq": r.to_seq,
            "broken_seq": r.broken.seq if r.broken else None, "broken_record": r.broken.record_id if r.broken else None,
            "reason": r.broken.reason if r.broken else "", "overdue": r.overdue, "ok": r.ok}
