"""Concurrent writers and sealers on the audit log, with real commits from separate connections (ADR 0004).

These tests commit for real (transactional tests; the root conftest lifts the audit triggers for the flush)."""
from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from apps.audit.models import AuditRecord
from apps.audit.services import audit_record, audit_seal, audit_verify

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def committed(transactional_db):
    return transactional_db


def _in_thread(fn, errors):
    def run():
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()
    t = threading.Thread(target=run)
    t.start()
    return t


def _write(tag, i):
    with transaction.atomic():
        audit_record(actor=None, kind="change", action="test.concurrent", object_id=f"{tag}-{i}", after={"i": i})


def test_eight_writers_and_two_sealers_make_one_intact_chain(committed):
    errors: list[Exception] = []
    done = threading.Event()

    def writer(tag):
        def go():
            for i in range(40):
                _write(tag, i)
        return go

    def sealer():
        while not done.is_set():
            audit_seal(batch=25)
            time.sleep(0.01)

    sealers = [_in_thread(sealer, errors) for _ in range(2)]
    writers = [_in_thread(writer(t), errors) for t in range(8)]
    for w in writers:
        w.join(60)
    done.set()
    for s in sealers:
        s.join(60)
    assert errors == []
    audit_seal()
    r = audit_verify(full=True)
    assert r.ok and r.checked == 320
    assert sorted(AuditRecord.objects.values_list("seq", flat=True)) == list(range(1, 321))
    assert AuditRecord.objects.values("object_id").distinct().count() == 320


def _needs_concurrent_writers():
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has one writer at a time by design; the no-shared-lock property is PostgreSQL's")


def _open_writer(errors, hold: threading.Event, wrote: threading.Event):
    def go():
        with transaction.atomic():
            audit_record(actor=None, kind="change", action="test.held", object_id="held")
            wrote.set()
            hold.wait(20)
    return _in_thread(go, errors)


def test_a_writer_holding_its_transaction_blocks_no_other_writer(committed):
    """Before ADR 0004 every writer locked the chain head: a 5,000-row import made every other county's page
    wait until it committed. Now the second writer commits while the first is still open."""
    _needs_concurrent_writers()
    errors: list[Exception] = []
    hold, wrote = threading.Event(), threading.Event()
    a = _open_writer(errors, hold, wrote)
    assert wrote.wait(10)
    t0 = time.perf_counter()
    b = _in_thread(lambda: _write("b", 0), errors)
    b.join(5)
    elapsed = time.perf_counter() - t0
    hold.set()
    a.join(10)
    assert errors == [] and not b.is_alive() and elapsed < 2, f"second writer waited {elapsed:.1f} s"


def test_the_sealer_skips_uncommitted_records_and_seals_them_later(committed):
    _needs_concurrent_writers()
    errors: list[Exception] = []
    hold, wrote = threading.Event(), threading.Event()
    a = _open_writer(errors, hold, wrote)
    assert wrote.wait(10)
    _write("b", 0)  # commits after the held record took its (lower) id
    assert audit_seal().sealed == 1
    hold.set()
    a.join(10)
    assert audit_seal().sealed == 1
    held = AuditRecord.objects.get(object_id="held")
    later = AuditRecord.objects.get(object_id="b-0")
    assert held.pk < later.pk and held.seq == 2 and later.seq == 1  # chain order is commit order, not id order
    assert audit_verify(full=True).ok and errors == []
