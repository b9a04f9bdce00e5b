"""Writing to the audit log. Call inside the caller's transaction: the record commits or rolls back
with the change it describes."""
from __future__ import annotations

import json
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from . import rules
from .models import AuditRecord, ChainHead


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


def audit_record(
    *,
    actor,
    kind: str,
    action: str,
    object_type: str = "",
    object_id: Any = "",
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    ip: str = "",
) -> AuditRecord:
    """Append one record to the chain. Needs an open transaction (services are atomic)."""
    if not connection.in_atomic_block:
        raise RuntimeError("audit_record must run inside the transaction of the change it records")
    head = ChainHead.objects.select_for_update().filter(id=1).first()
    if head is None:  # a fresh or flushed database; the migration normally creates it
        head, _ = ChainHead.objects.select_for_update().get_or_create(id=1, defaults={"last_hash": rules.GENESIS})
    rec = AuditRecord(
        seq=head.last_seq + 1,
        at=timezone.now(),
        actor=actor if getattr(actor, "pk", None) else None,
        actor_name=(str(actor) if getattr(actor, "pk", None) else (actor or "系统"))[:150],
        kind=kind,
        action=action,
        object_type=object_type,
        object_id=str(object_id or ""),
        summary=summary[:300],
        before=_jsonable(before),
        after=_jsonable(after),
        ip=ip or "",
        prev_hash=head.last_hash,
    )
    rec.hash = rules.chain_hash(rec.prev_hash, rec.hashed_fields())
    rec.save(force_insert=True)
    ChainHead.objects.filter(id=1).update(last_seq=rec.seq, last_hash=rec.hash)
    return rec


def audit_view(*, actor, object_type: str, object_ids: list, summary: str, ip: str = "") -> AuditRecord:
    """Log a read of personal data (a record, a list page, an export) in its own small transaction."""
    with transaction.atomic():
        ids = [str(i) for i in object_ids]
        return audit_record(
            actor=actor, kind=AuditRecord.Kind.VIEW, action=f"{object_type}.view",
            object_type=object_type, object_id=ids[0] if len(ids) == 1 else "",
            summary=summary, after={"ids": ids} if len(ids) > 1 else None, ip=ip,
        )


def audit_verify(*, batch: int = 5000) -> tuple[int, rules.ChainBreak | None]:
    """Walk the chain in seq order. Returns (records checked, first break or None)."""
    head = ChainHead.objects.filter(id=1).first() or ChainHead(last_seq=0, last_hash=rules.GENESIS)
    count = 0
    expected_prev = rules.GENESIS
    expected_seq = 1
    last_seq = 0
    while True:
        chunk = list(AuditRecord.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not chunk:
            break
        for rec in chunk:
            if rec.seq != expected_seq:
                return count, rules.ChainBreak(expected_seq, "记录缺失（序号不连续）")
            brk = rules.verify([(rec.seq, rec.prev_hash, rec.hash, rec.hashed_fields())], expected_prev)
            if brk:
                return count, brk
            expected_prev = rec.hash
            expected_seq += 1
            count += 1
        last_seq = chunk[-1].seq
    if head.last_seq != count or (count and head.last_hash != expected_prev):
        return count, rules.ChainBreak(count + 1 if head.last_seq > count else head.last_seq,
                                       "链头与最后一条记录不符（末尾记录被删除）")
    return count, None


def client_ip(request) -> str:
    if request is None:
        return ""
    return (request.META.get("REMOTE_ADDR") or "")[:45]
