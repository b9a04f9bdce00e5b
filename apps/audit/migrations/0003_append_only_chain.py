"""The chain head row, and triggers that refuse UPDATE and DELETE on audit records at the database level,
so not even raw SQL through the application's connection can rewrite history unnoticed."""
from django.db import migrations

GENESIS = "0" * 64

SQLITE = [
    """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit_auditrecord
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
    """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit_auditrecord
       BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS audit_no_update", "DROP TRIGGER IF EXISTS audit_no_delete"]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit records are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit_auditrecord
       FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
    """CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_auditrecord
       FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS audit_no_update_delete ON audit_auditrecord",
    "DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditrecord",
    "DROP FUNCTION IF EXISTS audit_append_only()",
]


def forwards(apps, schema_editor):
    ChainHead = apps.get_model("audit", "ChainHead")
    ChainHead.objects.get_or_create(id=1, defaults={"last_seq": 0, "last_hash": GENESIS})
    vendor = schema_editor.connection.vendor
    for sql in SQLITE if vendor == "sqlite" else POSTGRES if vendor == "postgresql" else []:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in SQLITE_DROP if vendor == "sqlite" else POSTGRES_DROP if vendor == "postgresql" else []:
        schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_actor_and_index")]
    operations = [migrations.RunPython(forwards, backwards)]
