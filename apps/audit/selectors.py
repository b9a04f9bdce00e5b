from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditRecord, AuditVerification


def audit_history_for(*, object_type: str, object_id, limit: int = 200) -> QuerySet[AuditRecord]:
    """Change history of one object, newest first. The caller has already been granted the object."""
    return (AuditRecord.objects.filter(object_type=object_type, object_id=str(object_id), kind=AuditRecord.Kind.CHANGE)
            .select_related("actor").order_by("-id")[:limit])


def audit_status() -> AuditVerification | None:
    """The latest chain check, for the audit page's banner."""
    return AuditVerification.objects.order_by("-id").first()
