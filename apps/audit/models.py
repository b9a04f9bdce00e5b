"""Append-only, hash-chained audit log. Updates and deletes are refused by the model and by
database triggers (see migration 0002)."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditRecord(models.Model):
    class Kind(models.TextChoices):
        CHANGE = "change", "变更"
        VIEW = "view", "查阅"
        AUTH = "auth", "登录"
        EXPORT = "export", "导出"

    seq = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True, db_index=True)
    summary = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    SCOPE_FIELD = "actor__organisation__path"  # a reader sees what staff of their subtree did

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["object_type", "object_id", "seq"], name="audit_object_idx")]

    def hashed_fields(self) -> dict:
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "actor": self.actor_id,
            "actor_name": self.actor_name,
            "kind": self.kind,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "summary": self.summary,
            "before": self.before,
            "after": self.after,
            "ip": self.ip,
        }

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("审计记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计记录只能追加，不能删除")


class ChainHead(models.Model):
    """One row: the last hash. Locking it serialises writers so the chain never forks."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
