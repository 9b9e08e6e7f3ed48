"""The archive hash chain: every kind of tampering is detected and named (pure)."""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

import pytest

from interchange.audit.archive_chain import (
    Chained,
    FileEntry,
    Manifest,
    archive_start,
    canonical_bytes,
    chain,
    link,
    verify_file,
    verify_manifest,
)
from interchange.audit.findings import Finding, Kind, RawRecord
from interchange.errors import ArchiveError


def records(n: int, topic: str = "t.submissions") -> list[RawRecord]:
    return [
        RawRecord(
            topic, i % 2, 10 + i, 1_700_000_000_000 + i, b"k", f"v{i}".encode(), (("h", b"x"),)
        )
        for i in range(n)
    ]


def build(n: int = 6, start: bytes | None = None) -> tuple[FileEntry, list[Chained]]:
    start = start or archive_start("a1")
    chained = list(chain(records(n), start))
    entry = FileEntry(
        "0000-t.submissions.avro", "t.submissions", n, start.hex(), chained[-1].hash.hex(), "00"
    )
    return entry, chained


def kinds(findings: list[Finding]) -> list[Kind]:
    return [f.kind for f in findings]


def test_intact_file_has_no_finding() -> None:
    entry, read = build()
    assert verify_file(entry, read) == []


def test_canonical_bytes_distinguish_null_from_empty() -> None:
    rec = records(1)[0]
    assert canonical_bytes(0, rec) != canonical_bytes(0, dataclasses.replace(rec, key=None))
    assert canonical_bytes(0, dataclasses.replace(rec, key=b"")) != canonical_bytes(
        0, dataclasses.replace(rec, key=None)
    )


def test_hash_is_sha256_of_prev_and_canonical_bytes() -> None:
    rec = records(1)[0]
    start = archive_start("a1")
    assert link(start, 0, rec) == hashlib.sha256(start + canonical_bytes(0, rec)).digest()


def test_modified_record_is_named() -> None:
    entry, read = build()
    c = read[3]
    read[3] = dataclasses.replace(c, record=dataclasses.replace(c.record, value=b"forged"))
    found = verify_file(entry, read)
    assert kinds(found) == [Kind.RECORD_MODIFIED]
    assert (found[0].seq, found[0].offset, found[0].topic) == (3, 13, "t.submissions")


def test_modified_record_with_rewritten_hash_is_named() -> None:
    entry, read = build()
    c = read[2]
    rec = dataclasses.replace(c.record, value=b"forged")
    read[2] = Chained(2, rec, c.prev_hash, link(c.prev_hash, 2, rec))
    found = verify_file(entry, read)
    assert kinds(found) == [Kind.RECORD_MODIFIED]
    assert found[0].seq == 2


def test_deleted_record_is_named() -> None:
    entry, read = build()
    del read[4]
    found = verify_file(entry, read)
    assert kinds(found) == [Kind.RECORD_DELETED]
    assert found[0].seq == 4
    assert "after t.submissions[1]@13" in found[0].detail


def test_deleted_run_is_one_finding() -> None:
    entry, read = build(8)
    del read[2:5]
    found = verify_file(entry, read)
    assert kinds(found) == [Kind.RECORD_DELETED]
    assert "seq 2..4 (3 records)" in found[0].detail


def test_deleted_last_record_is_named() -> None:
    entry, read = build()
    read.pop()
    assert kinds(verify_file(entry, read)) == [Kind.RECORD_DELETED]


def test_reordered_records_are_named() -> None:
    entry, read = build()
    read[1], read[2] = read[2], read[1]
    found = verify_file(entry, read)
    assert kinds(found) == [Kind.RECORD_REORDERED]
    assert found[0].seq == 2  # seq 2 now comes before seq 1


def test_inserted_copy_is_named() -> None:
    entry, read = build()
    read.insert(3, read[1])
    found = verify_file(entry, read)
    assert kinds(found) == [Kind.RECORD_INSERTED]
    assert found[0].seq == 1


def test_inserted_forged_record_is_named() -> None:
    entry, read = build()
    rec = RawRecord("t.submissions", 0, 99, 0, None, b"injected")
    forged = Chained(3, rec, read[2].hash, link(read[2].hash, 3, rec))
    read.insert(3, forged)
    found = verify_file(entry, read)
    assert kinds(found) == [Kind.RECORD_INSERTED]
    assert found[0].offset == 99


def test_unreadable_tail_is_one_finding() -> None:
    entry, read = build()
    found = verify_file(entry, read[:3], read_error="truncated block")
    assert kinds(found) == [Kind.FILE_UNREADABLE]


def manifest_of(names: list[str]) -> tuple[Manifest, dict[str, Any]]:
    start = archive_start("a1")
    entries = []
    for name in names:
        e, _ = build(3, start)
        entries.append(dataclasses.replace(e, name=name, sha256=name * 2))
        start = bytes.fromhex(e.final_hash)
    m = Manifest("a1", 1, tuple(entries), {"bootstrap": "x"})
    return m, m.to_dict()


def test_intact_manifest_has_no_finding() -> None:
    _m, data = manifest_of(["a", "b"])
    shas = {"a": "aa", "b": "bb"}
    assert verify_manifest(data, Manifest.from_dict(data), ["a", "b", "manifest.json"], shas) == []


def test_missing_and_extra_files_are_named() -> None:
    m, data = manifest_of(["a", "b"])
    found = verify_manifest(data, m, ["a", "c", "manifest.json"], {"a": "aa", "c": "cc"})
    assert [(f.kind, f.file) for f in found] == [(Kind.FILE_MISSING, "b"), (Kind.FILE_EXTRA, "c")]


def test_changed_file_bytes_are_named() -> None:
    m, data = manifest_of(["a"])
    found = verify_manifest(data, m, ["a"], {"a": "not-it"})
    assert [(f.kind, f.file) for f in found] == [(Kind.FILE_MODIFIED, "a")]


def test_edited_manifest_is_detected() -> None:
    _m, data = manifest_of(["a", "b"])
    data["files"][1]["records"] = 2
    found = verify_manifest(data, Manifest.from_dict(data), ["a", "b"], {"a": "aa", "b": "bb"})
    assert Kind.MANIFEST_INVALID in kinds(found)


def test_removed_file_entry_breaks_the_file_chain() -> None:
    m, _data = manifest_of(["a", "b", "c"])
    cut = dataclasses.replace(m, files=(m.files[0], m.files[2]))
    data2 = cut.to_dict()  # a consistent, re-hashed manifest without file b
    found = verify_manifest(data2, cut, ["a", "c"], {"a": "aa", "c": "cc"})
    assert [(f.kind, f.file) for f in found] == [(Kind.MANIFEST_INVALID, "c")]


def test_anchored_manifest_hash_is_checked() -> None:
    m, data = manifest_of(["a"])
    found = verify_manifest(data, m, ["a"], {"a": "aa"}, expected_sha256="00" * 32)
    assert kinds(found) == [Kind.MANIFEST_INVALID]


def test_garbage_manifest_is_an_archive_error() -> None:
    with pytest.raises(ArchiveError):
        Manifest.from_dict({"format": "interchange-archive/1", "files": [{}]})
