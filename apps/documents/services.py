"""Issuing documents: the next number of the agency's sequence for that kind and year, taken in the caller's
transaction (a rolled-back issue gives its number back: no gaps), the facts frozen into the document, an audit
record. Rendering happens when it is read (apps.documents.render)."""
from __future__ import annotations

from datetime import date

from django.db import IntegrityError, transaction

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record
from apps.orgs.models import Organisation

from .catalogue import DOC_TYPES, number_text
from .models import Document, DocumentCounter


def _next_number(agency: Organisation, doc_type: str, year: int) -> int:
    for _attempt in range(3):
        counter = (DocumentCounter.objects.select_for_update()
                   .filter(agency=agency, doc_type=doc_type, year=year).first())
        if counter is None:
            try:
                with transaction.atomic():
                    counter = DocumentCounter.objects.create(agency=agency, doc_type=doc_type, year=year)
            except IntegrityError:  # another issue created it just now: lock theirs
                continue
            counter = DocumentCounter.objects.select_for_update().get(pk=counter.pk)
        counter.last += 1
        counter.save(update_fields=["last"])
        return counter.last
    raise RuntimeError("document counter contention")


def document_issue(*, actor, agency: Organisation, doc_type: str, object_type: str, object_id, org_path: str,
                   context: dict, issued_on: date, is_minor: bool = False, ip: str = "") -> Document:
    """Needs the caller's transaction (a case transition issues its documents with the change)."""
    t = DOC_TYPES[doc_type]
    year = issued_on.year
    n = _next_number(agency, doc_type, year)
    short = agency.short_name or agency.name
    doc = Document.objects.create(
        doc_type=doc_type, title=t.title, number=number_text(agency_short=short, word=t.word, year=year, n=n),
        seq=n, year=year, agency=agency, object_type=object_type, object_id=str(object_id), org_path=org_path,
        is_minor=is_minor, context={**context, "agency_name": agency.name}, issued_on=issued_on, issued_by=actor)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="document.issue", object_type="document",
                 object_id=doc.pk, summary=f"制发{t.title}（{doc.number}）",
                 after={"number": doc.number, "object_type": object_type, "object_id": str(object_id)}, ip=ip,
                 org_path=org_path)
    return doc
