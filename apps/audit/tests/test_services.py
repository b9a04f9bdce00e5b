"""Writers append, the sealer chains in batches, verification names what was changed (ADR 0004).
Not transactional: the triggers refuse a flush, by design (tests that commit for real are in
tests/test_audit_concurrency.py)."""
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from apps.audit import rules
from apps.audit.models import AuditCheckpoint, AuditRecord, AuditVerification, ChainHead
from apps.audit.services import audit_record, audit_records, audit_seal, audit_verify
from apps.audit.testing import bypass

pytestmark = pytest.mark.django_db


def _write(n, **kw):
    out = []
    for i in range(n):
        with transaction.atomic():
            out.append(audit_record(actor=None, kind="change", action="test.write", object_type="t", object_id=i,
                                    summary=f"记录{i}", after={"i": i, "名": "值"}, **kw))
    return out


def test_writer_only_inserts_and_the_sealer_chains_in_batches(capsys):
    recs = _write(5)
    assert all(r.seq is None and r.chain_hash == "" and len(r.content_hash) == 64 for r in recs)
    assert ChainHead.objects.get().last_seq == 0  # writers never touch the head
    result = audit_seal(batch=2)
    assert (result.sealed, result.batches, result.last_seq) == (5, 3, 5)
    assert list(AuditRecord.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert list(AuditCheckpoint.objects.values_list("first_seq", "last_seq", "count")) == [(1, 2, 2), (3, 4, 2), (5, 5, 1)]
    assert audit_seal().sealed == 0
    r = audit_verify()
    assert r.ok and r.checked == 5 and (r.from_seq, r.to_seq) == (0, 5)
    call_command("audit_verify")
    assert "审计链完好：核验 0 条记录" in capsys.readouterr().out  # the second run starts at the checkpoint


def test_verification_continues_from_the_last_verified_checkpoint():
    _write(3)
    audit_seal()
    assert audit_verify().checked == 3
    _write(2)
    audit_seal()
    r = audit_verify()
    assert (r.checked, r.from_seq, r.to_seq) == (2, 3, 5) and r.ok
    assert audit_verify(full=True).checked == 5
    assert AuditVerification.objects.filter(ok=True).count() == 3


def test_a_rolled_back_writer_leaves_no_record_and_no_gap():
    _write(1)
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            audit_record(actor=None, kind="change", action="test.rollback")
            1 / 0
    _write(1)
    audit_seal()
    assert list(AuditRecord.objects.values_list("seq", flat=True)) == [1, 2]
    assert audit_verify().ok


def test_bulk_records_are_sealed_like_single_ones():
    with transaction.atomic():
        audit_records([{"actor": None, "kind": "change", "action": "test.bulk", "object_id": i} for i in range(2500)])
    assert audit_seal(batch=1000).batches == 3
    assert audit_verify().checked == 2500


def test_audit_record_outside_a_transaction_is_refused(monkeypatch):
    from django.db import connections

    monkeypatch.setattr(connections["default"], "in_atomic_block", False)
    with pytest.raises(RuntimeError, match="inside the transaction"):
        audit_record(actor=None, kind="change", action="x")
    monkeypatch.undo()
    assert AuditRecord.objects.count() == 0


def test_model_refuses_update_and_delete():
    rec = _write(1)[0]
    rec.summary = "改"
    with pytest.raises(PermissionError):
        rec.save()
    with pytest.raises(PermissionError):
        rec.delete()


def _sql_refused(sql, params=None):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, params)


def test_database_refuses_every_update_but_the_sealers_one():
    _write(2)
    first = AuditRecord.objects.order_by("id").first().pk
    _sql_refused("UPDATE audit_auditrecord SET summary = 'x' WHERE id = %s", [first])
    _sql_refused("DELETE FROM audit_auditrecord WHERE id = %s", [first])
    # sealing may not change anything else at the same time
    _sql_refused("UPDATE audit_auditrecord SET seq = 1, chain_hash = 'a', summary = 'x' WHERE id = %s", [first])
    _sql_refused("UPDATE audit_auditrecord SET seq = 1, chain_hash = 'a', org_path = '/x/' WHERE id = %s", [first])
    audit_seal()
    # and a sealed record cannot be re-sealed
    _sql_refused("UPDATE audit_auditrecord SET seq = 9, chain_hash = 'b' WHERE id = %s", [first])
    _sql_refused("UPDATE audit_auditcheckpoint SET last_hash = 'x'")
    _sql_refused("DELETE FROM audit_auditcheckpoint")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # or PostgreSQL refuses for pending FK checks instead
        _sql_refused("TRUNCATE audit_auditrecord")
    assert audit_verify().ok


def _sealed(n):
    _write(n)
    audit_seal()
    return {r.seq: r for r in AuditRecord.objects.all()}


def test_changed_record_is_named_with_its_id(capsys):
    recs = _sealed(5)
    bypass("UPDATE audit_auditrecord SET summary = '篡改' WHERE seq = 3")
    r = audit_verify()
    assert (r.checked, r.broken.seq, r.broken.record_id, r.broken.reason) == (2, 3, recs[3].pk, rules.CHANGED)
    with pytest.raises(CommandError, match=f"第 3 条记录（记录 ID {recs[3].pk}）"):
        call_command("audit_verify")


def test_removed_record_is_named():
    _sealed(5)
    bypass("DELETE FROM audit_auditrecord WHERE seq = 4")
    assert (audit_verify().broken.seq, audit_verify().broken.reason) == (4, rules.REMOVED)


def test_removed_tail_is_noticed():
    _sealed(3)
    bypass("DELETE FROM audit_auditrecord WHERE seq = 3")
    brk = audit_verify().broken
    assert brk.seq == 3 and "末尾" in brk.reason


def test_reordered_records_are_named():
    recs = _sealed(5)
    a, b = recs[2].pk, recs[3].pk
    bypass("UPDATE audit_auditrecord SET seq = -1 WHERE id = %s" % a,
           "UPDATE audit_auditrecord SET seq = 2 WHERE id = %s" % b,
           "UPDATE audit_auditrecord SET seq = 3 WHERE id = %s" % a)
    brk = audit_verify().broken
    assert (brk.seq, brk.record_id, brk.reason) == (2, b, rules.RELINKED)


def test_record_inserted_after_the_last_checkpoint_is_named():
    _sealed(3)
    at = timezone.now()
    forged = {"at": at.isoformat(), "actor": None, "actor_name": "x", "kind": "change", "action": "forged",
              "object_type": "", "object_id": "", "summary": "", "before": None, "after": None, "ip": ""}
    head = ChainHead.objects.get()
    ch = rules.content_hash(forged)
    link = rules.link_hash(head.last_hash, 4, ch)
    bypass("INSERT INTO audit_auditrecord (at, actor_name, kind, action, object_type, object_id, summary, ip, "
           "org_path, content_hash, seq, chain_hash) VALUES (%s, 'x', 'change', 'forged', '', '', '', '', '', %s, 4, %s)",
           params=[at, ch, link])
    brk = audit_verify().broken
    assert brk.seq == 4 and "被插入" in brk.reason


def test_a_chain_rewritten_inside_the_database_fails_the_signatures(settings):
    """An attacker who changes a record and recomputes every hash after it, and the checkpoints' hashes too,
    still cannot sign the checkpoints without the key that lives outside the database."""
    recs = _sealed(4)
    fields = recs[2].hashed_fields() | {"summary": "改写"}
    ch = rules.content_hash(fields)
    h = recs[1].chain_hash
    new = {}
    for seq in (2, 3, 4):
        rh = ch if seq == 2 else recs[seq].content_hash
        h = rules.link_hash(h, seq, rh)
        new[seq] = (rh, h)
    stmts = ["UPDATE audit_auditrecord SET summary = '改写', content_hash = '%s', chain_hash = '%s' WHERE seq = 2"
             % new[2]]
    stmts += ["UPDATE audit_auditrecord SET chain_hash = '%s' WHERE seq = %d" % (new[s][1], s) for s in (3, 4)]
    stmts.append("UPDATE audit_auditcheckpoint SET last_hash = '%s' WHERE last_seq = 4" % new[4][1])
    bypass(*stmts)
    brk = audit_verify(full=True).broken
    assert brk.seq == 4 and "签名无效" in brk.reason


def test_records_left_unsealed_too_long_are_flagged(settings):
    settings.AUDIT_SEAL_WINDOW_SECONDS = 60
    late = _write(2)
    r = audit_verify(now=timezone.now() + timedelta(seconds=61))
    assert not r.ok and r.broken is None and r.overdue == 2 and r.overdue_first == [x.pk for x in late]
    assert audit_verify(now=timezone.now() + timedelta(seconds=30)).overdue == 0
    audit_seal()
    assert audit_verify(now=timezone.now() + timedelta(seconds=61)).ok


def test_command_fails_on_overdue_and_on_late_records(settings):
    settings.AUDIT_SEAL_WINDOW_SECONDS = 0
    _write(1)
    with pytest.raises(CommandError, match="超过封存时限仍未封存"):
        call_command("audit_verify")
    call_command("audit_seal")
    with pytest.raises(CommandError, match="封存时间晚于"):  # sealed, but (with a window of 0 s) late
        call_command("audit_verify", "--full")
    settings.AUDIT_SEAL_WINDOW_SECONDS = 300
    call_command("audit_verify", "--full")


def test_changing_an_already_verified_record_is_caught_by_the_full_check():
    _sealed(3)
    assert audit_verify().ok
    bypass("UPDATE audit_auditrecord SET summary = '篡改' WHERE seq = 2")
    assert audit_verify().ok  # the incremental run starts after seq 3 ...
    assert audit_verify(full=True).broken.seq == 2  # ... the full run reads everything


def test_a_batch_sealed_while_a_check_runs_is_left_for_the_next_run(monkeypatch):
    """The check ends at the head it read when it began; the sealer committing meanwhile is not an insertion."""
    from apps.audit import services

    _sealed(3)
    _write(2)
    original = services._sealed_rows

    def sealing_meanwhile(start_seq, end_seq, batch):
        audit_seal()  # the sealer commits a batch while the check walks
        yield from original(start_seq, end_seq, batch)

    monkeypatch.setattr(services, "_sealed_rows", sealing_meanwhile)
    r = audit_verify()
    assert r.ok and (r.checked, r.to_seq) == (3, 3)
    monkeypatch.undo()
    assert audit_verify().checked == 2  # the next run takes them


def test_a_forged_passed_verification_does_not_move_the_starting_point():
    """Rewrite record 2, re-link everything after it, and insert a "passed" verification at the new head: the next
    incremental run does not trust that row (it is not signed) and checks from the start, where the rewriting shows."""
    recs = _sealed(4)
    fields = recs[2].hashed_fields() | {"summary": "改写"}
    ch = rules.content_hash(fields)
    h = recs[1].chain_hash
    stmts = []
    for seq in (2, 3, 4):
        rh = ch if seq == 2 else recs[seq].content_hash
        h = rules.link_hash(h, seq, rh)
        extra = ", summary = '改写', content_hash = '%s'" % ch if seq == 2 else ""
        stmts.append(f"UPDATE audit_auditrecord SET chain_hash = '{h}'{extra} WHERE seq = {seq}")
    stmts.append("INSERT INTO audit_auditverification (at, \"full\", from_seq, to_seq, to_hash, checked, ok, reason, "
                 f"overdue, late, signature) VALUES (CURRENT_TIMESTAMP, FALSE, 0, 4, '{h}', 4, TRUE, '', 0, 0, 'x')")
    bypass(*stmts)
    r = audit_verify()  # the forged row is itself named
    assert not r.ok and "伪造" in r.broken.reason
    r = audit_verify(full=True)  # and the full check names what was rewritten
    assert r.broken.seq == 4 and "检查点" in r.broken.reason


def test_records_sealed_later_than_the_window_are_flagged(settings, monkeypatch):
    from datetime import timedelta

    from apps.audit import services

    settings.AUDIT_SEAL_WINDOW_SECONDS = 60
    _write(2)
    later = timezone.now() + timedelta(minutes=10)  # the sealer was down for ten minutes
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    audit_seal()
    monkeypatch.undo()
    r = audit_verify(now=later)
    assert not r.ok and r.broken is None and r.late == 2 and r.overdue == 0


def test_the_legacy_chain_is_checked_before_it_is_re_sealed():
    """Migration 0004 checks the old chain (ADR 0002's) as the old code did, so an upgrade cannot bury tampering."""
    import hashlib
    import importlib

    m = importlib.import_module("apps.audit.migrations.0004_sealed_batches")
    rows, prev = [], m.GENESIS
    for seq in range(1, 6):
        fields = {"at": "2026-11-22T00:00:00+00:00", "actor": None, "actor_name": "系统", "kind": "change",
                  "action": "x", "object_type": "", "object_id": "", "summary": f"s{seq}", "before": None,
                  "after": None, "ip": ""}
        digest = hashlib.sha256(prev.encode() + b"\n" + m._canonical({"seq": seq, **fields})).hexdigest()
        rows.append((seq, prev, digest, fields))
        prev = digest
    assert m.legacy_break(rows, 5, prev) is None
    changed = [r if r[0] != 3 else (3, r[1], r[2], {**r[3], "summary": "改"}) for r in rows]
    assert m.legacy_break(changed, 5, prev) == (3, "内容与哈希不符（记录被改动）")
    assert m.legacy_break(rows[:2] + rows[3:], 5, prev)[0] == 3
    assert m.legacy_break(rows[:4], 5, prev)[0] == 5


def test_the_embedded_sealer_checks_the_chain_when_it_is_due():
    from datetime import timedelta

    from apps.audit.services import audit_verify_if_due

    _sealed(2)
    now = timezone.now()
    assert audit_verify_if_due(now=now).checked == 2  # never checked in full: a full check first
    assert audit_verify_if_due(now=now + timedelta(hours=2)) is None
    _sealed(1)
    r = audit_verify_if_due(now=now + timedelta(days=1, hours=1))
    assert r.checked == 1 and r.from_seq == 2  # the daily run starts at the last checkpoint
    assert audit_verify_if_due(now=now + timedelta(days=8)).from_seq == 0  # the weekly one reads everything


def test_removing_the_verified_tail_with_its_checkpoint_is_named():
    """Delete the last batch and its checkpoint and reset the head: the last passed check pointed there, so the
    next run reports it instead of quietly checking a shorter log."""
    _sealed(3)
    assert audit_verify().ok
    _write(2)
    audit_seal()
    assert audit_verify().ok  # the passed check now ends at 5
    bypass("DELETE FROM audit_auditrecord WHERE seq > 3", "DELETE FROM audit_auditcheckpoint WHERE last_seq > 3",
           "UPDATE audit_chainhead SET last_seq = 3")
    r = audit_verify()
    assert not r.ok and r.broken.seq == 5 and "不存在" in r.broken.reason


def test_one_late_record_is_reported_once_and_does_not_hold_later_checks_back(settings, monkeypatch):
    from datetime import timedelta

    from apps.audit import services

    settings.AUDIT_SEAL_WINDOW_SECONDS = 60
    _write(1)
    later = timezone.now() + timedelta(minutes=10)
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    audit_seal()
    monkeypatch.undo()
    assert audit_verify(now=later).late == 1
    _sealed(2)
    r = audit_verify()
    assert r.ok and r.from_seq == 1 and r.checked == 2


def test_a_checkpoints_sealing_time_is_signed():
    _sealed(2)
    bypass("UPDATE audit_auditcheckpoint SET sealed_at = '2020-01-01 00:00:00'")
    assert "签名无效" in audit_verify(full=True).broken.reason
