"""The audit chain's pure logic: every kind of tampering is named at its first record."""

from __future__ import annotations

from dataclasses import replace

from syncline.audit.chain import (
    GENESIS,
    Anchor,
    AuditRecord,
    build_record,
    checkpoint_is_signed,
    make_checkpoint,
    verify_chain,
)
from syncline.audit.files import AuditFile, from_configmap, to_configmap
from syncline.audit.state import signed_anchor
from syncline.audit.verification import verify_files

KEY = b"k" * 32


ORIGIN = Anchor()


def chain(n: int, start: Anchor = ORIGIN) -> list[AuditRecord]:
    records, seq, prev = [], start.seq, start.hash
    for i in range(n):
        seq += 1
        record = build_record(
            seq=seq,
            prev_hash=prev,
            time=f"2026-11-22T06:00:{i % 60:02d}.000000Z",
            actor="alice",
            action="project.run",
            target=f"integrationprojects/sales/p{i}",
            result="Success",
            details={"n": i},
        )
        records.append(record)
        prev = record.hash
    return records


def test_an_untouched_chain_verifies() -> None:
    records = chain(10)
    verdict = verify_chain(records, [make_checkpoint(KEY, records[4], "t")], KEY)
    assert verdict.ok
    assert (verdict.records_checked, verdict.checkpoints_checked) == (10, 1)
    assert records[0].prev_hash == GENESIS


def test_an_edited_record_is_named() -> None:
    records = chain(10)
    records[3] = replace(records[3], actor="mallory")
    verdict = verify_chain(records, [], KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)
    assert "altered" in verdict.reason
    assert str(verdict.error()) == "2700 AuditChainBroken: Audit record 4 does not match its hash."


def test_an_edit_with_its_hash_recomputed_is_named_by_the_broken_link() -> None:
    records = chain(10)
    edited = build_record(**{**records[3].content(), "actor": "mallory"})
    records[3] = edited
    verdict = verify_chain(records, [], KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)


def test_a_rewritten_tail_is_caught_by_the_checkpoint() -> None:
    original = chain(10)
    checkpoint = make_checkpoint(KEY, original[7], "t")
    # Record 4 edited, and everything after it re-chained with recomputed hashes.
    forged = [*original[:3], *_rechain(original[3:], edit_first=True, prev=original[2].hash)]
    verdict = verify_chain(forged, [make_checkpoint(KEY, original[1], "t"), checkpoint], KEY)
    assert not verdict.ok
    assert verdict.first_bad_seq == 3  # after the last good checkpoint (record 2)
    assert "8" in verdict.reason


def _rechain(records: list[AuditRecord], edit_first: bool, prev: str) -> list[AuditRecord]:
    out = []
    for i, r in enumerate(records):
        content = {**r.content(), "prev_hash": prev}
        if edit_first and i == 0:
            content["result"] = "Success (forged)"
        new = build_record(**content)
        out.append(new)
        prev = new.hash
    return out


def test_a_removed_record_is_named() -> None:
    records = chain(10)
    del records[5]
    verdict = verify_chain(records, [], KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 6)
    assert "removed" in verdict.reason


def test_reordered_records_are_named() -> None:
    records = chain(10)
    records[2], records[3] = records[3], records[2]
    verdict = verify_chain(records, [], KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)
    assert "out of order" in verdict.reason


def test_a_tampered_checkpoint_fails() -> None:
    records = chain(5)
    good = make_checkpoint(KEY, records[2], "t")
    assert checkpoint_is_signed(KEY, good)
    bad = replace(good, time="later")
    verdict = verify_chain(records, [bad], KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)
    assert "signature" in verdict.reason
    assert verdict.error() is not None
    assert verdict.error().code == 2705  # type: ignore[union-attr]
    assert not verify_chain(records, [good], b"another key").ok


def test_a_truncated_tail_before_a_checkpoint_is_caught() -> None:
    records = chain(6)
    checkpoint = make_checkpoint(KEY, records[5], "t")
    verdict = verify_chain(records[:4], [checkpoint], KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 5)


def _files(sizes: list[int]) -> list[AuditFile]:
    files, anchor = [], Anchor()
    for index, size in enumerate(sizes, start=1):
        records = chain(size, anchor)
        files.append(AuditFile(index, anchor, tuple(records), sealed=index < len(sizes)))
        anchor = Anchor(records[-1].seq, records[-1].hash)
    return files


def test_files_verify_as_one_chain_and_survive_their_configmap_form() -> None:
    files = [from_configmap(to_configmap(f, "ns")) for f in _files([3, 4, 2])]
    verdict = verify_files(files, None, KEY)
    assert verdict.ok, verdict
    assert (verdict.records_checked, verdict.files_checked) == (9, 3)


def test_a_deleted_file_is_named_by_its_first_record() -> None:
    files = _files([3, 4, 2])
    verdict = verify_files([files[0], files[2]], None, KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 4)


def test_the_newest_file_deleted_is_caught() -> None:
    files = _files([3, 4, 2])
    verdict = verify_files(files[:2], None, KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 8)


def test_retention_keeps_the_rest_verifiable_through_a_signed_anchor() -> None:
    files = _files([3, 4, 2])
    anchor = signed_anchor(KEY, files[0].last.seq, files[0].last.hash, files[0].index)
    assert verify_files(files[1:], anchor, KEY).ok
    forged = replace(anchor, seq=2)
    assert not verify_files(files[1:], forged, KEY).ok
    assert verify_files([], anchor, KEY).first_bad_seq == 4  # everything after it deleted
    # Without the anchor, losing the oldest file is tampering.
    verdict = verify_files(files[1:], None, KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 1)


def test_an_unparseable_line_fails_verification_at_its_place() -> None:
    configmap = to_configmap(_files([5])[0], "ns")
    lines = configmap["data"]["records.jsonl"].splitlines()
    lines[2] = lines[2][:-3]
    configmap["data"]["records.jsonl"] = "\n".join(lines) + "\n"
    verdict = verify_files([from_configmap(configmap)], None, KEY)
    assert (verdict.ok, verdict.first_bad_seq) == (False, 3)
