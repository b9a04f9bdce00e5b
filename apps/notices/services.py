"""Sending and opening notices. A notice is sent inside the sender's transaction (the approval that requires it),
so it exists exactly when the decision does; opening one is a read of personal data and is logged."""
from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_view
from apps.orgs.models import Organisation
from apps.orgs.rules import Action
from apps.orgs.scope import NotFound

from .models import Notice

KINDS = {"procuratorate": "通报人民检察院", "assist": "协助监督管理", "assist_end": "协助监督管理结束"}


def notice_send(*, actor, kind: str, to_org: Organisation, from_org: Organisation, subject: str, body: str,
                facts: Sequence[tuple[str, str]] = (), ref: str = "", case=None, document=None,
                ip: str = "") -> Notice:
    """Needs the caller's transaction. `facts` are the particulars shown to the recipient, who may not see the case."""
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}")
    n = Notice.objects.create(kind=kind, to_org=to_org, from_org=from_org, subject=subject[:200], body=body,
                              facts=[[str(a), str(b)] for a, b in facts], ref=ref, case=case, document=document,
                              is_minor=bool(case and case.is_minor), sent_by=actor)
    audit_record(actor=actor, kind=AuditRecord.Kind.CHANGE, action="notice.sent", object_type="notice",
                 object_id=n.pk, summary=f"向{to_org.name}发送{KINDS[kind]}：{n.subject}",
                 after={"to": to_org.pk, "ref": ref, "document": document.pk if document else None}, ip=ip,
                 org_path=case.org_path if case else from_org.path)
    return n


def may_receive(user, n: Notice) -> bool:
    """Staff of the addressed organisation (or of the offices under it); minors' particulars need minor access."""
    org = user.organisation
    if org is None or not user.can(Action.SUPERVISEE_VIEW):
        return False
    if not org.path.startswith(n.to_org.path):
        return False
    return not n.is_minor or user.minor_access


def notice_open(*, user, notice_id, ip: str = "", purpose: str = "阅知") -> Notice:
    """The notice for its recipient (anyone else: not found); the first opening marks it read."""
    try:
        pk = int(notice_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    with transaction.atomic():
        n = Notice.objects.select_related("to_org", "from_org", "document", "case").select_for_update(of=("self",)) \
            .filter(pk=pk).first()
        if n is None or not may_receive(user, n):
            raise NotFound()
        if n.read_at is None:
            n.read_at, n.read_by = timezone.now(), user
            n.save(update_fields=["read_at", "read_by"])
        audit_view(actor=user, object_type="notice", object_ids=[n.pk], ip=ip, action="notice.view",
                   org_path=n.case.org_path if n.case_id else n.to_org.path,
                   summary=f"{purpose}{KINDS[n.kind]}：{n.subject}" + ("【未成年人】" if n.is_minor else ""))
    return n


def notice_document(*, user, notice_id, ip: str = ""):
    """The document a notice carries, for its recipient; the read is logged against the document too."""
    n = notice_open(user=user, notice_id=notice_id, ip=ip, purpose="查阅随附文书：")
    doc = n.document
    if doc is None:
        raise NotFound()
    audit_view(actor=user, object_type="document", object_ids=[doc.pk], ip=ip, org_path=doc.org_path,
               action="document.view", summary=f"经通知查阅文书：{doc.title}（{doc.number}）")
    return doc
