"""The audit chain as pure data: records, their hashes, signed checkpoints, verification.

Each record's ``hash`` is SHA-256 over the canonical JSON of every other field, and its
``prev_hash`` is the hash of the record before it (:data:`GENESIS` for the first). Editing
a record changes its hash; recomputing that hash breaks the next record's link; removing
or swapping records breaks the sequence. Someone who may rewrite the whole tail (hashes
included) is stopped by **checkpoints**: ``(seq, hash, time)`` signed with HMAC-SHA256 and
a key only Syncline's identities can read, so a rewritten record before a checkpoint can
no longer be made to match it.

HMAC rather than Ed25519: every verifier is Syncline itself (the operator, the API), which
holds the key anyway, and HMAC needs only the standard library; an Ed25519 public key
would let outsiders verify, which the syslog copy already serves (docs/audit.md).

This module does no I/O: storage lives in :mod:`syncline.audit.store`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from syncline.errors import SynclineError

GENESIS = "0" * 64
"""The ``prev_hash`` of the very first record."""


def canonical(value: Mapping[str, Any]) -> bytes:
    """One byte string per value: sorted keys, no spaces, UTF-8 (what hashes cover)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One thing that happened: who did what to which target, and how it ended."""

    seq: int
    time: str
    """RFC 3339 UTC, e.g. ``2026-11-22T06:01:02.123456Z``."""
    actor: str
    """The authenticated user (``system:serviceaccount:…`` for Syncline itself)."""
    action: str
    """What was done, e.g. ``project.run``, ``cronjob.create``, ``schedule.set``."""
    target: str
    """What it was done to, e.g. ``integrationprojects/sales/orders``."""
    result: str
    """``Success``, or the catalog error (``"1670 PendingRunAlreadyExists"``)."""
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def content(self) -> dict[str, Any]:
        """Every field the hash covers (all but ``hash``)."""
        fields = asdict(self)
        del fields["hash"]
        return fields

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditRecord:
        return cls(
            seq=int(data["seq"]),
            time=str(data["time"]),
            actor=str(data["actor"]),
            action=str(data["action"]),
            target=str(data["target"]),
            result=str(data["result"]),
            details=dict(data.get("details") or {}),
            prev_hash=str(data["prev_hash"]),
            hash=str(data["hash"]),
        )


def record_hash(content: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(content)).hexdigest()


def build_record(
    *,
    seq: int,
    prev_hash: str,
    time: str,
    actor: str,
    action: str,
    target: str,
    result: str,
    details: Mapping[str, Any],
) -> AuditRecord:
    """The record that follows ``(seq - 1, prev_hash)``, its hash computed."""
    content = {
        "seq": seq,
        "time": time,
        "actor": actor,
        "action": action,
        "target": target,
        "result": result,
        "details": dict(details),
        "prev_hash": prev_hash,
    }
    return AuditRecord(**content, hash=record_hash(content))  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a file's chain starts: the seq and hash of the record before its first."""

    seq: int = 0
    hash: str = GENESIS


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement "record ``seq`` had hash ``hash`` at ``time``"."""

    seq: int
    hash: str
    time: str
    signature: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        return cls(int(data["seq"]), str(data["hash"]), str(data["time"]), str(data["signature"]))


def sign(key: bytes, statement: Mapping[str, Any]) -> str:
    return hmac.new(key, canonical(statement), hashlib.sha256).hexdigest()


def make_checkpoint(key: bytes, record: AuditRecord | Anchor, time: str) -> Checkpoint:
    statement = {"seq": record.seq, "hash": record.hash, "time": time}
    return Checkpoint(record.seq, record.hash, time, sign(key, statement))


def checkpoint_is_signed(key: bytes, checkpoint: Checkpoint) -> bool:
    statement = {"seq": checkpoint.seq, "hash": checkpoint.hash, "time": checkpoint.time}
    return hmac.compare_digest(sign(key, statement), checkpoint.signature)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of a verification; ``first_bad_seq`` names the first broken record."""

    ok: bool
    first_bad_seq: int | None = None
    reason: str = ""
    records_checked: int = 0
    checkpoints_checked: int = 0
    files_checked: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def error(self) -> SynclineError | None:
        """The catalog error for a failed verification (2705 for a forged or edited
        checkpoint, else 2700 naming the first bad record); None when intact."""
        if self.ok:
            return None
        seq = self.first_bad_seq if self.first_bad_seq is not None else "?"
        if "checkpoint" in self.reason and "signature" in self.reason:
            return SynclineError("AuditCheckpointInvalid", seq=seq)
        return SynclineError("AuditChainBroken", seq=seq)


@dataclass(slots=True)
class _Walk:
    """Verification state while walking the records in stored order."""

    expected_seq: int
    prev_hash: str
    hashes: dict[int, str] = field(default_factory=dict)
    checked: int = 0


def verify_chain(
    records: Sequence[AuditRecord],
    checkpoints: Iterable[Checkpoint],
    key: bytes,
    anchor: Anchor = Anchor(),
) -> VerifyResult:
    """Check ``records`` (in stored order) against their hashes, links and checkpoints.

    The first problem found wins, in record order; its ``first_bad_seq`` is the record
    that was altered, or the seq that should be next but was removed or moved.
    """
    walk = _Walk(anchor.seq + 1, anchor.hash, {anchor.seq: anchor.hash})
    present = {r.seq for r in records}
    for position, record in enumerate(records):
        problem = _check_record(walk, record, present, records[position + 1 :])
        if problem is not None:
            return problem
    return _check_checkpoints(walk, list(checkpoints), key)


def _check_record(
    walk: _Walk, record: AuditRecord, present: set[int], later: Sequence[AuditRecord]
) -> VerifyResult | None:
    n = walk.checked
    if record.seq != walk.expected_seq:
        moved = any(r.seq == walk.expected_seq for r in later)
        what = "is out of order (found later in the log)" if moved else "was removed"
        if not moved and walk.expected_seq not in present and record.seq < walk.expected_seq:
            what = "is out of order"
        return VerifyResult(False, walk.expected_seq, f"record {walk.expected_seq} {what}", n)
    if record_hash(record.content()) != record.hash:
        return VerifyResult(False, record.seq, f"record {record.seq} was altered", n)
    if record.prev_hash != walk.prev_hash:
        # The record before was rewritten with a recomputed hash (or a record was put
        # in place of a removed one): the earlier record is the first that differs.
        bad = record.seq - 1
        return VerifyResult(
            False, bad, f"record {bad} was altered (record {record.seq} no longer links to it)", n
        )
    walk.hashes[record.seq] = record.hash
    walk.expected_seq, walk.prev_hash = record.seq + 1, record.hash
    walk.checked += 1
    return None


def _check_checkpoints(walk: _Walk, checkpoints: list[Checkpoint], key: bytes) -> VerifyResult:
    done, after = 0, 0
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        if not checkpoint_is_signed(key, checkpoint):
            reason = f"checkpoint {checkpoint.seq} has a bad signature"
            return VerifyResult(False, checkpoint.seq, reason, walk.checked, done)
        actual = walk.hashes.get(checkpoint.seq)
        if actual is None and checkpoint.seq >= walk.expected_seq:
            reason = f"records from {walk.expected_seq} to {checkpoint.seq} were removed"
            return VerifyResult(False, walk.expected_seq, reason, walk.checked, done)
        if actual is not None and actual != checkpoint.hash:
            # Hashes recomputed after an edit: the edit lies after the last good checkpoint.
            first = after + 1
            reason = (
                f"a record from {first} to {checkpoint.seq} was rewritten "
                f"and its chain recomputed (checkpoint {checkpoint.seq} no longer matches)"
            )
            return VerifyResult(False, first, reason, walk.checked, done)
        done, after = done + 1, max(after, checkpoint.seq)
    return VerifyResult(True, None, "", walk.checked, done)
