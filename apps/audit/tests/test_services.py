import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_verify

pytestmark = pytest.mark.django_db  # not transactional: the triggers refuse the flush, by design


def _write(n):
    for i in range(n):
        with transaction.atomic():
            audit_record(actor=None, kind="change", action="test.write", object_type="t", object_id=i,
                         summary=f"记录{i}", after={"i": i, "名": "值"})


def test_chain_verifies_and_command_says_so(capsys):
    _write(5)
    assert audit_verify() == (5, None)
    call_command("audit_verify")
    assert "审计链完好：共 5 条记录" in capsys.readouterr().out


def test_audit_record_outside_a_transaction_is_refused(monkeypatch):
    # Tests run inside a transaction (a flush would be refused by the triggers), so stand outside one:
    from django.db import connections

    monkeypatch.setattr(connections["default"], "in_atomic_block", False)
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=None, kind="change", action="x")
    monkeypatch.undo()
    assert AuditRecord.objects.count() == 0


def test_model_refuses_update_and_delete():
    _write(1)
    rec = AuditRecord.objects.get()
    rec.summary = "改"
    with pytest.raises(PermissionError):
        rec.save()
    with pytest.raises(PermissionError):
        rec.delete()


def test_database_refuses_update_and_delete():
    _write(2)
    for sql in ("UPDATE audit_auditrecord SET summary = 'x' WHERE seq = 1", "DELETE FROM audit_auditrecord WHERE seq = 2"):
        with pytest.raises(DatabaseError, match="append-only"):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql)
    assert AuditRecord.objects.count() == 2 and audit_verify()[1] is None


def _bypass_triggers(sql):
    """What an attacker with the database owner's rights could do."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("DROP TRIGGER audit_no_update")
            cur.execute("DROP TRIGGER audit_no_delete")
            cur.execute(sql)
        else:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # fire the deferred FK checks first
            cur.execute("ALTER TABLE audit_auditrecord DISABLE TRIGGER USER")
            cur.execute(sql)
            cur.execute("ALTER TABLE audit_auditrecord ENABLE TRIGGER USER")


def test_tampered_record_is_named(capsys):
    _write(5)
    _bypass_triggers("UPDATE audit_auditrecord SET summary = '篡改' WHERE seq = 3")
    count, brk = audit_verify()
    assert (count, brk.seq) == (2, 3)
    with pytest.raises(CommandError, match="第 3 条记录"):
        call_command("audit_verify")


def test_removed_record_is_named():
    _write(5)
    _bypass_triggers("DELETE FROM audit_auditrecord WHERE seq = 4")
    assert audit_verify()[1].seq == 4


def test_removed_last_record_is_noticed():
    _write(3)
    _bypass_triggers("DELETE FROM audit_auditrecord WHERE seq = 3")
    assert audit_verify()[1] is not None
