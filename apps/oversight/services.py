"""Reading the audit trail is itself logged: it names people and what was done to their files."""
from __future__ import annotations

import io

from django.db import transaction
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record
from apps.orgs.rules import Action

from .selectors import AuditFilters, AuditRow, audit_list, capped_count, present_records

EXPORT_MAX = 20_000


class TooMany(Exception):
    def __init__(self, n: int):
        super().__init__(n)
        self.message = f"符合条件的审计记录超过 {EXPORT_MAX} 条，请缩小时间范围或增加筛选条件后再导出"


def _log(actor, action: str, rows: list[AuditRow], summary: str, filters: AuditFilters, ip: str) -> None:
    people = sorted({i for row in rows for i in row.supervisee_ids})
    with transaction.atomic():
        audit_record(actor=actor, kind=AuditRecord.Kind.EXPORT if action == "audit.export" else AuditRecord.Kind.VIEW,
                     action=action, object_type="audit", summary=summary,
                     # what oversight looked at stays with oversight: the reader's own organisation, not the county
                     # it oversees (a county must not learn what its procurator was looking into)
                     org_path=actor.organisation.path if actor.organisation_id else "",
                     after={"filters": {k: str(v) for k, v in filters.__dict__.items() if v},
                            "records": [row.r.pk for row in rows][:1000], "supervisees": people}, ip=ip)


def audit_page_read(*, actor, rows: list[AuditRow], filters: AuditFilters, ip: str = "") -> None:
    if rows:
        _log(actor, "audit.view", rows, f"查阅审计日志（{len(rows)} 条）", filters, ip)


def audit_export(*, actor, filters: AuditFilters, ip: str = "") -> bytes:
    """The filtered trail as a workbook (headers on the first row, frozen and filtered), up to EXPORT_MAX records;
    more is refused with a clear message rather than cut silently."""
    if not actor.can(Action.AUDIT_VIEW):
        raise PermissionError("您没有查阅审计日志的权限")
    qs = audit_list(fetched_by=actor, filters=filters)
    n, more = capped_count(qs, EXPORT_MAX)
    if more:
        raise TooMany(n)
    rows = present_records(actor, list(qs))
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("审计日志")
    ws.freeze_panes = "A2"
    headers = ["序号", "记录 ID", "时间", "操作人", "类型", "动作", "对象", "内容", "IP", "链接哈希"]
    ws.append(headers)
    for row in rows:
        r = row.r
        values = [r.seq, r.pk, timezone_local(r.at), r.actor_name, r.get_kind_display(), row.action_label,
                  row.object_label, r.summary, r.ip, r.chain_hash or "待封存"]
        out = []
        for v in values:
            if isinstance(v, str):
                c = WriteOnlyCell(ws, value=v)
                c.data_type = "s"  # formula-like text stays text
                v = c
            out.append(v)
        ws.append(out)
    ws.auto_filter.ref = f"A1:J{max(len(rows) + 1, 2)}"
    buf = io.BytesIO()
    wb.save(buf)
    _log(actor, "audit.export", rows, f"导出审计日志 {len(rows)} 条", filters, ip)
    return buf.getvalue()


def timezone_local(at):
    from django.utils import timezone

    return timezone.localtime(at).replace(tzinfo=None)
