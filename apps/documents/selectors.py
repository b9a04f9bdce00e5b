"""Reading issued documents: scoped to the reader, minors' sealed (社区矫正法第54条), every read logged."""
from __future__ import annotations

from apps.audit.services import audit_view
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound, access, restrict

from .models import Document


def documents_of(*, user, object_type: str, object_id) -> list[Document]:
    qs = restrict(Document.objects.filter(object_type=object_type, object_id=str(object_id)), user,
                  Action.SUPERVISEE_VIEW)
    if not user.minor_access:
        qs = qs.exclude(is_minor=True)
    return sorted(qs, key=lambda d: (_order(d), d.id))


def _order(d: Document) -> int:
    from .catalogue import DOC_TYPES

    return DOC_TYPES[d.doc_type].order


def access_document(*, user, document_id, purpose: str, ip: str = "") -> Document:
    doc = access(Document, user=user, pk=document_id, action=Action.SUPERVISEE_VIEW)
    if doc.is_minor and not user.minor_access:
        raise NotFound()
    audit_view(actor=user, object_type="document", object_ids=[doc.pk], summary=f"{purpose}：{doc.title}（{doc.number}）",
               ip=ip, org_path=doc.org_path, action="document.view")
    return doc
