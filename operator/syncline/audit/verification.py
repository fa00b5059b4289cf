"""Verifying all audit files together (pure: files in, a verdict out).

Files are checked as one chain starting from the retention anchor (or the genesis), so a
record moved between files, a file deleted by hand or a file whose anchor was edited all
show up as a break at the first record they affect.
"""

from __future__ import annotations

import hmac

from syncline.audit.chain import (
    GENESIS,
    Anchor,
    AuditRecord,
    Checkpoint,
    VerifyResult,
    sign,
    verify_chain,
)
from syncline.audit.files import AuditFile
from syncline.audit.state import RetentionAnchor


def verify_files(
    files: list[AuditFile], retention: RetentionAnchor | None, key: bytes
) -> VerifyResult:
    """The verdict over ``files`` (any order) from ``retention`` (None: from the start)."""
    start, first_index = Anchor(0, GENESIS), 1
    if retention is not None:
        if not hmac.compare_digest(sign(key, retention.statement()), retention.signature):
            reason = "the retention anchor has a bad signature"
            return VerifyResult(False, retention.seq, reason)
        start, first_index = Anchor(retention.seq, retention.hash), retention.index + 1
    kept = sorted((f for f in files if f.index >= first_index), key=lambda f: f.index)
    if retention is not None and not kept:
        # Retention never deletes the newest file: an empty log after it means deletion.
        seq = retention.seq + 1
        return VerifyResult(False, seq, f"every record from {seq} on was removed")
    records: list[AuditRecord] = [r for f in kept for r in f.records]
    checkpoints: list[Checkpoint] = [c for f in kept for c in f.checkpoints]
    verdict = _with_files(verify_chain(records, checkpoints, key, start), len(kept))
    if not verdict.ok:
        return verdict
    missing = _missing_file(kept, first_index, start)
    if missing is not None:
        return _with_files(missing, len(kept))
    if verdict.ok and kept and kept[-1].sealed:
        nxt = kept[-1].last.seq + 1
        return _with_files(
            VerifyResult(
                False,
                nxt,
                f"the file after {kept[-1].name} (from record {nxt}) was removed",
                verdict.records_checked,
                verdict.checkpoints_checked,
            ),
            len(kept),
        )
    return verdict


def _missing_file(kept: list[AuditFile], first_index: int, start: Anchor) -> VerifyResult | None:
    """A gap in file indexes, or a first file that does not start at the anchor."""
    expected_index, previous_last = first_index, start
    for audit_file in kept:
        if audit_file.index != expected_index or audit_file.anchor != previous_last:
            seq = previous_last.seq + 1
            name = f"syncline-audit-{expected_index:08d}"
            return VerifyResult(False, seq, f"records from {seq} on ({name}) were removed")
        last = audit_file.last
        expected_index, previous_last = audit_file.index + 1, Anchor(last.seq, last.hash)
    return None


def _with_files(result: VerifyResult, files: int) -> VerifyResult:
    return VerifyResult(
        result.ok,
        result.first_bad_seq,
        result.reason,
        result.records_checked,
        result.checkpoints_checked,
        files,
    )
