"""The chain as pure functions (ADR 0004): seal, then verify; each kind of tampering is named."""
import pytest

from apps.audit import rules


def _records(n):
    fields = [{"action": "x", "after": {"v": i}, "at": f"2026-12-01T00:00:0{i % 10}+00:00"} for i in range(n)]
    hashes = [rules.content_hash(f) for f in fields]
    links = list(rules.seal(0, rules.GENESIS, hashes))
    return [rules.Sealed(100 + i, link.seq, link.chain_hash, h, f)
            for i, (f, h, link) in enumerate(zip(fields, hashes, links))]


def test_intact_chain_verifies_to_its_end():
    recs = _records(5)
    seq, h, brk = rules.verify(recs)
    assert brk is None and seq == 5 and h == recs[-1].chain_hash


def _changed(recs):
    r = recs[2]
    recs[2] = rules.Sealed(r.record_id, r.seq, r.chain_hash, r.stored_hash, {**r.fields, "after": {"v": 999}})
    return recs


def _removed(recs):
    del recs[1]
    return recs


def _reordered(recs):
    a, b = recs[1], recs[2]
    recs[1] = rules.Sealed(b.record_id, a.seq, a.chain_hash, b.stored_hash, b.fields)
    recs[2] = rules.Sealed(a.record_id, b.seq, b.chain_hash, a.stored_hash, a.fields)
    return recs


def _inserted(recs):
    """A forged record takes position 3 and everything after moves up one; the old links no longer fit."""
    forged = {"action": "forged", "after": None, "at": "2026-12-01T00:00:00+00:00"}
    fh = rules.content_hash(forged)
    out = recs[:2] + [rules.Sealed(999, 3, recs[2].chain_hash, fh, forged)]
    for r in recs[2:]:
        out.append(rules.Sealed(r.record_id, r.seq + 1, r.chain_hash, r.stored_hash, r.fields))
    return out


def _relinked_content(recs):
    """Content and its stored hash both changed: the content hash fits, the chain link does not."""
    r = recs[2]
    f = {**r.fields, "after": {"v": 999}}
    recs[2] = rules.Sealed(r.record_id, r.seq, r.chain_hash, rules.content_hash(f), f)
    return recs


# tampering -> (seq named, reason, record named)
TAMPERING = [
    (_changed, 3, rules.CHANGED, 102),
    (_removed, 2, rules.REMOVED, None),
    (_reordered, 2, rules.RELINKED, 102),
    (_inserted, 3, rules.RELINKED, 999),
    (_relinked_content, 3, rules.RELINKED, 102),
]


@pytest.mark.parametrize("tamper,seq,reason,record", TAMPERING, ids=[t[0].__name__ for t in TAMPERING])
def test_tampering_names_the_first_bad_record(tamper, seq, reason, record):
    brk = rules.verify(tamper(_records(6)))[2]
    assert (brk.seq, brk.reason, brk.record_id) == (seq, reason, record)


def test_verify_continues_from_a_checkpoint():
    recs = _records(6)
    seq, h, brk = rules.verify(recs[3:], start_seq=3, start_hash=recs[2].chain_hash)
    assert brk is None and seq == 6
    assert rules.verify(recs[3:], start_seq=3, start_hash=rules.GENESIS)[2].reason == rules.RELINKED


def test_content_hash_is_independent_of_key_order():
    assert rules.content_hash({"x": 1, "y": [1, 2]}) == rules.content_hash({"y": [1, 2], "x": 1})
    assert rules.content_hash({"x": 1}) != rules.content_hash({"x": 2})


def test_checkpoint_signature_needs_the_key_and_covers_the_sealing_time():
    payload = rules.checkpoint_payload(1, 10, "ab" * 32, "2026-12-01T02:00:00+00:00")
    sig = rules.sign(b"k1", payload)
    assert rules.signature_ok(b"k1", payload, sig)
    assert not rules.signature_ok(b"k2", payload, sig)
    assert not rules.signature_ok(b"k1", rules.checkpoint_payload(1, 11, "ab" * 32, "2026-12-01T02:00:00+00:00"), sig)
    assert not rules.signature_ok(b"k1", rules.checkpoint_payload(1, 10, "ab" * 32, "2026-12-01T03:00:00+00:00"), sig)
    assert rules.key_id(b"k1") != rules.key_id(b"k2") and len(rules.key_id(b"k1")) == 16
