"""The audit log's integrity rules, as pure functions (ADR 0004).

Writers append records; each record carries a content hash over its own fields. A sealer later gives the
records a dense sequence number and links them into a hash chain in batches, and signs the head of each batch
(a checkpoint). Verification walks the chain from the last verified checkpoint: a changed record breaks its
content hash, a removed one leaves a gap in the sequence, a reordered or inserted one breaks the links, and a
rewritten chain fails the signatures, which need a key the database does not hold."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

GENESIS = "0" * 64


def canonical(fields: dict[str, Any]) -> bytes:
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def content_hash(fields: dict[str, Any]) -> str:
    """What the writer stores with its record: SHA-256 over the record's canonical fields."""
    return hashlib.sha256(canonical(fields)).hexdigest()


def link_hash(prev_hash: str, seq: int, record_hash: str) -> str:
    """The chain: each link covers the previous link, the record's position and its content hash."""
    return hashlib.sha256(f"{prev_hash}\n{seq}\n{record_hash}".encode()).hexdigest()


def key_id(key: bytes) -> str:
    """Names the signing key without revealing it, so a checkpoint says which key signed it."""
    return hashlib.sha256(b"zhijiao-audit-key-id\n" + key).hexdigest()[:16]


def checkpoint_payload(first_seq: int, last_seq: int, last_hash: str, sealed_at: str) -> str:
    """What a checkpoint's signature covers: its range, the chain's hash at its end, and when it was sealed (so the
    time a record is judged late against cannot be moved either)."""
    return f"checkpoint\n{first_seq}\n{last_seq}\n{last_hash}\n{sealed_at}"


def verification_payload(to_seq: int, to_hash: str, chain_ok: bool) -> str:
    return f"verification\n{to_seq}\n{to_hash}\n{int(chain_ok)}"


def sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def signature_ok(key: bytes, payload: str, signature: str) -> bool:
    return hmac.compare_digest(sign(key, payload), signature or "")


@dataclass(frozen=True)
class Link:
    seq: int
    chain_hash: str


def seal(prev_seq: int, prev_hash: str, record_hashes: Iterable[str]) -> Iterator[Link]:
    """The links for the next records, in the order given."""
    seq, h = prev_seq, prev_hash
    for rh in record_hashes:
        seq += 1
        h = link_hash(h, seq, rh)
        yield Link(seq, h)


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    reason: str
    record_id: int | None = None


CHANGED = "内容与哈希不符（记录被改动）"
REMOVED = "序号不连续（记录被删除）"
RELINKED = "链接哈希不符（记录被插入、删除或调换了顺序）"


@dataclass(frozen=True)
class Sealed:
    """One sealed record as verification reads it."""

    record_id: int
    seq: int
    chain_hash: str
    stored_hash: str
    fields: dict[str, Any]


def verify(records: Iterable[Sealed], *, start_seq: int = 0, start_hash: str = GENESIS
           ) -> tuple[int, str, ChainBreak | None]:
    """Walk sealed records in seq order from (start_seq, start_hash). Returns (last seq, last hash, first break)."""
    seq, h = start_seq, start_hash
    for r in records:
        if r.seq != seq + 1:
            return seq, h, ChainBreak(seq + 1, REMOVED, None)
        if content_hash(r.fields) != r.stored_hash:
            return seq, h, ChainBreak(r.seq, CHANGED, r.record_id)
        expected = link_hash(h, r.seq, r.stored_hash)
        if expected != r.chain_hash:
            return seq, h, ChainBreak(r.seq, RELINKED, r.record_id)
        seq, h = r.seq, expected
    return seq, h, None


SENSITIVE_KEYS = frozenset({"id_number", "password", "key_hash"})


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> tuple[dict, dict]:
    """Keep only changed keys, so the record says what changed."""
    before, after = before or {}, after or {}
    keys = sorted(set(before) | set(after))
    changed = [k for k in keys if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in changed if k in before}, {k: after.get(k) for k in changed if k in after}
