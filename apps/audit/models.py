"""The audit log (ADR 0004): writers append records with their content hash and share no lock; a sealer gives
them sequence numbers and chain links in batches and signs a checkpoint per batch. Database triggers refuse
every UPDATE and DELETE except the sealer's one-time setting of `seq` and `chain_hash` (migration 0004)."""
from __future__ import annotations

from django.conf import settings
from django.db import models


def hashed(fields: dict) -> dict:
    """The fields a content hash covers: org_path only where it was written (records older than it keep their hash)."""
    if not fields.get("org_path"):
        fields.pop("org_path", None)
    return fields


class AuditRecord(models.Model):
    class Kind(models.TextChoices):
        CHANGE = "change", "变更"
        VIEW = "view", "查阅"
        AUTH = "auth", "登录"
        EXPORT = "export", "导出"

    id = models.BigAutoField(primary_key=True)  # the order of insertion; gaps are normal (rolled-back writers)
    at = models.DateTimeField()  # indexed by migration 0006: BRIN on PostgreSQL (the log is in time order), B-tree on SQLite
    # No database constraint: a foreign-key check takes a share lock on the actor's row, so every record an officer
    # writes would lock that officer's account row (one hot row per busy user). The ORM still protects (PROTECT),
    # and the log is append-only: an id once written stays the actor it named (actor_name is kept beside it).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+",
                              db_constraint=False, db_index=False)  # indexed as (actor, id) below
    actor_name = models.CharField(max_length=150, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    action = models.CharField(max_length=60)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    summary = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    ip = models.CharField(max_length=45, blank=True)
    # Where it happened: the jurisdiction of the record it concerns (a supervisee's office, a staff member's
    # organisation), else the actor's scope. A county sees what was done in the county, by whomever (a city
    # supervisor, a procurator), and keeps it when an officer moves on. Empty on records written before it existed.
    org_path = models.CharField(max_length=255, blank=True, default="")
    content_hash = models.CharField(max_length=64)  # written by the writer
    seq = models.BigIntegerField(null=True, blank=True)  # chain position, set once by the sealer (unique when set)
    chain_hash = models.CharField(max_length=64, blank=True, default="")  # set once by the sealer

    SCOPE_FIELD = "org_path"

    @staticmethod
    def scope_q(path: str, in_subtree):
        """What a reader with scope `path` sees: what happened in that subtree; and, for records from before
        org_path, what staff of the subtree did (system records: the province)."""
        province = path.count("/") <= 2  # "/00000001/": the root of the tree
        system = models.Q(actor__isnull=True) if province else models.Q(pk__in=[])
        legacy = models.Q(org_path="") & (in_subtree("actor__organisation__path", path) | system)
        return in_subtree("org_path", path) | legacy

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["org_path", "id"], name="audit_where_idx"),
            models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            models.Index(fields=["action", "id"], name="audit_action_idx"),  # oversight: "every export", newest first
            # the sealer's queue: only unsealed rows are in this index, so finding them costs what they number
            models.Index(fields=["id"], condition=models.Q(seq__isnull=True), name="audit_unsealed_idx"),
        ]
        # Every index is paid by every writer: a new record enters the primary key, the where, object, actor and
        # action indexes, the sealer's queue and (PostgreSQL) the BRIN on time; the sequence only once it is set.
        constraints = [models.UniqueConstraint(fields=["seq"], condition=models.Q(seq__isnull=False),
                                               name="audit_seq_unique")]

    def hashed_fields(self) -> dict:
        return hashed({
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
            "org_path": self.org_path,
        })


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
    overdue = models.PositiveIntegerField(default=0)  # records still unsealed past the sealing window
    late = models.PositiveIntegerField(default=0)  # records sealed later than the sealing window after they were written
    # HMAC under the seal key: the next run starts here only if this row was written by a verification run
    signature = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["id"]
