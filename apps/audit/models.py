"""The audit log (ADR 0004): writers append records with their content hash and share no lock; a sealer gives
them sequence numbers and chain links in batches and signs a checkpoint per batch. Database triggers refuse
every UPDATE and DELETE except the sealer's one-time setting of `seq` and `chain_hash` (migration 0004)."""
from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditRecord(models.Model):
    class Kind(models.TextChoices):
        CHANGE = "change", "变更"
        VIEW = "view", "查阅"
        AUTH = "auth", "登录"
        EXPORT = "export", "导出"

    id = models.BigAutoField(primary_key=True)  # the order of insertion; gaps are normal (rolled-back writers)
    at = models.DateTimeField(db_index=True)
    # No database constraint: a foreign-key check takes a share lock on the actor's row, so every record an officer
    # writes would lock that officer's account row (one hot row per busy user). The ORM still protects (PROTECT),
    # and the log is append-only: an id once written stays the actor it named (actor_name is kept beside it).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                              db_constraint=False)
    actor_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=60, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    content_hash = models.CharField(max_length=64)  # written by the writer
    seq = models.BigIntegerField(null=True, blank=True, unique=True)  # chain position, set once by the sealer
    chain_hash = models.CharField(max_length=64, blank=True, default="")  # set once by the sealer

    SCOPE_FIELD = "actor__organisation__path"  # a reader sees what staff of their subtree did

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            # the sealer's queue: only unsealed rows are in this index, so finding them costs what they number
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed_idx"),
        ]

    def hashed_fields(self) -> dict:
        return {
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

    HASHED = ("at", "actor_id", "actor_name", "kind", "action", "object_type", "object_id", "summary", "before",
              "after", "ip")

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("审计记录只能追加，不能修改")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("审计记录只能追加，不能删除")


class ChainHead(models.Model):
    """One row: where the chain ends. Only sealers lock it; writers never touch it."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)


class AuditCheckpoint(models.Model):
    """One sealed batch: records first_seq..last_seq, the chain's hash at last_seq, and an HMAC of both under a
    key kept outside the database (settings.AUDIT_SEAL_KEY), so a chain rewritten inside the database is caught."""

    id = models.BigAutoField(primary_key=True)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField(unique=True)
    last_hash = models.CharField(max_length=64)
    count = models.PositiveIntegerField()
    sealed_at = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    signature = models.CharField(max_length=64)

    class Meta:
        ordering = ["last_seq"]


class AuditVerification(models.Model):
    """The outcome of each verification run, so the next run can start from the last verified checkpoint."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField()
    full = models.BooleanField(default=False)
    from_seq = models.BigIntegerField()
    to_seq = models.BigIntegerField()
    to_hash = models.CharField(max_length=64)
    checked = models.PositiveIntegerField()
    ok = models.BooleanField()
    broken_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    overdue = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
