"""The hash chain, as pure functions. Each record's hash covers its own fields and the previous hash,
so changing, removing or re-ordering any record breaks every hash after it."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Iterable

GENESIS = "0" * 64


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(fields)).hexdigest()


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str


def verify(records: Iterable[tuple[int, str, str, dict[str, Any]]], start_hash: str = GENESIS) -> ChainBreak | None:
    """records: (seq, prev_hash, hash, fields) in seq order. Returns the first break, or None."""
    expected_prev = start_hash
    for seq, prev_hash, digest, fields in records:
        if prev_hash != expected_prev:
            return ChainBreak(seq, "prev_hash 与上一条记录不符（记录被删除、插入或改动）")
        if chain_hash(prev_hash, fields) != digest:
            return ChainBreak(seq, "内容与哈希不符（记录被改动）")
        expected_prev = digest
    return None


SENSITIVE_KEYS = frozenset({"id_number", "password", "key_hash"})


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[dict, dict]:
    """Keep only changed keys, so the record says what changed."""
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed if k in before}, {k: after.get(k) for k in changed if k in after}
