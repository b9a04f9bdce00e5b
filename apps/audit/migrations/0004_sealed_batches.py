"""Append first, seal in batches (ADR 0004).

The old chain was built by each writer under a lock on the chain head. Now a writer only inserts its record with
its content hash; a sealer sets `seq` and `chain_hash` once, in batches, and signs a checkpoint per batch. The
old records are re-sealed here in their old order (batches of 5,000), so nothing already logged is lost.

The triggers that keep the log append-only are replaced: UPDATE is refused except the sealer's one-time setting
of `seq` and `chain_hash` on a record that has none, every other column unchanged; DELETE and TRUNCATE are
refused. Checkpoints and verification runs get the same protection (no UPDATE, DELETE or TRUNCATE)."""
import hashlib
import hmac
import json

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone

GENESIS = "0" * 64
BATCH = 5000

# --- triggers ---------------------------------------------------------------------------------
# Columns a sealer may not change (all but seq and chain_hash).
FIXED = ("id", "at", "actor_id", "actor_name", "kind", "action", "object_type", "object_id", "summary", "before",
         "after", "ip", "content_hash")

OLD_SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"]
OLD_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_no_update_delete ON audit_auditrecord",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditrecord",
    "DROP FUNCTION IF EXISTS audit_append_only()",
]

def trigger_sql(fixed: tuple[str, ...]) -> tuple[list[str], list[str], list[str], list[str]]:
    """(SQLite create, SQLite drop, PostgreSQL create, PostgreSQL drop) for the append-only triggers, given the
    columns a sealer may not change. Later migrations that add a column call this with the longer list."""
    same_sqlite = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in fixed)
    sqlite = [
        f"""CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditrecord
            WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.chain_hash <> '' AND {same_sqlite})
            BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditrecord
           BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    ]
    for t in ("audit_auditcheckpoint", "audit_auditverification"):
        sqlite += [
            f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
            f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
        ]
    sqlite_drop = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"] + [
        f"DROP TRIGGER IF EXISTS {t}_{w}" for t in ("audit_auditcheckpoint", "audit_auditverification")
        for w in ("no_update", "no_delete")]
    same_pg = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in fixed)
    postgres = [
        """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit records are append-only'; END; $$ LANGUAGE plpgsql""",
        f"""CREATE OR REPLACE FUNCTION audit_seal_only() RETURNS trigger AS $$
           BEGIN
             IF OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.chain_hash <> '' AND {same_pg} THEN
               RETURN NEW;
             END IF;
             RAISE EXCEPTION 'audit records are append-only';
           END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER audit_seal_only_update BEFORE UPDATE ON audit_auditrecord
           FOR EACH ROW EXECUTE FUNCTION audit_seal_only()""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditrecord
           FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
        """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_auditrecord
           FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()""",
    ]
    for t in ("audit_auditcheckpoint", "audit_auditverification"):
        postgres += [
            f"CREATE TRIGGER {t}_no_update_delete BEFORE UPDATE OR DELETE ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
            f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
        ]
    postgres_drop = [
        "DROP TRIGGER IF EXISTS audit_seal_only_update ON audit_auditrecord",
        "DROP TRIGGER IF EXISTS audit_no_delete ON audit_auditrecord",
        "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditrecord",
    ] + [f"DROP TRIGGER IF EXISTS {t}_{w} ON {t}" for t in ("audit_auditcheckpoint", "audit_auditverification")
         for w in ("no_update_delete", "no_truncate")] + [
        "DROP FUNCTION IF EXISTS audit_seal_only()", "DROP FUNCTION IF EXISTS audit_append_only()"]
    return sqlite, sqlite_drop, postgres, postgres_drop


SQLITE, SQLITE_DROP, POSTGRES, POSTGRES_DROP = trigger_sql(FIXED)


def _run(schema_editor, sqlite, postgres):
    vendor = schema_editor.connection.vendor
    for sql in sqlite if vendor == "sqlite" else postgres if vendor == "postgresql" else []:
        schema_editor.execute(sql)


def drop_old_triggers(apps, schema_editor):
    _run(schema_editor, OLD_SQLITE_DROP, OLD_POSTGRES_DROP)


def create_triggers(apps, schema_editor):
    _run(schema_editor, SQLITE, POSTGRES)


def drop_triggers(apps, schema_editor):
    _run(schema_editor, SQLITE_DROP, POSTGRES_DROP)


# --- re-sealing the old records (frozen copies of the rules, as a migration must not import the app) ----------
def _canonical(fields):
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def _seal_key() -> bytes:
    return settings.AUDIT_SEAL_KEY


def legacy_break(rows, head_seq: int, head_hash: str) -> tuple[int, str] | None:
    """The old chain (ADR 0002) checked as the old code checked it, before anything is re-sealed: rows are
    (seq, prev_hash, hash, fields without seq) in seq order. Returns (first bad seq, reason) or None."""
    prev, expected = GENESIS, 1
    for seq, prev_hash, digest, fields in rows:
        if seq != expected:
            return expected, "记录缺失（序号不连续）"
        if prev_hash != prev:
            return seq, "prev_hash 与上一条记录不符"
        if hashlib.sha256(prev_hash.encode() + b"\n" + _canonical({"seq": seq, **fields})).hexdigest() != digest:
            return seq, "内容与哈希不符（记录被改动）"
        prev, expected = digest, expected + 1
    if head_seq != expected - 1 or (head_seq and head_hash != prev):
        return expected, "链头与最后一条记录不符（末尾记录被删除）"
    return None


def _fields(r) -> dict:
    return {"at": r.at.isoformat(), "actor": r.actor_id, "actor_name": r.actor_name, "kind": r.kind,
            "action": r.action, "object_type": r.object_type, "object_id": r.object_id, "summary": r.summary,
            "before": r.before, "after": r.after, "ip": r.ip}


def check_legacy_chain(apps, schema_editor):
    """Re-sealing would bury tampering done before the upgrade: check the old chain first. A break stops the
    upgrade, naming the record, unless ZHIJIAO_AUDIT_ACCEPT_LEGACY_BREAK=1 says it has been looked into; then it
    is recorded as a failed verification, and the old chain is re-sealed as it stands."""
    import os

    Record = apps.get_model("audit", "AuditRecord")
    Head = apps.get_model("audit", "ChainHead")
    head = Head.objects.filter(id=1).first()

    def rows():  # the columns still hold the old values here: content_hash = old prev_hash, chain_hash = old hash
        last = 0
        while True:
            chunk = list(Record.objects.filter(id__gt=last).order_by("id")[:BATCH])
            if not chunk:
                return
            for r in chunk:
                yield r.id, r.content_hash, r.chain_hash, _fields(r)
            last = chunk[-1].id

    brk = legacy_break(rows(), head.last_seq if head else 0, head.last_hash if head else GENESIS)
    if brk is None:
        return
    message = f"升级前的审计链在第 {brk[0]} 条记录已断裂：{brk[1]}"
    if os.environ.get("ZHIJIAO_AUDIT_ACCEPT_LEGACY_BREAK") != "1":
        raise RuntimeError(message + "。请先调查；确认后设置 ZHIJIAO_AUDIT_ACCEPT_LEGACY_BREAK=1 再升级（断裂将被记录）")
    apps.get_model("audit", "AuditVerification").objects.create(
        at=timezone.now(), full=True, from_seq=0, to_seq=brk[0] - 1, to_hash="", checked=brk[0] - 1, ok=False,
        broken_seq=brk[0], reason=message[:200])


def reseal(apps, schema_editor):
    Record = apps.get_model("audit", "AuditRecord")
    Head = apps.get_model("audit", "ChainHead")
    Checkpoint = apps.get_model("audit", "AuditCheckpoint")
    key = _seal_key()
    key_id = hashlib.sha256(b"zhijiao-audit-key-id\n" + key).hexdigest()[:16]
    seq, h, last_id = 0, GENESIS, 0
    with schema_editor.connection.cursor() as cur:
        while True:
            rows = list(Record.objects.filter(id__gt=last_id).order_by("id")[:BATCH])
            if not rows:
                break
            first = seq + 1
            for r in rows:
                ch = hashlib.sha256(_canonical(_fields(r))).hexdigest()
                seq += 1
                h = hashlib.sha256(f"{h}\n{seq}\n{ch}".encode()).hexdigest()
                cur.execute("UPDATE audit_auditrecord SET content_hash = %s, seq = %s, chain_hash = %s WHERE id = %s",
                            [ch, seq, h, r.id])
            last_id = rows[-1].id
            # chained when written (under the old chain's lock): sealed no later than the batch's first record, so
            # no old record counts as sealed late
            sealed_at = min(r.at for r in rows)
            payload = f"checkpoint\n{first}\n{seq}\n{h}\n{sealed_at.isoformat()}"
            sig = hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()
            Checkpoint.objects.create(first_seq=first, last_seq=seq, last_hash=h, count=len(rows),
                                      sealed_at=sealed_at, key_id=key_id, signature=sig)
    Head.objects.update_or_create(id=1, defaults={"last_seq": seq, "last_hash": h})


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0003_append_only_chain"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(drop_old_triggers, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="auditrecord", name="audit_object_idx"),
        migrations.AlterField(model_name="auditrecord", name="object_id", field=models.CharField(blank=True, max_length=40)),
        migrations.RenameField(model_name="auditrecord", old_name="seq", new_name="id"),
        migrations.RenameField(model_name="auditrecord", old_name="prev_hash", new_name="content_hash"),
        migrations.RenameField(model_name="auditrecord", old_name="hash", new_name="chain_hash"),
        migrations.AlterField(model_name="auditrecord", name="chain_hash",
                              field=models.CharField(blank=True, default="", max_length=64)),
        migrations.AddField(model_name="auditrecord", name="seq",
                            field=models.BigIntegerField(blank=True, null=True, unique=True)),
        migrations.AlterModelOptions(name="auditrecord", options={"ordering": ["id"]}),
        migrations.CreateModel(
            name="AuditCheckpoint",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("first_seq", models.BigIntegerField()),
                ("last_seq", models.BigIntegerField(unique=True)),
                ("last_hash", models.CharField(max_length=64)),
                ("count", models.PositiveIntegerField()),
                ("sealed_at", models.DateTimeField()),
                ("key_id", models.CharField(max_length=16)),
                ("signature", models.CharField(max_length=64)),
            ],
            options={"ordering": ["last_seq"]},
        ),
        migrations.CreateModel(
            name="AuditVerification",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("at", models.DateTimeField()),
                ("full", models.BooleanField(default=False)),
                ("from_seq", models.BigIntegerField()),
                ("to_seq", models.BigIntegerField()),
                ("to_hash", models.CharField(max_length=64)),
                ("checked", models.PositiveIntegerField()),
                ("ok", models.BooleanField()),
                ("broken_seq", models.BigIntegerField(blank=True, null=True)),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("overdue", models.PositiveIntegerField(default=0)),
            ],
            options={"ordering": ["id"]},
        ),
        # irreversible: the old chain is re-sealed in the new form and cannot be given back in the old one
        migrations.RunPython(check_legacy_chain),
        migrations.RunPython(reseal),
        migrations.AddIndex(model_name="auditrecord",
                            index=models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx")),
        migrations.AddIndex(model_name="auditrecord",
                            index=models.Index(fields=["actor", "id"], name="audit_actor_idx")),
        migrations.AddIndex(model_name="auditrecord",
                            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"],
                                               name="audit_unsealed_idx")),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
