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

_same_sqlite = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in FIXED)
SQLITE = [
    f"""CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditrecord
        WHEN NOT (OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.chain_hash <> '' AND {_same_sqlite})
        BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditrecord
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
]
for _t in ("audit_auditcheckpoint", "audit_auditverification"):
    SQLITE += [
        f"CREATE TRIGGER {_t}_no_update BEFORE UPDATE ON {_t} BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
        f"CREATE TRIGGER {_t}_no_delete BEFORE DELETE ON {_t} BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END",
    ]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"] + [
    f"DROP TRIGGER IF EXISTS {t}_{w}" for t in ("audit_auditcheckpoint", "audit_auditverification")
    for w in ("no_update", "no_delete")]

_same_pg = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in FIXED)
POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit records are append-only'; END; $$ LANGUAGE plpgsql""",
    f"""CREATE OR REPLACE FUNCTION audit_seal_only() RETURNS trigger AS $$
       BEGIN
         IF OLD.seq IS NULL AND NEW.seq IS NOT NULL AND NEW.chain_hash <> '' AND {_same_pg} THEN
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
for _t in ("audit_auditcheckpoint", "audit_auditverification"):
    POSTGRES += [
        f"CREATE TRIGGER {_t}_no_update_delete BEFORE UPDATE OR DELETE ON {_t} "
        "FOR EACH ROW EXECUTE FUNCTION audit_append_only()",
        f"CREATE TRIGGER {_t}_no_truncate BEFORE TRUNCATE ON {_t} FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()",
    ]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_seal_only_update ON audit_auditrecord",
    "DROP TRIGGER IF EXISTS audit_no_delete ON audit_auditrecord",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditrecord",
] + [f"DROP TRIGGER IF EXISTS {t}_{w} ON {t}" for t in ("audit_auditcheckpoint", "audit_auditverification")
     for w in ("no_update_delete", "no_truncate")] + [
    "DROP FUNCTION IF EXISTS audit_seal_only()", "DROP FUNCTION IF EXISTS audit_append_only()"]


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


def reseal(apps, schema_editor):
    Record = apps.get_model("audit", "AuditRecord")
    Head = apps.get_model("audit", "ChainHead")
    Checkpoint = apps.get_model("audit", "AuditCheckpoint")
    key = _seal_key()
    key_id = hashlib.sha256(b"zhijiao-audit-key-id\n" + key).hexdigest()[:16]
    seq, h, last_id = 0, GENESIS, 0
    now = timezone.now()
    with schema_editor.connection.cursor() as cur:
        while True:
            rows = list(Record.objects.filter(id__gt=last_id).order_by("id")[:BATCH])
            if not rows:
                break
            first = seq + 1
            for r in rows:
                fields = {"at": r.at.isoformat(), "actor": r.actor_id, "actor_name": r.actor_name, "kind": r.kind,
                          "action": r.action, "object_type": r.object_type, "object_id": r.object_id,
                          "summary": r.summary, "before": r.before, "after": r.after, "ip": r.ip}
                ch = hashlib.sha256(_canonical(fields)).hexdigest()
                seq += 1
                h = hashlib.sha256(f"{h}\n{seq}\n{ch}".encode()).hexdigest()
                cur.execute("UPDATE audit_auditrecord SET content_hash = %s, seq = %s, chain_hash = %s WHERE id = %s",
                            [ch, seq, h, r.id])
            last_id = rows[-1].id
            sig = hmac.new(key, f"{seq}\n{h}".encode(), hashlib.sha256).hexdigest()
            Checkpoint.objects.create(first_seq=first, last_seq=seq, last_hash=h, count=len(rows), sealed_at=now,
                                      key_id=key_id, signature=sig)
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
        migrations.RunPython(reseal, migrations.RunPython.noop),
        migrations.AddIndex(model_name="auditrecord",
                            index=models.Index(fields=["object_type", "object_id", "id"], name="audit_object_idx")),
        migrations.AddIndex(model_name="auditrecord",
                            index=models.Index(fields=["actor", "id"], name="audit_actor_idx")),
        migrations.AddIndex(model_name="auditrecord",
                            index=models.Index(condition=models.Q(("seq__isnull", True)), fields=["id"],
                                               name="audit_unsealed_idx")),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
