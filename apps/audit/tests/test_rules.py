from apps.audit import rules


def _chain(n):
    recs, prev = [], rules.GENESIS
    for i in range(1, n + 1):
        fields = {"seq": i, "action": "x", "after": {"v": i}}
        h = rules.chain_hash(prev, fields)
        recs.append((i, prev, h, fields))
        prev = h
    return recs


def test_intact_chain_verifies():
    assert rules.verify(_chain(5)) is None


def test_changed_content_names_the_record():
    recs = _chain(5)
    seq, prev, h, fields = recs[2]
    recs[2] = (seq, prev, h, {**fields, "after": {"v": 999}})
    brk = rules.verify(recs)
    assert brk.seq == 3 and "改动" in brk.reason


def test_removed_record_breaks_the_next():
    recs = _chain(5)
    del recs[1]
    assert rules.verify(recs).seq == 3


def test_hash_is_independent_of_key_order():
    assert rules.chain_hash("a", {"x": 1, "y": [1, 2]}) == rules.chain_hash("a", {"y": [1, 2], "x": 1})
